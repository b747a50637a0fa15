/* SPDX-License-Identifier: MIT */
/*
 * memtrim.c - see memtrim.h.
 */
#include "memtrim.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "log.h"
#include "procstat.h"

static atomic_llong next_ms; /* when the arenas are looked at next */
static atomic_ulong ntrims;
static size_t base_free; /* see memtrim.h; the looking thread's only */
static int looked;

/* The process's resident bytes, or -1. */
static long long
resident(void)
{
    char text[128];
    long long virt, res = -1;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f == NULL)
        return -1;
    if (fgets(text, sizeof(text), f) == NULL ||
        procstat_parse_statm(text, sysconf(_SC_PAGESIZE), &virt, &res) != 0)
        res = -1;
    fclose(f);
    return res;
}

void
memtrim_sweep(long long now_ms)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
    long long due = atomic_load_explicit(&next_ms, memory_order_relaxed);
    long long before, after;
    size_t free_now;

    /* One thread a second: the winner of the exchange looks. */
    if (now_ms < due || !atomic_compare_exchange_strong(
                            &next_ms, &due, now_ms + MEMTRIM_EVERY_MS))
        return;
    struct mallinfo2 mi = mallinfo2();
    free_now = mi.fordblks;
    if (!looked || free_now < base_free) {
        looked = 1;
        base_free = free_now; /* reused: the next burst counts from here */
        return;
    }
    if (free_now - base_free < MEMTRIM_MIN)
        return;
    base_free = free_now; /* trimmed pages still count as free */
    before = resident();
    malloc_trim(0);
    after = resident();
    atomic_fetch_add_explicit(&ntrims, 1, memory_order_relaxed);
    log_debug("memory: %zu KiB free in malloc's arenas after a burst; gave "
              "back %lld KiB (RSS %lld KiB now, %zu KiB in use)",
              free_now / 1024, (before - after) / 1024, after / 1024,
              (mi.uordblks + mi.hblkhd) / 1024);
#else
    (void)now_ms;
#endif
}

unsigned long
memtrim_count(void)
{
    return atomic_load_explicit(&ntrims, memory_order_relaxed);
}
