/* SPDX-License-Identifier: MIT */
/*
 * evread.c - see evread.h.
 */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include "evread.h"

#include <dlfcn.h>
#include <sys/uio.h>

#include <event2/buffer.h>

#define EXPORTED __attribute__((visibility("default")))

#define READ_MAX 4096 /* libevent's EVBUFFER_MAX_READ */
#define PIECES 4      /* libevent's NUM_READ_IOVEC */

EXPORTED int evbuffer_read(struct evbuffer *buf, evutil_socket_t fd,
                           int howmuch);

/* With buf locked: see evread.h. */
static int
read_into(struct evbuffer *buf, evutil_socket_t fd, int howmuch)
{
    struct evbuffer_iovec v[PIECES];
    struct iovec iov[PIECES];
    size_t left = (size_t)howmuch;
    ssize_t got;
    int n, used = 0;

    n = evbuffer_reserve_space(buf, howmuch, v, PIECES);
    if (n < 0)
        return -1;
    /* The pieces may hold more than was asked for: no more is read. */
    for (; used < n && left > 0; used++) {
        iov[used].iov_base = v[used].iov_base;
        iov[used].iov_len = v[used].iov_len < left ? v[used].iov_len : left;
        left -= iov[used].iov_len;
    }
    got = readv(fd, iov, used);
    if (got <= 0)
        return (int)got; /* the space stays unused */
    left = (size_t)got;
    for (int i = 0; i < used; i++) {
        v[i].iov_len = iov[i].iov_len < left ? iov[i].iov_len : left;
        left -= v[i].iov_len;
    }
    if (evbuffer_commit_space(buf, v, used) != 0)
        return -1;
    return (int)got;
}

EXPORTED int
evbuffer_read(struct evbuffer *buf, evutil_socket_t fd, int howmuch)
{
    int rc;

    if (howmuch < 0 || howmuch > READ_MAX)
        howmuch = READ_MAX;
    evbuffer_lock(buf);
    rc = read_into(buf, fd, howmuch);
    evbuffer_unlock(buf);
    return rc;
}

int
evread_bound(void)
{
    return dlsym(RTLD_DEFAULT, "evbuffer_read") == (void *)evbuffer_read;
}
