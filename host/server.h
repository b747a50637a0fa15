/*
 * server.h - the process: the listening socket, the worker loops, and the
 * main thread's control loop that handles signals (evsignal_new, never a
 * raw handler) and reloads.
 */
#ifndef HOST_SERVER_H
#define HOST_SERVER_H

struct generation;
struct reload_opts;

/* Serve `gen` (its reference is taken) until SIGINT/SIGTERM, rebuilding
 * it from opts->config_file on SIGHUP; returns the process exit code (0
 * after a clean shutdown). */
int server_run(struct generation *gen, const struct reload_opts *opts);

#endif
