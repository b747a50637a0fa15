/* SPDX-License-Identifier: MIT */
/*
 * shared.h - what a worker process and its supervisor share
 * (supervisor.h): one anonymous MAP_SHARED mapping the supervisor makes
 * before it forks the worker, and the descriptors the worker inherits.
 *
 * The mapping holds
 *   - the worker's per-loop counters (struct stats), whose `now` records
 *     (activity.h) say what each loop runs: the supervisor reads them when
 *     the worker has died, to say what it died in;
 *   - the arena the worker interns method and plugin names in
 *     (stats_intern), so those records' names are readable there too (the
 *     mapping has the same address in both processes);
 *   - the text of the last configuration the worker loaded (at startup
 *     and at each reload), which a restarted worker serves;
 *   - the supervisor's restart counts, for the worker's /metrics.
 *
 * The worker writes; the supervisor reads and never trusts: every name is
 * checked to lie in the arena and to end there.  No locks: the config
 * text is under a sequence count, the rest is a diagnostic.
 */
#ifndef HOST_SHARED_H
#define HOST_SHARED_H

#include <stddef.h>

#include "address.h"

struct stats;

/* What a worker process is handed by its supervisor. */
struct worker_ends {
    int listen_fds[ADDRESS_MAX]; /* the listening sockets (its copies) */
    int nlisten;
    int ctl_fd;             /* write end: SHARED_MSG_* bytes */
    struct shared *shared;  /* the mapping above */
    unsigned long restarts; /* workers started before this one */
};

/* Bytes a worker writes on ctl_fd. */
#define SHARED_MSG_READY 'R' /* every loop serves */
#define SHARED_MSG_STALL 'S' /* a loop is stuck past stall_restart */

struct shared;

/* A mapping for a worker of `nloops` loops (zeroed).  NULL on failure,
 * errno set. */
struct shared *shared_new(int nloops);
void shared_free(struct shared *sh);

/* Loop i's counters (0 <= i < nloops). */
struct stats *shared_stats(struct shared *sh, int i);

/* The worker, first thing: intern names in the mapping's arena. */
void shared_use_arena(struct shared *sh);

/* Restart counts per enum restart_reason (stats.h): the supervisor sets them
 * before the fork; the worker reads them. */
void shared_set_restarts(struct shared *sh, const unsigned long *counts);
void shared_restarts(const struct shared *sh, unsigned long *counts);

/* The worker: `text` (len bytes) is the config it now serves.  A text
 * larger than CONFIG_MAX_TEXT is not kept (the last one stays). */
void shared_save_config(struct shared *sh, const char *text, size_t len);

/* The supervisor: a malloc'd NUL-terminated copy of the last config text
 * saved, its length in *len; NULL when none was (or it was being written
 * when the worker died). */
char *shared_config(const struct shared *sh, size_t *len);

/* The supervisor: what each loop was running, into out[0..len):
 * "loop 0 in method M (plugin [P], generation G) for 1.2 s; loop 1 not in
 * plugin code". */
void shared_describe(const struct shared *sh, char *out, size_t len);

#endif
