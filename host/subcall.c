/* SPDX-License-Identifier: MIT */
/*
 * subcall.c - see subcall.h: a plugin calling a method by name.
 *
 * subcall_start() checks where it is called from, prints the request
 * (`{"jsonrpc":"2.0","method":M,"params":P,"id":1}`, no id for a
 * notification), copies what the call needs of its caller's context and
 * posts the rest to the caller's loop with a reference to the caller's
 * batch.  There the body is answered by dispatch_body() like any other;
 * its answer is parsed back into what `done` gets.  Everything after the
 * post runs on that loop thread.
 *
 * Lifetimes.  The caller's batch reference keeps its generation (the
 * plugin's code, the credential), its handle's slot and, for a deferred
 * call, its memory alive until `done` returned; the inner batch takes
 * its own generation reference.  The struct subcall is the inner body's
 * dispatch_source and so lives until that body's answer came back, after
 * which the inner batch never asks its source again.
 */
#include "subcall.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calldef.h"
#include "config.h"
#include "context.h"
#include "generation.h"
#include "loader.h"
#include "log.h"
#include "loop.h"
#include "stats.h"
#include "trace.h"
#include "util.h"

struct subcall {
    struct batch *caller; /* referenced until `done` ran */
    rpchost_call *h;      /* the caller's handle */
    subcall_done_fn done; /* NULL: a notification */
    void *arg;
    char *body; /* the request, cJSON-allocated */
    size_t len;
    unsigned depth; /* its own: the caller's + 1 */
    int too_deep;   /* not to be made: only `done` runs */
    const char *stat_name, *plugin_stat_name; /* for `done`'s activity */
    char peer[64];                            /* "plugin:NAME" */
    char trace[TRACE_LEN + 1];                /* the caller's traceparent */
};

/* ---- the inner body's source (dispatch_source) ---- */

static void
source_peer(void *arg, char *out, size_t len)
{
    const struct subcall *s = arg;

    snprintf(out, len, "%s", s->peer);
}

static const char *
source_header(void *arg, const char *name)
{
    struct subcall *s = arg;

    /* The caller's span is the parent of the inner call's. */
    return strcasecmp(name, "traceparent") == 0 ? s->trace : NULL;
}

static const struct dispatch_source subcall_source = {source_peer,
                                                      source_header};

/* ---- the answer ---- */

/* Run the plugin's `done` on the loop, recorded as its caller's plugin
 * code for the stall watchdog (as a timer is, call.c). */
static void
report(struct subcall *s, const cJSON *result, int code, const char *message,
       const cJSON *data)
{
    struct batch *b = s->caller;

    if (b->stats != NULL)
        activity_enter(&b->stats->now, s->stat_name, s->plugin_stat_name,
                       b->gen->id, util_mono_us());
    s->done(s->h, result, code, message ? message : "Server error", data,
            s->arg);
    if (b->stats != NULL)
        activity_leave(&b->stats->now);
}

/* Report a response object (NULL: none came, or it could not be read)
 * as `done`'s arguments. */
static void
report_answer(struct subcall *s, const cJSON *ans)
{
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(ans, "result");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(ans, "error");
    const cJSON *code, *message;

    if (res != NULL) {
        report(s, res, 0, NULL, NULL);
        return;
    }
    code = cJSON_GetObjectItemCaseSensitive(err, "code");
    message = cJSON_GetObjectItemCaseSensitive(err, "message");
    if (!cJSON_IsNumber(code)) {
        /* Only out of memory leaves no answer (a 500 without a body). */
        report(s, NULL, RPCHOST_INTERNAL_ERROR, "Internal error", NULL);
        return;
    }
    report(s, NULL, code->valueint,
           cJSON_IsString(message) ? message->valuestring : NULL,
           cJSON_GetObjectItemCaseSensitive(err, "data"));
}

static void
subcall_free(struct subcall *s)
{
    dispatch_batch_unref(s->caller);
    cJSON_free(s->body);
    free(s);
}

/* The inner body's answer (dispatch_done_fn), on the loop. */
static void
answered(void *arg, int status, char *body, size_t len, const char *what,
         const char *trace, unsigned retry_after)
{
    struct subcall *s = arg;
    cJSON *ans = NULL;

    (void)status;
    (void)retry_after;
    (void)what;
    (void)trace;
    if (s->done != NULL) {
        if (body != NULL)
            ans = cJSON_ParseWithLength(body, len);
        report_answer(s, ans);
        cJSON_Delete(ans);
    }
    free(body);
    subcall_free(s);
}

/* Posted by subcall_start(): make the call, or refuse it. */
static void
run(void *arg)
{
    struct subcall *s = arg;
    struct batch *b = s->caller;
    struct dispatch_env env = {
        .loop = b->loop,
        .stats = b->stats,
        .user = b->ctx.user,
        .transport = RPCHOST_TRANSPORT_PLUGIN,
        .src = &subcall_source,
        .src_arg = s,
        .depth = s->depth,
    };

    if (!s->too_deep) {
        dispatch_body(b->gen, &env, s->body, s->len, answered, s);
        return;
    }
    if (s->done != NULL) {
        char data[64];
        cJSON *d;

        snprintf(data, sizeof(data), "max_call_depth is %d",
                 b->gen->cfg->max_call_depth);
        d = cJSON_CreateString(data); /* NULL: the error without data */
        report(s, NULL, RPCHOST_CALL_TOO_DEEP, "Call depth exceeded", d);
        cJSON_Delete(d);
    }
    subcall_free(s);
}

/* ---- making one ---- */

/* The request text for `method` and `params` (taken); NULL on ENOMEM. */
static char *
print_request(const char *method, cJSON *params, int with_id)
{
    cJSON *req = cJSON_CreateObject();
    char *text = NULL;

    if (req == NULL || cJSON_AddStringToObject(req, "jsonrpc", "2.0") == NULL ||
        cJSON_AddStringToObject(req, "method", method) == NULL)
        goto out;
    if (params != NULL) {
        if (!cJSON_AddItemToObject(req, "params", params))
            goto out;
        params = NULL; /* req's now */
    }
    if (with_id && cJSON_AddNumberToObject(req, "id", 1) == NULL)
        goto out;
    text = cJSON_PrintUnformatted(req);
out:
    cJSON_Delete(params);
    cJSON_Delete(req);
    return text;
}

/* The call h names, if a call between plugins may be made for it here
 * (see subcall.h); else NULL. */
static struct call *
caller_of(rpchost_call *h)
{
    struct running *r = running_of(h);
    uint32_t f;
    struct call *c;

    if (r != NULL && r->what == RUN_ON_DONE)
        return NULL;
    c = open_call(h, &f);
    if (c == NULL || c->batch->loop == NULL || !loop_is_current(c->batch->loop))
        return NULL;
    /* Outside its handler or hook only while open: a `done` making one
     * more call after the deadline answered could go on for ever. */
    if (r == NULL && (f & CALL_ANSWERED))
        return NULL;
    return c;
}

int
subcall_start(rpchost_call *h, const char *method, cJSON *params,
              subcall_done_fn done, void *arg)
{
    const struct plugin *p;
    struct subcall *s;
    struct batch *b;
    struct call *c;

    if (h == NULL || method == NULL ||
        (params != NULL && !cJSON_IsArray(params) && !cJSON_IsObject(params))) {
        cJSON_Delete(params);
        return RPCHOST_EINVAL;
    }
    c = caller_of(h);
    if (c == NULL) {
        cJSON_Delete(params);
        return RPCHOST_ESTATE;
    }
    b = c->batch;
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        cJSON_Delete(params);
        return RPCHOST_ENOMEM;
    }
    s->body = print_request(method, params, done != NULL);
    if (s->body == NULL) {
        free(s);
        return RPCHOST_ENOMEM;
    }
    s->len = strlen(s->body);
    s->caller = b;
    s->h = h;
    s->done = done;
    s->arg = arg;
    s->depth = b->ctx.depth + 1;
    /* The caller: its method's plugin, or, before its method was looked
     * up, the plugin whose on_call hook runs (or suspended it). */
    p = c->m != NULL ? c->m->plugin : call_hook(c);
    call_code_names(c, &s->stat_name, &s->plugin_stat_name);
    snprintf(s->peer, sizeof(s->peer), "plugin:%s", p->name);
    context_fill(b); /* a no-op where the call left the loop */
    memcpy(s->trace, b->ctx.trace, sizeof(s->trace));
    if (s->depth > (unsigned)b->gen->cfg->max_call_depth) {
        s->too_deep = 1;
        log_warn("plugin [%s] calling %.128s: calls between plugins nest "
                 "deeper than max_call_depth %d; answering %d [trace %s]",
                 p->name, method, b->gen->cfg->max_call_depth,
                 RPCHOST_CALL_TOO_DEEP, b->ctx.trace_id);
    }
    /* Not the last reference: the caller holds one (handler or defer). */
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    if (loop_post(b->loop, run, s) != 0) {
        atomic_fetch_sub_explicit(&b->refs, 1, memory_order_relaxed);
        cJSON_free(s->body);
        free(s);
        return RPCHOST_ENOMEM;
    }
    return RPCHOST_OK;
}
