/*
 * http.h - the HTTP edge: one event loop (event_base + evhttp) per worker
 * thread, all accepting from the one shared listening socket, a loop that
 * got ahead of the others in connections pausing its accepts (see "accept
 * balancing" in http.c).
 *
 * Each worker holds its own reference to the current generation and
 * changes it only on its own thread; a request holds a reference for as
 * long as its calls run.  Other threads talk to a worker only by posting
 * to it (loop.h: worker_stop, worker_set_generation, plugins' deferred
 * answers, other loops' accept balancing), which wakes it through its
 * eventfd; what other loops read of it (connection count, accepting) is
 * atomic.
 */
#ifndef HOST_HTTP_H
#define HOST_HTTP_H

#include <pthread.h>

struct generation;
struct stats;
struct worker;

/* Create worker `index` accepting on `listen_fd` (not closed by it), with
 * the settings of `gen` (referenced), counting into `stats` (the caller's,
 * zeroed, outliving the worker).  `peers` holds all npeers workers, this
 * one included, for accept balancing: the caller fills it before starting
 * any, and frees none of them before all are joined.  `conn_cap` caps
 * max_connections of every generation (what the descriptor limit allows;
 * 0: no cap).  NULL on failure (logged). */
struct worker *worker_new(int index, int listen_fd, struct generation *gen,
                          struct stats *stats, struct worker *const *peers,
                          int npeers, long conn_cap);

/* Run the worker's loop on a new thread.  -1 on failure (logged). */
int worker_start(struct worker *w);

/* From any thread: stop accepting, finish in-flight requests (at most
 * timeout_ms), then end the loop.  Idle keep-alive connections are closed
 * once nothing is in flight, or, with `linger` (the process is being
 * replaced), left until timeout_ms for one more request, answered with
 * Connection: close. */
void worker_stop(struct worker *w, int timeout_ms, int linger);

/* From the main thread: make `gen` (referenced here) the worker's current
 * generation for new requests; requests already running keep theirs. */
void worker_set_generation(struct worker *w, struct generation *gen);

/* From any thread: milliseconds since the worker's loop last ran its
 * periodic sweep (every 100 ms while the loop turns; growing while a
 * plugin call blocks its thread).  From worker_new() on. */
long long worker_beat_age_ms(const struct worker *w);

/* From any thread: when the worker's loop last ran its periodic sweep
 * (util_mono_ms()); the same reading as worker_beat_age_ms(), for a
 * caller telling one sweep from the next.  From worker_new() on. */
long long worker_beat_ms(const struct worker *w);

/* The index given to worker_new() (the "loop N" of logs and metrics). */
int worker_index(const struct worker *w);

/* Wait for the worker's thread to end. */
void worker_join(struct worker *w);
/* Main thread: wait for the worker's thread to end until `deadline_ms`
 * (util_mono_ms()'s clock).  0 once it ended (or never started), -1 when
 * it still runs then (a plugin call keeping it; logged if the join itself
 * failed): the worker must then not be freed. */
int worker_join_until(struct worker *w, long long deadline_ms);
/* Free everything of a joined (or never started) worker. */
void worker_free(struct worker *w);

#endif
