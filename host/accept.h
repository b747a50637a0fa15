/* SPDX-License-Identifier: MIT */
/*
 * accept.h - a lane's connections and accepts (accept.c): how many it
 * holds, the periodic sweep of their deadlines, making room at its share
 * of max_connections, balancing new connections between the lanes, and
 * pausing after an accept() failure.  Each lane's own thread, but what the
 * lanes read of each other (connections, accepting) is atomic.
 */
#ifndef HOST_ACCEPT_H
#define HOST_ACCEPT_H

struct bufferevent;
struct event_base;
struct evconnlistener;
struct lane;

/* How often a lane sweeps its connections (deadlines, retirement,
 * balancing): its heartbeat (lane_beat_ms). */
#define SWEEP_MS 100

/* The calling thread runs lane `w` (for accept_on_error). */
void accept_enter(struct lane *w);

/* Turn the lane's listener on or off as its state says (draining, at its
 * share, balanced out, backing off). */
void accept_update(struct lane *w);

/* libevent callbacks, `arg` the lane: the sweep timer (every SWEEP_MS),
 * the balancing recheck and backoff timers, evhttp's bufferevent factory
 * for a new connection, and the listener's error callback. */
void accept_on_sweep(int fd, short what, void *arg);
void accept_on_balance_recheck(int fd, short what, void *arg);
void accept_on_backoff_end(int fd, short what, void *arg);
struct bufferevent *accept_make_bev(struct event_base *base, void *arg);
void accept_on_error(struct evconnlistener *lev, void *arg);

#endif
