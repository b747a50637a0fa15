/* SPDX-License-Identifier: MIT */
/*
 * fdtable.h - the worker's descriptors: how many connections the
 * descriptor limit leaves room for, and a descriptor table sized for them
 * before they arrive.
 */
#ifndef HOST_FDTABLE_H
#define HOST_FDTABLE_H

struct config;

/* Raise the soft RLIMIT_NOFILE to the hard one (every connection is a
 * descriptor) and return the most connections it then leaves room for
 * beside the descriptors kept for listeners, logs, loops and plugins
 * (logged when that caps cfg's max_connections); 0 for no cap. */
long fd_connection_cap(const struct config *cfg);

/* Grow the process's descriptor table now to hold the connections `cfg`
 * allows (max_connections, 65536 for 0, capped by `conn_cap` from
 * fd_connection_cap()) and the descriptors kept beside them, within
 * RLIMIT_NOFILE.  The kernel grows a table by doubling it when a new
 * descriptor does not fit, and in a process with threads each growth
 * waits for an RCU grace period (10-20 ms on a virtual machine) during
 * which every accept() of every loop waits too: a fresh worker's first
 * burst of connects would overflow the listen queue.  A table never shrinks, so
 * this costs once; done at startup and when a reload raises max_connections.
 * Failure is harmless (the table then grows as before) and logged at debug
 * level. */
void fd_table_reserve(const struct config *cfg, long conn_cap);

#endif
