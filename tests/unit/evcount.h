/* SPDX-License-Identifier: MIT */
/*
 * evcount.h - what libevent does, counted, for the unit tests that
 * compare buffers with libevent's own functions (test_evread,
 * test_evmove): the bytes asked for through libevent's allocator and not
 * yet freed (evcount_install() before any other libevent call), and what
 * a buffer's callback saw.  One test process, one thread.
 */
#ifndef TESTS_EVCOUNT_H
#define TESTS_EVCOUNT_H

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
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

/* What a buffer's callback saw, in all (evcount_watch). */
struct evcount_seen {
    size_t added, deleted;
    int calls;
};

static void
evcount_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct evcount_seen *s = arg;

    (void)buf;
    s->added += info->n_added;
    s->deleted += info->n_deleted;
    s->calls++;
}

/* Count what buf's callback sees into *s (zeroed); 0, or -1. */
static int
evcount_watch(struct evbuffer *buf, struct evcount_seen *s)
{
    memset(s, 0, sizeof(*s));
    return evbuffer_add_cb(buf, evcount_cb, s) != NULL ? 0 : -1;
}

#endif
