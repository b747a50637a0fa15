/* SPDX-License-Identifier: MIT */
/*
 * supdef.h - the supervisor's state (supervisor.h), shared by the two
 * files that make it up: supervisor.c (its loop: signals, reloads,
 * re-execution, timers) and workers.c (the worker processes: starting
 * them, draining, what each says on its pipe, their exits and restarts).
 * Nothing else looks inside.  One thread: the supervisor's.
 */
#ifndef HOST_SUPDEF_H
#define HOST_SUPDEF_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "listener.h"
#include "reload.h"
#include "shared.h"
#include "stats.h"
#include "supervisor.h"
#include "upgrade.h"
#include "util.h"

#define MAX_KIDS UPGRADE_MAX_WORKERS
/* A draining worker still alive this long after its shutdown_timeout
 * gets SIGABRT (a core), and SIGKILL KILL_GRACE_MS after that. */
#define ABORT_GRACE_MS 3000
#define KILL_GRACE_MS 5000
/* A stop signal this soon after the first is the same request. */
#define SECOND_SIGNAL_MS 500

enum kid_state { KID_STARTING, KID_SERVING, KID_DRAINING };

struct kid {
    pid_t pid;
    int ctl;               /* read end of its pipe; -1: none */
    struct shared *shared; /* NULL: adopted across a re-execution */
    enum kid_state state;
    long long started_ms;
    long long kill_ms; /* DRAINING: when it gets SIGABRT, then SIGKILL */
    int aborted;       /* SIGABRT sent */
    int reason;        /* enum restart_reason it was started for; -1 */
    /* A SIGHUP's new listen/threads: the config and sockets that become
     * the supervisor's once this worker serves (NULL: the current ones). */
    struct config *cfg;
    struct listeners *ls;
};

struct sup {
    struct config *cfg; /* the config workers are started from */
    const struct reload_opts *opts;
    supervisor_worker_fn *fn;
    const char *exe;
    char *const *argv;
    sigset_t sigs; /* those the signalfd takes */
    int sigfd;
    struct listeners *ls; /* the sockets workers are started on */
    struct kid kids[MAX_KIDS];
    int nkids;
    unsigned long restarts[RESTART_NREASONS];
    unsigned long nrestarts;
    int quick_deaths;  /* in a row, each soon after its start */
    int stall_pending; /* a stall replacement waits for a starting worker */
    long long restart_at_ms; /* a restart waiting out its backoff; 0 */
    int restart_reason;
    int ever_ready;
    int stopping;
    long long stop_ms; /* when the first stop signal came */
    int exit_code;
    char *pidfile;
};

static inline long long
now_ms(void)
{
    return util_mono_ms();
}

/* workers.c */

/* How many workers are in state st. */
int workers_count(const struct sup *s, enum kid_state st);
/* Fork a worker for `cfg` on the sockets `ls`; `reason` is why (-1: the
 * first).  The worker gets its own copy of cfg.  The new entry, or NULL
 * logged. */
struct kid *workers_start(struct sup *s, struct config *cfg,
                          struct listeners *ls, int reason);
/* SIGTERM (a stop) or SIGQUIT (a replacement) to a worker: it drains and
 * exits; past its deadline it is aborted. */
void workers_drain(struct sup *s, struct kid *k, int sig);
/* Send sig to every worker not draining. */
void workers_forward(struct sup *s, int sig);
/* Make `ls` the sockets workers are started on (the old set closed but
 * for the sockets they share). */
void workers_use_listeners(struct sup *s, struct listeners *ls);
/* "127.0.0.1:5000, unix:/run/x.sock" for the log. */
void workers_listen_text(const struct listeners *ls, char *out, size_t len);
/* Collect every exited worker (waitpid), logging, restarting. */
void workers_reap(struct sup *s);
/* What worker k wrote on its pipe (ready, stalled, ...). */
void workers_read(struct sup *s, struct kid *k);

#endif
