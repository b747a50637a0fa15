/*
 * watchdog.c - see watchdog.h.
 */
#include "watchdog.h"

#include <stdint.h>
#include <stdlib.h>

#include <event2/event.h>

#include "http.h"
#include "log.h"
#include "notify.h"

/* Below this a sweep's ordinary lateness (a busy loop, a loaded machine)
 * would count as a stall. */
#define MIN_STALL_MS 1000

struct watchdog {
    struct event *ev; /* EV_PERSIST timer on the main base */
    struct worker *const *workers;
    int n;
    long long stall_ms; /* a loop whose sweep is this late is stuck */
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
        age = worker_beat_age_ms(wd->workers[i]);
        if (age > wd->stall_ms)
            stuck = i;
    }
    if (stuck < 0) {
        if (wd->stuck >= 0)
            log_info("loop %d runs again: watchdog pings resume",
                     worker_index(wd->workers[wd->stuck]));
        wd->stuck = -1;
        notify_watchdog();
        return;
    }
    if (wd->stuck != stuck) {
        /* Once per stall, not at every tick. */
        log_warn("loop %d has not come round for %lld ms (a plugin call "
                 "blocking it?): watchdog pings withheld until it does",
                 worker_index(wd->workers[stuck]), age);
        notify_status("loop %d stuck for %lld ms: watchdog pings withheld",
                      worker_index(wd->workers[stuck]), age);
    }
    wd->stuck = stuck;
}

struct watchdog *
watchdog_start(struct event_base *base, struct worker *const *workers, int n)
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
    wd->workers = workers;
    wd->n = n;
    wd->stuck = -1;
    wd->stall_ms = (long long)(usec / 2000);
    if (wd->stall_ms < MIN_STALL_MS)
        wd->stall_ms = MIN_STALL_MS;
    usec /= 2;
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
