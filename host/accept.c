/* SPDX-License-Identifier: MIT */
/*
 * accept.c - see accept.h.
 */
#define _GNU_SOURCE
#include "accept.h"

#include <netinet/in.h>
#include <stddef.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/listener.h>

#include "conns.h"
#include "generation.h"
#include "log.h"
#include "loop.h"
#include "stats.h"
#include "util.h"

#include "lanedef.h"

/* ---- connections ----
 *
 * What each connection is doing, its deadlines and its retirement are
 * conns.c's.  At its share of max_connections a loop first makes room
 * (closing the longest idle keep-alive connection, else a request that has
 * been arriving for long); when there is none to close it stops accepting
 * (as nginx does at worker_connections): further clients wait in the listen
 * backlog until a connection closes or becomes idle. */

_Static_assert(CONNS_NREASONS == STATS_CLOSE_REASONS,
               "stats.h counts conns.h's reasons");

/* Publish the loop's open connections for /metrics and the other loops. */
static long
count_open(struct lane *w)
{
    long open = conns_open(w->conns);

    atomic_store_explicit(&w->stats->connections, open, memory_order_relaxed);
    return open;
}

/* ---- accept balancing ----
 *
 * All loops accept from the one listening socket, and a loop woken for new
 * connections accepts until the queue is empty: a burst of connects (a
 * proxy's or a benchmark's connection pool) would all land on whichever
 * loop woke first, and the other loops would idle.  So a loop more than
 * BALANCE_SLACK connections ahead of the least loaded other loop stops
 * accepting, and makes sure that one accepts (its listener is turned back
 * on through its post queue).  A paused loop turns its listener back on by
 * itself when it is no longer ahead, or when the loop it stepped back for
 * took no connection within RECHECK_MS (busy in a long call): checked
 * every RECHECK_MS while paused, and at every sweep.  Loops at their share of
 * max_connections are left out of the comparison, and so are loops that
 * have not run their sweep for STUCK_MS (a plugin blocking their thread):
 * new connections go to loops that can answer them.
 *
 * Balancing never leaves the listen queue to one loop while it fills: a
 * loop stepped back only while the loop it stepped back for keeps up.  When
 * connections wait in a listening socket's queue, 1/QUEUE_SHARE of its
 * backlog or more (a burst of thousands of connects, or the other loop
 * preempted: on a machine with fewer cores than threads it may not run for
 * milliseconds), a loop does not step back, and a paused one resumes at its
 * next recheck: every loop accepts until the queue is short again.  Without
 * this a burst overflowed the backlog (SYNs dropped, clients retrying after
 * 1 s) while a loop waited for one that was not running. */

#define BALANCE_SLACK 1
#define RECHECK_MS 5
#define STUCK_MS (3 * SWEEP_MS)
#define QUEUE_SHARE 8

/* Turn the listener on or off and say so to the other loops. */
void
accept_update(struct lane *w)
{
    int on = w->nlev > 0 && !w->draining && !w->accept_paused &&
             !w->balance_paused && !w->accept_backoff;

    if (on == atomic_load_explicit(&w->accepting, memory_order_relaxed))
        return;
    for (int i = 0; i < w->nlev; i++) {
        if (on)
            evconnlistener_enable(w->lev[i]);
        else
            evconnlistener_disable(w->lev[i]);
    }
    atomic_store_explicit(&w->accepting, on, memory_order_relaxed);
}

static long
open_conns(const struct lane *w)
{
    return atomic_load_explicit(&w->stats->connections, memory_order_relaxed);
}

/* The other loop with the fewest open connections that is neither at its
 * share of max_connections nor stuck, or NULL; its count in *open. */
static struct lane *
least_loaded_peer(const struct lane *w, long *open)
{
    struct lane *best = NULL;
    long long now = util_mono_ms();

    for (int i = 0; i < w->npeers; i++) {
        struct lane *p = w->peers[i];
        long n;

        if (p == w || atomic_load_explicit(&p->full, memory_order_relaxed))
            continue;
        if (now - atomic_load_explicit(&p->beat_ms, memory_order_relaxed) >
            STUCK_MS)
            continue;
        n = open_conns(p);
        if (best == NULL || n < *open) {
            best = p;
            *open = n;
        }
    }
    return best;
}

static unsigned long
accepted(const struct lane *w)
{
    return atomic_load_explicit(&w->stats->connections_total,
                                memory_order_relaxed);
}

/* Whether a listening socket's accept queue holds 1/QUEUE_SHARE of its
 * backlog or more (TCP_INFO of a listening socket: tcpi_unacked is its
 * queue, tcpi_sacked its backlog).  A unix socket says nothing: 0. */
static int
queue_filling(const struct lane *w)
{
    for (int i = 0; i < w->nlev; i++) {
        struct tcp_info ti;
        socklen_t len = sizeof(ti);
        int fd = evconnlistener_get_fd(w->lev[i]);

        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
            len >= offsetof(struct tcp_info, tcpi_sacked) +
                       sizeof(ti.tcpi_sacked) &&
            ti.tcpi_unacked > 0 &&
            ti.tcpi_unacked >= ti.tcpi_sacked / QUEUE_SHARE)
            return 1;
    }
    return 0;
}

/* Look again in RECHECK_MS whether p took connections meanwhile. */
static void
watch_peer(struct lane *w, struct lane *p)
{
    struct timeval tv = {0, RECHECK_MS * 1000};

    w->watched = p;
    w->watched_total = accepted(p);
    evtimer_add(w->balance_ev, &tv);
}

/* On loop `arg`: accept again (posted by a loop that got ahead). */
static void
balance_resume(void *arg)
{
    struct lane *w = arg;

    w->balance_paused = 0;
    accept_update(w);
}

/* After this loop accepted a connection. */
static void
balance_after_accept(struct lane *w)
{
    struct lane *p;
    long least = 0;

    if (w->npeers < 2 || w->balance_paused || w->draining)
        return;
    p = least_loaded_peer(w, &least);
    if (p == NULL || open_conns(w) <= least + BALANCE_SLACK || queue_filling(w))
        return;
    w->balance_paused = 1;
    accept_update(w);
    if (!atomic_load_explicit(&p->accepting, memory_order_relaxed))
        loop_post(p->loop, balance_resume, p); /* fails only at exit */
    watch_peer(w, p);
}

/* While paused: every RECHECK_MS, accept again unless the loop it stepped
 * back for took a connection since the last look and the listen queue is
 * short.  A loop busy in a long call (but not yet stuck) takes none, and
 * new clients are then not left waiting for it; with no clients arriving
 * this resumes too, which costs nothing. */
void
accept_on_balance_recheck(evutil_socket_t fd, short what, void *arg)
{
    struct lane *w = arg;
    struct lane *p;
    long least = 0;

    (void)fd;
    (void)what;
    if (!w->balance_paused)
        return;
    p = least_loaded_peer(w, &least);
    if (p == NULL || open_conns(w) <= least + BALANCE_SLACK ||
        !atomic_load_explicit(&p->accepting, memory_order_relaxed) ||
        (p == w->watched && accepted(p) == w->watched_total) ||
        queue_filling(w)) {
        w->balance_paused = 0;
        accept_update(w);
        return;
    }
    watch_peer(w, p);
}

/* Whether the loop holds its share of the descriptors the limit leaves
 * for connections: closed connections keep theirs for two sweeps (see
 * conns.h), so under a burst of closes and accepts the open count alone
 * would let the process run out. */
static int
fds_short(const struct lane *w)
{
    return w->fd_share > 0 && conns_held(w->conns) >= w->fd_share;
}

void
accept_on_sweep(evutil_socket_t fd, short what, void *arg)
{
    struct lane *w = arg;
    const struct config *cfg = w->gen->cfg;
    unsigned long closed[CONNS_NREASONS] = {0};
    long open;

    (void)fd;
    (void)what;
    atomic_store_explicit(&w->beat_ms, util_mono_ms(), memory_order_relaxed);
    struct conns_deadlines d = {cfg->header_timeout_ms, cfg->request_timeout_ms,
                                cfg->response_timeout_ms};

    conns_sweep(w->conns, &d, closed);
    for (int r = 0; r < CONNS_NREASONS; r++)
        if (closed[r] > 0)
            stats_add(&w->stats->conn_closed[r], closed[r]);
    open = count_open(w);
    if (w->accept_paused && !fds_short(w) &&
        (w->max_conns == 0 || open < w->max_conns ||
         conns_can_make_room(w->conns))) {
        w->accept_paused = 0;
        atomic_store_explicit(&w->full, 0, memory_order_relaxed);
        accept_update(w);
    }
    if (w->balance_paused) /* a second look, should its timer have failed */
        accept_on_balance_recheck(-1, 0, w);
}

/* After an accept that left `open` connections, at least the loop's share
 * of max_connections: if that is one beyond the share, make room for it;
 * if there is no room to be made for the next one, stop accepting until
 * there is (accept_on_sweep looks). */
static void
at_share(struct lane *w, long open)
{
    long long now;

    if (open > w->max_conns && conns_make_room(w->conns)) {
        stats_add(&w->stats->conn_closed[CONNS_MADE_ROOM], 1);
        count_open(w);
    }
    if (w->accept_paused || w->nlev == 0 ||
        (!fds_short(w) && conns_can_make_room(w->conns)))
        return;
    w->accept_paused = 1;
    atomic_store_explicit(&w->full, 1, memory_order_relaxed);
    accept_update(w);
    now = util_mono_ms();
    if (now - w->share_log_ms >= 10000) {
        if (fds_short(w))
            log_warn("loop %d: %ld sockets held (closed connections keep "
                     "theirs for up to 200 ms), its share of what the "
                     "descriptor limit allows; not accepting for a moment "
                     "(said at most every 10 s)",
                     w->index, conns_held(w->conns));
        else
            log_warn("loop %d: %ld connections, its share of "
                     "max_connections, none idle or slow; not accepting until "
                     "one closes or goes idle (said at most every 10 s)",
                     w->index, w->max_conns);
        w->share_log_ms = now;
    }
}

struct bufferevent *
accept_make_bev(struct event_base *base, void *arg)
{
    struct lane *w = arg;
    struct bufferevent *bev;
    long open;

    (void)base;
    /* Near the share, count the connections evhttp freed since the last
     * sweep first; that looks at every connection, so at most every
     * 10 ms. */
    if (w->max_conns > 0 && conns_open(w->conns) + 1 >= w->max_conns) {
        long long now = util_mono_ms();

        if (now - w->reap_ms >= 10) {
            conns_reap(w->conns);
            w->reap_ms = now;
        }
    }
    bev = conns_add(w->conns, w->read_max, w->chunk_max);
    if (bev == NULL)
        return NULL; /* evhttp makes its own; it goes uncounted */
    stats_add(&w->stats->connections_total, 1);
    open = count_open(w);
    if ((w->max_conns > 0 && open >= w->max_conns) || fds_short(w))
        at_share(w, open);
    balance_after_accept(w);
    return bev;
}

/* ---- accept errors ----
 *
 * accept() failing with anything but "try again" (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM: out of descriptors or memory) leaves the connection in the
 * backlog and the listening socket readable: retried at once, it would
 * spin the loop and flood the log.  So the loop stops accepting for
 * ACCEPT_BACKOFF_MS and logs at most once a second, with a count. */

#define ACCEPT_BACKOFF_MS 100

void
accept_on_backoff_end(evutil_socket_t fd, short what, void *arg)
{
    struct lane *w = arg;

    (void)fd;
    (void)what;
    w->accept_backoff = 0;
    accept_update(w);
}

/* The worker whose loop runs on this thread (an error callback's argument
 * is evhttp's, not ours). */
static _Thread_local struct lane *this_lane;

void
accept_on_error(struct evconnlistener *lev, void *arg)
{
    struct lane *w = this_lane;
    struct timeval backoff = {0, ACCEPT_BACKOFF_MS * 1000};
    int err = EVUTIL_SOCKET_ERROR();
    long long now = util_mono_ms();

    (void)lev;
    (void)arg;
    if (w == NULL || w->draining || err == EINVAL)
        return; /* the listening socket was shut down: the drain began */
    stats_add(&w->stats->accept_errors, 1);
    w->accept_errs++;
    if (now - w->accept_log_ms >= 1000) {
        log_error("loop %d: accept: %s; pausing accepts for %d ms (%lu "
                  "failure(s) in the last second)",
                  w->index, evutil_socket_error_to_string(err),
                  ACCEPT_BACKOFF_MS, w->accept_errs);
        w->accept_log_ms = now;
        w->accept_errs = 0;
    }
    if (evtimer_add(w->backoff_ev, &backoff) != 0)
        return; /* no timer to end it: retry at once rather than never */
    w->accept_backoff = 1;
    accept_update(w);
}

void
accept_enter(struct lane *w)
{
    this_lane = w;
}
