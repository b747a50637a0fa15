/* SPDX-License-Identifier: MIT */
/*
 * evmove.c - see evmove.h.
 */
#define _GNU_SOURCE /* RTLD_DEFAULT, RTLD_NEXT */
#include "evmove.h"

#include <dlfcn.h>
#include <stdint.h>

#include <event2/buffer.h>

#define EXPORTED __attribute__((visibility("default")))

EXPORTED int evbuffer_remove_buffer(struct evbuffer *src, struct evbuffer *dst,
                                    size_t datlen);

typedef int (*move_fn)(struct evbuffer *, struct evbuffer *, size_t);

/* libevent's: the definition after this executable's. */
static move_fn theirs;

__attribute__((constructor)) static void
find_theirs(void)
{
    theirs = (move_fn)dlsym(RTLD_NEXT, "evbuffer_remove_buffer");
}

/* Both buffers locked, in address order as libevent locks two. */
static void
lock2(struct evbuffer *a, struct evbuffer *b)
{
    if ((uintptr_t)a > (uintptr_t)b) {
        struct evbuffer *t = a;

        a = b;
        b = t;
    }
    evbuffer_lock(a);
    evbuffer_lock(b);
}

static void
unlock2(struct evbuffer *a, struct evbuffer *b)
{
    evbuffer_unlock(a);
    evbuffer_unlock(b);
}

/* With both locked: n bytes (0 < n <= EVMOVE_COPY_MAX, n <= src's
 * length) copied to dst's end and drained from src. */
static int
copy(struct evbuffer *src, struct evbuffer *dst, size_t n)
{
    char space[EVMOVE_COPY_MAX];

    /* Frozen ends fail before anything moves: committing no space fails
     * on a frozen end, draining nothing on a frozen start (and neither
     * does anything else). */
    if (evbuffer_commit_space(dst, NULL, 0) != 0 || evbuffer_drain(src, 0) != 0)
        return -1;
    if (evbuffer_copyout(src, space, n) != (ev_ssize_t)n ||
        evbuffer_add(dst, space, n) != 0)
        return -1;
    evbuffer_drain(src, n); /* its start is not frozen: see above */
    return (int)n;
}

EXPORTED int
evbuffer_remove_buffer(struct evbuffer *src, struct evbuffer *dst,
                       size_t datlen)
{
    size_t n;
    int rc;

    if (theirs == NULL)
        return -1;
    /* The usual move, into an empty buffer, is libevent's (a look
     * without the locks: a buffer another thread fills is looked at
     * again under them). */
    if (src == dst || datlen == 0 || evbuffer_get_length(dst) == 0)
        return theirs(src, dst, datlen);
    lock2(src, dst);
    n = evbuffer_get_length(src);
    if (datlen < n)
        n = datlen;
    if (n == 0 || n > EVMOVE_COPY_MAX || evbuffer_get_length(dst) == 0)
        rc = theirs(src, dst, datlen); /* the locks are recursive */
    else
        rc = copy(src, dst, n);
    unlock2(src, dst);
    return rc;
}

int
evmove_bound(void)
{
    return theirs != NULL && dlsym(RTLD_DEFAULT, "evbuffer_remove_buffer") ==
                                 (void *)evbuffer_remove_buffer;
}
