/* SPDX-License-Identifier: MIT */
/*
 * upgrade.h - SIGUSR2's hand-over: what a supervisor passes to the binary
 * it re-executes in its own place (the same pid, so a service manager
 * keeps tracking it): the listening socket (kept open across execve), the
 * config text that serves (in a memfd), its restart counts, and its
 * worker processes, which stay its children, each serving or draining.
 *
 * It travels as descriptors and one environment variable,
 * RPCHOST_UPGRADE, which the new image reads and removes first thing.
 */
#ifndef HOST_UPGRADE_H
#define HOST_UPGRADE_H

#include <stddef.h>
#include <sys/types.h>

#include "address.h"
#include "stats.h"

#define UPGRADE_MAX_WORKERS 8

struct config;

struct upgrade {
    int nlisten; /* the listening sockets */
    int listen_fd[ADDRESS_MAX];
    int listen_systemd[ADDRESS_MAX]; /* socket activation's */
    unsigned long restarts[RESTART_NREASONS];
    int nworkers;
    pid_t pids[UPGRADE_MAX_WORKERS];
    int draining[UPGRADE_MAX_WORKERS];
};

/* How long the new binary's `--version` may take (upgrade_check). */
#define UPGRADE_CHECK_MS 5000

/* Before re-executing: run `exe --version` in a child and check that it
 * exits 0 within UPGRADE_CHECK_MS, so that a binary that cannot start
 * (a missing library, another architecture, a crash at startup) is found
 * while the running one still serves.  0, or -1 logged. */
int upgrade_check(const char *exe);

/* Execute `exe` with `argv` in this process, handing `u` and the config
 * text[0..len) over.  Returns only if that failed (logged), with nothing
 * changed. */
void upgrade_exec(const struct upgrade *u, const char *text, size_t len,
                  const char *exe, char *const *argv);

/* In the new image: 1 and *u filled when this process was re-executed by
 * upgrade_exec (the variable is then removed and the config's memfd
 * closed), else 0.  The listening socket is u->listen_fd's to adopt. */
int upgrade_take(struct upgrade *u);

/* The config the previous image served, as read from FILE (for messages
 * and relative paths), when this process was re-executed; else NULL.
 * For a config file that no longer loads.  Before upgrade_take. */
struct config *upgrade_config(const char *file);

#endif
