/* SPDX-License-Identifier: MIT */
/*
 * lanedef.h - the state of one lane (lane.h), shared by the files that
 * make it up: lane.c (its thread, generations, stop), edge.c (its HTTP
 * requests) and accept.c (its connections and accept balancing).  Nothing
 * else looks inside.
 */
#ifndef HOST_LANEDEF_H
#define HOST_LANEDEF_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "address.h"

struct conns;
struct event;
struct event_base;
struct evconnlistener;
struct evhttp;
struct evhttp_bound_socket;
struct generation;
struct loop;
struct stats;

struct lane {
    struct loop *loop;       /* its thread's runtime (loop.h) */
    struct event_base *base; /* the loop's */
    struct stats *stats;
    struct evconnlistener *lev[ADDRESS_MAX]; /* one per listening socket */
    struct evhttp_bound_socket *bound[ADDRESS_MAX];
    int nlev;             /* 0 once the drain began */
    long max_conns;       /* this loop's share of max_connections; 0: none */
    int accept_paused;    /* at its share of max_connections */
    int balance_paused;   /* ahead of the other loops (accept balancing) */
    atomic_int full;      /* accept_paused, for the other loops to read */
    atomic_llong beat_ms; /* when its last sweep ran (util_mono_ms()) */
    atomic_int accepting; /* its listener is on; read by the other loops */
    struct lane *const *peers;   /* every loop, this one included */
    struct event *balance_ev;    /* on_balance_recheck, while paused */
    struct lane *watched;        /* the loop this one stepped back for */
    unsigned long watched_total; /* its connections_total then */
    int npeers;
    struct conns *conns; /* each connection's state (conns.h) */
    struct event *sweep_ev;
    struct event *backoff_ev;  /* ends accept_backoff */
    int accept_backoff;        /* accept() failed: paused for a moment */
    unsigned long accept_errs; /* failures since the last log line */
    long long accept_log_ms;   /* when the last one was logged */
    int index;
    int started;
    int finished; /* its loop ran and finished (loop_finish) */
    pthread_t joinable;
    struct evhttp *http;
    struct generation *gen; /* this loop's current generation (a ref) */
    struct event *stop_ev;
    struct event *drain_ev;
    long long drain_deadline_ms; /* CLOCK_MONOTONIC */
    int stop_timeout_ms;
    int linger;    /* the drain keeps idle keep-alive connections until its
                      deadline (a replacement: lane_stop) */
    long inflight; /* requests not yet fully answered; loop thread only */
    int draining;
    int loopback; /* it listens on a loopback address (guard.h) */
    /* The last Host and Content-Type values that passed the guard (a
     * connection sends the same ones each time); cleared with each
     * generation's settings. */
    char host_ok[64], ctype_ok[64];
    long conn_cap; /* max_connections the descriptor limit allows; 0: any */
    long fd_share; /* this loop's share of conn_cap: sockets held; 0: any */
    long long share_log_ms; /* when "its share of max_connections" was said */
    long long reap_ms;      /* when conns_reap() last ran */
    size_t read_max;        /* what a connection's input may hold */
    uint32_t chunk_max;     /* max_chunk_overhead (framing.h) */
    int expired;     /* the shutdown timeout passed: open calls were answered */
    time_t date_sec; /* the second `date` was formatted for */
    char date[40];   /* cached Date header value (evhttp formats one per
                        reply otherwise) */
};

#endif
