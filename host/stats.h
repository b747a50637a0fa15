/* SPDX-License-Identifier: MIT */
/*
 * stats.h - counters for /metrics (pure; no libevent).
 *
 * Each event loop owns one `struct stats` and is its only writer; the
 * thread that renders /metrics reads every loop's counters concurrently.
 * Counters are relaxed atomics written without a lock prefix (single
 * writer), so counting costs a plain load and store.
 */
#ifndef HOST_STATS_H
#define HOST_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "activity.h"
#include "buf.h"

/* Latency histogram buckets, +Inf included: 50 us .. 60 s, so calls up to
 * call_timeout (10 s by default) and past it land in a finite bucket.  A
 * method slot is 32 + 8 * (STATS_BUCKETS + STATS_LIMITS) = 192 bytes; a
 * loop's STATS_METHODS slots take 48 KiB. */
#define STATS_BUCKETS 17
#define STATS_METHODS 256     /* per-loop method slots (power of two) */
#define STATS_CODES 16        /* distinct error codes tracked per loop */
#define STATS_CLOSE_REASONS 5 /* conns.h's CONNS_NREASONS */
#define STATS_LIMITS 3        /* admit.h's ADMIT_NLIMITS */

struct method_stats {
    _Atomic(const char *) name; /* interned; NULL: free slot */
    atomic_ulong calls;
    atomic_ulong errors;
    atomic_ulong sum_us; /* with the fields every call writes, ahead of
                            the buckets (one of which it writes) */
    atomic_ulong bucket[STATS_BUCKETS]; /* non-cumulative counts */
    atomic_ulong limited[STATS_LIMITS]; /* refused, by admit.h's limit */
};

struct stats {
    atomic_ulong http_status[6]; /* 1xx..5xx by first digit; [0] other */
    atomic_ulong requests;
    atomic_long in_flight;   /* calls running */
    atomic_long connections; /* open now */
    atomic_ulong connections_total;
    /* Connections the loop closed itself, by reason: headers, request or
     * answer past their deadline, closed to make room (conns.h's enum
     * conns_reason, in its order). */
    atomic_ulong conn_closed[STATS_CLOSE_REASONS];
    atomic_ulong accept_errors; /* accept() failures (EMFILE...) */
    struct activity now;        /* the plugin code the loop runs now */
    /* 1 while the stall watchdog (stall.h, main thread) reports the loop
     * stalled: its one writer, unlike the counters above. */
    atomic_int stalled;
    atomic_ulong error_code_count[STATS_CODES];
    atomic_int error_code[STATS_CODES]; /* 0: free slot */
    atomic_ulong error_other;
    struct method_stats methods[STATS_METHODS];
    atomic_ulong methods_dropped; /* calls of methods beyond the slots */
};

/* Why a supervisor started a worker process other than its first
 * (supervisor.h): rpchost_worker_restarts_total{reason}. */
enum restart_reason {
    RESTART_CRASH,   /* the last one died of a signal */
    RESTART_EXIT,    /* the last one exited unexpectedly */
    RESTART_STALL,   /* a loop stuck past stall_restart */
    RESTART_UPGRADE, /* SIGUSR2: a new binary */
    RESTART_RELOAD,  /* SIGHUP changed listen or threads */
    RESTART_NREASONS
};

/* "crash", "exit", "stall", "upgrade", "reload". */
const char *stats_restart_reason(int reason);

/* Process-wide numbers rendered with the per-loop ones. */
struct stats_global {
    unsigned long restarts[RESTART_NREASONS];
    unsigned long generation;
    unsigned long reloads;
    unsigned long reload_failures;
    long long start_time; /* unix seconds */
    int draining;
};

/* Writer side (the owning loop's thread). */
void stats_add(atomic_ulong *c, unsigned long n);
void stats_add_gauge(atomic_long *g, long n);
void stats_http(struct stats *s, int status);
/* A call of registered method `name` (a string that stays valid: names are
 * interned by stats_intern) took `us` microseconds; `code` 0 or its error
 * code.  `name` NULL counts as an unknown method. */
void stats_call(struct stats *s, const char *name, uint64_t us, int code);
/* A call of `name` (as for stats_call) was refused by admission limit
 * `limit` (admit.h's enum admit_limit). */
void stats_limited(struct stats *s, const char *name, int limit);

/* A process-lifetime copy of a method name (names survive reloads). */
const char *stats_intern(const char *name);
void stats_intern_free_all(void);
/* Intern into mem[0..size) from now on (the heap once it is full): a
 * mapping shared with a supervisor (shared.h); names interned in the
 * arena set before are forgotten (NULL: back to the heap alone).  Before
 * any thread. */
void stats_intern_arena(char *mem, size_t size);

/* Reader side: Prometheus text exposition of all loops, and of the
 * process-wide numbers in *g (rpchost_build_info among them).  Pure: the
 * process_* series are procstat.h's, added by stats_render_all. */
void stats_render(struct buf *out, struct stats *const *loops, size_t n,
                  const struct stats_global *g);

/* The process's loops, for /metrics.  Register before the loops' threads
 * start (main thread); unregister after they ended. */
void stats_register(struct stats *s);
void stats_unregister_all(void);
/* Loop i's counters (NULL past the last), and how many loops there are;
 * lock-free reads, async-signal-safe (fatal.h). */
struct stats *stats_loop(size_t i);
size_t stats_loop_count(void);
/* Main thread: the serving generation; reload_ok 1 counts a reload, -1 a
 * failed one, 0 neither; draining 1 once shutdown began. */
void stats_set_global(unsigned long generation, int reload_ok, int draining);
/* The supervisor's restart counts (before the loops start). */
void stats_set_restarts(const unsigned long *counts);
/* Whether shutdown began (any thread). */
int stats_draining(void);
/* Render every registered loop, then the process_* series read now
 * (procstat.h: a few procfs reads, O(open descriptors); any thread). */
void stats_render_all(struct buf *out);

#endif
