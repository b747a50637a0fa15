/* SPDX-License-Identifier: MIT */
/*
 * memtrim.c - see memtrim.h.
 */
#include "memtrim.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "evmem.h"
#include "handle.h"
#include "log.h"
#include "procstat.h"
#include "tcache.h"

static atomic_llong next_ms; /* when the arenas are looked at next */
static atomic_ulong ntrims;
/* Held by the thread that looks (once a second); what follows up to
 * flush_epoch is its. */
static pthread_mutex_t look_lock = PTHREAD_MUTEX_INITIALIZER;
/* Since the last trim (or the first look): the fewest bytes free in the
 * arenas and the most in use. */
static size_t low_free, high_used;
static int looked;
static int again; /* the last trim gave much back: trim at the next look */
/* Bumped by a trim: each loop then gives its evmem cache back at its next
 * sweep (a cached block keeps its page resident). */
static atomic_uint flush_epoch;
static _Thread_local unsigned flushed_epoch; /* the last one this thread saw */
/* A loop gave MEMTRIM_IDLE_MIN or more of its cache back when its traffic
 * stopped (evmem_flush_idle): the next look trims. */
static atomic_int idle_flushed;
/* A loop emptied its caches because of a trim (flush_epoch), last at
 * drained_ms: once no loop has for MEMTRIM_FOLLOW_MS (each has swept since
 * the epoch), one of them trims once more, without asking the loops for
 * their caches again (the drains' own mallocs touch pages the trim gave
 * back). */
static atomic_int epoch_flushed;
static atomic_llong drained_ms;

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

#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
/* Look at the arenas and trim if a burst's memory came back (look_lock
 * held: the state above is the holder's). */
static void
look(void)
{
    long long before, after;
    size_t free_now, used, slots;
    int second, idle;
    struct mallinfo2 mi = mallinfo2();

    free_now = mi.fordblks;
    used = mi.uordblks;
    if (!looked) {
        looked = 1;
        low_free = free_now;
        high_used = used;
        return;
    }
    if (free_now < low_free)
        low_free = free_now;
    if (used > high_used)
        high_used = used;
    /* A burst's memory came back to malloc: free bytes piled up, or (when
     * free() gave the top of a heap back by itself, which lowers the free
     * bytes too) the bytes in use fell. */
    second = again;
    /* Or a loop whose traffic stopped gave its cache back. */
    idle = atomic_exchange_explicit(&idle_flushed, 0, memory_order_relaxed);
    if (!second && !idle &&
        (free_now < MEMTRIM_MIN ||
         (free_now - low_free < MEMTRIM_MIN && high_used - used < MEMTRIM_MIN)))
        return;
    low_free = free_now; /* trimmed pages still count as free */
    high_used = used;
    /* The caches of freed blocks too: this loop's now, the others' at
     * their next sweeps (a cached block keeps its page resident); glibc's
     * after evmem's, which fills it. */
    flushed_epoch = atomic_fetch_add(&flush_epoch, 1) + 1;
    evmem_flush_thread();
    tcache_drain();
    before = resident();
    slots = handle_trim();
    malloc_trim(0);
    after = resident();
    /* While a trim gives much back, the next look trims again: the other
     * loops' caches, and connections still closing, come back after it. */
    again = before - after >= MEMTRIM_MIN;
    atomic_fetch_add_explicit(&ntrims, 1, memory_order_relaxed);
    log_debug("memory: %zu KiB free in malloc's arenas after a burst; gave "
              "back %lld KiB (RSS %lld KiB now, %zu KiB in use; %zu call "
              "handles' slots)%s",
              free_now / 1024, (before - after) / 1024, after / 1024,
              (mi.uordblks + mi.hblkhd) / 1024, slots,
              second ? " (again)" : "");
}

/* The trim after the loops' drains (look_lock held).  It asks for no
 * drain, so none follows it. */
static void
follow(void)
{
    long long before = resident(), after;

    malloc_trim(0);
    after = resident();
    atomic_fetch_add_explicit(&ntrims, 1, memory_order_relaxed);
    log_debug("memory: gave back %lld KiB after the loops' caches (RSS %lld "
              "KiB now)",
              (before - after) / 1024, after / 1024);
}
#endif

void
memtrim_sweep(long long now_ms)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
    unsigned epoch = atomic_load_explicit(&flush_epoch, memory_order_relaxed);

    if (epoch != flushed_epoch) {
        flushed_epoch = epoch;
        evmem_flush_thread();
        tcache_drain();
        atomic_store_explicit(&drained_ms, now_ms, memory_order_relaxed);
        atomic_store_explicit(&epoch_flushed, 1, memory_order_relaxed);
    }
    if (evmem_flush_idle() >= MEMTRIM_IDLE_MIN) {
        tcache_drain();
        atomic_store_explicit(&idle_flushed, 1, memory_order_relaxed);
    }
    if (atomic_load_explicit(&epoch_flushed, memory_order_relaxed) &&
        now_ms - atomic_load_explicit(&drained_ms, memory_order_relaxed) >=
            MEMTRIM_FOLLOW_MS &&
        pthread_mutex_trylock(&look_lock) == 0) {
        if (atomic_exchange_explicit(&epoch_flushed, 0, memory_order_relaxed))
            follow();
        pthread_mutex_unlock(&look_lock);
    }
    /* One thread a second looks; the others go on at once. */
    if (now_ms < atomic_load_explicit(&next_ms, memory_order_relaxed) ||
        pthread_mutex_trylock(&look_lock) != 0)
        return;
    if (now_ms >= atomic_load_explicit(&next_ms, memory_order_relaxed)) {
        atomic_store_explicit(&next_ms, now_ms + MEMTRIM_EVERY_MS,
                              memory_order_relaxed);
        look();
    }
    pthread_mutex_unlock(&look_lock);
#else
    (void)now_ms;
#endif
}

unsigned long
memtrim_count(void)
{
    return atomic_load_explicit(&ntrims, memory_order_relaxed);
}
