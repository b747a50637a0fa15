/* SPDX-License-Identifier: MIT */
/*
 * conns.h - the client connections of one event loop: the bufferevent the
 * loop makes for each connection evhttp accepts, what each connection is
 * doing (its request arriving, being answered, or idle between keep-alive
 * requests) and since when, the deadlines for a request to arrive, the
 * bound on a chunked body's framing (a 413, then closed), making room at
 * the loop's share of max_connections, and closing sockets only once
 * their events have left epoll.
 *
 * evhttp 2.1 has no connection limit, no hook when it frees a connection,
 * and only a per-read timeout (which every byte restarts, so a client
 * trickling a request is never dropped).  So the loop makes each
 * connection's bufferevent itself (evhttp_set_bevcb), keeps one extra
 * reference to it, and watches its input buffer:
 *  - a connection's request is *arriving* from its accept, or from the
 *    first byte after its last answer, until evhttp hands the whole request
 *    to the loop; where its headers end, and a chunked body's framing,
 *    are found in the bytes as they arrive (framing.h).  Its headers must
 *    arrive within header_ms and the whole request within request_ms of
 *    the start, however the bytes trickle in; the sweep closes it
 *    otherwise.  A chunked body whose framing goes over chunk_max is
 *    answered 413 and closed: at once in a read, before evhttp looks at
 *    the bytes; when found at the end of an answer (the bytes came
 *    meanwhile), later in that loop iteration, after evhttp's
 *    on_complete callback has returned (evhttp goes on with the
 *    connection after it, so it cannot be freed there).  (evhttp 2.1 has
 *    no hook when
 *    a request's headers end on the server side - evhttp_set_newreqcb
 *    came in 2.2 - nor a bound on a chunked body's framing.  A line
 *    holding only CRs counts as empty here, while evhttp refuses such a
 *    request: its deadline is then request_ms.)
 *  - it is *busy* while its calls run (they have deadlines of their own),
 *    then *sending* its answer, which the client must take within
 *    response_ms (evhttp's write timeout restarts with every byte a slow
 *    reader takes), then *idle* until its next request starts (evhttp's
 *    idle timeout applies); a pipelined next request that has begun
 *    already is arriving at once.
 *  - evhttp's bufferevent_free() clears the bufferevent's callbacks: the
 *    sweep finds such connections and retires them.  The socket is closed
 *    (the last reference dropped) two sweeps after its events were
 *    disabled: were it closed at once, a new connection could reuse the
 *    descriptor while the old event's deletion still sat in the epoll
 *    changelist, and the new one would never be added to epoll.
 *
 * Loop thread only.  The clock is read when a request starts arriving,
 * when a connection goes idle, and at each sweep (every 100 ms).
 */
#ifndef HOST_CONNS_H
#define HOST_CONNS_H

#include <stddef.h>
#include <stdint.h>

struct bufferevent;
struct event_base;
struct evhttp_connection;
struct conn;
struct conns;

/* Why the loop closed a connection itself (stats.c names them). */
enum conns_reason {
    CONNS_HEADER_TIMEOUT,   /* headers not complete within header_ms */
    CONNS_REQUEST_TIMEOUT,  /* request not complete within request_ms */
    CONNS_MADE_ROOM,        /* closed to make room for a new connection */
    CONNS_RESPONSE_TIMEOUT, /* answer not taken within response_ms */
    CONNS_CHUNK_OVERHEAD,   /* a chunked body over max_chunk_overhead */
    CONNS_NREASONS
};

/* How long a request may take to arrive (its headers, and the whole of
 * it, from its first byte) and its answer to be taken by the client. */
struct conns_deadlines {
    int header_ms, request_ms, response_ms;
};

/* A request's headers that have been arriving for this long may be closed
 * to make room at the loop's share of max_connections (a client on
 * loopback or a LAN sends them in a few milliseconds). */
#define CONNS_SLOW_MS 1000

/* Writes the answer to a chunked body over its bound on socket fd, just
 * before the connection is closed (refusal.h's). */
typedef void conns_refuse_fn(int fd, void *arg);

/* A table for the loop running `base`, with an event of its own (the
 * refusals conn_idle() finds); `refuse` answers those refused.  NULL on
 * ENOMEM. */
struct conns *conns_new(struct event_base *base, conns_refuse_fn *refuse,
                        void *arg);

/* Drop every reference (closing the sockets); after evhttp_free(). */
void conns_free(struct conns *cs);

/* The bufferevent for a connection evhttp is accepting (evhttp sets its
 * socket and callbacks), tracked from now: its request is arriving.  While
 * its answer is written its input holds about read_max bytes at most
 * (reading waits beyond: evhttp reads on then, to notice a close, with
 * nothing taking what arrives; give it more than a whole request may
 * have, headers, body and chunk lines).  A chunked body's framing may go
 * chunk_max bytes beyond what its data allows (max_chunk_overhead,
 * framing.h); beyond, the connection is answered 413 and closed.  NULL
 * on ENOMEM (evhttp then makes one of its own, untracked). */
struct bufferevent *conns_add(struct conns *cs, size_t read_max,
                              uint32_t chunk_max);

/* Connections open (not yet freed by evhttp, as far as the last reap or
 * sweep saw). */
long conns_open(const struct conns *cs);

/* Sockets held: the open connections and the closed ones whose sockets
 * the sweep has yet to close (each still a descriptor). */
long conns_held(const struct conns *cs);

/* Close every connection that is idle or whose request is still arriving
 * (at the end of a drain: nothing will answer them). */
void conns_close_waiting(struct conns *cs);

/* Count the connections evhttp freed since the last look as closed (their
 * sockets are closed later, by the sweep).  Looks at every connection:
 * O(connections), for the caller to do sparingly. */
void conns_reap(struct conns *cs);

/* The tracked connection that `evcon` uses, or NULL (untracked).  Valid
 * until evhttp frees evcon (its close callback is the caller's cue to
 * forget it). */
struct conn *conns_of(struct conns *cs, struct evhttp_connection *evcon);

/* Its request arrived whole and is being answered. */
void conn_busy(struct conn *c);

/* Its answer is being written: the client has response_ms to take it. */
void conn_sending(struct conn *c);

/* Its answer was written; it waits for the next request (or the next
 * request, pipelined, has begun arriving).  Called from evhttp's
 * on_complete callback (evhttp goes on with the connection after it):
 * a pipelined chunked body already over its bound is refused later in
 * the loop iteration, not here. */
void conn_idle(struct conn *c);

/* At the loop's share of max_connections: close the connection that has
 * been idle longest, else the one whose request has been arriving longest
 * if for at least CONNS_SLOW_MS.  1 when one was closed, else 0. */
int conns_make_room(struct conns *cs);

/* Whether conns_make_room() would close one now. */
int conns_can_make_room(const struct conns *cs);

/* Every 100 ms or so: close connections past their deadlines (counted
 * into closed[reason]; the chunked bodies refused since the last sweep
 * into closed[CONNS_CHUNK_OVERHEAD]), retire those evhttp freed, close
 * the sockets retired two sweeps ago.  Returns the connections open. */
long conns_sweep(struct conns *cs, const struct conns_deadlines *d,
                 unsigned long closed[CONNS_NREASONS]);

#endif
