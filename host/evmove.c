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

/* The most bytes copied rather than moved, in at most PIECES pieces of
 * the source (its chains; more: moved). */
#define COPY_MAX 65536
#define PIECES 64

/* What copy() did. */
enum copied { COPIED, NOT_COPIED, COPY_FAILED };

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

/* With both locked: n bytes (0 < n <= COPY_MAX, n <= src's length)
 * copied into room reserved at dst's end, committed at once (one
 * callback, as libevent's move), then drained from src.  COPY_FAILED
 * with nothing done (a frozen end, no memory); NOT_COPIED when src holds
 * them in more pieces than looked at. */
static enum copied
copy(struct evbuffer *src, struct evbuffer *dst, size_t n)
{
    struct evbuffer_iovec from[PIECES], to[2];
    size_t fo = 0, tof = 0, left = n;
    int k, m, i = 0, j = 0;

    /* A frozen start fails before anything moves: draining nothing fails
     * then, and does nothing else (reserving fails on a frozen end). */
    if (evbuffer_drain(src, 0) != 0)
        return COPY_FAILED;
    k = evbuffer_peek(src, (ev_ssize_t)n, NULL, from, PIECES);
    if (k < 1 || k > PIECES)
        return NOT_COPIED;
    m = evbuffer_reserve_space(dst, (ev_ssize_t)n, to, 2);
    if (m < 1)
        return COPY_FAILED;
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
    if (evbuffer_commit_space(dst, to, j + 1) != 0)
        return COPY_FAILED;
    evbuffer_drain(src, n); /* its start is not frozen: see above */
    return COPIED;
}

EXPORTED int
evbuffer_remove_buffer(struct evbuffer *src, struct evbuffer *dst,
                       size_t datlen)
{
    enum copied how;
    size_t n;
    int rc;

    if (theirs == NULL)
        return -1; /* evmove_bound() said so at startup */
    /* The usual move, into an empty buffer, is libevent's (a look
     * without the locks: a buffer another thread fills is looked at
     * again under them). */
    if (src == dst || datlen == 0 || evbuffer_get_length(dst) == 0)
        return theirs(src, dst, datlen);
    lock2(src, dst);
    n = evbuffer_get_length(src);
    if (datlen < n)
        n = datlen;
    how = NOT_COPIED;
    if (n > 0 && n <= COPY_MAX && evbuffer_get_length(dst) > 0)
        how = copy(src, dst, n);
    if (how == COPIED)
        rc = (int)n;
    else if (how == COPY_FAILED)
        rc = -1;
    else
        rc = theirs(src, dst, datlen); /* the locks are recursive */
    unlock2(src, dst);
    return rc;
}

int
evmove_bound(void)
{
    if (dlsym(RTLD_DEFAULT, "evbuffer_remove_buffer") !=
        (void *)evbuffer_remove_buffer)
        return 0;
    return theirs != NULL ? 1 : -1;
}
