/* SPDX-License-Identifier: MIT */
/*
 * watchdog.c - see watchdog.h.
 */
#include "watchdog.h"

#include <stdint.h>
#include <stdlib.h>

#include <event2/event.h>

#include "lane.h"
#include "log.h"
#include "notify.h"

struct watchdog {
    struct event *ev; /* EV_PERSIST timer on the main base */
    struct lane *const *lanes;
    int n;
    long long half_ms;  /* WATCHDOG_USEC/2 */
    long long stall_ms; /* a loop whose sweep is this late is stuck:
                           max(stall_timeout, half_ms) */
    int stuck;          /* index of the loop withholding pings, or -1 */
};

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct watchdog *wd = arg;
    long long age = 0;
    int stuck = -1;

    (void)fd;
    (void)what;
    for (int i = 0; i < wd->n && stuck < 0; i++) {
        age = lane_beat_age_ms(wd->lanes[i]);
        if (age > wd->stall_ms)
            stuck = i;
    }
    if (stuck < 0) {
        if (wd->stuck >= 0) {
            log_info("loop %d runs again: watchdog pings resume",
                     lane_index(wd->lanes[wd->stuck]));
            notify_status_again(); /* the serving status, not "stuck" */
        }
        wd->stuck = -1;
        notify_watchdog();
        return;
    }
    if (wd->stuck >= 0 && wd->stuck != stuck)
        log_info("loop %d runs again (loop %d does not)",
                 lane_index(wd->lanes[wd->stuck]),
                 lane_index(wd->lanes[stuck]));
    if (wd->stuck != stuck) {
        /* Once per stall, not at every tick. */
        log_warn("loop %d has not come round for %lld ms (a plugin call "
                 "blocking it?): watchdog pings withheld until it does",
                 lane_index(wd->lanes[stuck]), age);
        notify_status("loop %d stuck for %lld ms: watchdog pings withheld",
                      lane_index(wd->lanes[stuck]), age);
    }
    wd->stuck = stuck;
}

void
watchdog_set_stall(struct watchdog *wd, int stall_ms)
{
    if (wd == NULL)
        return;
    wd->stall_ms = stall_ms > wd->half_ms ? stall_ms : wd->half_ms;
}

struct watchdog *
watchdog_start(struct event_base *base, struct lane *const *lanes, int n,
               int stall_ms)
{
    uint64_t usec = notify_watchdog_usec();
    struct watchdog *wd;
    struct timeval tv;

    if (usec == 0)
        return NULL;
    wd = calloc(1, sizeof(*wd));
    if (wd == NULL) {
        log_error("watchdog: out of memory; no WATCHDOG=1 pings");
        return NULL;
    }
    wd->lanes = lanes;
    wd->n = n;
    wd->stuck = -1;
    wd->half_ms = (long long)(usec / 2000);
    watchdog_set_stall(wd, stall_ms);
    /* Pings every quarter (at least 1 ms: libevent does not repeat a zero
     * timeout): pings withheld once a loop is half of it late leave a gap
     * below WATCHDOG_USEC for any stall shorter than half of it. */
    usec /= 4;
    if (usec < 1000)
        usec = 1000;
    tv.tv_sec = (time_t)(usec / 1000000);
    tv.tv_usec = (suseconds_t)(usec % 1000000);
    wd->ev = event_new(base, -1, EV_PERSIST, on_tick, wd);
    if (wd->ev == NULL || event_add(wd->ev, &tv) != 0) {
        log_error("watchdog: cannot start its timer; no WATCHDOG=1 pings");
        watchdog_free(wd);
        return NULL;
    }
    log_info("watchdog: WATCHDOG=1 every %.3g s while no loop is stuck for "
             "%.3g s",
             (double)usec / 1e6, (double)wd->stall_ms / 1e3);
    notify_watchdog(); /* the first ping at once */
    return wd;
}

void
watchdog_stop(struct watchdog *wd)
{
    if (wd != NULL && wd->ev != NULL)
        event_del(wd->ev);
}

void
watchdog_free(struct watchdog *wd)
{
    if (wd == NULL)
        return;
    if (wd->ev != NULL)
        event_free(wd->ev);
    free(wd);
}
