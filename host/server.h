/*
 * server.h - the process: the listening socket, the worker loops, and the
 * main thread's control loop that handles signals (evsignal_new, never a
 * raw handler).
 */
#ifndef HOST_SERVER_H
#define HOST_SERVER_H

struct generation;

/* Serve `gen` (its reference is taken) until SIGINT/SIGTERM; returns the
 * process exit code (0 after a clean shutdown). */
int server_run(struct generation *gen);

#endif
