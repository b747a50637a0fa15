/* SPDX-License-Identifier: MIT */
/*
 * stall.h - the stall watchdog: from a timer on the main thread's event
 * loop, every STALL_TICK_MS, it finds the event loops that have not come
 * round to their periodic sweep (every 100 ms while a loop turns) for
 * stall_timeout: plugin code that keeps its thread (a handler spinning,
 * deadlocked, waiting on something that never answers).  Such a loop is
 *
 *   - logged once, at warn, naming what it runs from its struct activity:
 *     "loop N stalled for X s in method M (plugin [P], generation G)";
 *     once more, at info, when it comes round again ("recovered");
 *   - flagged in its struct stats (`stalled`, which only this watchdog
 *     writes): /metrics shows rpchost_loop_stalled{loop="N"} 1 and
 *     /healthz, answered by the other loops, 503 "stalled" naming it;
 *   - given no new connections: accept balancing (accept.c) already leaves a
 *     loop whose sweep is late out, and a blocked loop does not accept.
 *
 * A loop stalled past stall_restart is handed to a callback, once: the
 * server asks its supervisor for a new worker process (supervisor.h).
 * Shutting down with a loop still stuck is server.c's (server_run).
 *
 * Main thread only (the thread running `base`), but stall_describe(),
 * which any thread may call.
 */
#ifndef HOST_STALL_H
#define HOST_STALL_H

#include <stddef.h>

struct activity;
struct event_base;
struct stall;
struct stats;
struct lane;

/* How often the loops are looked at: a stall is reported at most this
 * long after stall_timeout. */
#define STALL_TICK_MS 250

/* Start watching the `n` lanes in `lanes`, whose stats are stats[0..n)
 * (both must outlive the watchdog; neither is copied), with a stall_timeout
 * of `timeout_ms`.  NULL on failure (logged: the server runs unwatched). */
struct stall *stall_start(struct event_base *base, struct lane *const *lanes,
                          struct stats *stats, int n, int timeout_ms);

/* A new stall_timeout (a reload); a stall already reported stays reported
 * until its loop comes round.  NULL: nothing. */
void stall_set_timeout(struct stall *st, int timeout_ms);

/* Called once when a loop has been stalled for `age_ms` > restart_ms. */
typedef void stall_restart_fn(void *arg, int loop, long long age_ms);

/* From now on, a loop stalled for more than restart_ms (0: never) is
 * handed to fn(arg, ...), once for the watchdog's life.  NULL: nothing. */
void stall_set_restart(struct stall *st, int restart_ms, stall_restart_fn *fn,
                       void *arg);

/* Stop watching (at the start of a shutdown: a loop that ended its drain
 * must not read as stalled).  Flags already set are left as they are.
 * NULL: nothing. */
void stall_stop(struct stall *st);

/* Stop and free (NULL: nothing). */
void stall_free(struct stall *st);

/* What the loop whose activity is `a` runs now, into out[0..len) (always
 * NUL-terminated when len > 0): "in method M (plugin [P], generation G)"
 * or "not in plugin code".  Any thread; a diagnostic (activity.h). */
void stall_describe(const struct activity *a, char *out, size_t len);

#endif
