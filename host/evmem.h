/* SPDX-License-Identifier: MIT */
/*
 * evmem.h - libevent's allocator: per-thread caches of freed blocks, by
 * size class, in front of malloc.
 *
 * evhttp makes about 38 small allocations per request (header names and
 * values, the request and its header lists, buffer chains) and frees them
 * all once the reply is written.  glibc's malloc and free cost about 140
 * instructions a pair on that pattern: 6k of a single ping's 37k.
 * jemalloc or tcmalloc take that down to a few dozen, but raise an idle
 * server's resident set from 2.8 to 4.6-7.9 MiB (measured).  So only
 * libevent's allocations (event_set_mem_functions) go through small
 * per-thread free lists: a block freed on a loop is the next request's.
 *
 * Blocks are plain malloc() blocks (free() on one is fine: a plugin using
 * libevent itself may free what libevent hands it as its docs say), and go
 * back to free() when a list is full or its thread ends; a list holds at
 * most EVMEM_CACHE_BYTES.  Nothing is
 * cached when built with AddressSanitizer, or with RPCHOST_EVMEM_CACHE=0 in
 * the environment (the valgrind tests set it): every allocation then stays
 * visible to those tools.
 */
#ifndef HOST_EVMEM_H
#define HOST_EVMEM_H

#include <stddef.h>

struct event_base;

/* Bytes one thread's list of one size class holds at most. */
#define EVMEM_CACHE_BYTES (64 * 1024)

/* Make libevent allocate through these functions.  Call once, before any
 * other libevent function. */
void evmem_install(void);

/* 1 when freed blocks are cached (see above), else 0. */
int evmem_caching(void);

/* Give the calling thread's cached blocks back to malloc (threads that end
 * do so by themselves; this is for the main thread before exit). */
void evmem_drain_thread(void);

/* Give the calling thread's cached blocks back to malloc; it goes on
 * caching (after a burst: each cached block would keep a page resident). */
void evmem_flush_thread(void);

/* Sweeps (evmem_flush_idle calls) a thread's lists must stand still
 * before they are given back. */
#define EVMEM_IDLE_LOOKS 5

/* Give the calling thread's cached blocks back to malloc when its lists
 * have not moved over the last EVMEM_IDLE_LOOKS calls (a loop calls this
 * at each sweep): a loop with no traffic needs no cache, and what its
 * lists took back while a burst closed would otherwise stay resident,
 * a page for every few blocks.  Returns the bytes given back (0 when
 * none).  A list that a single request takes a block from and gives it
 * back to looks still: at that rate the blocks cost nothing to make. */
size_t evmem_flush_idle(void);

/* Make `base`'s per-descriptor entries for descriptors [from, to) now, in
 * a row, from malloc directly.  libevent makes a small entry (32 bytes)
 * for each descriptor number the first time an event is added on it and
 * keeps it until the base is freed.  Made one at a time as connections
 * arrive, they land between the connections' own blocks, and after a
 * burst each keeps a page resident that malloc_trim() would otherwise give
 * back: 5,000 connections left ~20 MB.  Made a block of descriptors ahead
 * of use, they sit together.  Done by adding and deleting an event on each
 * descriptor in the same loop iteration, which with the epoll changelist
 * (loop.c) reaches no system call; an event already on a descriptor is
 * left as it was.  Nothing with a backend other than epoll or poll
 * (select cannot take descriptors from FD_SETSIZE up).  Loop thread
 * only. */
void evmem_fd_slots(struct event_base *base, int from, int to);

/* Bytes the calling thread holds in its lists. */
size_t evmem_cached_bytes(void);

/* The allocator itself (malloc/realloc/free semantics; any thread; a block
 * may be freed on another thread than the one that allocated it). */
void *evmem_malloc(size_t n);
void *evmem_realloc(void *p, size_t n);
void evmem_free(void *p);

#endif
