/* SPDX-License-Identifier: MIT */
/*
 * reloader.c - see reloader.h.
 *
 * The handshake: reloader_start() fills in the job, then creates the
 * thread; the thread writes `result`, sets `ended` and activates `ev` on
 * the main base.  The main thread reads `result` only after
 * pthread_join(), which orders everything the thread did before it, and
 * joins only once `ended` is set, so it never waits on plugin code: the
 * join waits at most for the event_active() call that follows.
 */
#include "reloader.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "fatal.h"
#include "generation.h"
#include "loader.h"
#include "log.h"
#include "util.h"

struct reloader {
    struct event *ev; /* on the main base: a build ended */
    struct reload_opts opts;
    reloader_done_fn done;
    void *arg;
    pthread_t thread;
    int busy;         /* main thread: started, `done` not yet called */
    atomic_int ended; /* set by the thread once `result` is written */
    /* The job: written before the thread starts, read by it. */
    const struct generation *cur;
    unsigned long id;
    uint64_t t0_us;
    /* Written by the thread; read by the main thread after the join. */
    struct generation *result;
};

/* The reload thread. */
static void *
build_main(void *arg)
{
    struct reloader *r = arg;

    fatal_thread_start(FATAL_RELOAD_THREAD); /* plugins' init runs here */
    r->result = reload_build(&r->opts, r->cur, r->id);
    fatal_thread_end();
    atomic_store_explicit(&r->ended, 1, memory_order_release);
    event_active(r->ev, EV_READ, 1);
    return NULL;
}

/* Main thread: join an ended build and hand its result to `done`.  Does
 * nothing when no build ended (the event of a build reloader_settle()
 * already delivered). */
static void
deliver(struct reloader *r)
{
    struct generation *next;
    double ms;

    if (!r->busy || !atomic_load_explicit(&r->ended, memory_order_acquire))
        return;
    pthread_join(r->thread, NULL);
    next = r->result;
    r->result = NULL;
    r->busy = 0;
    atomic_store_explicit(&r->ended, 0, memory_order_relaxed);
    ms = (double)(util_mono_us() - r->t0_us) / 1000.0;
    r->done(next, ms, r->arg); /* may start the next build */
}

static void
on_ended(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    deliver(arg);
}

struct reloader *
reloader_new(struct event_base *base, const struct reload_opts *opts,
             reloader_done_fn done, void *arg)
{
    struct reloader *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        log_error("reloader: out of memory");
        return NULL;
    }
    r->opts = *opts;
    r->done = done;
    r->arg = arg;
    atomic_init(&r->ended, 0);
    r->ev = event_new(base, -1, 0, on_ended, r);
    if (r->ev == NULL) {
        log_error("reloader: cannot create its event");
        free(r);
        return NULL;
    }
    return r;
}

int
reloader_start(struct reloader *r, const struct generation *cur,
               unsigned long id)
{
    sigset_t all, old;
    int rc;

    if (r->busy)
        return -1;
    r->cur = cur;
    r->id = id;
    r->result = NULL;
    r->t0_us = util_mono_us();
    atomic_store_explicit(&r->ended, 0, memory_order_relaxed);
    /* Signals stay with the main thread's loop: the reload thread, and any
     * thread a plugin's init starts, inherit a mask that blocks them. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&r->thread, NULL, build_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        log_error("reload failed: cannot start the reload thread: %s; "
                  "generation %lu keeps serving",
                  strerror(rc), cur->id);
        return -1;
    }
    r->busy = 1;
    return 0;
}

int
reloader_busy(const struct reloader *r)
{
    return r->busy;
}

int
reloader_settle(struct reloader *r)
{
    char name[64];

    if (!r->busy)
        return 0;
    if (atomic_load_explicit(&r->ended, memory_order_acquire)) {
        deliver(r);
        return 0;
    }
    plugin_initialising(name, sizeof(name));
    log_warn("shutdown: abandoning the reload to generation %lu from %s, "
             "still building after %.1f s (%s%s%s has not returned); exiting "
             "without waiting for it",
             r->id, r->opts.config_file,
             (double)(util_mono_us() - r->t0_us) / 1e6,
             name[0] ? "plugin [" : "a plugin's init", name,
             name[0] ? "]'s init" : "");
    return -1;
}

void
reloader_free(struct reloader *r)
{
    /* A busy reloader is still used by its thread: leave it (the caller
     * is about to _exit, see reloader_settle). */
    if (r == NULL || r->busy)
        return;
    event_free(r->ev);
    free(r);
}
