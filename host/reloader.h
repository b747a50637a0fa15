/* SPDX-License-Identifier: MIT */
/*
 * reloader.h - the reload thread: SIGHUP's build of the next generation
 * (reload_build: the config read, every plugin loaded and its init run)
 * runs on a thread of its own, so the main thread keeps acting on signals
 * however long a plugin's init takes.  The result comes back to the main
 * thread through an event of its event loop, where the server swaps it in.
 *
 * One build at a time; the caller decides what a SIGHUP during a build
 * does (the server coalesces any number of them into one more build).
 * Every function is for the main thread (the thread running `base`); the
 * reload thread touches only the reloader, the generation it was given
 * (read-only) and the event it activates on `base`.
 */
#ifndef HOST_RELOADER_H
#define HOST_RELOADER_H

#include "reload.h"

struct event_base;
struct generation;
struct reloader;

/* Called on the main thread, from base's loop (or from reloader_settle),
 * when a build ended: `next` is the new generation (the callee owns it),
 * or NULL when the build failed (the reason is already logged).  `ms`: how
 * long the build took.  May start the next build. */
typedef void (*reloader_done_fn)(struct generation *next, double ms, void *arg);

/* A reloader whose results arrive on `base`, which must have been made
 * after evthread_use_pthreads() (the reload thread activates an event on
 * it).  `opts` is copied; its strings must outlive the reloader.  NULL on
 * failure (logged). */
struct reloader *reloader_new(struct event_base *base,
                              const struct reload_opts *opts,
                              reloader_done_fn done, void *arg);

/* Start building generation `id` from opts->config_file on a new thread
 * (all signals blocked on it), keeping cur's listen, threads and pidfile.
 * `cur` must stay as it is until `done` was called.  0, or -1 when a
 * build is already running or the thread cannot be started (logged as a
 * failed reload; `done` is not called). */
int reloader_start(struct reloader *r, const struct generation *cur,
                   unsigned long id);

/* Whether a build was started and `done` not yet called for it. */
int reloader_busy(const struct reloader *r);

/* At shutdown, once the drain is over.  No build, or one that has ended:
 * `done` is called for it if it was not yet, and 0 is returned: nothing
 * runs on the reload thread any more and the reloader may be freed.  A
 * build still running (a plugin's init that has not returned): one line
 * is logged saying which reload is abandoned, and -1 is returned; the
 * thread may still touch the reloader, `base` and the generation given
 * to reloader_start, and runs plugin code: the caller frees none of them
 * and ends the process with _exit() (see server.c). */
int reloader_settle(struct reloader *r);

/* Free a reloader (NULL: nothing).  One still busy (an abandoned build,
 * reloader_settle() said -1) is left alone: its thread still uses it. */
void reloader_free(struct reloader *r);

#endif
