/* SPDX-License-Identifier: MIT */
/*
 * activity.h - what one event loop is running now: the plugin code it is
 * in (a method's handler or one of its call's timers), its plugin, the
 * generation, and since when.
 *
 * The loop writes it around each piece of plugin code (a few relaxed
 * stores; the clock reading is the call's own); other threads read it to
 * say what a loop is stuck in (the stall watchdog) and what it was running
 * when the process died (the fatal-signal report, from a signal handler:
 * reading is async-signal-safe).  Names are interned for the life of the
 * process (stats_intern), so a reader never follows a pointer into freed
 * memory.  A reader racing the loop may see fields of two successive
 * calls; it is a diagnostic.
 */
#ifndef HOST_ACTIVITY_H
#define HOST_ACTIVITY_H

#include <stdatomic.h>
#include <stdint.h>

struct activity {
    _Atomic(const char *) method; /* NULL: not in plugin code */
    _Atomic(const char *) plugin; /* its plugin's config section */
    atomic_ulong generation;
    _Atomic uint64_t since_us; /* CLOCK_MONOTONIC, µs */
};

/* The loop's thread: plugin code of `method` starts (names interned). */
static inline void
activity_enter(struct activity *a, const char *method, const char *plugin,
               unsigned long generation, uint64_t now_us)
{
    atomic_store_explicit(&a->since_us, now_us, memory_order_relaxed);
    atomic_store_explicit(&a->generation, generation, memory_order_relaxed);
    atomic_store_explicit(&a->plugin, plugin, memory_order_relaxed);
    atomic_store_explicit(&a->method, method, memory_order_release);
}

/* The loop's thread: back from plugin code. */
static inline void
activity_leave(struct activity *a)
{
    atomic_store_explicit(&a->method, NULL, memory_order_release);
}

#endif
