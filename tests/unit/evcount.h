/* SPDX-License-Identifier: MIT */
/*
 * evcount.h - libevent's allocations counted, for the unit tests that
 * measure what a buffer holds (test_evread, test_evmove): the bytes asked
 * for through libevent's allocator and not yet freed.  evcount_install()
 * before any other libevent call.  One test process, one thread.
 */
#ifndef TESTS_EVCOUNT_H
#define TESTS_EVCOUNT_H

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

static size_t evcount_live;

static void *
evcount_malloc(size_t n)
{
    size_t *p = malloc(n + 16);

    if (p == NULL)
        return NULL;
    *p = n;
    evcount_live += n;
    return (char *)p + 16;
}

static void
evcount_free(void *q)
{
    if (q != NULL) {
        size_t *p = (size_t *)((char *)q - 16);

        evcount_live -= *p;
        free(p);
    }
}

static void *
evcount_realloc(void *q, size_t n)
{
    void *r = evcount_malloc(n);

    if (r != NULL && q != NULL) {
        size_t old = *(size_t *)((char *)q - 16);

        memcpy(r, q, old < n ? old : n);
        evcount_free(q);
    }
    return r;
}

static void
evcount_install(void)
{
    event_set_mem_functions(evcount_malloc, evcount_realloc, evcount_free);
}

#endif
