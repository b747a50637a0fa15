/* SPDX-License-Identifier: MIT */
/*
 * admit.c - see admit.h.
 *
 * Rate tables outlive generations: a process-wide list (touched only
 * while generations are built and freed, under its mutex) hands the next
 * generation the table of the previous one when its limit is unchanged,
 * so a SIGHUP neither resets every client's bucket nor doubles anyone's
 * allowance.
 */
#include "admit.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "calldef.h"
#include "context.h"
#include "forwarded.h"
#include "generation.h"
#include "limit.h"
#include "log.h"
#include "loop.h"
#include "stats.h"
#include "util.h"

static const char *const limit_names[ADMIT_NLIMITS] = {
    "rate_per_peer",
    "rate_per_credential",
    "concurrency",
};

const char *
admit_limit_name(int limit)
{
    return limit >= 0 && limit < ADMIT_NLIMITS ? limit_names[limit] : "?";
}

/* ---- rate tables kept across generations ---- */

struct kept {
    struct kept *next;
    struct limit_rate *rate;
    int kind; /* ADMIT_RATE_* */
    int refs;
};

static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kept *kept_list;

static struct limit_rate *
rate_get(int kind, double per_second, int burst, size_t keys)
{
    struct kept *k;
    struct limit_rate *r = NULL;

    if (burst <= 0) /* one second's worth */
        burst = per_second < 1 ? 1 : (int)ceil(per_second);
    pthread_mutex_lock(&kept_lock);
    for (k = kept_list; k != NULL; k = k->next) {
        if (k->kind == kind &&
            limit_rate_same(k->rate, per_second, (unsigned)burst, keys)) {
            k->refs++;
            r = k->rate;
            goto out;
        }
    }
    k = malloc(sizeof(*k));
    r = limit_rate_new(per_second, (unsigned)burst, keys);
    if (k == NULL || r == NULL) {
        free(k);
        limit_rate_free(r);
        r = NULL;
        goto out;
    }
    k->rate = r;
    k->kind = kind;
    k->refs = 1;
    k->next = kept_list;
    kept_list = k;
out:
    pthread_mutex_unlock(&kept_lock);
    return r;
}

static void
rate_put(struct limit_rate *r)
{
    struct kept **pk, *k;

    if (r == NULL)
        return;
    pthread_mutex_lock(&kept_lock);
    for (pk = &kept_list; (k = *pk) != NULL; pk = &k->next) {
        if (k->rate == r) {
            if (--k->refs == 0) {
                *pk = k->next;
                limit_rate_free(k->rate);
                free(k);
            }
            break;
        }
    }
    pthread_mutex_unlock(&kept_lock);
}

/* ---- building ---- */

/* The configured cap of method `name` from "name:N, ..." (0: none). */
static unsigned
configured_cap(const char *list, const char *name)
{
    const char *p = list, *m, *num;
    size_t len = strlen(name), mlen, numlen;

    if (list == NULL)
        return 0;
    while (limit_methodn_next(&p, &m, &mlen, &num, &numlen) != NULL)
        if (mlen == len && memcmp(m, name, len) == 0)
            return (unsigned)strtoul(num, NULL, 10); /* checked: digits */
    return 0;
}

/* Every name in method_concurrency is a method of g: else err. */
static int
check_names(const struct generation *g, char *err, size_t errlen)
{
    const struct config *cfg = g->cfg;
    const char *p = cfg->method_concurrency, *item, *num;
    size_t len, numlen;

    if (p == NULL)
        return 0;
    while (limit_methodn_next(&p, &item, &len, &num, &numlen) != NULL) {
        if (registry_find(g->reg, item, len) == NULL) {
            snprintf(err, errlen,
                     "%s:%d: method_concurrency: no method '%.*s' is "
                     "registered",
                     cfg->file, cfg->method_concurrency_line,
                     (int)(len > 80 ? 80 : len), item);
            return -1;
        }
    }
    return 0;
}

/* Caps: a SERIAL method's is 1 (its plugin's, shared, after set_serial),
 * else the configured one. */
static int
build_caps(struct generation *g, struct admission *a, char *err, size_t errlen)
{
    size_t nm = registry_count(g->reg);
    unsigned queue = (unsigned)g->cfg->concurrency_queue;

    a->caps = calloc(nm + g->nloaded + 1, sizeof(*a->caps));
    if (a->caps == NULL)
        goto oom;
    for (size_t i = 0; i < g->nloaded; i++) {
        struct plugin *p = &g->plugins[i];

        if (!p->serial)
            continue;
        if (limit_cap_init(&a->caps[a->ncaps], 1, queue) != 0)
            goto oom;
        p->serial_cap = &a->caps[a->ncaps++];
    }
    for (size_t i = 0; i < nm; i++) {
        /* Filled now, read-only once the generation serves. */
        struct method *m = (struct method *)registry_at(g->reg, i);
        unsigned max = configured_cap(g->cfg->method_concurrency, m->name);

        if (m->plugin != NULL && m->plugin->serial) {
            m->cap = m->plugin->serial_cap;
            continue;
        }
        if (m->flags & RPCHOST_METHOD_SERIAL)
            max = 1;
        if (max == 0)
            continue;
        if (limit_cap_init(&a->caps[a->ncaps], max, queue) != 0)
            goto oom;
        m->cap = &a->caps[a->ncaps++];
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int
admit_build(struct generation *g, char *err, size_t errlen)
{
    const struct config *cfg = g->cfg;
    struct admission *a = calloc(1, sizeof(*a));
    char msg[160];

    if (a == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    g->adm = a;
    if (check_names(g, err, errlen) != 0 || build_caps(g, a, err, errlen) != 0)
        return -1;
    if (cfg->trusted_proxies != NULL) {
        a->proxies = netlist_parse(cfg->trusted_proxies, msg, sizeof(msg));
        if (a->proxies == NULL) {
            snprintf(err, errlen, "trusted_proxies: %s", msg);
            return -1;
        }
    }
    if (cfg->rate_per_peer > 0) {
        a->peer = rate_get(ADMIT_RATE_PEER, cfg->rate_per_peer,
                           cfg->rate_per_peer_burst, (size_t)cfg->rate_keys);
        if (a->peer == NULL)
            goto oom;
    }
    if (cfg->rate_per_credential > 0) {
        a->credential =
            rate_get(ADMIT_RATE_CREDENTIAL, cfg->rate_per_credential,
                     cfg->rate_per_credential_burst, (size_t)cfg->rate_keys);
        if (a->credential == NULL)
            goto oom;
    }
    g->rated = a->peer != NULL || a->credential != NULL;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

void
admit_free(struct admission *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->ncaps; i++)
        limit_cap_destroy(&a->caps[i]);
    free(a->caps);
    netlist_free(a->proxies);
    rate_put(a->peer);
    rate_put(a->credential);
    free(a);
}

/* ---- per call ---- */

uint64_t
admit_peer_key(const char *peer)
{
    const char *end;

    if (peer[0] == '[') {
        end = strchr(peer, ']');
        if (end != NULL)
            return limit_key(peer + 1, (size_t)(end - peer - 1));
    }
    end = strrchr(peer, ':');
    if (end != NULL && strchr(peer, ':') == end &&
        strncmp(peer, "unix:", 5) != 0 && strncmp(peer, "plugin:", 7) != 0)
        return limit_key(peer, (size_t)(end - peer)); /* "A.B.C.D:PORT" */
    return limit_key(peer, strlen(peer));
}

static int64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
admit_rate(struct call *c, int64_t *retry_ns)
{
    struct batch *b = c->batch;
    const struct admission *a = b->gen->adm;
    /* The dispatcher's clock, read as each call ends, when it keeps one
     * (metrics, hooks): one reading less per call. */
    int64_t now = b->clock_us != 0 ? (int64_t)b->clock_us * 1000 : now_ns();
    int64_t wait;
    const char *name;

    if (a->peer != NULL) {
        if (!(b->ctx.have & CTX_PEER_KEY)) {
            /* Once per request: its calls share the key. */
            context_fill_peer(b);
            b->ctx.peer_key = admit_peer_key(b->ctx.peer);
            b->ctx.have |= CTX_PEER_KEY;
        }
        wait = limit_rate_take(a->peer, b->ctx.peer_key, now);
        if (wait > 0) {
            *retry_ns = wait;
            return ADMIT_RATE_PEER;
        }
    }
    if (a->credential != NULL && b->ctx.user != NULL) {
        name = b->ctx.user->name;
        wait =
            limit_rate_take(a->credential, limit_key(name, strlen(name)), now);
        if (wait > 0) {
            *retry_ns = wait;
            return ADMIT_RATE_CREDENTIAL;
        }
    }
    return -1;
}

/* Answer c -32005 "Limit exceeded" for `limit` (admit.h), with data
 * {"limit":NAME} and, for a rate, "retry_after" in seconds.  A single
 * call refused makes the body's status 429 (dispatch_done_fn). */
void
admit_refuse(struct call *c, int limit, int64_t retry_ns)
{
    struct batch *b = c->batch;
    char data[96];
    unsigned retry_s = 1;

    if (handle_slot_set(c->slot, CALL_ANSWERED, CALL_ANSWERED) & CALL_ANSWERED)
        return; /* answered already */
    c->code = RPCHOST_LIMIT_EXCEEDED;
    if (limit == ADMIT_CONCURRENCY) {
        snprintf(data, sizeof(data), "{\"limit\":\"%s\"}",
                 admit_limit_name(limit));
    } else {
        snprintf(data, sizeof(data), "{\"limit\":\"%s\",\"retry_after\":%.3f}",
                 admit_limit_name(limit), (double)retry_ns / 1e9);
        retry_s = (unsigned)((retry_ns + 999999999) / 1000000000);
    }
    if (c->id != NULL)
        rpc_write_error(&c->out, c->id, c->id_len, RPCHOST_LIMIT_EXCEEDED,
                        "Limit exceeded", data);
    if (!b->env.is_batch)
        b->retry_s = retry_s ? retry_s : 1;
    if (b->stats != NULL)
        stats_limited(b->stats, c->m ? c->m->stat_name : NULL, limit);
}

/* Loop thread: give back c's concurrency slot; the first call waiting
 * for it now holds it and runs on its own loop (dispatch_unqueued). */
void
admit_leave_cap(struct call *c)
{
    struct limit_cap *cap = c->held;
    struct call *next = limit_cap_leave(cap);
    struct loop_post *wake;

    c->held = NULL;
    if (next == NULL)
        return;
    /* Both read on its loop after the post.  The post is taken out of
     * the call before it is posted: once posted, the call's loop may run
     * it, answer, and free the call's batch (which frees a post it still
     * holds) before this thread would get back to it. */
    next->held = cap;
    wake = next->wake;
    next->wake = NULL;
    if (next->batch->loop == NULL) {
        loop_post_free(wake);
        dispatch_unqueued(next);
        return;
    }
    /* Made when it was queued: this post cannot fail for memory (only at
     * the loop's teardown, when its batch goes anyway).  Nothing of next
     * is read after it: next is its loop's from the post on. */
    if (loop_post_made(next->batch->loop, wake, dispatch_unqueued, next) != 0)
        log_error("method_concurrency: a queued call's loop is gone");
}
