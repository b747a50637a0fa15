/* SPDX-License-Identifier: MIT */
/*
 * watchdog.h - systemd's service watchdog: WATCHDOG=1 through notify.h
 * every WATCHDOG_USEC/2, from a timer on the main thread's event loop,
 * but only while every event loop is healthy.  A loop is healthy while its
 * periodic sweep (every 100 ms) ran within the last max(stall_timeout,
 * WATCHDOG_USEC/2): a plugin call that keeps its thread longer withholds
 * the pings, and once none came for WatchdogSec systemd restarts the
 * service.  With WATCHDOG_USEC/2 in the threshold a loop stopped for less
 * than WatchdogSec never costs a restart; with stall_timeout (at least
 * 1 s), pings are only ever withheld for a loop the stall watchdog
 * (stall.h) already reports stalled, and a late timer on a loaded machine
 * under a short WatchdogSec is not taken for a hang.  A loop stuck for
 * max(stall_timeout, WatchdogSec/2) + WatchdogSec always costs a restart
 * (README, "systemd").
 *
 * Main thread only (the thread running `base`).
 */
#ifndef HOST_WATCHDOG_H
#define HOST_WATCHDOG_H

struct event_base;
struct watchdog;
struct lane;

/* Start pinging on `base` when systemd asked for a watchdog
 * (notify_watchdog_usec() > 0) for the `n` lanes in `lanes`, which
 * must outlive the watchdog (the array is not copied), with a
 * stall_timeout of `stall_ms`.  NULL when no
 * watchdog was asked for, or on failure (logged; the service then runs
 * without pings, and systemd restarts it after WatchdogSec, which is
 * what a watchdog that cannot ping means). */
struct watchdog *watchdog_start(struct event_base *base,
                                struct lane *const *lanes, int n, int stall_ms);

/* A new stall_timeout (a reload).  NULL: nothing. */
void watchdog_set_stall(struct watchdog *wd, int stall_ms);

/* Stop pinging (at the start of a shutdown: STOPPING=1 is the last word).
 * NULL: nothing. */
void watchdog_stop(struct watchdog *wd);

/* Stop and free (NULL: nothing). */
void watchdog_free(struct watchdog *wd);

#endif
