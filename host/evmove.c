/* SPDX-License-Identifier: MIT */
/*
 * evmove.c - see evmove.h.
 */
#define _GNU_SOURCE /* RTLD_DEFAULT, RTLD_NEXT */
#include "evmove.h"

#include <dlfcn.h>
#include <stdint.h>
#include <string.h>

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
 * length) copied into room reserved at dst's end, committed at once (one
 * callback, as libevent's move); 0, -1 with nothing done, or -2 when src
 * holds them in more pieces than looked at (libevent's move then).  The
 * caller drains src. */
static int
copy(struct evbuffer *src, struct evbuffer *dst, size_t n)
{
    struct evbuffer_iovec from[EVMOVE_PIECES], to[2];
    size_t fo = 0, tof = 0, left = n;
    int k, m, i = 0, j = 0;

    /* A frozen start fails before anything moves: draining nothing fails
     * then, and does nothing else (reserving fails on a frozen end). */
    if (evbuffer_drain(src, 0) != 0)
        return -1;
    k = evbuffer_peek(src, (ev_ssize_t)n, NULL, from, EVMOVE_PIECES);
    if (k < 1 || k > EVMOVE_PIECES)
        return -2;
    m = evbuffer_reserve_space(dst, (ev_ssize_t)n, to, 2);
    if (m < 1)
        return -1;
    while (left > 0) {
        size_t a = from[i].iov_len - fo, b = to[j].iov_len - tof;
        size_t c = a < b ? a : b;

        if (c > left)
            c = left;
        memcpy((char *)to[j].iov_base + tof, (char *)from[i].iov_base + fo, c);
        fo += c;
        tof += c;
        left -= c;
        if (fo == from[i].iov_len) {
            i++;
            fo = 0;
        }
        if (tof == to[j].iov_len && left > 0) {
            j++;
            tof = 0;
        }
    }
    /* What was written of each piece of room: all of those before j. */
    to[j].iov_len = tof;
    return evbuffer_commit_space(dst, to, j + 1) == 0 ? 0 : -1;
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
    rc = -2;
    if (n > 0 && n <= EVMOVE_COPY_MAX && evbuffer_get_length(dst) > 0) {
        rc = copy(src, dst, n);
        if (rc == 0) {
            evbuffer_drain(src, n); /* its start is not frozen (copy) */
            rc = (int)n;
        }
    }
    if (rc == -2)
        rc = theirs(src, dst, datlen); /* the locks are recursive */
    unlock2(src, dst);
    return rc;
}

int
evmove_bound(void)
{
    return theirs != NULL && dlsym(RTLD_DEFAULT, "evbuffer_remove_buffer") ==
                                 (void *)evbuffer_remove_buffer;
}
