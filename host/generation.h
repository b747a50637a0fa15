/* SPDX-License-Identifier: MIT */
/*
 * generation.h - one complete, immutable set of config + plugins +
 * methods (nginx's "cycle").
 *
 * A generation is built aside in full; if any part fails, nothing of it
 * serves.  Requests hold a reference for as long as any of their calls
 * runs, so a generation's plugins are finalised and closed only after its
 * last call has finished.  A reload (SIGHUP; reloader.h) builds the next
 * one on the reload thread.
 */
#ifndef HOST_GENERATION_H
#define HOST_GENERATION_H

#include <stdatomic.h>
#include <stddef.h>

#include "config.h"
#include "jsonrpc.h"
#include "loader.h"
#include "registry.h"

struct generation {
    unsigned long id;
    struct config *cfg;
    struct registry *reg;
    struct plugin *plugins; /* cfg->nplugins entries */
    size_t nloaded;         /* how many of them are loaded */
    struct rpc_limits limits;
    char *discover;    /* the rpc.discover answer (OpenRPC JSON text) */
    struct auth *auth; /* credentials; NULL: no authentication */
    /* The plugins with call hooks (hooks.h), in config order. */
    struct plugin **hooked;
    size_t nhooked;
    size_t discover_len;
    struct admission *adm; /* limits (admit.h) */
    int rated;             /* a rate limit applies: calls take from it */
    atomic_long refs;
    int built; /* completely built (else destroy says nothing) */
};

/* Build generation `id` from `cfg` (taken in every case): load and
 * initialise every plugin.  NULL on failure with the reason in err. */
struct generation *generation_build(struct config *cfg, unsigned long id,
                                    char *err, size_t errlen);

void generation_ref(struct generation *g);

/* Finalise and free a generation now (fini, dlclose), on this thread. */
void generation_destroy(struct generation *g);

/* Where the last reference's finalisation runs.  With a reaper set, the
 * last generation_unref() hands the generation to it (the server posts it
 * to the main thread, where plugins' fini must run); without one it is
 * destroyed on the spot.  Set before other threads exist. */
void generation_set_reaper(void (*reaper)(struct generation *g));

/* How many generations exist (built, not yet destroyed).  Any thread. */
long generation_live(void);
/* Drop a reference; the last one finalises the plugins (fini, dlclose)
 * and frees everything. */
void generation_unref(struct generation *g);

#endif
