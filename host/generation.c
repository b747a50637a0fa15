/* SPDX-License-Identifier: MIT */
/*
 * generation.c - see generation.h.
 */
#include "generation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "api.h"
#include "auth.h"
#include "discover.h"
#include "log.h"
#include "version.h"

static void (*_Atomic reaper_fn)(struct generation *g);
static atomic_long live;

long
generation_live(void)
{
    return atomic_load(&live);
}

void
generation_set_reaper(void (*reaper)(struct generation *g))
{
    atomic_store(&reaper_fn, reaper);
}

void
generation_destroy(struct generation *g)
{
    if (g->built)
        log_msg(LEVEL_INFO, "generation %lu finalised (%zu plugin(s) unloaded)",
                g->id, g->nloaded);
    /* Finalise in reverse load order, like destructors. */
    while (g->nloaded > 0)
        plugin_unload(&g->plugins[--g->nloaded]);
    if (g->built)
        atomic_fetch_sub(&live, 1);
    admit_free(g->adm);
    registry_free(g->reg);
    free(g->hooked);
    cJSON_free(g->discover);
    auth_free(g->auth);
    free(g->plugins);
    config_free(g->cfg);
    free(g);
}

struct generation *
generation_build(struct config *cfg, unsigned long id, char *err, size_t errlen)
{
    struct generation *g = calloc(1, sizeof(*g));
    struct discover_site site;

    if (g == NULL) {
        config_free(cfg);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->id = id;
    g->cfg = cfg;
    atomic_init(&g->refs, 1);
    g->limits.max_depth = cfg->max_depth;
    g->limits.max_batch = (size_t)cfg->max_batch;
    g->reg = registry_new();
    g->plugins = calloc(cfg->nplugins ? cfg->nplugins : 1, sizeof(*g->plugins));
    if (g->reg == NULL || g->plugins == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (cfg->auth_file != NULL) {
        g->auth = auth_load(cfg->auth_file, err, errlen);
        if (g->auth == NULL)
            goto fail;
    }
    for (size_t i = 0; i < cfg->nplugins; i++) {
        struct plugin *p = &g->plugins[i];

        if (plugin_load(p, cfg->file, &cfg->plugins[i], g->reg, host_api(), err,
                        errlen) != 0)
            goto fail;
        g->nloaded++;
        log_debug("generation %lu: plugin [%s] loaded from %s", id, p->name,
                  cfg->plugins[i].path);
    }
    for (size_t i = 0; i < g->nloaded; i++)
        if (g->plugins[i].on_call != NULL || g->plugins[i].on_done != NULL)
            g->nhooked++;
    if (g->nhooked != 0) {
        size_t k = 0;
        g->hooked = calloc(g->nhooked, sizeof(*g->hooked));
        if (g->hooked == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < g->nloaded; i++)
            if (g->plugins[i].on_call != NULL || g->plugins[i].on_done != NULL)
                g->hooked[k++] = &g->plugins[i];
    }
    if (admit_build(g, err, errlen) != 0)
        goto fail;
    g->built = 1;
    atomic_fetch_add(&live, 1);
    site.endpoint = cfg->endpoint;
    site.listens = cfg->listens;
    site.nlistens = (size_t)cfg->nlistens;
    g->discover =
        discover_build(g->reg, RPCHOST_VERSION, &site, &g->discover_len);
    if (g->discover == NULL) {
        snprintf(err, errlen, "out of memory building rpc.discover");
        goto fail;
    }
    return g;
fail:
    generation_destroy(g);
    return NULL;
}

void
generation_ref(struct generation *g)
{
    atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
}

void
generation_unref(struct generation *g)
{
    void (*reaper)(struct generation *);

    if (g == NULL)
        return;
    if (atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
        return;
    reaper = atomic_load(&reaper_fn);
    if (reaper != NULL)
        reaper(g);
    else
        generation_destroy(g);
}
