/* SPDX-License-Identifier: MIT */
/*
 * dispatch.c - see dispatch.h: a request body's batch, running each of
 * its calls, settling them and joining their answers.  What a plugin does
 * with its call through the API table (answer it, read its params, defer
 * it) is call.c's; the host giving up on a call (its client gone, its
 * deadline, a drain's end) cancel.c's; its rates and concurrency caps
 * admit.c's; the state they share, and how a call's handle and answer are
 * claimed, are calldef.h's.
 *
 * A `struct batch` lives for one request body: it holds the generation
 * reference, the parsed envelope and one `struct call` per call.
 * Each call writes its own response object; when the last call is settled
 * the texts are joined (a batch) or handed over as they are.
 *
 * Lifetimes.  `pending` counts calls not yet settled (plus one while the
 * handlers run) and is touched on the loop thread only.  `refs` keeps the
 * batch's memory (and so the generation, and so the plugins' code) alive:
 * one reference for the loop side, dropped when the batch finishes, and one
 * per deferred call, dropped when the plugin answers it - possibly late,
 * after the deadline answered for it.
 *
 * Threads.  Everything here runs on the batch's loop thread but
 * dispatch_batch_unref(): a deferred call's answer may come from any thread
 * (call.c), which writes the call's own answer, posts its settlement here
 * (dispatch_deferred_done) and drops the plugin's reference.  While a
 * handler runs, `dispatch_running` (per thread) names it, its params and
 * the params cursor, for call.c's functions allowed only inside a
 * handler.
 */
#include "dispatch.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "auth.h"
#include "buf.h"
#include "calldef.h"
#include "cancel.h"
#include "context.h"
#include "generation.h"
#include "handle.h"
#include "hooks.h"
#include "jsonrpc.h"
#include "limit.h"
#include "log.h"
#include "loop.h"
#include "params.h"
#include "rcode.h"
#include "stats.h"
#include "util.h"

static const char discover_name[] = "rpc.discover";

/* Bytes of a batch's one allocation each call starts its answer in: a
 * small result fits (ping's is 41), a longer one moves to its own. */
#define CALL_SLAB 128
#define CALL_SLAB_MAX 4096 /* calls: at most 512 KiB of slab per batch */

_Thread_local struct running *dispatch_running; /* see calldef.h */

void
dispatch_batch_unref(struct batch *b)
{
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < b->n; i++) {
        if (b->slots.n != 0)
            handle_retire(b->calls[i].slot);
        buf_free(&b->calls[i].out);
        free(b->calls[i].id_copy);
        free(b->calls[i].param_err);
        loop_post_free(b->calls[i].wake);
    }
    handle_give_back(&b->slots);
    if (b->calls != &b->one)
        free(b->calls);
    free(b->slab);
    rpc_envelope_free(&b->env);
    generation_unref(b->gen);
    free(b);
}

/* All calls settled: build the body and hand it over. */
static void
batch_finish(struct batch *b)
{
    struct buf out = BUF_INIT;
    dispatch_done_fn done = b->done;
    void *arg = b->arg;
    char batch_what[32];
    const char *what, *trace;
    char *body;
    size_t len = 0;
    int any = 0;

    if (!b->env.is_batch) {
        out = b->calls[0].out;
        memset(&b->calls[0].out, 0, sizeof(out));
        any = out.len > 0;
        what = b->calls[0].method; /* lives until dispatch_batch_unref() */
    } else {
        size_t total = 2, max = b->gen->cfg->max_response_size;

        for (size_t i = 0; i < b->n; i++)
            total += b->calls[i].out.len + 1;
        snprintf(batch_what, sizeof(batch_what), "batch[%zu]", b->n);
        what = batch_what;
        if (total > max) {
            /* Refused without joining the answers first. */
            log_warn("the batch's answer has about %zu bytes, more than "
                     "max_response_size %zu",
                     total, max);
            rpc_write_error(&out, NULL, 0, RPCHOST_RESPONSE_TOO_LARGE,
                            "Response too large", NULL);
            any = 1;
        } else {
            buf_grow(&out, total); /* one allocation for the answer */
            buf_putc(&out, '[');
            for (size_t i = 0; i < b->n; i++) {
                struct buf *o = &b->calls[i].out;
                if (o->len == 0)
                    continue;
                if (any)
                    buf_putc(&out, ',');
                buf_append(&out, o->data, o->len);
                any = 1;
            }
            buf_putc(&out, ']');
        }
    }
    if (b->want_trace)
        context_batch_trace_id(b); /* made now if nobody asked before */
    trace = b->ctx.have & CTX_TRACE ? b->ctx.trace : NULL;
    if (b->loop != NULL)
        loop_bodies_add(b->loop, -1);
    if (!any) {
        buf_free(&out);
        done(arg, b->retry_s ? 429 : 204, NULL, 0, what, trace, b->retry_s);
    } else {
        body = buf_take(&out, &len);
        if (body == NULL) {
            log_error("out of memory building a response");
            done(arg, 500, NULL, 0, what, trace, 0);
        } else {
            done(arg, b->retry_s ? 429 : 200, body, len, what, trace,
                 b->retry_s);
        }
    }
    dispatch_batch_unref(b);
}

/* Loop thread: one call is settled (its answer, if any, is written). */
static void
settle(struct batch *b)
{
    if (--b->pending == 0)
        batch_finish(b);
}

/* Loop thread: call c is answered (its text written): give back its
 * concurrency slot, enforce the response size limit, count it, run its
 * on_done hooks and settle it. */
void
dispatch_settle_call(struct call *c)
{
    struct batch *b = c->batch;
    size_t max = b->gen->cfg->max_response_size;

    c->cancel_fn = NULL; /* it can no longer be cancelled */
    if (c->held != NULL)
        admit_leave_cap(c);
    if (c->out.len > max) {
        char detail[96];
        snprintf(detail, sizeof(detail),
                 "the answer has %zu bytes, more than max_response_size %zu",
                 c->out.len, max);
        log_warn("method %s: %s [trace %s]", c->method, detail,
                 context_batch_trace_id(b));
        buf_reset(&c->out);
        c->code = RPCHOST_RESPONSE_TOO_LARGE;
        rpc_write_error(&c->out, c->id, c->id_len, c->code,
                        "Response too large", NULL);
    }
    if (b->stats != NULL || b->gen->nhooked != 0) {
        /* The end of this call is the start of the next one the
         * dispatcher runs: one clock reading per call. */
        b->clock_us = util_mono_us();
        if (b->stats != NULL) {
            stats_call(b->stats,
                       c->m          ? c->m->stat_name
                       : c->discover ? discover_name
                                     : NULL,
                       b->clock_us - c->t0_us, c->code);
            stats_add_gauge(&b->stats->in_flight, -1);
        }
        if (b->gen->nhooked != 0 && c->req != NULL)
            hooks_done(c, c->code, b->clock_us - c->t0_us);
    }
    settle(b);
}

/* Loop thread: mark c answered for the host; 0 if it was not yet. */
static int
claim(struct call *c)
{
    return handle_slot_set(c->slot, CALL_ANSWERED, CALL_ANSWERED) &
                   CALL_ANSWERED
               ? -1
               : 0;
}

/* Loop thread: a deferred call's answer was written by its plugin
 * (posted by call.c). */
void
dispatch_deferred_done(void *arg)
{
    struct call *c = arg;

    if (c->deadline != NULL) {
        loop_timer_cancel(c->deadline);
        c->deadline = NULL;
    }
    dispatch_settle_call(c);
}

/* ---- running calls ---- */

/* Answer `c` with an error unless someone already did (loop thread).
 * 0 when this was the answer. */
int
dispatch_host_error(struct call *c, int code, const char *detail)
{
    if (claim(c) != 0)
        return -1;
    c->code = code;
    if (c->id != NULL)
        rpc_write_error_detail(&c->out, c->id, c->id_len, code, detail);
    return 0;
}

static void
run_discover(struct call *c, const struct rpc_req *r)
{
    const struct generation *g = c->batch->gen;

    if (r->params != NULL && r->params->child != NULL) {
        dispatch_host_error(c, RPCHOST_INVALID_PARAMS,
                            "rpc.discover takes no params");
        return;
    }
    if (g->discover == NULL) {
        dispatch_host_error(c, RPCHOST_INTERNAL_ERROR, NULL);
        return;
    }
    claim(c);
    if (c->id != NULL)
        rpc_write_result(&c->out, c->id, c->id_len, g->discover,
                         g->discover_len);
}

/* Run one valid call: its rates, its hooks, then its method
 * (dispatch_method). */
static void
run_call(struct call *c, const struct rpc_req *r)
{
    struct batch *b = c->batch;

    c->req = r;
    if (b->stats != NULL) {
        c->t0_us = b->clock_us;
        stats_add_gauge(&b->stats->in_flight, 1);
    }
    if (b->gen->rated) {
        int64_t retry_ns;
        int limit = admit_rate(c, &retry_ns);

        if (limit >= 0) {
            c->m = registry_find(b->gen->reg, r->method, strlen(r->method));
            if (b->stats == NULL)
                c->t0_us = b->clock_us;
            admit_refuse(c, limit, retry_ns);
            dispatch_settle_call(c);
            return;
        }
    }
    if (b->gen->nhooked != 0) {
        if (b->stats == NULL)
            c->t0_us = b->clock_us;
        hooks_call(c);
    } else {
        dispatch_method(c);
    }
}

static inline void run_handler(struct call *c) __attribute__((always_inline));

/* Run a call's method; returns once the call is settled, deferred or
 * queued for its method's concurrency cap. */
void
dispatch_method(struct call *c)
{
    const struct rpc_req *r = c->req;
    struct batch *b = c->batch;
    char why[200];

    if (strcmp(r->method, "rpc.discover") == 0) {
        c->discover = 1;
        run_discover(c, r);
        dispatch_settle_call(c);
        return;
    }
    c->m = registry_find(b->gen->reg, r->method, strlen(r->method));
    if (c->m == NULL) {
        dispatch_host_error(c, RPCHOST_METHOD_NOT_FOUND, NULL);
        dispatch_settle_call(c);
        return;
    }
    if ((c->m->flags & RPCHOST_METHOD_NOTIFICATION) && c->id != NULL) {
        snprintf(why, sizeof(why),
                 "method %.128s takes notifications only (no \"id\")",
                 c->method);
        dispatch_host_error(c, RPCHOST_INVALID_REQUEST, why);
        dispatch_settle_call(c);
        return;
    }
    if (c->m->params != NULL &&
        params_validate(c->m->params, c->m->nparams, c->m->structure, r->params,
                        why, sizeof(why)) != 0) {
        dispatch_host_error(c, RPCHOST_INVALID_PARAMS, why);
        dispatch_settle_call(c);
        return;
    }
    if (c->m->cap != NULL) {
        /* It may wait in the queue past the request body. */
        if (dispatch_keep_id(c) != 0) {
            dispatch_host_error(c, RPCHOST_INTERNAL_ERROR, "out of memory");
            dispatch_settle_call(c);
            return;
        }
        /* The post that runs it if it waits, made now: a leaving call
         * must be able to hand the slot over without failing. */
        c->wake = loop_post_new();
        if (c->wake == NULL) {
            admit_refuse(c, ADMIT_CONCURRENCY, 0);
            dispatch_settle_call(c);
            return;
        }
        switch (limit_cap_enter(c->m->cap, c)) {
        case LIMIT_QUEUED:
            return; /* a leaving call runs it: dispatch_unqueued() */
        case LIMIT_FULL:
            loop_post_free(c->wake);
            c->wake = NULL;
            admit_refuse(c, ADMIT_CONCURRENCY, 0);
            dispatch_settle_call(c);
            return;
        }
        loop_post_free(c->wake);
        c->wake = NULL;
        c->held = c->m->cap;
    }
    run_handler(c);
}

int
dispatch_keep_id(struct call *c)
{
    if (c->id == NULL || c->id_copy != NULL)
        return 0;
    c->id_copy = malloc(c->id_len);
    if (c->id_copy == NULL)
        return RPCHOST_ENOMEM;
    memcpy(c->id_copy, c->id, c->id_len);
    c->id = c->id_copy;
    return 0;
}

void
dispatch_unqueued(void *arg)
{
    run_handler(arg);
}

/* Run a call's handler (it holds its concurrency slot, if any): the
 * answer, a failure, or its deferral. */
static inline void
run_handler(struct call *c)
{
    const struct rpc_req *r = c->req;
    struct batch *b = c->batch;
    struct running run = {c, r->params, PARAMS_CURSOR_INIT, RUN_HANDLER};
    int host_answered = 0;
    uint32_t flags;
    int rc;

    dispatch_running = &run;
    if (b->stats != NULL)
        activity_enter(&b->stats->now, c->m->stat_name, c->m->plugin->stat_name,
                       b->gen->id, c->t0_us);
    rc = c->m->handler((rpchost_call *)c->h, r->params, c->m->plugin->state);
    if (b->stats != NULL)
        activity_leave(&b->stats->now);
    dispatch_running = NULL;
    if (run.cursor.index != NULL)
        params_cursor_free(&run.cursor);

    flags = handle_flags(c->slot); /* CALL_DEFERRED stays as it is now */
    if ((flags & CALL_DEFERRED) && rc == RPCHOST_OK) {
        /* Settled by dispatch_deferred_done() or on_deadline(); if the
         * plugin already answered, dispatch_deferred_done() is queued.
         * The next call starts now. */
        if (b->stats != NULL)
            b->clock_us = util_mono_us();
        if (!(flags & CALL_ANSWERED))
            cancel_arm_deadline(c);
        return;
    }
    if (!(flags & CALL_ANSWERED)) {
        if (c->param_err != NULL &&
            (rc == RPCHOST_ENOENT || rc == RPCHOST_ETYPE ||
             rc == RPCHOST_ERANGE)) {
            host_answered = dispatch_host_error(c, RPCHOST_INVALID_PARAMS,
                                                c->param_err) == 0;
        } else {
            /* Say nothing of the plugin's internals to the client. */
            if (rc == RPCHOST_OK &&
                (c->m->flags & RPCHOST_METHOD_NOTIFICATION)) {
                /* A notification-only method need not answer: settled as
                 * answered, without an error to count. */
                host_answered = claim(c) == 0;
                goto settled;
            }
            if (rc == RPCHOST_OK)
                log_error("method %s (plugin [%s]) returned without "
                          "answering the call [trace %s]",
                          c->method, c->m->plugin->name,
                          context_batch_trace_id(b));
            else
                log_error("method %s (plugin [%s]) failed: %s (%d) "
                          "[trace %s]",
                          c->method, c->m->plugin->name, rcode_text(rc), rc,
                          context_batch_trace_id(b));
            host_answered =
                dispatch_host_error(c, RPCHOST_INTERNAL_ERROR, NULL) == 0;
        }
    }
settled:
    if (flags & CALL_DEFERRED) {
        /* Deferred, then failed.  If the plugin answered first (maybe
         * still writing it, on its thread), its dispatch_deferred_done()
         * settles the call.  Otherwise the host answered, and settles it:
         * the plugin may not answer any more (CALL_PLUGIN), and its
         * reference is dropped here, unless a late answer of its own
         * dropped it. */
        if (!host_answered)
            return;
        if (!(handle_slot_set(c->slot, CALL_PLUGIN, CALL_PLUGIN) & CALL_PLUGIN))
            atomic_fetch_sub_explicit(&b->refs, 1, memory_order_relaxed);
    }
    dispatch_settle_call(c);
}

static void
answer_whole(const struct rpc_envelope *env, struct batch *b,
             dispatch_done_fn done, void *arg)
{
    struct stats *st = b->stats;
    const char *trace = NULL;
    struct buf out = BUF_INIT;
    char *body;
    size_t len = 0;

    if (st != NULL)
        stats_call(st, NULL, 0, env->err);
    rpc_write_error_detail(&out, NULL, 0, env->err, env->detail);
    body = buf_take(&out, &len);
    if (b->want_trace) {
        context_batch_trace_id(b);
        trace = b->ctx.trace;
    }
    done(arg, body ? 200 : 500, body, body ? len : 0, "-", trace, 0);
}

static void
forbid(const struct dispatch_env *env, const char *method,
       dispatch_done_fn done, void *arg)
{
    struct buf out = BUF_INIT;
    char detail[256];
    char *body;
    size_t len = 0;

    snprintf(detail, sizeof(detail),
             "HTTP 403: user '%.*s' may not call '%.*s'",
             (int)util_utf8_prefix(env->user->name, 64), env->user->name,
             (int)util_utf8_prefix(method, 128), method);
    if (env->stats != NULL)
        stats_call(env->stats, NULL, 0, RPCHOST_INVALID_REQUEST);
    rpc_write_error_detail(&out, NULL, 0, RPCHOST_INVALID_REQUEST, detail);
    body = buf_take(&out, &len);
    done(arg, body ? 403 : 500, body, body ? len : 0, "-", NULL, 0);
}

struct batch *
dispatch_body(struct generation *gen, const struct dispatch_env *env,
              const char *body, size_t len, dispatch_done_fn done, void *arg)
{
    struct batch *b = malloc(sizeof(*b));
    int finished;

    if (b == NULL) {
        log_error("out of memory answering a request");
        done(arg, 500, NULL, 0, "-", NULL, 0);
        return NULL;
    }
    /* Zeroed but where each part is started by its own: the envelope by
     * rpc_parse(), the context's texts before they are read, each call
     * below.  Zeroing is most of making a batch (callgrind counts each
     * byte rep stosb writes), so no byte is written twice. */
    memset(b, 0, offsetof(struct batch, env));
    memset(&b->ctx, 0, offsetof(struct call_ctx, peer));
    generation_ref(gen);
    b->gen = gen;
    b->loop = env ? env->loop : NULL;
    b->stats = env ? env->stats : NULL;
    b->done = done;
    b->arg = arg;
    atomic_init(&b->refs, 1);
    if (env != NULL) {
        b->want_trace = env->want_trace;
        b->ctx.src = env->src;
        b->ctx.src_arg = env->src_arg;
        b->ctx.user = env->user;
        b->ctx.transport = env->transport;
        b->ctx.depth = env->depth;
    }
    if (rpc_parse(body, len, &gen->limits, &b->env) != 0) {
        answer_whole(&b->env, b, done, arg);
        dispatch_batch_unref(b);
        return NULL;
    }
    if (env != NULL && env->user != NULL && env->user->methods != NULL) {
        /* An allow-list refuses the whole body if any call is not on it
         * (as bitcoind's rpcwhitelist), before anything runs. */
        for (size_t i = 0; i < b->env.n; i++) {
            const struct rpc_req *r = &b->env.reqs[i];
            if (r->invalid == NULL && !auth_allows(env->user, r->method)) {
                forbid(env, r->method, done, arg);
                dispatch_batch_unref(b);
                return NULL;
            }
        }
    }
    b->n = b->env.n;
    b->calls = b->n == 1 ? &b->one : malloc(b->n * sizeof(*b->calls));
    if (b->calls == NULL || handle_take(b->n, &b->slots) != 0) {
        struct rpc_envelope e = {.err = RPCHOST_INTERNAL_ERROR};
        b->n = 0;
        snprintf(e.detail, sizeof(e.detail), "out of memory");
        answer_whole(&e, b, done, arg);
        dispatch_batch_unref(b);
        return NULL;
    }
    /* One extra count while the handlers run, so the batch cannot finish
     * under this loop. */
    b->pending = b->n + 1;
    if (b->loop != NULL)
        loop_bodies_add(b->loop, 1); /* until batch_finish() */
    b->clock_us = b->stats || gen->nhooked ? util_mono_us() : 0;
    /* One slab for batches up to CALL_SLAB_MAX calls; beyond that, or
     * when it cannot be had, each call allocates its own. */
    if (b->n > 1 && b->n <= CALL_SLAB_MAX)
        b->slab = malloc(b->n * CALL_SLAB);
    for (size_t i = 0; i < b->n; i++) {
        struct call *c = &b->calls[i];
        const struct rpc_req *r = &b->env.reqs[i];

        /* Every field zero but these. */
        *c = (struct call){.batch = b,
                           .method = r->method ? r->method : "",
                           .id = r->id,
                           .id_len = r->id_len};
        atomic_init(&c->post_failed, 0);
        c->h = handle_bind(&b->slots, c, &c->slot);
        if (b->slab != NULL)
            buf_init_borrowed(&c->out, b->slab + i * CALL_SLAB, CALL_SLAB);
        if (r->invalid != NULL) {
            claim(c);
            c->code = RPCHOST_INVALID_REQUEST;
            c->t0_us = b->clock_us;
            if (b->stats != NULL)
                stats_add_gauge(&b->stats->in_flight, 1);
            rpc_write_error_detail(&c->out, c->id ? c->id : "null",
                                   c->id ? c->id_len : 4,
                                   RPCHOST_INVALID_REQUEST, r->invalid);
            dispatch_settle_call(c);
        } else {
            run_call(c, r);
        }
    }
    finished = b->pending == 1; /* then settle() answers and frees it */
    settle(b);
    return finished ? NULL : b;
}
