/* SPDX-License-Identifier: MIT */
/*
 * reload.c - see reload.h.
 */
#include "reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "generation.h"
#include "log.h"
#include "registry.h"

/* Keep a setting that cannot change without a restart. */
static void
keep_listen(struct config *next, const struct config *cur)
{
    /* (The supervisor replaces the worker when listen or threads change;
     * what reaches here is the same, or a build the supervisor did not
     * read: the worker's sockets are the ones it was handed.) */
    if (!config_same_listens(next, cur)) {
        log_warn("reload: a listen change needs a new worker; still "
                 "listening where it was");
        config_copy_listens(next, cur);
    }
    if (next->threads != cur->threads) {
        log_warn("reload: threads = %d needs a restart; still running %d "
                 "loop(s)",
                 next->threads, cur->threads);
        next->threads = cur->threads;
    }
    if ((next->pidfile == NULL) != (cur->pidfile == NULL) ||
        (next->pidfile != NULL && strcmp(next->pidfile, cur->pidfile) != 0)) {
        log_warn("reload: pidfile change needs a restart; keeping %s",
                 cur->pidfile ? cur->pidfile : "none");
        free(next->pidfile);
        next->pidfile = cur->pidfile ? strdup(cur->pidfile) : NULL;
    }
}

struct config *
reload_config(const struct reload_opts *o, const char *text, size_t len,
              char *err, size_t errlen, int *bad_option)
{
    struct config *cfg = NULL;
    int rc = text != NULL
                 ? config_parse(o->config_file, text, len, &cfg, err, errlen)
                 : config_load(o->config_file, &cfg, err, errlen);

    if (bad_option != NULL)
        *bad_option = 0;
    if (rc != 0)
        return NULL;
    if (config_apply_overrides(cfg, o->listen, o->threads, err, errlen) != 0) {
        if (bad_option != NULL)
            *bad_option = 1;
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

struct generation *
reload_build(const struct reload_opts *o, const struct generation *cur,
             unsigned long id)
{
    struct config *cfg;
    struct generation *g;
    char err[1024];

    cfg = reload_config(o, NULL, 0, err, sizeof(err), NULL);
    if (cfg == NULL) {
        log_error("reload failed: %s; generation %lu keeps serving", err,
                  cur->id);
        return NULL;
    }
    keep_listen(cfg, cur->cfg);
    g = generation_build(cfg, id, err, sizeof(err));
    if (g == NULL) {
        log_error("reload failed: %s; generation %lu keeps serving", err,
                  cur->id);
        return NULL;
    }
    return g;
}

/* Append the names in `a` missing from `b`, each after `sign`. */
static size_t
diff_names(struct buf *out, const struct registry *a, const struct registry *b,
           char sign)
{
    size_t n = 0;

    for (size_t i = 0; i < registry_count(a); i++) {
        const char *name = registry_at(a, i)->name;
        if (registry_find(b, name, strlen(name)) != NULL)
            continue;
        if (n++ < 20)
            buf_printf(out, " %c%s", sign, name);
    }
    if (n > 20)
        buf_printf(out, " (%c%zu more)", sign, n - 20);
    return n;
}

void
reload_log(const struct generation *old, const struct generation *cur,
           double ms)
{
    struct buf plugins = BUF_INIT, changes = BUF_INIT;
    size_t added, removed;

    for (size_t i = 0; i < cur->nloaded; i++)
        buf_printf(&plugins, "%s%s", i ? "," : "", cur->plugins[i].name);
    added = diff_names(&changes, cur->reg, old->reg, '+');
    removed = diff_names(&changes, old->reg, cur->reg, '-');
    log_info("reload: generation %lu serving (was %lu): plugins [%s], %zu "
             "method(s), %zu added, %zu removed%s%s, in %.1f ms",
             cur->id, old->id, buf_cstr(&plugins), registry_count(cur->reg),
             added, removed, changes.len ? ":" : "", buf_cstr(&changes), ms);
    buf_free(&plugins);
    buf_free(&changes);
}
