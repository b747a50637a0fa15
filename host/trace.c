/* SPDX-License-Identifier: MIT */
/*
 * trace.c - see trace.h.
 */
#define _GNU_SOURCE
#include "trace.h"

#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const char hexdig[] = "0123456789abcdef";

/* The number of lowercase hex digits at s, up to n; and whether any of
 * them is not '0'. */
static size_t
hex_run(const char *s, size_t n, int *nonzero)
{
    size_t i;

    *nonzero = 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            break;
        if (c != '0')
            *nonzero = 1;
    }
    return i;
}

int
trace_valid(const char *h)
{
    int nz;

    if (h == NULL || strnlen(h, TRACE_LEN + 1) < TRACE_LEN)
        return 0;
    if (hex_run(h, 2, &nz) != 2 || memcmp(h, "ff", 2) == 0 || h[2] != '-')
        return 0;
    if (hex_run(h + 3, 32, &nz) != 32 || !nz || h[35] != '-')
        return 0;
    if (hex_run(h + 36, 16, &nz) != 16 || !nz || h[52] != '-')
        return 0;
    if (hex_run(h + 53, 2, &nz) != 2)
        return 0;
    if (h[TRACE_LEN] == '\0')
        return 1;
    /* Only a later version may carry more, after a dash. */
    return memcmp(h, "00", 2) != 0 && h[TRACE_LEN] == '-';
}

/* The next 64 random bits of this thread: splitmix64 over a state seeded
 * from getrandom(2) (the clock and the thread's stack address only when
 * that fails). */
static uint64_t
next64(void)
{
    static _Thread_local uint64_t s;
    static _Thread_local int seeded;
    uint64_t z;

    if (!seeded) {
        if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            s = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^
                (uint64_t)(uintptr_t)&ts ^ (uint64_t)getpid() << 48;
        }
        seeded = 1;
    }
    z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* 16 hex digits of random bits, never all zero. */
static void
put_random(char *out)
{
    uint64_t v;

    do
        v = next64();
    while (v == 0);
    for (int i = 15; i >= 0; i--, v >>= 4)
        out[i] = hexdig[v & 0xf];
}

int
trace_make(const char *header, char *out)
{
    int keep = trace_valid(header);

    memcpy(out, "00-", 3);
    if (keep) {
        memcpy(out + 3, header + 3, 33); /* the trace id and its dash */
    } else {
        put_random(out + 3);
        put_random(out + 19);
        out[35] = '-';
    }
    put_random(out + 36);
    out[52] = '-';
    out[53] = keep ? header[53] : '0';
    out[54] = keep ? header[54] : '0';
    out[TRACE_LEN] = '\0';
    return keep;
}
