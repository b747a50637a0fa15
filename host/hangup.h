/* SPDX-License-Identifier: MIT */
/*
 * hangup.h - noticing that a client went away while its request waits for
 * deferred (or suspended) calls.
 *
 * evhttp stops reading a connection once a request has arrived whole, so
 * a client that closes while the answer is being made is noticed only
 * when the answer is written.  A watch looks at the socket meanwhile,
 * without reading from it: epoll's EV_CLOSED (EPOLLRDHUP) and EV_READ
 * wake it, and poll(POLLRDHUP) tells whether the peer is gone (FIN, RST,
 * error) or has merely sent more (a pipelined request, left for evhttp).
 * In the latter case the socket stays readable, so the watch stops
 * listening to it and checks every HANGUP_POLL_MS instead.
 *
 * A half-close (the client's shutdown(SHUT_WR) after its request) counts
 * as going away, as it does for evhttp itself while it writes an answer;
 * HTTP clients (curl, browsers, the usual libraries) do not half-close.
 *
 * Loop thread only.
 */
#ifndef HOST_HANGUP_H
#define HOST_HANGUP_H

struct event_base;
struct hangup;

/* How often a watch whose socket holds unread bytes looks again. */
#define HANGUP_POLL_MS 200

/* Watch socket fd on base: fn(arg) runs once, on the loop, when its peer
 * is gone; the watch is inert after that until hangup_stop().  NULL on
 * ENOMEM (then nothing is noticed). */
struct hangup *hangup_watch(struct event_base *base, int fd,
                            void (*fn)(void *arg), void *arg);

/* Stop and free a watch (NULL: nothing); before the socket is closed. */
void hangup_stop(struct hangup *h);

#endif
