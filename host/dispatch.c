/*
 * dispatch.c - see dispatch.h.
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
 * Handles.  A plugin never sees a `struct call *`: its rpchost_call * is
 * the call's handle (handle.h), whose slot outlives the call and keeps the
 * call's state flags (CALL_*).  So whatever a plugin does with a handle
 * after the call ended - a second answer, a late one, from any thread,
 * after the batch was freed - is decided from the slot alone and answered
 * RPCHOST_ESTATE, touching no freed memory.
 *
 * Answering.  CALL_ANSWERED is claimed atomically by whoever answers
 * first: the plugin (result/error), the host for a failed handler, or the
 * deadline timer; the loser's answer is dropped.  The plugin's first
 * answer also sets CALL_PLUGIN, after which none of its answers touch the
 * call: for a deferred call that first answer is when its reference goes.
 *
 * Threads.  Everything runs on the batch's loop thread but a deferred
 * call's answer, which the plugin may give from any thread: that thread
 * writes only the call's own answer, under its reference, and posts the
 * rest to the loop.  `running` (per thread) is the handler running on this
 * thread: the functions allowed only inside a handler find their call, its
 * params and the params cursor through it.
 */
#include "dispatch.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rcode.h"
#include "auth.h"
#include "buf.h"
#include "generation.h"
#include "handle.h"
#include "jsonrpc.h"
#include "log.h"
#include "loop.h"
#include "params.h"
#include "stats.h"
#include "util.h"

static const char discover_name[] = "rpc.discover";

struct batch;

/* Bytes of a batch's one allocation each call starts its answer in: a
 * small result fits (ping's is 41), a longer one moves to its own. */
#define CALL_SLAB 128
#define CALL_SLAB_MAX 4096 /* calls: at most 512 KiB of slab per batch */

/* A call's state, kept in the flags of its handle's slot. */
enum {
    CALL_ANSWERED = 0x1, /* answered, by anyone: later answers are dropped */
    CALL_PLUGIN = 0x2,   /* the plugin answered: it may touch it no more */
    CALL_DEFERRED = 0x4, /* defer() was called: the plugin holds a reference
                          * to the batch until CALL_PLUGIN */
};

struct call {
    struct batch *batch;
    uintptr_t h;              /* the plugin's handle for it */
    struct handle_slot *slot; /* h's slot: its flags */
    const struct method *m;
    const char *method; /* name as requested */
    const char *id;     /* raw id text, NULL for a notification */
    size_t id_len;
    atomic_int post_failed; /* loop_post() failed for its settlement */
    int code;               /* 0, or the error code it was answered with */
    struct loop_timer *deadline;
    char *id_copy;         /* a deferred call's id outlives the request body */
    const char *stat_name; /* for host-provided methods */
    struct buf out;        /* the response object; empty for notifications */
    uint64_t t0_us;        /* when it started, for its latency */
    char *param_err;       /* set by a failing param getter (malloc) */
};

struct batch {
    struct generation *gen;
    struct loop *loop;
    struct stats *stats;
    struct rpc_envelope env;
    struct call *calls;
    struct call one;
    char *slab; /* a batch's calls start their answers here (CALL_SLAB) */
    size_t n;
    struct handle_chain slots; /* its calls' handles' slots */
    size_t pending;            /* loop thread only */
    uint64_t clock_us;         /* while dispatching: when the last call ended */
    atomic_long refs;
    dispatch_done_fn done;
    void *arg;
};

/* A plugin timer.  It holds a reference to the batch until it ran. */
struct call_timer {
    struct batch *batch;
    const struct call *call; /* alive while the batch is */
    rpchost_call *h;
    void (*fn)(rpchost_call *call, void *arg);
    void *arg;
};

/* A handler running: its call and what exists only meanwhile.  On the
 * stack of run_call(). */
struct running {
    struct call *c;
    const cJSON *params;
    struct params_cursor cursor; /* positional lookups in params */
};

/* The handler running on this thread, NULL between handlers. */
static _Thread_local struct running *running;

static void
batch_unref(struct batch *b)
{
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < b->n; i++) {
        if (b->slots.n != 0)
            handle_retire(b->calls[i].slot);
        buf_free(&b->calls[i].out);
        free(b->calls[i].id_copy);
        free(b->calls[i].param_err);
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
    const char *what;
    char *body;
    size_t len = 0;
    int any = 0;

    if (!b->env.is_batch) {
        out = b->calls[0].out;
        memset(&b->calls[0].out, 0, sizeof(out));
        any = out.len > 0;
        what = b->calls[0].method; /* lives until batch_unref() */
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
    if (!any) {
        buf_free(&out);
        done(arg, 204, NULL, 0, what);
    } else {
        body = buf_take(&out, &len);
        if (body == NULL) {
            log_error("out of memory building a response");
            done(arg, 500, NULL, 0, what);
        } else {
            done(arg, 200, body, len, what);
        }
    }
    batch_unref(b);
}

/* Loop thread: one call is settled (its answer, if any, is written). */
static void
settle(struct batch *b)
{
    if (--b->pending == 0)
        batch_finish(b);
}

/* Loop thread: call c is answered (its text written): enforce the
 * response size limit, count it, and settle it. */
static void
settle_call(struct call *c)
{
    struct batch *b = c->batch;
    size_t max = b->gen->cfg->max_response_size;

    if (c->out.len > max) {
        char detail[96];
        snprintf(detail, sizeof(detail),
                 "the answer has %zu bytes, more than max_response_size %zu",
                 c->out.len, max);
        log_warn("method %s: %s", c->method, detail);
        buf_reset(&c->out);
        c->code = RPCHOST_RESPONSE_TOO_LARGE;
        rpc_write_error(&c->out, c->id, c->id_len, c->code,
                        "Response too large", NULL);
    }
    if (b->stats != NULL) {
        /* The end of this call is the start of the next one the
         * dispatcher runs: one clock reading per call. */
        b->clock_us = util_mono_us();
        stats_call(b->stats, c->m ? c->m->stat_name : c->stat_name,
                   b->clock_us - c->t0_us, c->code);
        stats_add_gauge(&b->stats->in_flight, -1);
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

/* Loop thread: a deferred call's answer was written by its plugin. */
static void
deferred_done(void *arg)
{
    struct call *c = arg;

    if (c->deadline != NULL) {
        loop_timer_cancel(c->deadline);
        c->deadline = NULL;
    }
    settle_call(c);
}

/* Loop thread: a deferred call's deadline passed. */
static void
on_deadline(void *arg)
{
    struct call *c = arg;

    c->deadline = NULL;
    if (claim(c) != 0) {
        /* The plugin answered; its settlement is on its way, unless
         * posting it failed. */
        if (atomic_load(&c->post_failed))
            settle_call(c);
        return;
    }
    log_warn("method %s: no answer within call_timeout (or by shutdown); "
             "answering %d",
             c->method, RPCHOST_CALL_TIMEOUT);
    c->code = RPCHOST_CALL_TIMEOUT;
    if (c->id != NULL)
        rpc_write_error(&c->out, c->id, c->id_len, RPCHOST_CALL_TIMEOUT,
                        "Call timed out", NULL);
    settle_call(c);
}

/* The handler running on this thread, if it is h's. */
static struct running *
handler_of(rpchost_call *h)
{
    struct running *r = running;

    return r != NULL && r->c->h == (uintptr_t)h ? r : NULL;
}

/* The call whose handler runs on this thread, if h is its handle. */
static struct call *
in_handler(rpchost_call *h)
{
    struct running *r = handler_of(h);

    return r ? r->c : NULL;
}

/* The plugin answers h (result or error): any thread.  Returns the call,
 * claimed (write the answer into it, then call plugin_answered() with
 * *old), or NULL with *rc set: RPCHOST_ESTATE when the call is gone, was
 * answered by the plugin before, or was answered by the host (a deferred
 * call's reference then goes here) - nothing of the call was touched but
 * that reference - or RPCHOST_EINVAL for no handle. */
static inline struct call *
plugin_claim(rpchost_call *h, uint32_t *old, int *rc)
{
    const uint32_t bits = CALL_ANSWERED | CALL_PLUGIN;
    struct call *c = in_handler(h);

    *rc = RPCHOST_ESTATE;
    if (h == NULL) {
        *rc = RPCHOST_EINVAL;
        return NULL;
    }
    if (c != NULL)
        *old = handle_slot_set(c->slot, bits, CALL_PLUGIN);
    else
        c = handle_set((uintptr_t)h, bits, CALL_PLUGIN, old);
    if (c == NULL || (*old & CALL_PLUGIN))
        return NULL; /* gone, or answered by the plugin before */
    if (*old & CALL_ANSWERED) {
        /* The host answered first (the deadline): only the reference of
         * a deferred call is left to drop.  An answer to a call that is
         * not deferred cannot come after its handler (the host answered
         * when it returned), so that call is left alone. */
        if (*old & CALL_DEFERRED)
            batch_unref(c->batch);
        return NULL;
    }
    *rc = RPCHOST_OK;
    return c;
}

/* After the plugin's answer was claimed and written (old: the flags
 * before): a deferred call is settled on its loop, and the plugin's
 * reference goes.  Otherwise the dispatcher settles it when the handler
 * returns. */
static void
plugin_answered(struct call *c, uint32_t old)
{
    struct batch *b = c->batch;

    if (!(old & CALL_DEFERRED))
        return;
    if (loop_post(b->loop, deferred_done, c) != 0) {
        log_error("method %s: out of memory queueing an answer", c->method);
        atomic_store(&c->post_failed, 1);
    }
    batch_unref(b);
}

/* Whether h is a call not deferred whose handler runs on this thread. */
static int
in_plain_handler(rpchost_call *h)
{
    struct call *c = in_handler(h);

    return c != NULL && !(handle_flags(c->slot) & CALL_DEFERRED);
}

int
call_result(rpchost_call *h, cJSON *result)
{
    struct call *c;
    uint32_t old;
    char *text;
    int rc;

    if (result == NULL && in_plain_handler(h))
        return RPCHOST_ENOMEM; /* the handler's return makes it -32603 */
    c = plugin_claim(h, &old, &rc);
    if (c == NULL) {
        cJSON_Delete(result);
        return rc;
    }
    if (result == NULL) {
        log_error("method %s: answered with NULL (out of memory?)", c->method);
        if (c->id != NULL)
            rpc_write_error(&c->out, c->id, c->id_len, RPCHOST_INTERNAL_ERROR,
                            NULL, NULL);
        plugin_answered(c, old);
        return RPCHOST_ENOMEM;
    }
    if (c->id != NULL && cJSON_IsString(result) &&
        result->valuestring != NULL) {
        /* The common case of a string result: no printing round trip. */
        rpc_write_result_string(&c->out, c->id, c->id_len, result->valuestring);
    } else if (c->id != NULL) {
        text = cJSON_PrintUnformatted(result);
        if (text == NULL) {
            log_error("method %s: out of memory printing the result",
                      c->method);
            c->code = RPCHOST_INTERNAL_ERROR;
            rpc_write_error(&c->out, c->id, c->id_len, RPCHOST_INTERNAL_ERROR,
                            NULL, NULL);
            rc = RPCHOST_ENOMEM;
        } else {
            rpc_write_result(&c->out, c->id, c->id_len, text, strlen(text));
            cJSON_free(text);
        }
    }
    cJSON_Delete(result);
    plugin_answered(c, old);
    return rc;
}

int
call_error(rpchost_call *h, int code, const char *message, cJSON *data)
{
    struct call *c;
    char *text = NULL;
    uint32_t old;
    int rc, reserved = 0;

    if (code >= RPCHOST_RESERVED_MIN && code <= RPCHOST_RESERVED_MAX &&
        code != RPCHOST_INVALID_PARAMS && code != RPCHOST_INTERNAL_ERROR) {
        reserved = code;
        code = RPCHOST_INTERNAL_ERROR;
        message = NULL;
        cJSON_Delete(data);
        data = NULL;
    }
    c = plugin_claim(h, &old, &rc);
    if (c == NULL) {
        cJSON_Delete(data);
        return rc;
    }
    if (reserved != 0) {
        log_error("method %s: error code %d is reserved for the host; "
                  "answering -32603",
                  c->method, reserved);
        rc = RPCHOST_ERESERVED;
    }
    c->code = code;
    if (c->id != NULL) {
        if (data != NULL) {
            text = cJSON_PrintUnformatted(data);
            if (text == NULL) {
                log_error("method %s: out of memory printing error data",
                          c->method);
                code = RPCHOST_INTERNAL_ERROR;
                c->code = code;
                message = NULL;
                rc = RPCHOST_ENOMEM;
            }
        }
        if (message == NULL || message[0] == '\0')
            message = rpc_error_message(code);
        rpc_write_error(&c->out, c->id, c->id_len, code,
                        message ? message : "Server error", text);
        cJSON_free(text);
    }
    cJSON_Delete(data);
    plugin_answered(c, old);
    return rc;
}

/* The call h names if its memory may be read here: inside its handler,
 * or deferred and not yet answered by the plugin (whose reference keeps
 * it); *flags receives its flags.  Else NULL. */
static struct call *
open_call(rpchost_call *h, uint32_t *flags)
{
    struct call *c = in_handler(h);

    if (c != NULL) {
        *flags = handle_flags(c->slot);
        return c;
    }
    c = handle_get((uintptr_t)h, flags);
    return c != NULL &&
                   (*flags & (CALL_DEFERRED | CALL_PLUGIN)) == CALL_DEFERRED
               ? c
               : NULL;
}

const char *
call_method(rpchost_call *h)
{
    uint32_t f;
    struct call *c = open_call(h, &f);

    return c ? c->method : NULL;
}

int
call_is_notification(rpchost_call *h)
{
    uint32_t f;
    struct call *c = open_call(h, &f);

    return c ? c->id == NULL : 0;
}

void *
call_udata(rpchost_call *h)
{
    uint32_t f;
    struct call *c = open_call(h, &f);

    return c && c->m ? c->m->udata : NULL;
}

/* ---- params ---- */

static void
param_fail(struct call *c, size_t pos, const char *name, const char *what)
{
    char text[160]; /* room for a 64-byte name and any `what` here */
    int nlen;

    if (c->param_err != NULL)
        return;
    /* The name is the plugin's, of any length: cut as a client's is. */
    nlen = name ? (int)util_utf8_prefix(name, 64) : 0;
    if (name != NULL && pos != RPCHOST_NOPOS)
        snprintf(text, sizeof(text), "param '%.*s' (%zu): %s", nlen, name, pos,
                 what);
    else if (name != NULL)
        snprintf(text, sizeof(text), "param '%.*s': %s", nlen, name, what);
    else
        snprintf(text, sizeof(text), "param %zu: %s", pos, what);
    c->param_err = strdup(text); /* NULL: the answer is then -32603 */
}

/* Find a param for a getter (only inside the handler); RPCHOST_OK with
 * *v set, or an error noted.  *cp receives the call, for more notes. */
static int
param_get(rpchost_call *h, size_t pos, const char *name, int type,
          const cJSON **v, struct call **cp)
{
    struct running *r = handler_of(h);
    struct call *c;

    if (h == NULL || v == NULL)
        return RPCHOST_EINVAL;
    if (r == NULL)
        return RPCHOST_ESTATE;
    *cp = c = r->c;
    *v = params_find(r->params, &r->cursor, pos, name);
    if (*v == NULL) {
        param_fail(c, pos, name, "missing");
        return RPCHOST_ENOENT;
    }
    if (!params_type_ok(type, *v)) {
        char what[48];
        snprintf(what, sizeof(what), "expected %s %s",
                 type == RPCHOST_TYPE_INTEGER || type == RPCHOST_TYPE_OBJECT
                     ? "an"
                     : "a",
                 params_type_name(type));
        param_fail(c, pos, name, what);
        return RPCHOST_ETYPE;
    }
    return RPCHOST_OK;
}

const cJSON *
call_param(rpchost_call *h, size_t pos, const char *name)
{
    struct running *r = handler_of(h);

    return r ? params_find(r->params, &r->cursor, pos, name) : NULL;
}

int
call_param_string(rpchost_call *h, size_t pos, const char *name,
                  const char **out)
{
    const cJSON *v;
    struct call *c;
    int rc = param_get(h, pos, name, RPCHOST_TYPE_STRING, &v, &c);

    if (rc == RPCHOST_OK && out != NULL)
        *out = v->valuestring;
    return rc;
}

int
call_param_int(rpchost_call *h, size_t pos, const char *name, int64_t min,
               int64_t max, int64_t *out)
{
    const cJSON *v;
    struct call *c;
    int rc = param_get(h, pos, name, RPCHOST_TYPE_NUMBER, &v, &c);

    if (rc != RPCHOST_OK)
        return rc;
    if (floor(v->valuedouble) != v->valuedouble) {
        param_fail(c, pos, name, "expected an integer");
        return RPCHOST_ETYPE;
    }
    if (fabs(v->valuedouble) > 9007199254740991.0 ||
        v->valuedouble < (double)min || v->valuedouble > (double)max) {
        char what[96];
        snprintf(what, sizeof(what), "out of range %lld..%lld", (long long)min,
                 (long long)max);
        param_fail(c, pos, name, what);
        return RPCHOST_ERANGE;
    }
    if (out != NULL)
        *out = (int64_t)v->valuedouble;
    return RPCHOST_OK;
}

int
call_param_double(rpchost_call *h, size_t pos, const char *name, double *out)
{
    const cJSON *v;
    struct call *c;
    int rc = param_get(h, pos, name, RPCHOST_TYPE_NUMBER, &v, &c);

    if (rc != RPCHOST_OK)
        return rc;
    if (!isfinite(v->valuedouble)) {
        param_fail(c, pos, name, "number out of range");
        return RPCHOST_ERANGE;
    }
    if (out != NULL)
        *out = v->valuedouble;
    return RPCHOST_OK;
}

int
call_param_bool(rpchost_call *h, size_t pos, const char *name, int *out)
{
    const cJSON *v;
    struct call *c;
    int rc = param_get(h, pos, name, RPCHOST_TYPE_BOOLEAN, &v, &c);

    if (rc == RPCHOST_OK && out != NULL)
        *out = cJSON_IsTrue(v);
    return rc;
}

int
call_param_object(rpchost_call *h, size_t pos, const char *name,
                  const cJSON **out)
{
    const cJSON *v;
    struct call *c;
    int rc = param_get(h, pos, name, RPCHOST_TYPE_OBJECT, &v, &c);

    if (rc == RPCHOST_OK && out != NULL)
        *out = v;
    return rc;
}

int
call_param_array(rpchost_call *h, size_t pos, const char *name,
                 const cJSON **out)
{
    const cJSON *v;
    struct call *c;
    int rc = param_get(h, pos, name, RPCHOST_TYPE_ARRAY, &v, &c);

    if (rc == RPCHOST_OK && out != NULL)
        *out = v;
    return rc;
}

/* ---- deferred calls ---- */

int
call_defer(rpchost_call *h)
{
    struct call *c = in_handler(h);
    uint32_t old;

    if (h == NULL)
        return RPCHOST_EINVAL;
    if (c == NULL || c->batch->loop == NULL || c->m->lock != NULL ||
        (handle_flags(c->slot) & (CALL_ANSWERED | CALL_DEFERRED)))
        return RPCHOST_ESTATE;
    if (c->id != NULL && c->id_copy == NULL) {
        /* The request body may be gone (client closed) when the plugin
         * answers: keep the id. */
        c->id_copy = malloc(c->id_len);
        if (c->id_copy == NULL)
            return RPCHOST_ENOMEM;
        memcpy(c->id_copy, c->id, c->id_len);
        c->id = c->id_copy;
    }
    /* The plugin's reference, taken before the flag tells an answering
     * thread that there is one to drop. */
    atomic_fetch_add_explicit(&c->batch->refs, 1, memory_order_relaxed);
    old =
        handle_slot_set(c->slot, CALL_DEFERRED, CALL_ANSWERED | CALL_DEFERRED);
    if (old & (CALL_ANSWERED | CALL_DEFERRED)) {
        /* Answered meanwhile, from another thread. */
        atomic_fetch_sub_explicit(&c->batch->refs, 1, memory_order_relaxed);
        return RPCHOST_ESTATE;
    }
    return RPCHOST_OK;
}

static void
call_timer_fire(void *arg)
{
    struct call_timer *t = arg;
    struct batch *b = t->batch;
    const struct call *c = t->call;

    if (b->stats != NULL)
        activity_enter(&b->stats->now, c->m->stat_name, c->m->plugin->stat_name,
                       b->gen->id, util_mono_us());
    t->fn(t->h, t->arg);
    if (b->stats != NULL)
        activity_leave(&b->stats->now);
    free(t);
    batch_unref(b); /* the timer's reference */
}

int
call_timer(rpchost_call *h, unsigned ms,
           void (*fn)(rpchost_call *call, void *arg), void *arg)
{
    struct call_timer *t;
    struct call *c;
    uint32_t f;

    if (h == NULL || fn == NULL)
        return RPCHOST_EINVAL;
    /* Only for a deferred call the plugin has not answered, and not once
     * its deadline answered: a timer re-arming itself could otherwise run
     * for ever. */
    c = open_call(h, &f);
    if (c == NULL || (f & (CALL_DEFERRED | CALL_ANSWERED)) != CALL_DEFERRED ||
        !loop_is_current(c->batch->loop))
        return RPCHOST_ESTATE;
    t = malloc(sizeof(*t));
    if (t == NULL)
        return RPCHOST_ENOMEM;
    t->batch = c->batch;
    t->call = c;
    t->h = h;
    t->fn = fn;
    t->arg = arg;
    /* The timer keeps the batch (and so the call) alive until it ran. */
    atomic_fetch_add_explicit(&c->batch->refs, 1, memory_order_relaxed);
    if (loop_timer_add(c->batch->loop, ms, call_timer_fire, t) == NULL) {
        atomic_fetch_sub_explicit(&c->batch->refs, 1, memory_order_relaxed);
        free(t);
        return RPCHOST_ENOMEM;
    }
    return RPCHOST_OK;
}

/* ---- running calls ---- */

/* Answer `c` with an error unless someone already did (loop thread).
 * 0 when this was the answer. */
static int
host_error(struct call *c, int code, const char *detail)
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
        host_error(c, RPCHOST_INVALID_PARAMS, "rpc.discover takes no params");
        return;
    }
    if (g->discover == NULL) {
        host_error(c, RPCHOST_INTERNAL_ERROR, NULL);
        return;
    }
    claim(c);
    if (c->id != NULL)
        rpc_write_result(&c->out, c->id, c->id_len, g->discover,
                         g->discover_len);
}

/* Run one valid call; returns once the call is settled or deferred. */
static void
run_call(struct call *c, const struct rpc_req *r)
{
    struct batch *b = c->batch;
    struct running run = {c, r->params, PARAMS_CURSOR_INIT};
    int host_answered = 0;
    char why[200];
    uint32_t flags;
    int rc;

    if (b->stats != NULL) {
        c->t0_us = b->clock_us;
        stats_add_gauge(&b->stats->in_flight, 1);
    }
    if (strcmp(r->method, "rpc.discover") == 0) {
        c->stat_name = discover_name;
        run_discover(c, r);
        settle_call(c);
        return;
    }
    c->m = registry_find(b->gen->reg, r->method, strlen(r->method));
    if (c->m == NULL) {
        host_error(c, RPCHOST_METHOD_NOT_FOUND, NULL);
        settle_call(c);
        return;
    }
    if (c->m->params != NULL &&
        params_validate(c->m->params, c->m->nparams, r->params, why,
                        sizeof(why)) != 0) {
        host_error(c, RPCHOST_INVALID_PARAMS, why);
        settle_call(c);
        return;
    }
    if (c->m->lock != NULL)
        pthread_mutex_lock(c->m->lock);
    running = &run;
    if (b->stats != NULL)
        activity_enter(&b->stats->now, c->m->stat_name, c->m->plugin->stat_name,
                       b->gen->id, c->t0_us);
    rc = c->m->handler((rpchost_call *)c->h, r->params, c->m->plugin->state);
    if (b->stats != NULL)
        activity_leave(&b->stats->now);
    running = NULL;
    if (run.cursor.index != NULL)
        params_cursor_free(&run.cursor);
    if (c->m->lock != NULL)
        pthread_mutex_unlock(c->m->lock);

    flags = handle_flags(c->slot); /* CALL_DEFERRED stays as it is now */
    if ((flags & CALL_DEFERRED) && rc == RPCHOST_OK) {
        /* Settled by deferred_done() or on_deadline(); if the plugin
         * already answered, deferred_done() is queued.  The next call
         * starts now. */
        if (b->stats != NULL)
            b->clock_us = util_mono_us();
        if (!(flags & CALL_ANSWERED)) {
            c->deadline =
                loop_timer_add(b->loop, (unsigned)b->gen->cfg->call_timeout_ms,
                               on_deadline, c);
            if (c->deadline == NULL)
                log_error("method %s: cannot set its deadline", c->method);
            else
                loop_timer_first(c->deadline);
        }
        return;
    }
    if (!(flags & CALL_ANSWERED)) {
        if (c->param_err != NULL &&
            (rc == RPCHOST_ENOENT || rc == RPCHOST_ETYPE ||
             rc == RPCHOST_ERANGE)) {
            host_answered =
                host_error(c, RPCHOST_INVALID_PARAMS, c->param_err) == 0;
        } else {
            /* Say nothing of the plugin's internals to the client. */
            if (rc == RPCHOST_OK)
                log_error("method %s returned without answering the call",
                          c->method);
            else
                log_error("method %s failed: %s (%d)", c->method,
                          rcode_text(rc), rc);
            host_answered = host_error(c, RPCHOST_INTERNAL_ERROR, NULL) == 0;
        }
    }
    if (flags & CALL_DEFERRED) {
        /* Deferred, then failed.  If the plugin answered first (maybe
         * still writing it, on its thread), its deferred_done() settles
         * the call.  Otherwise the host answered, and settles it: the
         * plugin may not answer any more (CALL_PLUGIN), and its reference
         * is dropped here, unless a late answer of its own dropped it. */
        if (!host_answered)
            return;
        if (!(handle_slot_set(c->slot, CALL_PLUGIN, CALL_PLUGIN) & CALL_PLUGIN))
            atomic_fetch_sub_explicit(&b->refs, 1, memory_order_relaxed);
    }
    settle_call(c);
}

static void
answer_whole(const struct rpc_envelope *env, struct stats *st,
             dispatch_done_fn done, void *arg)
{
    struct buf out = BUF_INIT;
    char *body;
    size_t len = 0;

    if (st != NULL)
        stats_call(st, NULL, 0, env->err);
    rpc_write_error_detail(&out, NULL, 0, env->err, env->detail);
    body = buf_take(&out, &len);
    done(arg, body ? 200 : 500, body, body ? len : 0, "-");
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
    done(arg, body ? 403 : 500, body, body ? len : 0, "-");
}

void
dispatch_body(struct generation *gen, const struct dispatch_env *env,
              const char *body, size_t len, dispatch_done_fn done, void *arg)
{
    struct batch *b = calloc(1, sizeof(*b));

    if (b == NULL) {
        log_error("out of memory answering a request");
        done(arg, 500, NULL, 0, "-");
        return;
    }
    generation_ref(gen);
    b->gen = gen;
    b->loop = env ? env->loop : NULL;
    b->stats = env ? env->stats : NULL;
    b->done = done;
    b->arg = arg;
    atomic_init(&b->refs, 1);
    if (rpc_parse(body, len, &gen->limits, &b->env) != 0) {
        answer_whole(&b->env, b->stats, done, arg);
        batch_unref(b);
        return;
    }
    if (env != NULL && env->user != NULL && env->user->methods != NULL) {
        /* An allow-list refuses the whole body if any call is not on it
         * (as bitcoind's rpcwhitelist), before anything runs. */
        for (size_t i = 0; i < b->env.n; i++) {
            const struct rpc_req *r = &b->env.reqs[i];
            if (r->invalid == NULL && !auth_allows(env->user, r->method)) {
                forbid(env, r->method, done, arg);
                batch_unref(b);
                return;
            }
        }
    }
    b->n = b->env.n;
    b->calls = b->n == 1 ? &b->one : calloc(b->n, sizeof(*b->calls));
    if (b->calls == NULL || handle_take(b->n, &b->slots) != 0) {
        struct rpc_envelope e = {.err = RPCHOST_INTERNAL_ERROR};
        b->n = 0;
        snprintf(e.detail, sizeof(e.detail), "out of memory");
        answer_whole(&e, b->stats, done, arg);
        batch_unref(b);
        return;
    }
    /* One extra count while the handlers run, so the batch cannot finish
     * under this loop. */
    b->pending = b->n + 1;
    b->clock_us = b->stats ? util_mono_us() : 0;
    /* One slab for batches up to CALL_SLAB_MAX calls; beyond that, or
     * when it cannot be had, each call allocates its own. */
    if (b->n > 1 && b->n <= CALL_SLAB_MAX)
        b->slab = malloc(b->n * CALL_SLAB);
    for (size_t i = 0; i < b->n; i++) {
        struct call *c = &b->calls[i];
        const struct rpc_req *r = &b->env.reqs[i];

        c->batch = b;
        c->h = handle_bind(&b->slots, c, &c->slot);
        if (b->slab != NULL)
            buf_init_borrowed(&c->out, b->slab + i * CALL_SLAB, CALL_SLAB);
        c->method = r->method ? r->method : "";
        c->id = r->id;
        c->id_len = r->id_len;
        atomic_init(&c->post_failed, 0);
        if (r->invalid != NULL) {
            claim(c);
            c->code = RPCHOST_INVALID_REQUEST;
            c->t0_us = b->clock_us;
            if (b->stats != NULL)
                stats_add_gauge(&b->stats->in_flight, 1);
            rpc_write_error_detail(&c->out, c->id ? c->id : "null",
                                   c->id ? c->id_len : 4,
                                   RPCHOST_INVALID_REQUEST, r->invalid);
            settle_call(c);
        } else {
            run_call(c, r);
        }
    }
    settle(b);
}
