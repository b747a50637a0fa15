/* SPDX-License-Identifier: MIT */
/*
 * hooks.c - see hooks.h.
 *
 * Suspension reuses a deferred call's machinery (calldef.h): suspending
 * copies the id, fills the context, takes the plugin's reference to the
 * batch and sets CALL_DEFERRED | CALL_SUSPENDED, and the deadline is armed
 * as for a deferred call.  The hook then either answers (result/error:
 * call.c's path for a deferred answer, the reference going with it) or
 * resumes, which sets CALL_PLUGIN - the hook may not answer any more -
 * and posts the rest of the call to its loop with the reference.  There,
 * unless the deadline answered meanwhile, the call's flags are cleared
 * back to a call being run, the deadline is cancelled, and the next hook
 * runs.
 */
#include "hooks.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "calldef.h"
#include "cancel.h"
#include "context.h"
#include "generation.h"
#include "loader.h"
#include "log.h"
#include "loop.h"
#include "rcode.h"
#include "stats.h"
#include "util.h"

/* Run p's on_call for c on this thread; returns what it returned. */
static int
run_on_call(struct call *c, struct plugin *p)
{
    struct batch *b = c->batch;
    struct running run = {c, c->req->params, PARAMS_CURSOR_INIT, RUN_ON_CALL};
    int rc;

    dispatch_running = &run;
    if (b->stats != NULL)
        activity_enter(&b->stats->now, p->hook_stat, p->stat_name, b->gen->id,
                       util_mono_us());
    rc = p->on_call((rpchost_call *)c->h, c->req->params, p->state);
    if (b->stats != NULL)
        activity_leave(&b->stats->now);
    dispatch_running = NULL;
    if (run.cursor.index != NULL)
        params_cursor_free(&run.cursor);
    /* A hook's failed param getter does not speak for the handler. */
    free(c->param_err);
    c->param_err = NULL;
    return rc;
}

void
hooks_call(struct call *c)
{
    struct generation *g = c->batch->gen;
    uint32_t f;
    int rc;

    while (c->hook_next < g->nhooked) {
        struct plugin *p = g->hooked[c->hook_next++];

        if (p->on_call == NULL)
            continue;
        rc = run_on_call(c, p);
        f = handle_flags(c->slot);
        if (f & CALL_SUSPENDED) {
            if (rc != RPCHOST_OK && !(f & CALL_PLUGIN)) {
                /* Suspended, then failed: answered here, the
                 * suspension's reference dropped. */
                log_error("on_call hook of plugin [%s] failed: %s (%d) "
                          "[trace %s]",
                          p->name, rcode_text(rc), rc,
                          context_batch_trace_id(c->batch));
                if (dispatch_host_error(c, RPCHOST_INTERNAL_ERROR, NULL) == 0) {
                    if (!(handle_slot_set(c->slot, CALL_PLUGIN, CALL_PLUGIN) &
                          CALL_PLUGIN))
                        atomic_fetch_sub_explicit(&c->batch->refs, 1,
                                                  memory_order_relaxed);
                    dispatch_settle_call(c);
                }
                return;
            }
            /* Resumed or answered already (from another thread, or in
             * the hook itself): their post is queued, and cancels the
             * deadline armed here.  A failure after that cannot take the
             * resumption back: it is only logged. */
            if (rc != RPCHOST_OK)
                log_error("on_call hook of plugin [%s] failed after it "
                          "resumed or answered the call: %s (%d); the call "
                          "goes on [trace %s]",
                          p->name, rcode_text(rc), rc,
                          context_batch_trace_id(c->batch));
            if (!(f & CALL_ANSWERED))
                cancel_arm_deadline(c);
            return;
        }
        if (f & CALL_ANSWERED) {
            dispatch_settle_call(c); /* the hook answered it */
            return;
        }
        if (rc != RPCHOST_OK) {
            log_error("on_call hook of plugin [%s] failed: %s (%d) [trace %s]",
                      p->name, rcode_text(rc), rc,
                      context_batch_trace_id(c->batch));
            if (dispatch_host_error(c, RPCHOST_INTERNAL_ERROR, NULL) == 0)
                dispatch_settle_call(c);
            return;
        }
    }
    dispatch_method(c);
}

void
hooks_done(struct call *c, int code, uint64_t duration_us)
{
    struct batch *b = c->batch;
    struct generation *g = b->gen;
    struct running run = {c, NULL, PARAMS_CURSOR_INIT, RUN_ON_DONE};
    struct running *outer = dispatch_running;

    /* Settling can happen while other plugin code is on this thread's
     * stack (a call queued for a cap, run at once where there is no loop,
     * settles inside the leaving call's settlement): whatever was running
     * is restored after. */
    for (size_t i = 0; i < g->nhooked; i++) {
        struct plugin *p = g->hooked[i];

        if (p->on_done == NULL)
            continue;
        dispatch_running = &run;
        if (b->stats != NULL)
            activity_enter(&b->stats->now, p->hook_stat, p->stat_name, g->id,
                           util_mono_us());
        p->on_done((rpchost_call *)c->h, code, duration_us, p->state);
        if (b->stats != NULL)
            activity_leave(&b->stats->now);
    }
    dispatch_running = outer;
}

int
hooks_suspend(rpchost_call *h)
{
    struct running *r = running_of(h);
    struct call *c;

    if (h == NULL)
        return RPCHOST_EINVAL;
    if (r == NULL || r->what != RUN_ON_CALL || r->c->batch->loop == NULL)
        return RPCHOST_ESTATE;
    c = r->c;
    if (handle_flags(c->slot) & (CALL_ANSWERED | CALL_DEFERRED))
        return RPCHOST_ESTATE;
    return call_leave_loop(c, CALL_DEFERRED | CALL_SUSPENDED);
}

/* Loop thread, posted by hooks_resume() with the suspension's
 * reference. */
static void
resumed(void *arg)
{
    struct call *c = arg;
    struct batch *b = c->batch;
    uint32_t old;

    old = handle_slot_change(c->slot, 0, CALL_ANSWERED, 0,
                             CALL_DEFERRED | CALL_SUSPENDED | CALL_PLUGIN);
    if (old & CALL_ANSWERED) {
        /* The deadline answered (and settled) it meanwhile. */
        dispatch_batch_unref(b);
        return;
    }
    if (c->deadline != NULL) {
        loop_timer_cancel(c->deadline);
        c->deadline = NULL;
    }
    c->cancel_fn = NULL; /* the hook's, for the suspension that ended */
    /* Not the last reference: the call is not settled, so the batch has
     * not finished. */
    dispatch_batch_unref(b);
    hooks_call(c);
}

int
hooks_resume(rpchost_call *h)
{
    struct call *c;
    uint32_t old;

    if (h == NULL)
        return RPCHOST_EINVAL;
    c = handle_change((uintptr_t)h, CALL_SUSPENDED, CALL_PLUGIN, CALL_PLUGIN, 0,
                      &old);
    if (c == NULL || !(old & CALL_SUSPENDED) || (old & CALL_PLUGIN))
        return RPCHOST_ESTATE;
    if (old & CALL_ANSWERED) {
        /* Its deadline answered first: only the reference is left. */
        dispatch_batch_unref(c->batch);
        return RPCHOST_ESTATE;
    }
    if (loop_post(c->batch->loop, resumed, c) != 0) {
        log_error("method %s: out of memory resuming a call", c->method);
        atomic_store(&c->post_failed, 1); /* its deadline settles it */
        return RPCHOST_ENOMEM;
    }
    return RPCHOST_OK;
}
