/* SPDX-License-Identifier: MIT */
/*
 * evread.c - see evread.h.
 */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include "evread.h"

#include <dlfcn.h>
#include <unistd.h>

#include <event2/buffer.h>

#define EXPORTED __attribute__((visibility("default")))

#define READ_MAX 4096 /* libevent's EVBUFFER_MAX_READ */

EXPORTED int evbuffer_read(struct evbuffer *buf, evutil_socket_t fd,
                           int howmuch);

/* With buf locked: see evread.h. */
static int
read_into(struct evbuffer *buf, evutil_socket_t fd, int howmuch)
{
    char space[READ_MAX];
    ssize_t got;

    /* A frozen end takes nothing: -1 before anything is read (committing
     * no space fails then, and does nothing else). */
    if (evbuffer_commit_space(buf, NULL, 0) != 0)
        return -1;
    got = read(fd, space, (size_t)howmuch);
    if (got <= 0)
        return (int)got;
    if (evbuffer_add(buf, space, (size_t)got) != 0)
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
