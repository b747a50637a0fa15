/* SPDX-License-Identifier: MIT */
/*
 * notify.h - the service manager's notification socket: systemd's
 * sd_notify protocol spoken directly (one datagram of "KEY=value" lines
 * to the AF_UNIX socket named in $NOTIFY_SOCKET), without libsystemd.
 *
 * Without $NOTIFY_SOCKET (not started by systemd, or Type= other than
 * notify) every function does nothing.  Sending never blocks and never
 * fails the server: a datagram the manager cannot take is dropped, and the
 * first failure is logged at debug level.
 *
 * Main thread only (the state is the process's one socket, unlocked).
 */
#ifndef HOST_NOTIFY_H
#define HOST_NOTIFY_H

#include <stdint.h>

/* Read $NOTIFY_SOCKET (an absolute path, or "@name" for the abstract
 * namespace; anything else is ignored with a warning), $WATCHDOG_USEC and
 * $WATCHDOG_PID, then unsetenv() all three so that plugins and anything
 * they start do not inherit them.  Once, at startup, before any other
 * thread exists (unsetenv is not thread-safe) and before plugins load. */
void notify_init(void);

/* READY=1: the service serves.  `status`, when not NULL, is sent with it
 * as STATUS= (one line, shown by `systemctl status`). */
void notify_ready(const char *status);

/* RELOADING=1 with MONOTONIC_USEC= (CLOCK_MONOTONIC now, in µs, as
 * Type=notify-reload expects): a reload began; READY=1 ends it. */
void notify_reloading(const char *status);

/* STOPPING=1: the shutdown began. */
void notify_stopping(const char *status);

/* STATUS=<text> alone. */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* WATCHDOG=1: the service is alive (see watchdog.h for when). */
void notify_watchdog(void);

/* Send again the STATUS= the last READY=1 carried (after a passing state,
 * such as a stuck loop, was shown). */
void notify_status_again(void);

/* The watchdog interval systemd asked for ($WATCHDOG_USEC, when
 * $WATCHDOG_PID is unset or names this process), 0 for none or when
 * there is no notification socket. */
uint64_t notify_watchdog_usec(void);

/* set 1: put NOTIFY_SOCKET (and WATCHDOG_USEC, WATCHDOG_PID) back into
 * the environment, as notify_init() found them, for a re-execution of the
 * binary (the supervisor's SIGUSR2); 0: remove them again. */
void notify_export(int set);

/* Close the socket (at exit). */
void notify_close(void);

#endif
