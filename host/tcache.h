/* SPDX-License-Identifier: MIT */
/*
 * tcache.h - give back the blocks glibc's per-thread cache holds.
 *
 * glibc's malloc keeps up to 7 freed blocks of each size up to 1032 bytes
 * in a cache of the thread that freed them (the tcache).  To the arena
 * they are in use: malloc_trim() gives back no page one of them is on.
 * After a burst, the blocks a loop freed last (its evmem cache's among
 * them, given back just before a trim) lie where the burst's connections
 * were, a few to a page: after 5,000 pending calls on their own
 * connections they kept ~50 pages resident per loop (a walk of the
 * arenas' chunks; ~250 KB of the worker's RSS with both loops).
 *
 * glibc has no call that empties a thread's tcache (its size,
 * glibc.malloc.tcache_count, is read once at startup); it empties it into
 * the arenas when the thread ends.  So tcache_drain() takes the blocks
 * out of the calling thread's cache (it allocates TCACHE_COUNT blocks of
 * each of its TCACHE_BINS sizes: a cached block is what malloc returns
 * first), and a thread made for the purpose frees them: they fill that
 * thread's cache or go to their arena, and its cache goes to the arenas
 * when it ends, before tcache_drain() returns.  A few blocks malloc moves
 * from its bins into the cache while it serves these can stay there.
 *
 * Costs a thread's start and ~900 mallocs and frees: for after a burst,
 * not for steady traffic (memtrim.c calls it when it gives a loop's
 * cache back).  Harmless under any other allocator: the blocks are
 * allocated and freed, nothing more.
 */
#ifndef HOST_TCACHE_H
#define HOST_TCACHE_H

#include <stddef.h>

/* glibc's defaults (malloc.c: TCACHE_MAX_BINS, TCACHE_FILL_COUNT): sizes
 * of 24 + 16 * i usable bytes for i below TCACHE_BINS, TCACHE_COUNT
 * blocks each.  A tcache_count raised by GLIBC_TUNABLES is drained only
 * this far. */
#define TCACHE_BINS 64
#define TCACHE_COUNT 7

/* Take the blocks out of the calling thread's tcache and give them back
 * to their arenas (see above).  Any thread; returns the blocks taken
 * (TCACHE_BINS * TCACHE_COUNT unless out of memory), or 0 when no thread
 * could be started (they were then freed by the caller, back into its
 * cache). */
size_t tcache_drain(void);

#endif
