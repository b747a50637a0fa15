/* SPDX-License-Identifier: MIT */
/*
 * evmem.c - see evmem.h.
 *
 * Blocks are plain malloc() blocks, with no header: a block's size class
 * is found from malloc_usable_size(), so a block libevent hands to code
 * that frees it with free() (a plugin using libevent itself) is fine, and
 * any thread can free any block.  A cached block's first bytes link it
 * into its thread's list.
 */
#include "evmem.h"

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#if defined(__SANITIZE_ADDRESS__)
#define EVMEM_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EVMEM_SANITIZED 1
#endif
#endif
#ifndef EVMEM_SANITIZED
#define EVMEM_SANITIZED 0
#endif

/* Size classes.  Up to FINE_MAX bytes, one every 16 bytes at the sizes
 * glibc's malloc serves (16k + 8 usable bytes in a 16k + 16 byte chunk),
 * so that a block is no larger than malloc alone would make it: libevent's
 * objects are 136 bytes (an evbuffer), 216 (an evhttp request), 632 (a
 * bufferevent), which coarser classes rounded up to 192, 256 and 768, a
 * connection and its pending call costing ~450 bytes more.  Then a few
 * coarse ones; larger blocks are never cached. */
#define FINE_MIN 24
#define FINE_MAX 1032
#define NFINE ((FINE_MAX - FINE_MIN) / 16 + 1)
static const size_t coarse_size[] = {1280, 1536, 2048, 3072, 4096};
#define NCLASSES (NFINE + sizeof(coarse_size) / sizeof(coarse_size[0]))
#define UNCACHED NCLASSES /* no class: never cached */
/* malloc() rounds a request up by less than this (glibc: 16-byte steps). */
#define SLACK 64

struct blk {
    struct blk *next;
};

struct cache {
    struct blk *head[NCLASSES];
    unsigned n[NCLASSES];
    int registered; /* its thread-exit destructor is armed */
};

static _Thread_local struct cache tc;
static _Thread_local int direct; /* evmem_fd_slots() runs: bypass tc */
/* The lists' heads at the last evmem_flush_idle(), and the calls in a row
 * that found them so. */
static _Thread_local struct blk *seen[NCLASSES];
static _Thread_local unsigned still;
static pthread_key_t exit_key;
static int caching; /* set once, before any other thread exists */

/* Usable bytes of class c. */
static size_t
class_size(size_t c)
{
    return c < NFINE ? FINE_MIN + 16 * c : coarse_size[c - NFINE];
}

/* The class a request of n bytes is served from. */
static size_t
class_of(size_t n)
{
    if (n <= FINE_MAX)
        return n <= FINE_MIN ? 0 : (n - FINE_MIN + 15) / 16;
    for (size_t c = NFINE; c < NCLASSES; c++)
        if (n <= class_size(c))
            return c;
    return UNCACHED;
}

/* The class a block of `usable` bytes can serve and was made for: the
 * largest that fits, if the block is not much larger than it. */
static size_t
class_of_block(size_t usable)
{
    size_t c;

    if (usable < FINE_MIN)
        return UNCACHED;
    if (usable < FINE_MAX + 16) {
        c = (usable - FINE_MIN) / 16;
    } else {
        c = NFINE - 1;
        while (c + 1 < NCLASSES && class_size(c + 1) <= usable)
            c++;
    }
    return usable < class_size(c) + SLACK ? c : UNCACHED;
}

/* class_of_block(u) by 16-byte steps of u + 8 below BLOCK_TABLE_END
 * (larger blocks are never cached), and each class's cap (blocks
 * a list keeps: EVMEM_CACHE_BYTES of them, no more than 256): one lookup
 * each per free.  Filled by evmem_install() (all UNCACHED when not
 * caching); nothing frees through evmem before it. */
#define BLOCK_TABLE_END (4096 + SLACK)
static unsigned char block_class[BLOCK_TABLE_END / 16];
static unsigned class_cap[NCLASSES];
_Static_assert(UNCACHED < 256, "a class fits the table");

/* Give a thread's cached blocks back to malloc. */
static void
flush(struct cache *c)
{
    for (size_t i = 0; i < NCLASSES; i++) {
        while (c->head[i] != NULL) {
            struct blk *b = c->head[i];
            c->head[i] = b->next;
            free(b);
        }
        c->n[i] = 0;
    }
}

/* At the end of a thread: that, and cache nothing more (every list full
 * for evmem_free(), empty for evmem_malloc()). */
static void
drain(void *arg)
{
    struct cache *c = arg;

    flush(c);
    for (size_t i = 0; i < NCLASSES; i++)
        c->n[i] = class_cap[i];
}

void *
evmem_malloc(size_t n)
{
    size_t c = class_of(n);

    if (c < NCLASSES && tc.head[c] != NULL && !direct) {
        struct blk *b = tc.head[c];
        tc.head[c] = b->next;
        tc.n[c]--;
        return b;
    }
    return malloc(c < NCLASSES ? class_size(c) : n);
}

void
evmem_free(void *p)
{
    struct blk *b;
    size_t c, usable;

    if (p == NULL)
        return;
    usable = malloc_usable_size(p);
    c = usable + 8 < BLOCK_TABLE_END ? block_class[(usable + 8) / 16]
                                     : UNCACHED;
    if (c >= NCLASSES || tc.n[c] >= class_cap[c]) {
        free(p);
        return;
    }
    if (!tc.registered) {
        if (pthread_setspecific(exit_key, &tc) != 0) {
            free(p);
            return;
        }
        tc.registered = 1;
    }
    b = p;
    b->next = tc.head[c];
    tc.head[c] = b;
    tc.n[c]++;
}

void *
evmem_realloc(void *p, size_t n)
{
    size_t have;
    void *np;

    if (p == NULL)
        return evmem_malloc(n);
    have = malloc_usable_size(p);
    if (n <= have)
        return p;
    np = evmem_malloc(n);
    if (np == NULL)
        return NULL;
    memcpy(np, p, have);
    evmem_free(p);
    return np;
}

void
evmem_drain_thread(void)
{
    drain(&tc);
}

void
evmem_flush_thread(void)
{
    flush(&tc);
}

size_t
evmem_flush_idle(void)
{
    size_t bytes;

    if (memcmp(seen, tc.head, sizeof(seen)) != 0) {
        memcpy(seen, tc.head, sizeof(seen));
        still = 0;
        return 0;
    }
    if (++still < EVMEM_IDLE_LOOKS)
        return 0;
    still = 0;
    bytes = evmem_cached_bytes();
    flush(&tc);
    memset(seen, 0, sizeof(seen));
    return bytes;
}

static void
no_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

void
evmem_fd_slots(struct event_base *base, int from, int to)
{
    const char *method = event_base_get_method(base);
    struct event ev;

    /* Only where an event added and deleted at once costs nothing: epoll
     * with its changelist (loop.c's flag) and poll.  select's FD_SET
     * aborts the process on a descriptor from FD_SETSIZE up (glibc's
     * check), reached here well before any connection's is; epoll without
     * the changelist and other backends make a system call for each. */
    if (method == NULL || (strcmp(method, "epoll (with changelist)") != 0 &&
                           strcmp(method, "poll") != 0))
        return;
    direct = 1;
    for (int fd = from; fd < to; fd++)
        if (event_assign(&ev, base, fd, EV_READ, no_event, NULL) == 0 &&
            event_add(&ev, NULL) == 0)
            event_del(&ev);
    direct = 0;
}

int
evmem_caching(void)
{
    return caching;
}

size_t
evmem_cached_bytes(void)
{
    size_t n = 0;

    for (size_t c = 0; c < NCLASSES; c++)
        if (tc.head[c] != NULL) /* a drained thread's counts are caps */
            n += tc.n[c] * class_size(c);
    return n;
}

void
evmem_install(void)
{
    const char *env = getenv("RPCHOST_EVMEM_CACHE");

    caching = !EVMEM_SANITIZED && !(env != NULL && strcmp(env, "0") == 0);
    /* The key's destructor gives an ending thread's lists back. */
    if (caching && pthread_key_create(&exit_key, drain) != 0)
        caching = 0;
    /* Entry i is for usable sizes [16i - 8, 16i + 8): the fine classes'
     * sizes start an entry each, so every size in it has the class of
     * its first (or none, where a coarse class starts within it). */
    for (size_t i = 0; i < sizeof(block_class); i++)
        block_class[i] =
            (unsigned char)(caching && i > 0 ? class_of_block(i * 16 - 8)
                                             : UNCACHED);
    for (size_t c = 0; c < NCLASSES; c++)
        class_cap[c] = EVMEM_CACHE_BYTES / class_size(c) > 256
                           ? 256
                           : (unsigned)(EVMEM_CACHE_BYTES / class_size(c));
    if (caching)
        event_set_mem_functions(evmem_malloc, evmem_realloc, evmem_free);
}
