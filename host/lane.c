/* SPDX-License-Identifier: MIT */
/*
 * lane.c - see lane.h.
 */
#define _GNU_SOURCE /* pthread_clockjoin_np */
#include "lane.h"

#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/listener.h>

#include "conns.h"
#include "fatal.h"
#include "generation.h"
#include "log.h"
#include "loop.h"
#include "refusal.h"
#include "util.h"

#include "accept.h"
#include "edge.h"
#include "lanedef.h"

/* ---- generations ---- */

/* One loop's share of n (0: none), rounded up. */
static long
per_loop(long n, int threads)
{
    return n > 0 ? (n + threads - 1) / threads : 0;
}

/* A loop's share of max_connections (0: no limit), the process's cap
 * (0: none) applied first. */
static long
conn_share(const struct config *cfg, long cap)
{
    long max = cfg->max_connections;

    if (cap > 0 && (max == 0 || max > cap))
        max = cap;
    return per_loop(max, cfg->threads);
}

/* Settings of a generation, for connections accepted from now on. */
static void
apply_settings(struct lane *w, const struct config *cfg)
{
    struct timeval tv;

    evhttp_set_max_body_size(w->http, (ev_ssize_t)cfg->max_body_size);
    evhttp_set_max_headers_size(w->http, (ev_ssize_t)cfg->max_header_size);
    tv.tv_sec = cfg->timeout_ms / 1000;
    tv.tv_usec = (cfg->timeout_ms % 1000) * 1000;
    evhttp_set_timeout_tv(w->http, &tv);
    w->loopback = config_local_only(cfg);
    w->host_ok[0] = w->ctype_ok[0] = '\0';
    w->max_conns = conn_share(cfg, w->conn_cap);
    w->fd_share = per_loop(w->conn_cap, cfg->threads);
    /* A whole request (headers, body, chunk lines) and then some: what a
     * connection may hold while its answer is written (conns.h). */
    w->read_max = cfg->max_header_size + cfg->max_body_size + 65536;
    w->chunk_max = (uint32_t)cfg->max_chunk_overhead;
}

struct gen_switch {
    struct lane *w;
    struct generation *gen;
};

static void
on_gen_switch(void *arg)
{
    struct gen_switch *sw = arg;
    struct generation *old = sw->w->gen;

    sw->w->gen = sw->gen;
    apply_settings(sw->w, sw->gen->cfg);
    log_debug("loop %d: now on generation %lu", sw->w->index, sw->gen->id);
    generation_unref(old);
    free(sw);
}

void
lane_set_generation(struct lane *w, struct generation *gen)
{
    struct gen_switch *sw = malloc(sizeof(*sw));

    if (sw == NULL) {
        log_error("loop %d: out of memory switching generations", w->index);
        return;
    }
    generation_ref(gen);
    sw->w = w;
    sw->gen = gen;
    if (loop_post(w->loop, on_gen_switch, sw) != 0) {
        log_error("loop %d: cannot switch to generation %lu", w->index,
                  gen->id);
        generation_unref(gen);
        free(sw);
    }
}

/* ---- stopping ---- */

/* Nothing of the loop's is being answered: neither a client's request
 * nor a body between plugins (whose calls may wait for a concurrency
 * slot that another loop hands over by a post). */
static int
lane_idle(const struct lane *w)
{
    return w->inflight <= 0 && loop_bodies(w->loop) == 0;
}

static void
on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    struct lane *w = arg;
    struct timeval tick = {0, 20000};

    (void)fd;
    (void)what;
    if (lane_idle(w) && w->linger && conns_open(w->conns) > 0 &&
        util_mono_ms() < w->drain_deadline_ms) {
        /* Replaced: another worker serves.  An idle keep-alive client
         * may still send a request, answered with Connection: close,
         * rather than find its connection closed under it. */
        event_add(w->drain_ev, &tick);
        return;
    }
    if (lane_idle(w)) {
        /* Nothing will serve this loop's other connections from now on:
         * close them, so that their clients fail over at once. */
        conns_close_waiting(w->conns);
        event_base_loopexit(w->base, NULL);
        return;
    }
    if (util_mono_ms() >= w->drain_deadline_ms) {
        if (!w->expired) {
            /* Answer what is still open now (deadlines first: -32001),
             * and give the answers a moment to be written. */
            log_warn("loop %d: shutdown timeout with %ld request(s) "
                     "unfinished; answering them now",
                     w->index, w->inflight);
            w->expired = 1;
            loop_expire_timers(w->loop);
            w->drain_deadline_ms = util_mono_ms() + 1000;
        } else {
            log_warn("loop %d: %ld request(s) not written after the "
                     "shutdown timeout; closing",
                     w->index, w->inflight);
            event_base_loopexit(w->base, NULL);
            return;
        }
    }
    event_add(w->drain_ev, &tick);
}

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct lane *w = arg;

    (void)fd;
    (void)what;
    if (w->draining)
        return;
    w->draining = 1;
    for (int i = 0; i < w->nlev; i++)
        evhttp_del_accept_socket(w->http, w->bound[i]);
    w->nlev = 0;
    accept_update(w);
    w->drain_deadline_ms = util_mono_ms() + w->stop_timeout_ms;
    on_drain_tick(-1, 0, w);
}

struct lane *
lane_new(int index, const int *fds, int nfds, struct generation *gen,
         struct stats *stats, struct lane *const *peers, int npeers,
         long conn_cap)
{
    const struct config *cfg = gen->cfg;
    struct lane *w = calloc(1, sizeof(*w));

    if (w == NULL) {
        log_error("loop %d: out of memory", index);
        return NULL;
    }
    w->index = index;
    w->peers = peers;
    w->npeers = npeers;
    w->stats = stats;
    w->conn_cap = conn_cap;
    generation_ref(gen);
    w->gen = gen;
    w->loop = loop_new();
    if (w->loop == NULL)
        goto fail;
    w->base = loop_base(w->loop);
    w->http = evhttp_new(w->base);
    w->stop_ev = event_new(w->base, -1, 0, on_stop, w);
    w->drain_ev = evtimer_new(w->base, on_drain_tick, w);
    if (w->http == NULL || w->stop_ev == NULL || w->drain_ev == NULL)
        goto fail;
    /* Not LEV_OPT_CLOSE_ON_FREE: the sockets are shared by all loops.
     * Backlog 0: each listens already, with the configured backlog (any
     * other value would call listen() again, and -1 means 128). */
    for (int i = 0; i < nfds && i < ADDRESS_MAX; i++) {
        struct evconnlistener *lev = evconnlistener_new(
            w->base, NULL, NULL, LEV_OPT_CLOSE_ON_EXEC, 0, fds[i]);

        if (lev == NULL)
            goto fail;
        evconnlistener_set_error_cb(lev, accept_on_error);
        w->bound[i] = evhttp_bind_listener(w->http, lev);
        if (w->bound[i] == NULL) {
            evconnlistener_free(lev);
            goto fail;
        }
        w->lev[i] = lev;
        w->nlev = i + 1;
    }
    atomic_init(&w->accepting, 1);
    /* Live from now: a loop whose thread is still starting is not stuck
     * (the other loops leave it its share of the first connections). */
    atomic_init(&w->beat_ms, util_mono_ms());
    evhttp_set_bevcb(w->http, accept_make_bev, w);
    w->conns = conns_new(w->base, refusal_chunked, NULL);
    w->sweep_ev = event_new(w->base, -1, EV_PERSIST, accept_on_sweep, w);
    w->balance_ev = evtimer_new(w->base, accept_on_balance_recheck, w);
    w->backoff_ev = evtimer_new(w->base, accept_on_backoff_end, w);
    if (w->conns == NULL || w->sweep_ev == NULL || w->balance_ev == NULL ||
        w->backoff_ev == NULL ||
        event_add(w->sweep_ev, &(struct timeval){0, SWEEP_MS * 1000}) != 0)
        goto fail;
    evhttp_set_gencb(w->http, edge_request, w);
    /* An answer without a body carries no Content-Type (evhttp would add
     * text/html to a 200 with none: notification_status = 200); every
     * answer with one names its type (edge.c reply). */
    evhttp_set_default_content_type(w->http, NULL);
    evhttp_set_allowed_methods(
        w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                     EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                     EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    apply_settings(w, cfg);
    return w;
fail:
    log_error("loop %d: cannot set up the event loop", index);
    lane_free(w);
    return NULL;
}

static void *
lane_main(void *arg)
{
    struct lane *w = arg;

    loop_enter(w->loop);
    accept_enter(w);
    fatal_thread_start(w->index);
    log_debug("loop %d running", w->index);
    event_base_dispatch(w->base);
    /* Answer what is still open (deadlines and plugin timers run now), so
     * no call is left behind when the loop goes away. */
    loop_finish(w->loop);
    w->finished = 1;
    log_debug("loop %d done", w->index);
    fatal_thread_end();
    return NULL;
}

int
lane_start(struct lane *w)
{
    pthread_t t;
    int rc = pthread_create(&t, NULL, lane_main, w);

    if (rc != 0) {
        log_error("loop %d: cannot start thread: %s", w->index, strerror(rc));
        return -1;
    }
    w->joinable = t;
    w->started = 1;
    return 0;
}

static void
stop_on_loop(void *arg)
{
    struct lane *w = arg;

    event_active(w->stop_ev, EV_READ, 0);
}

void
lane_stop(struct lane *w, int timeout_ms, int linger)
{
    w->stop_timeout_ms = timeout_ms;
    w->linger = linger;
    if (loop_post(w->loop, stop_on_loop, w) != 0)
        log_error("loop %d: cannot ask it to stop", w->index);
}

long long
lane_beat_age_ms(const struct lane *w)
{
    return util_mono_ms() -
           atomic_load_explicit(&w->beat_ms, memory_order_relaxed);
}

long long
lane_beat_ms(const struct lane *w)
{
    return atomic_load_explicit(&w->beat_ms, memory_order_relaxed);
}

int
lane_index(const struct lane *w)
{
    return w->index;
}

int
lane_join_until(struct lane *w, long long deadline_ms)
{
    struct timespec at;
    int rc;

    if (w == NULL || !w->started)
        return 0;
    if (deadline_ms < 0)
        deadline_ms = 0;
    at.tv_sec = (time_t)(deadline_ms / 1000);
    at.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
    /* CLOCK_MONOTONIC, util_mono_ms()'s clock: a wall-clock step neither
     * cuts the wait short nor stretches it.  A thread that has ended is
     * joined even when the deadline has passed. */
    rc = pthread_clockjoin_np(w->joinable, NULL, CLOCK_MONOTONIC, &at);
    if (rc == ETIMEDOUT)
        return -1;
    if (rc != 0) {
        log_error("loop %d: cannot join its thread: %s", w->index,
                  strerror(rc));
        return -1;
    }
    w->started = 0;
    return 0;
}

void
lane_join(struct lane *w)
{
    if (w != NULL && w->started) {
        pthread_join(w->joinable, NULL);
        w->started = 0;
    }
}

void
lane_free(struct lane *w)
{
    if (w == NULL)
        return;
    lane_join(w);
    /* A loop that never ran (another failed to start) may hold posts from
     * the others: run them now, on this thread, as the loop would have. */
    if (!w->finished && w->loop != NULL)
        loop_finish(w->loop);
    w->nlev = 0; /* evhttp_free frees them before the connections */
    w->draining = 1;
    if (w->http != NULL)
        evhttp_free(w->http);
    conns_free(w->conns);
    if (w->sweep_ev != NULL)
        event_free(w->sweep_ev);
    if (w->backoff_ev != NULL)
        event_free(w->backoff_ev);
    if (w->balance_ev != NULL)
        event_free(w->balance_ev);
    if (w->stop_ev != NULL)
        event_free(w->stop_ev);
    if (w->drain_ev != NULL)
        event_free(w->drain_ev);
    loop_free(w->loop); /* and the base */
    generation_unref(w->gen);
    free(w);
}
