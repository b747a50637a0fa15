/* SPDX-License-Identifier: MIT */
/*
 * stall.c - see stall.h.
 */
#include "stall.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "activity.h"
#include "lane.h"
#include "log.h"
#include "stats.h"
#include "util.h"

struct stall {
    struct event *ev; /* EV_PERSIST timer on the main base */
    struct lane *const *lanes;
    struct stats *stats;
    int n;
    long long timeout_ms;
    /* Per loop: when its last sweep before the reported stall ran
     * (util_mono_ms()), or -1 while it is not reported. */
    long long *since;
    long long restart_ms; /* 0: never asks */
    stall_restart_fn *restart_fn;
    void *restart_arg;
    int restart_asked; /* once per watchdog */
};

void
stall_describe(const struct activity *a, char *out, size_t len)
{
    /* The acquire pairs with activity_enter's release: the plugin and
     * generation read next are those of this method's call or a later
     * one's (activity.h: a diagnostic may mix two calls). */
    const char *method = atomic_load_explicit(&a->method, memory_order_acquire);
    const char *plugin;
    unsigned long gen;

    if (len == 0)
        return;
    if (method == NULL) {
        snprintf(out, len, "not in plugin code");
        return;
    }
    plugin = atomic_load_explicit(&a->plugin, memory_order_relaxed);
    gen = atomic_load_explicit(&a->generation, memory_order_relaxed);
    snprintf(out, len, "in method %s (plugin [%s], generation %lu)", method,
             plugin != NULL ? plugin : "?", gen);
}

/* Report loop i stalled since `beat` (its last sweep), `age` ms ago. */
static void
report(struct stall *st, int i, long long beat, long long age)
{
    char what[256];

    stall_describe(&st->stats[i].now, what, sizeof(what));
    st->since[i] = beat;
    atomic_store_explicit(&st->stats[i].stalled, 1, memory_order_relaxed);
    log_warn("loop %d stalled for %.1f s %s: no new connections for it, "
             "/healthz 503 until it comes round",
             lane_index(st->lanes[i]), (double)age / 1e3, what);
}

static void
recovered(struct stall *st, int i, long long beat)
{
    log_info("loop %d recovered after %.1f s", lane_index(st->lanes[i]),
             (double)(beat - st->since[i]) / 1e3);
    st->since[i] = -1;
    atomic_store_explicit(&st->stats[i].stalled, 0, memory_order_relaxed);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct stall *st = arg;
    long long now = util_mono_ms();

    (void)fd;
    (void)what;
    for (int i = 0; i < st->n; i++) {
        long long beat = lane_beat_ms(st->lanes[i]); /* last sweep */
        long long age = now - beat;

        if (st->since[i] >= 0 && beat > st->since[i])
            recovered(st, i, beat); /* it swept since (maybe stalled anew) */
        if (st->since[i] < 0 && age > st->timeout_ms)
            report(st, i, beat, age);
        if (st->since[i] >= 0 && st->restart_ms > 0 && !st->restart_asked &&
            age > st->restart_ms && st->restart_fn != NULL) {
            st->restart_asked = 1;
            st->restart_fn(st->restart_arg, lane_index(st->lanes[i]), age);
        }
    }
}

struct stall *
stall_start(struct event_base *base, struct lane *const *lanes,
            struct stats *stats, int n, int timeout_ms)
{
    struct stall *st = calloc(1, sizeof(*st));

    if (st != NULL)
        st->since = calloc((size_t)n, sizeof(*st->since));
    if (st == NULL || st->since == NULL) {
        free(st);
        log_error("stall watchdog: out of memory; stalled loops go "
                  "unreported");
        return NULL;
    }
    st->lanes = lanes;
    st->stats = stats;
    st->n = n;
    st->timeout_ms = timeout_ms;
    for (int i = 0; i < n; i++)
        st->since[i] = -1;
    st->ev = event_new(base, -1, EV_PERSIST, on_tick, st);
    if (st->ev == NULL ||
        event_add(st->ev, &(struct timeval){0, STALL_TICK_MS * 1000}) != 0) {
        log_error("stall watchdog: cannot start its timer; stalled loops go "
                  "unreported");
        stall_free(st);
        return NULL;
    }
    return st;
}

void
stall_set_timeout(struct stall *st, int timeout_ms)
{
    if (st != NULL)
        st->timeout_ms = timeout_ms;
}

void
stall_set_restart(struct stall *st, int restart_ms, stall_restart_fn *fn,
                  void *arg)
{
    if (st == NULL)
        return;
    st->restart_ms = restart_ms;
    st->restart_fn = fn;
    st->restart_arg = arg;
}

void
stall_stop(struct stall *st)
{
    if (st == NULL)
        return;
    if (st->ev != NULL)
        event_del(st->ev);
    /* Loops that finish their drain stop sweeping: no longer watched, no
     * flag left standing from before. */
    for (int i = 0; i < st->n; i++) {
        st->since[i] = -1;
        atomic_store_explicit(&st->stats[i].stalled, 0, memory_order_relaxed);
    }
}

void
stall_free(struct stall *st)
{
    if (st == NULL)
        return;
    if (st->ev != NULL)
        event_free(st->ev);
    free(st->since);
    free(st);
}
