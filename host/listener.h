/*
 * listener.h - the listening socket: bound from the config's `listen`, or
 * taken from those handed to the process, by systemd's socket activation
 * ($LISTEN_FDS from fd 3, $LISTEN_PID, $LISTEN_FDNAMES) or by the
 * supervisor image it replaced on SIGUSR2 (supervisor.h).
 *
 * The supervisor's: only it opens listening sockets; its workers inherit
 * them.  Main thread.
 */
#ifndef HOST_LISTENER_H
#define HOST_LISTENER_H

#include <stddef.h>

struct config;

/* Take the sockets systemd passed ($LISTEN_PID must be this process) and
 * unset the three variables, so that nothing started later sees them.
 * Once, first thing. */
void listener_take_activation(void);

/* Offer `fd`, a listening socket inherited (`systemd` 1: by socket
 * activation; 0: from the image SIGUSR2 replaced), to listener_open
 * (`name` may be NULL).  Anything else is closed. */
void listener_adopt(int fd, const char *name, int systemd);

/* The listening socket for cfg's listen: a passed one whose $LISTEN_FDNAMES
 * name is the `listen` text or whose address is the one configured (or the
 * only one passed, when one address is configured), else a socket bound
 * now (SO_REUSEADDR, cfg's backlog).  Non-blocking, close-on-exec.  `addr`
 * receives the address in use ("127.0.0.1:5000", "[::1]:5000"), *systemd
 * whether the socket is systemd's (never shut down: systemd keeps it).
 * -1 on failure (logged). */
int listener_open(const struct config *cfg, char *addr, size_t addrlen,
                  int *systemd);

/* Close the passed sockets no listen entry took (logged). */
void listener_close_unused(void);

/* The address `fd` is bound to, as listener_open writes it. */
void listener_address(int fd, char *addr, size_t addrlen);

#endif
