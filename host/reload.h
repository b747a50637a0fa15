/* SPDX-License-Identifier: MIT */
/*
 * reload.h - building the next generation on SIGHUP (nginx's reload).
 *
 * The new config and the new plugin set are built aside; only when all of
 * it succeeded does it replace the current generation.  Settings that need
 * a new socket or new threads (listen, threads, pidfile) keep their running
 * values and are logged as needing a restart.  reload_build runs on the
 * reload thread (reloader.h), one build at a time; reload_log on the main
 * thread.
 */
#ifndef HOST_RELOAD_H
#define HOST_RELOAD_H

#include <stddef.h>

struct config;
struct generation;

/* What the command line fixed for the process's life. */
struct reload_opts {
    const char *config_file;
    const char *listen;  /* -l, or NULL */
    const char *threads; /* -j, or NULL */
    int verbose;         /* -v: log level stays debug */
};

/* The config as the command line makes it: opts->config_file read (or
 * `text`, len bytes, parsed as if read from it), then -l and -j applied.
 * The one way every config is made: startup and -t, each reload, and the
 * supervisor's.  NULL with err on failure; *bad_option (may be NULL) 1
 * when -l or -j was what failed (exit status 2 at startup). */
struct config *reload_config(const struct reload_opts *o, const char *text,
                             size_t len, char *err, size_t errlen,
                             int *bad_option);

/* Build generation `id` from the config file, keeping `cur`'s listen,
 * threads and pidfile (`cur` is only read, and must not change or go
 * while this runs).  NULL on failure (logged with its reason). */
struct generation *reload_build(const struct reload_opts *o,
                                const struct generation *cur, unsigned long id);

/* Log the one line that says what a reload changed. */
void reload_log(const struct generation *old, const struct generation *cur,
                double ms);

#endif
