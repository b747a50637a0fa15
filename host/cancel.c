/* SPDX-License-Identifier: MIT */
/*
 * cancel.c - see cancel.h: the host cancelling a call that left its
 * loop (a client gone: cancel_batch; its deadline: cancel_arm_deadline's
 * timer; a drain's end runs that timer early), and the plugin's side of
 * it (on_cancel, call_cancelled).
 *
 * The callback lives in the call (cancel_fn, cancel_arg), loop thread
 * only: set by on_cancel on the call's loop, run by cancel_run there when
 * the host cancels the call (before the call is settled, so the batch's
 * own reference keeps it), and forgotten when the call is settled or
 * resumed.  A callback registered for a call cancelled already is posted
 * with a reference to the batch of its own, as a timer is, once:
 * registrations before it ran replace it (cancel_late).  Once the
 * callback ran, the host holds the call for the plugin: its timers are
 * dropped and its reference released (the plugin need not answer).
 */
#include "cancel.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "call.h"
#include "calldef.h"
#include "context.h"
#include "generation.h"
#include "loader.h"
#include "log.h"
#include "loop.h"
#include "stats.h"
#include "util.h"

/* A callback posted for a call cancelled before it was registered. */
struct late_cancel {
    struct call *c;
    void (*fn)(rpchost_call *call, void *arg);
    void *arg;
};

/* Run fn for c, seen by the stall watchdog as its plugin's code; then
 * drop c's timers and release the call for the plugin: by registering
 * fn, the plugin said it need not answer a cancelled call, so its
 * reference goes now (CALL_PLUGIN: a later answer is refused without
 * touching the call), unless it answered (or resumed) meanwhile. */
static void
run_fn(struct call *c, void (*fn)(rpchost_call *call, void *arg), void *arg)
{
    struct batch *b = c->batch;
    const char *method, *plugin;

    call_code_names(c, &method, &plugin);
    if (b->stats != NULL)
        activity_enter(&b->stats->now, method, plugin, b->gen->id,
                       util_mono_us());
    fn((rpchost_call *)c->h, arg);
    if (b->stats != NULL)
        activity_leave(&b->stats->now);
    call_drop_timers(c);
    if (!(handle_slot_set(c->slot, CALL_PLUGIN, CALL_PLUGIN) & CALL_PLUGIN))
        dispatch_batch_unref(b); /* not the last: the caller holds one */
}

void
cancel_run(struct call *c)
{
    void (*fn)(rpchost_call * call, void *arg) = c->cancel_fn;

    c->cancel_fn = NULL;
    if (fn != NULL)
        run_fn(c, fn, c->cancel_arg);
}

/* Loop thread, posted by cancel_register() with a reference to the batch: the
 * last registration made meanwhile (fn NULL: removed). */
static void
late_run(void *arg)
{
    struct late_cancel *l = arg;
    struct batch *b = l->c->batch;

    l->c->cancel_late = NULL;
    /* Not once the plugin answered meanwhile (from a thread of its own):
     * fn is never run after the plugin's answer (plugin.h). */
    if (l->fn != NULL && !(handle_flags(l->c->slot) & CALL_PLUGIN))
        run_fn(l->c, l->fn, l->arg);
    free(l);
    dispatch_batch_unref(b);
}

int
cancel_register(rpchost_call *h, void (*fn)(rpchost_call *call, void *arg),
                void *arg)
{
    struct late_cancel *l;
    struct call *c;
    uint32_t f;

    if (h == NULL)
        return RPCHOST_EINVAL;
    /* The plugin's while deferred (or suspended) and not answered by it:
     * its reference keeps the call. */
    c = open_call(h, &f);
    if (c == NULL || (f & (CALL_DEFERRED | CALL_PLUGIN)) != CALL_DEFERRED ||
        !loop_is_current(c->batch->loop))
        return RPCHOST_ESTATE;
    if (!(f & CALL_CANCELLED)) {
        if (f & CALL_ANSWERED)
            return RPCHOST_ESTATE;
        c->cancel_fn = fn;
        c->cancel_arg = arg;
        return RPCHOST_OK;
    }
    if (c->cancel_late != NULL) {
        /* Posted already, not run yet: this one replaces it. */
        l = c->cancel_late;
        l->fn = fn;
        l->arg = arg;
        return RPCHOST_OK;
    }
    if (fn == NULL)
        return RPCHOST_OK;
    l = malloc(sizeof(*l));
    if (l == NULL)
        return RPCHOST_ENOMEM;
    l->c = c;
    l->fn = fn;
    l->arg = arg;
    atomic_fetch_add_explicit(&c->batch->refs, 1, memory_order_relaxed);
    if (loop_post(c->batch->loop, late_run, l) != 0) {
        atomic_fetch_sub_explicit(&c->batch->refs, 1, memory_order_relaxed);
        free(l);
        return RPCHOST_ENOMEM;
    }
    c->cancel_late = l;
    return RPCHOST_OK;
}

int
cancel_is_cancelled(rpchost_call *h)
{
    uint32_t f;

    if (handle_get((uintptr_t)h, &f) == NULL)
        return 1; /* the call is over */
    return (f & CALL_CANCELLED) != 0;
}

/* ---- the host cancelling: a client gone, call_timeout, a drain's end ---- */

/* Loop thread: the host gives up on a call that left the loop (deferred
 * or suspended) and answers it `code`, cancelled (cancel.h), unless the
 * plugin answered first (-1: its settlement is on its way).  The plugin's
 * reference stays: its own late answer (or resume) drops it. */
static int
cancel_call(struct call *c, int code, const char *message)
{
    uint32_t old =
        handle_slot_set(c->slot, CALL_ANSWERED | CALL_CANCELLED, CALL_ANSWERED);

    if (old & CALL_ANSWERED)
        return -1;
    if (old & CALL_PLUGIN)
        /* Its hook resumed it first (the rest is posted): the on_cancel
         * of that suspension ended with it.  A resume after this one
         * is refused instead (the call is answered). */
        c->cancel_fn = NULL;
    if (c->deadline != NULL) {
        loop_timer_cancel(c->deadline);
        c->deadline = NULL;
    }
    if (atomic_load(&c->post_failed))
        /* A hook resumed it but its post failed (hooks.c): the
         * reference that went with it. */
        atomic_fetch_sub_explicit(&c->batch->refs, 1, memory_order_relaxed);
    c->code = code;
    if (c->id != NULL)
        rpc_write_error(&c->out, c->id, c->id_len, code, message, NULL);
    cancel_run(c); /* before settling: the batch is still held */
    dispatch_settle_call(c);
    return 0;
}

/* Loop thread: a deferred call's deadline passed. */
static void
on_deadline(void *arg)
{
    struct call *c = arg;

    c->deadline = NULL;
    if (handle_flags(c->slot) & CALL_ANSWERED) {
        /* The plugin answered; its settlement is on its way, unless
         * posting it failed. */
        if (atomic_load(&c->post_failed))
            dispatch_settle_call(c);
        return;
    }
    log_warn("method %s: no answer within call_timeout (or by shutdown); "
             "answering %d [trace %s]",
             c->method, RPCHOST_CALL_TIMEOUT, context_batch_trace_id(c->batch));
    if (cancel_call(c, RPCHOST_CALL_TIMEOUT, "Call timed out") != 0 &&
        atomic_load(&c->post_failed))
        dispatch_settle_call(c); /* answered meanwhile, as above */
}

void
cancel_batch(struct batch *b)
{
    /* Its last call settled finishes it: held until the loop is done. */
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    for (size_t i = 0; i < b->n; i++) {
        struct call *c = &b->calls[i];

        if ((handle_flags(c->slot) & (CALL_DEFERRED | CALL_ANSWERED)) !=
            CALL_DEFERRED)
            continue;
        log_debug("method %s: the client went away; cancelled [trace %s]",
                  c->method, context_batch_trace_id(b));
        cancel_call(c, RPCHOST_CALL_CANCELLED, "Call cancelled");
    }
    dispatch_batch_unref(b);
}

void
cancel_arm_deadline(struct call *c)
{
    struct batch *b = c->batch;

    c->deadline = loop_timer_add(
        b->loop, (unsigned)b->gen->cfg->call_timeout_ms, on_deadline, c);
    if (c->deadline == NULL)
        log_error("method %s: cannot set its deadline", c->method);
    else
        loop_timer_first(c->deadline);
}
