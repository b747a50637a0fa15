/* SPDX-License-Identifier: MIT */
/*
 * supervisor.h - the process `rpchost` starts as: a small supervisor
 * that holds the listening socket and runs the server in a worker
 * process it forks (nginx's master and worker).
 *
 * The supervisor loads no plugin code and starts no threads.  It
 *   - opens the listening socket (or takes systemd's: listener.h) and
 *     writes the pidfile (its own pid); signals go to it;
 *   - forks the worker (server.h), which loads the plugins and serves;
 *     the worker says when it serves on a pipe (shared.h);
 *   - when the worker dies, logs the signal and what each loop ran then
 *     (read from memory they share) and forks a new one at once, from the
 *     last config text that loaded (a worker that dies again within
 *     RESTART_QUICK_MS of starting is restarted after a backoff doubling
 *     from RESTART_BACKOFF_MS to RESTART_BACKOFF_MAX_MS); the listening
 *     socket stays open throughout, so clients wait in its backlog;
 *   - replaces the worker gracefully (a new one starts; once it serves,
 *     the old one gets SIGTERM and drains) when the old one asks (a loop
 *     stalled past stall_restart), on SIGHUP when `listen` or `threads`
 *     changed, and on SIGUSR2 after re-executing the binary on disk in
 *     place (same pid, the socket kept);
 *   - forwards SIGHUP (in-process reload) and SIGUSR1 (log reopen), and on
 *     SIGTERM/SIGINT shuts the listening socket and forwards the signal,
 *     then exits with the worker's status.
 *
 * A worker that fails before it first serves ends the supervisor with its
 * status (the startup error is the worker's one line): the server never
 * half-starts.
 */
#ifndef HOST_SUPERVISOR_H
#define HOST_SUPERVISOR_H

struct config;
struct reload_opts;
struct worker_ends;

#define RESTART_QUICK_MS 10000
#define RESTART_BACKOFF_MS 250
#define RESTART_BACKOFF_MAX_MS 10000

/* The worker process's body: serve `cfg` (taken) with what `ends` holds;
 * returns its exit status. */
typedef int supervisor_worker_fn(struct config *cfg,
                                 const struct worker_ends *ends);

/* Supervise workers running `fn` on `cfg` (taken) until SIGTERM/SIGINT;
 * returns the exit status.  `argv` (NULL-terminated) and `exe` (the
 * binary's path) are what SIGUSR2 re-executes.  Main thread, with no
 * other thread running. */
int supervisor_run(struct config *cfg, const struct reload_opts *opts,
                   const char *exe, char *const *argv,
                   supervisor_worker_fn *fn);

#endif
