/* SPDX-License-Identifier: MIT */
/*
 * server.h - the worker process (supervisor.h forks it): its event loops
 * on the listening socket the supervisor handed it (shared.h), and the
 * main thread's control loop that handles signals (evsignal_new, never a
 * raw handler) and swaps in the generations the reload thread builds
 * (reloader.h), so that no reload ever holds a signal up.
 */
#ifndef HOST_SERVER_H
#define HOST_SERVER_H

struct generation;
struct reload_opts;
struct worker_ends;

/* First thing in a worker process (the supervisor forks it with its
 * signals blocked): SIGINT, SIGTERM, SIGQUIT, SIGHUP and SIGUSR1 are held
 * (recorded, acted on once server_run handles them) rather than blocked,
 * so that processes plugins start while they load inherit no blocked
 * signals; SIGUSR2 is ignored; SIGCHLD and SIGABRT get their default
 * actions.  Main thread, before any other thread. */
void server_hold_signals(void);

/* Serve `gen` (its reference is taken) until SIGINT/SIGTERM, rebuilding
 * it from opts->config_file on SIGHUP; returns the process exit code (0
 * after a clean shutdown).  SIGHUPs during a build coalesce into one more
 * build after it.  If a build is still running when a shutdown's drain is
 * over (a plugin's init that does not return), it is abandoned (logged)
 * and server_run does not return: the process ends with _exit() and that
 * exit code.  Nor does it if a loop has not ended shutdown_timeout plus a
 * second after the shutdown began (plugin code that does not return): the
 * process then logs what each such loop runs and ends with _exit(1).
 * Main thread. */
int server_run(struct generation *gen, const struct reload_opts *opts,
               const struct worker_ends *ends);

#endif
