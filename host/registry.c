/* SPDX-License-Identifier: MIT */
/*
 * registry.c - see registry.h.  Open addressing with linear probing over a
 * power-of-two table kept at most half full; methods are also kept in
 * registration order for listing.
 */
#include "registry.h"

#include "methoddoc.h"
#include "stats.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 128

struct registry {
    struct method **slots; /* hash table of pointers into `list` items */
    size_t nslots;
    struct method **list; /* registration order */
    size_t count;
};

static uint64_t
hash_name(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void
method_free(struct method *m)
{
    params_free(m->params, m->nparams);
    params_free(m->result, m->result ? 1 : 0);
    free(m->name);
    free(m->summary);
    free(m->description);
    methoddoc_free_errors(m->errors, m->nerrors);
    free(m);
}

struct registry *
registry_new(void)
{
    struct registry *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->nslots = 16;
    r->slots = calloc(r->nslots, sizeof(*r->slots));
    if (r->slots == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

void
registry_free(struct registry *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->count; i++)
        method_free(r->list[i]);
    free(r->list);
    free(r->slots);
    free(r);
}

int
registry_check_name(const char *name, const char **why)
{
    size_t n;
    const char *dummy;

    if (why == NULL)
        why = &dummy;
    if (name == NULL || name[0] == '\0') {
        *why = "the name is empty";
        return RPCHOST_EINVAL;
    }
    n = strlen(name);
    if (n > NAME_MAX_LEN) {
        *why = "the name is longer than 128 bytes";
        return RPCHOST_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x21 || c > 0x7e) {
            *why = "the name has a character outside printable ASCII "
                   "(0x21..0x7e)";
            return RPCHOST_EINVAL;
        }
    }
    if (strncmp(name, "rpc.", 4) == 0) {
        *why = "names starting with \"rpc.\" are reserved for the host";
        return RPCHOST_EINVAL;
    }
    return RPCHOST_OK;
}

static struct method **
slot_for(const struct registry *r, const char *name, size_t len)
{
    size_t mask = r->nslots - 1;
    size_t i = (size_t)hash_name(name, len) & mask;

    for (;;) {
        struct method *m = r->slots[i];
        if (m == NULL ||
            (strlen(m->name) == len && memcmp(m->name, name, len) == 0))
            return &r->slots[i];
        i = (i + 1) & mask;
    }
}

static int
grow(struct registry *r)
{
    size_t n = r->nslots * 2;
    struct method **slots = calloc(n, sizeof(*slots));
    struct method **old = r->slots;
    size_t oldn = r->nslots;

    if (slots == NULL)
        return RPCHOST_ENOMEM;
    r->slots = slots;
    r->nslots = n;
    for (size_t i = 0; i < oldn; i++)
        if (old[i] != NULL)
            *slot_for(r, old[i]->name, strlen(old[i]->name)) = old[i];
    free(old);
    return RPCHOST_OK;
}

/* Copy what the method struct describes into nm. */
static int
method_fill(struct method *nm, const rpchost_method *m)
{
    nm->name = strdup(m->name);
    nm->stat_name = stats_intern(m->name);
    if (nm->name == NULL || nm->stat_name == NULL)
        return RPCHOST_ENOMEM;
    if (m->summary != NULL) {
        nm->summary = strdup(m->summary);
        if (nm->summary == NULL)
            return RPCHOST_ENOMEM;
    }
    if (m->params != NULL) {
        nm->params = params_copy(m->params, &nm->nparams);
        if (nm->params == NULL)
            return RPCHOST_ENOMEM;
    }
    if (m->result != NULL && m->result[0].name != NULL) {
        size_t one;
        rpchost_param r[2] = {m->result[0], {NULL, 0, 0, NULL}};
        nm->result = params_copy(r, &one);
        if (nm->result == NULL)
            return RPCHOST_ENOMEM;
    }
    nm->handler = m->handler;
    nm->udata = m->udata;
    nm->flags = m->flags;
    return RPCHOST_OK;
}

int
registry_add(struct registry *r, const rpchost_method *m, struct plugin *owner,
             struct plugin **holder, const char **why)
{
    struct method **slot, *nm, **nlist;
    const char *dummy;
    int rc;

    if (why == NULL)
        why = &dummy;
    if (m == NULL || m->handler == NULL) {
        *why = "method or handler is NULL";
        return RPCHOST_EINVAL;
    }
    rc = registry_check_name(m->name, why);
    if (rc != RPCHOST_OK)
        return rc;
    if (m->params != NULL && params_check_desc(m->params, why) != 0)
        return RPCHOST_EINVAL;
    if (m->result != NULL && m->result[0].name != NULL) {
        rpchost_param one[2] = {m->result[0], {NULL, 0, 0, NULL}};
        if (params_check_desc(one, why) != 0)
            return RPCHOST_EINVAL;
    }
    slot = slot_for(r, m->name, strlen(m->name));
    if (*slot != NULL) {
        if (holder)
            *holder = (*slot)->plugin;
        *why = "already registered";
        return RPCHOST_EEXIST;
    }
    if ((r->count + 1) * 2 > r->nslots) {
        if (grow(r) != RPCHOST_OK)
            return RPCHOST_ENOMEM;
        slot = slot_for(r, m->name, strlen(m->name));
    }
    nlist = realloc(r->list, (r->count + 1) * sizeof(*nlist));
    if (nlist == NULL)
        return RPCHOST_ENOMEM;
    r->list = nlist;
    nm = calloc(1, sizeof(*nm));
    if (nm == NULL)
        return RPCHOST_ENOMEM;
    rc = method_fill(nm, m);
    if (rc != RPCHOST_OK) {
        method_free(nm);
        *why = "out of memory";
        return rc;
    }
    nm->plugin = owner;
    r->list[r->count++] = nm;
    *slot = nm;
    return RPCHOST_OK;
}

int
registry_describe(struct registry *r, const char *name,
                  const struct plugin *owner, const rpchost_method_doc *doc,
                  const char **why)
{
    struct method *m;
    int rc;

    m = name ? *slot_for(r, name, strlen(name)) : NULL;
    if (m == NULL || m->plugin != owner) {
        *why = "this plugin registered no such method";
        return RPCHOST_ENOENT;
    }
    rc = methoddoc_check(doc, why);
    if (rc != RPCHOST_OK)
        return rc;
    rc = methoddoc_apply(m, doc);
    if (rc != RPCHOST_OK)
        *why = "out of memory";
    return rc;
}

const struct method *
registry_find(const struct registry *r, const char *name, size_t len)
{
    return *slot_for(r, name, len);
}

size_t
registry_count(const struct registry *r)
{
    return r->count;
}

const struct method *
registry_at(const struct registry *r, size_t i)
{
    return i < r->count ? r->list[i] : NULL;
}
