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

/* Bytes the calling thread holds in its lists. */
size_t evmem_cached_bytes(void);

/* The allocator itself (malloc/realloc/free semantics; any thread; a block
 * may be freed on another thread than the one that allocated it). */
void *evmem_malloc(size_t n);
void *evmem_realloc(void *p, size_t n);
void evmem_free(void *p);

#endif
