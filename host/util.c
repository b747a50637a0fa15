/* SPDX-License-Identifier: MIT */
/*
 * util.c - see util.h.
 */
#include "util.h"

#include <string.h>
#include <time.h>

/* A UTF-8 continuation byte (10xxxxxx). */
#define CONT(c) (((c)&0xc0) == 0x80)

int
util_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t
util_utf8_prefix(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strnlen(s, max), j, need;

    /* p[n] is readable: the NUL, or the byte after `max` non-NUL ones.
     * When it continues a sequence, the cut splits one: move it to where
     * that sequence starts (after the last whole character when the run
     * of continuation bytes has no lead byte). */
    j = n;
    while (j > 0 && CONT(p[j]))
        j--;
    if (j < n)
        n = p[j] >= 0xc0 || CONT(p[j]) ? j : j + 1;
    /* Invalid input may still end inside a sequence: one whose lead byte
     * announces more continuation bytes than follow it. */
    j = n;
    while (j > 0 && n - j < 3 && CONT(p[j - 1]))
        j--;
    if (j > 0 && p[j - 1] >= 0xc0) {
        need = p[j - 1] >= 0xf0 ? 4 : p[j - 1] >= 0xe0 ? 3 : 2;
        if (n - (j - 1) < need)
            n = j - 1;
    }
    return n;
}

const char *
util_list_next(const char **p, size_t *len)
{
    const char *item = *p + strspn(*p, " \t,");

    *len = strcspn(item, " \t,");
    *p = item + *len;
    return *len > 0 ? item : NULL;
}

long long
util_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
util_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void
util_http_date(char *out, size_t len, long long when)
{
    time_t t = (time_t)when;
    struct tm tm;

    if (len == 0)
        return;
    if (gmtime_r(&t, &tm) == NULL ||
        strftime(out, len, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
        out[0] = '\0';
}
