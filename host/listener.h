/* SPDX-License-Identifier: MIT */
/*
 * listener.h - the listening sockets, one per `listen` address: TCP
 * (`HOST:PORT`, `[IPv6]:PORT`) or unix-domain (`unix:/path`), bound from
 * the config, or taken from those handed to the process by systemd's
 * socket activation ($LISTEN_FDS from fd 3, $LISTEN_PID, $LISTEN_FDNAMES)
 * or by the supervisor image it replaced on SIGUSR2 (upgrade.h).
 *
 * The supervisor's: only it opens listening sockets; its workers inherit
 * them.  Main thread.
 */
#ifndef HOST_LISTENER_H
#define HOST_LISTENER_H

#include <stddef.h>
#include <sys/stat.h>

#include "address.h"

struct config;

/* A set of listening sockets, in the config's `listen` order. */
struct listeners {
    int n;
    struct listener {
        int fd;
        int systemd;      /* socket activation's: never shut, never unlinked */
        int owns_path;    /* a unix socket file to unlink when freed */
        struct stat file; /* that file's device and inode, as bound */
        struct address where;
        char addr[128]; /* the address in use ("127.0.0.1:5000") */
        int from;       /* listeners_open's: the reused entry, or -1 */
    } s[ADDRESS_MAX];
};

/* Take the sockets systemd passed ($LISTEN_PID must be this process) and
 * unset the three variables, so that nothing started later sees them.
 * Once, first thing. */
void listener_take_activation(void);

/* Offer `fd`, a listening socket inherited (`systemd` 1: by socket
 * activation; 0: from the image SIGUSR2 replaced), to listeners_open
 * (`name` may be NULL).  Anything else is closed. */
void listener_adopt(int fd, const char *name, int systemd);

/* The sockets for cfg's `listen` addresses: each a dup of `reuse`'s for
 * the same address, else a passed one
 * bound there (or the only one passed, for a single address), else one
 * bound now: TCP with SO_REUSEADDR; unix after removing a stale socket
 * file (one nothing answers on; any other file there is refused), with
 * listen_mode and listen_group.  cfg's backlog; non-blocking,
 * close-on-exec.  NULL on failure (logged; nothing is left open). */
struct listeners *listeners_open(const struct config *cfg,
                                 struct listeners *reuse);

/* `newer`, made with `older` as its reuse, takes over the unix socket
 * files of the entries it shares with it (once it is the one in use: a
 * set freed removes the files it owns); the sockets of `older` it does
 * not share are shut (new connections refused). */
void listeners_hand_over(struct listeners *older, struct listeners *newer);

/* listen_mode and listen_group of `cfg` given again to the unix socket
 * files the set created (a reload that changed them). */
void listeners_apply_mode(struct listeners *l, const struct config *cfg);

/* Refuse new connections on each (shutdown(2)); systemd's are left. */
void listeners_shutdown(struct listeners *l);

/* Close each, unlink the unix socket files the set owns, free (NULL:
 * nothing). */
void listeners_free(struct listeners *l);

/* Close the passed sockets no listen entry took (logged). */
void listener_close_unused(void);

/* The address `fd` is bound to ("127.0.0.1:5000", "[::1]:5000",
 * "unix:/run/rpc.sock"). */
void listener_address(int fd, char *addr, size_t addrlen);

#endif
