/* SPDX-License-Identifier: MIT */
/*
 * registry.h - method name -> handler table of one generation.
 *
 * Filled while a generation's plugins initialise (main thread), then only
 * read, concurrently, by every event loop: lookups take no lock.
 */
#ifndef HOST_REGISTRY_H
#define HOST_REGISTRY_H

#include <stddef.h>

#include "params.h"
#include "rpchost/plugin.h"

struct limit_cap;
struct plugin;

struct method {
    char *name;
    const char *stat_name; /* interned name for /metrics */
    rpchost_handler handler;
    void *udata;
    unsigned flags;
    char *summary;
    struct plugin *plugin;     /* owner: its state is passed to the handler */
    struct param_desc *params; /* NULL: params not described */
    size_t nparams;
    struct param_desc *result; /* NULL: result not described */
    /* From api->describe_method (methoddoc.h); else NULL, 0, EITHER. */
    char *description;
    int structure; /* enum rpchost_param_structure */
    struct error_desc *errors;
    size_t nerrors;
    /* Its concurrency cap (admit.c: SERIAL, set_serial, method_concurrency),
     * set when the generation is built; NULL: none. */
    struct limit_cap *cap;
};

struct registry;

struct registry *registry_new(void);
void registry_free(struct registry *r);

/* Check a method name against the rules in plugin.h: 0 or RPCHOST_EINVAL.
 * When `why` is given it receives a short reason. */
int registry_check_name(const char *name, const char **why);

/* Add a copy of `m` for `owner`.  RPCHOST_EINVAL (bad name, NULL handler,
 * bad params description: *why says which), RPCHOST_EEXIST (taken;
 * *holder = the owner of the existing one), RPCHOST_ENOMEM. */
int registry_add(struct registry *r, const rpchost_method *m,
                 struct plugin *owner, struct plugin **holder,
                 const char **why);

/* Describe the method `name` that `owner` registered (methoddoc.h):
 * RPCHOST_OK, RPCHOST_ENOENT (no such method of owner's), RPCHOST_EINVAL
 * or RPCHOST_ERESERVED (a bad doc), RPCHOST_ENOMEM; *why says which.
 * Only while the registry is being filled. */
int registry_describe(struct registry *r, const char *name,
                      const struct plugin *owner, const rpchost_method_doc *doc,
                      const char **why);

/* The method called `name` (len bytes), or NULL. */
const struct method *registry_find(const struct registry *r, const char *name,
                                   size_t len);

size_t registry_count(const struct registry *r);
/* The i-th method in registration order (0 <= i < count). */
const struct method *registry_at(const struct registry *r, size_t i);

#endif
