/* SPDX-License-Identifier: MIT */
/*
 * call.c - see call.h: the plugin API's call-side functions, what a
 * plugin does with its call through the API table: answer it (result,
 * error), read it (method, notification, udata) and its params, defer it
 * and set its timers.  The batch a call belongs to - running it, settling
 * it, the deadline - is dispatch.c's; the state both share, and how a
 * call's handle and answer are claimed, are calldef.h's.
 *
 * Threads.  Everything runs on the call's loop thread, inside its handler
 * or one of its timers, but a deferred call's answer, which the plugin may
 * give from any thread: that thread writes only the call's own answer,
 * under the plugin's reference, and posts the rest to the loop
 * (dispatch_deferred_done).  The functions allowed only inside a handler
 * find their call, its params and the params cursor through
 * `dispatch_running`, the handler running on this thread; any other use
 * of a handle is decided from its slot first.
 */
#include "call.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calldef.h"
#include "context.h"
#include "generation.h"
#include "handle.h"
#include "jsonrpc.h"
#include "loader.h"
#include "log.h"
#include "loop.h"
#include "params.h"
#include "stats.h"
#include "util.h"

/* A plugin timer.  It holds a reference to the batch until it ran or
 * was dropped (call_drop_timers), and is on its call's list meanwhile. */
struct call_timer {
    struct batch *batch;
    struct call *c;
    struct call_timer *prev, *next; /* c->timers */
    struct loop_timer *lt;
    rpchost_call *h;
    void (*fn)(rpchost_call *call, void *arg);
    void *arg;
    const char *stat_name, *plugin_stat_name; /* for the activity record */
};

struct plugin *
call_hook(const struct call *c)
{
    return c->hook_next != 0 ? c->batch->gen->hooked[c->hook_next - 1] : NULL;
}

void
call_code_names(const struct call *c, const char **method, const char **plugin)
{
    const struct plugin *p = c->m != NULL ? c->m->plugin : call_hook(c);

    *method = c->m != NULL ? c->m->stat_name : p->hook_stat;
    *plugin = p->stat_name;
}

/* The handler (or hook) running on this thread, if it is h's. */
static struct running *
handler_of(rpchost_call *h)
{
    return running_of(h);
}

/* The call whose handler (or hook) runs on this thread, if h is its
 * handle. */
static struct call *
in_handler(rpchost_call *h)
{
    struct running *r = running_of(h);

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
            dispatch_batch_unref(c->batch);
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
    if (loop_post(b->loop, dispatch_deferred_done, c) != 0) {
        log_error("method %s: out of memory queueing an answer", c->method);
        atomic_store(&c->post_failed, 1);
    }
    dispatch_batch_unref(b);
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
    struct running *r = running_of(h);
    struct call *c = r && r->what == RUN_HANDLER ? r->c : NULL;

    if (h == NULL)
        return RPCHOST_EINVAL;
    if (c == NULL || c->batch->loop == NULL ||
        (handle_flags(c->slot) & (CALL_ANSWERED | CALL_DEFERRED)))
        return RPCHOST_ESTATE;
    return call_leave_loop(c, CALL_DEFERRED);
}

int
call_leave_loop(struct call *c, uint32_t bits)
{
    uint32_t old;

    /* The request body is gone once parsed: keep the id. */
    if (dispatch_keep_id(c) != 0)
        return RPCHOST_ENOMEM;
    context_fill(c->batch); /* read from other threads from now on */
    /* The plugin's reference, taken before the flag tells an answering
     * thread that there is one to drop. */
    atomic_fetch_add_explicit(&c->batch->refs, 1, memory_order_relaxed);
    old = handle_slot_set(c->slot, bits, CALL_ANSWERED | CALL_DEFERRED);
    if (old & (CALL_ANSWERED | CALL_DEFERRED)) {
        /* Answered meanwhile, from another thread. */
        atomic_fetch_sub_explicit(&c->batch->refs, 1, memory_order_relaxed);
        return RPCHOST_ESTATE;
    }
    return RPCHOST_OK;
}

/* Take t off its call's list. */
static void
timer_unlink(struct call_timer *t)
{
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        t->c->timers = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
}

static void
call_timer_fire(void *arg)
{
    struct call_timer *t = arg;
    struct batch *b = t->batch;

    timer_unlink(t);
    if (b->stats != NULL)
        activity_enter(&b->stats->now, t->stat_name, t->plugin_stat_name,
                       b->gen->id, util_mono_us());
    t->fn(t->h, t->arg);
    if (b->stats != NULL)
        activity_leave(&b->stats->now);
    free(t);
    dispatch_batch_unref(b); /* the timer's reference */
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
    t->c = c;
    t->h = h;
    t->fn = fn;
    t->arg = arg;
    /* A suspended call's hook may set timers too: its method is not
     * known yet, only the plugin running. */
    call_code_names(c, &t->stat_name, &t->plugin_stat_name);
    /* The timer keeps the batch (and so the call) alive until it ran. */
    atomic_fetch_add_explicit(&c->batch->refs, 1, memory_order_relaxed);
    t->lt = loop_timer_add(c->batch->loop, ms, call_timer_fire, t);
    if (t->lt == NULL) {
        atomic_fetch_sub_explicit(&c->batch->refs, 1, memory_order_relaxed);
        free(t);
        return RPCHOST_ENOMEM;
    }
    t->prev = NULL;
    t->next = c->timers;
    if (c->timers != NULL)
        c->timers->prev = t;
    c->timers = t;
    return RPCHOST_OK;
}

void
call_drop_timers(struct call *c)
{
    while (c->timers != NULL) {
        struct call_timer *t = c->timers;

        timer_unlink(t);
        loop_timer_cancel(t->lt);
        free(t);
        /* Not the last reference: the caller holds one. */
        atomic_fetch_sub_explicit(&c->batch->refs, 1, memory_order_relaxed);
    }
}

int
call_invalid_params(rpchost_call *h, const char *fmt, ...)
{
    char text[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt != NULL ? fmt : "", ap);
    va_end(ap);
    /* The host's own shape for this error: message, text as data. */
    return call_error(h, RPCHOST_INVALID_PARAMS, NULL,
                      cJSON_CreateString(text));
}
