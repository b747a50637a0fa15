/* SPDX-License-Identifier: MIT */
/*
 * hangup.c - see hangup.h.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include "hangup.h"

#include <poll.h>
#include <stdlib.h>

#include <event2/event.h>

#include "log.h"

struct hangup {
    struct event_base *base;
    struct event *ev;
    int fd;
    int polling; /* looking every HANGUP_POLL_MS, not listening */
    void (*fn)(void *arg);
    void *arg;
};

/* Whether fd's peer is gone: it sent FIN or RST, or the socket failed. */
static int
peer_gone(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};

    return poll(&p, 1, 0) > 0 &&
           (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

static void on_event(evutil_socket_t fd, short what, void *arg);

/* Listen to the socket (0), or look at it every HANGUP_POLL_MS (1). */
static int
arm(struct hangup *h, int polling)
{
    struct timeval tv = {0, HANGUP_POLL_MS * 1000};

    h->polling = polling;
    if (polling)
        event_assign(h->ev, h->base, -1, EV_PERSIST, on_event, h);
    else
        event_assign(h->ev, h->base, h->fd, EV_READ | EV_CLOSED | EV_PERSIST,
                     on_event, h);
    return event_add(h->ev, polling ? &tv : NULL);
}

static void
on_event(evutil_socket_t fd, short what, void *arg)
{
    struct hangup *h = arg;

    (void)fd;
    if (!(what & EV_CLOSED) && !peer_gone(h->fd)) {
        /* More bytes (a pipelined request) or a spurious wake: the
         * socket is readable for as long as they wait, so look at it
         * from time to time instead. */
        if (!h->polling) {
            event_del(h->ev);
            if (arm(h, 1) != 0)
                log_warn("cannot watch a waiting call's client any more: "
                         "a close is noticed when its answer is written");
        }
        return;
    }
    event_del(h->ev);
    h->fn(h->arg); /* may free h */
}

struct hangup *
hangup_watch(struct event_base *base, int fd, void (*fn)(void *arg), void *arg)
{
    struct hangup *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    h->ev = event_new(base, -1, 0, on_event, h);
    if (h->ev == NULL) {
        free(h);
        return NULL;
    }
    h->base = base;
    h->fd = fd;
    h->fn = fn;
    h->arg = arg;
    /* A backend without EV_CLOSED refuses the event: look instead. */
    if (arm(h, 0) != 0 && arm(h, 1) != 0) {
        hangup_stop(h);
        return NULL;
    }
    return h;
}

void
hangup_stop(struct hangup *h)
{
    if (h == NULL)
        return;
    event_free(h->ev);
    free(h);
}
