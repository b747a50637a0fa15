/*
 * evmem.c - see evmem.h.
 *
 * A block is a 16-byte header (its size class and usable size) followed by
 * the caller's bytes, so any thread can free any block.  A cached block's
 * first bytes link it into its thread's list.
 */
#include "evmem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

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

/* Usable bytes of each size class; larger blocks are never cached. */
static const size_t class_size[] = {16,   32,   48,   64,  96,  128,
                                    192,  256,  384,  512, 768, 1024,
                                    1536, 2048, 3072, 4096};
#define NCLASSES (sizeof(class_size) / sizeof(class_size[0]))
#define UNCACHED NCLASSES /* the class of a block larger than all */

struct hdr {
    size_t cls;  /* index into class_size, or UNCACHED */
    size_t size; /* usable bytes */
};

struct blk {
    struct blk *next;
};

struct cache {
    struct blk *head[NCLASSES];
    unsigned n[NCLASSES];
    int registered; /* its thread-exit destructor is armed */
    int done;       /* its thread is ending: cache nothing more */
};

static _Thread_local struct cache tc;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static int caching;

static size_t
class_of(size_t n)
{
    for (size_t c = 0; c < NCLASSES; c++)
        if (n <= class_size[c])
            return c;
    return UNCACHED;
}

/* Blocks a list keeps: EVMEM_CACHE_BYTES of them, and no more than 256. */
#define CAP(size)                                                              \
    (EVMEM_CACHE_BYTES / (size) > 256 ? 256 : EVMEM_CACHE_BYTES / (size))
static const unsigned class_cap[] = {
    CAP(16),   CAP(32),   CAP(48),   CAP(64),  CAP(96),  CAP(128),
    CAP(192),  CAP(256),  CAP(384),  CAP(512), CAP(768), CAP(1024),
    CAP(1536), CAP(2048), CAP(3072), CAP(4096)};
_Static_assert(sizeof(class_cap) / sizeof(class_cap[0]) == NCLASSES,
               "one cap per size class");

/* At the end of a thread: give its cached blocks back to malloc. */
static void
drain(void *arg)
{
    struct cache *c = arg;

    c->done = 1;
    for (size_t i = 0; i < NCLASSES; i++) {
        while (c->head[i] != NULL) {
            struct blk *b = c->head[i];
            c->head[i] = b->next;
            free((struct hdr *)(void *)b - 1);
        }
        c->n[i] = 0;
    }
}

static void
make_exit_key(void)
{
    if (pthread_key_create(&exit_key, drain) != 0)
        caching = 0; /* without it, exiting threads would leak their lists */
}

void *
evmem_malloc(size_t n)
{
    size_t c = class_of(n);
    struct hdr *h;

    if (c < NCLASSES && tc.head[c] != NULL) {
        struct blk *b = tc.head[c];
        tc.head[c] = b->next;
        tc.n[c]--;
        return b;
    }
    h = malloc(sizeof(*h) + (c < NCLASSES ? class_size[c] : n));
    if (h == NULL)
        return NULL;
    h->cls = c;
    h->size = c < NCLASSES ? class_size[c] : n;
    return h + 1;
}

void
evmem_free(void *p)
{
    struct hdr *h;
    struct blk *b;
    size_t c;

    if (p == NULL)
        return;
    h = (struct hdr *)p - 1;
    c = h->cls;
    if (!caching || c >= NCLASSES || tc.done || tc.n[c] >= class_cap[c]) {
        free(h);
        return;
    }
    if (!tc.registered) {
        pthread_once(&exit_once, make_exit_key);
        if (!caching || pthread_setspecific(exit_key, &tc) != 0) {
            free(h);
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
    struct hdr *h;
    void *np;

    if (p == NULL)
        return evmem_malloc(n);
    h = (struct hdr *)p - 1;
    if (n <= h->size)
        return p;
    np = evmem_malloc(n);
    if (np == NULL)
        return NULL;
    memcpy(np, p, h->size);
    evmem_free(p);
    return np;
}

void
evmem_drain_thread(void)
{
    drain(&tc);
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
        n += tc.n[c] * class_size[c];
    return n;
}

void
evmem_install(void)
{
    const char *env = getenv("RPCHOST_EVMEM_CACHE");

    caching = !EVMEM_SANITIZED && !(env != NULL && strcmp(env, "0") == 0);
    if (caching)
        event_set_mem_functions(evmem_malloc, evmem_realloc, evmem_free);
}
