/* SPDX-License-Identifier: MIT */
/*
 * lane.h - a lane: one event-loop thread of the lane process, with its
 * own loop (loop.h), HTTP server, connections and counters, all lanes
 * accepting from the one shared listening socket.  Made of lane.c (the
 * thread, its generation, its stop and drain), accept.c (connections and
 * accept balancing between lanes) and edge.c (where a request enters and
 * its answer leaves); their shared state is lanedef.h's.
 *
 * Each lane holds its own reference to the current generation and
 * changes it only on its own thread; a request holds a reference for as
 * long as its calls run.  Other threads talk to a lane only by posting to
 * it (loop.h: lane_stop, lane_set_generation, plugins' deferred answers,
 * other lanes' accept balancing), which wakes it through its eventfd;
 * what other lanes read of it (connection count, accepting) is atomic.
 */
#ifndef HOST_LANE_H
#define HOST_LANE_H

#include <pthread.h>

struct generation;
struct stats;
struct lane;

/* Create lane `index` accepting on the `nfds` sockets in fds (not closed
 * by it), with
 * the settings of `gen` (referenced), counting into `stats` (the caller's,
 * zeroed, outliving the lane).  `peers` holds all npeers lanes, this
 * one included, for accept balancing: the caller fills it before starting
 * any, and frees none of them before all are joined.  `conn_cap` caps
 * max_connections of every generation (what the descriptor limit allows;
 * 0: no cap).  NULL on failure (logged). */
struct lane *lane_new(int index, const int *fds, int nfds,
                      struct generation *gen, struct stats *stats,
                      struct lane *const *peers, int npeers, long conn_cap);

/* Run the lane's loop on a new thread.  -1 on failure (logged). */
int lane_start(struct lane *w);

/* From any thread: stop accepting, finish in-flight requests (at most
 * timeout_ms), then end the loop.  Idle keep-alive connections are closed
 * once nothing is in flight, or, with `linger` (the process is being
 * replaced), left until timeout_ms for one more request, answered with
 * Connection: close. */
void lane_stop(struct lane *w, int timeout_ms, int linger);

/* From the main thread: make `gen` (referenced here) the lane's current
 * generation for new requests; requests already running keep theirs. */
void lane_set_generation(struct lane *w, struct generation *gen);

/* From any thread: milliseconds since the lane's loop last ran its
 * periodic sweep (every 100 ms while the loop turns; growing while a
 * plugin call blocks its thread).  From lane_new() on. */
long long lane_beat_age_ms(const struct lane *w);

/* From any thread: when the lane's loop last ran its periodic sweep
 * (util_mono_ms()); the same reading as lane_beat_age_ms(), for a
 * caller telling one sweep from the next.  From lane_new() on. */
long long lane_beat_ms(const struct lane *w);

/* The index given to lane_new() (the "loop N" of logs and metrics). */
int lane_index(const struct lane *w);

/* Wait for the lane's thread to end. */
void lane_join(struct lane *w);
/* Main thread: wait for the lane's thread to end until `deadline_ms`
 * (util_mono_ms()'s clock).  0 once it ended (or never started), -1 when
 * it still runs then (a plugin call keeping it; logged if the join itself
 * failed): the lane must then not be freed. */
int lane_join_until(struct lane *w, long long deadline_ms);
/* Free everything of a joined (or never started) lane. */
void lane_free(struct lane *w);

#endif
