/* SPDX-License-Identifier: MIT */
/*
 * context.c - see context.h: a call's context, read by plugins through
 * the API table and by the host for log lines about the call.
 *
 * The batch holds it (calldef.h's struct call_ctx): the transport and the
 * authenticated user are set when the body arrives; the peer's text and
 * the trace are asked of the edge, or made, the first time someone needs
 * them.  That is on the loop thread, while the request exists; before a
 * call leaves the loop (deferred, suspended) everything is filled, so the
 * other threads and the later times only read.
 */
#include "context.h"

#include <string.h>
#include <strings.h>

#include "auth.h"
#include "calldef.h"
#include "trace.h"

static void
fill_peer(struct call_ctx *x)
{
    if (x->have & CTX_PEER)
        return;
    if (x->src != NULL && x->src->peer != NULL)
        x->src->peer(x->src_arg, x->peer, sizeof(x->peer));
    else
        memcpy(x->peer, "-", 2);
    x->have |= CTX_PEER;
}

static void
fill_trace(struct call_ctx *x)
{
    const char *h = NULL;

    if (x->have & CTX_TRACE)
        return;
    if (x->src != NULL && x->src->header != NULL)
        h = x->src->header(x->src_arg, "traceparent");
    trace_make(h, x->trace);
    memcpy(x->trace_id, x->trace + TRACE_ID_OFF, TRACE_ID_LEN);
    x->trace_id[TRACE_ID_LEN] = '\0';
    x->have |= CTX_TRACE;
}

void
context_fill_peer(struct batch *b)
{
    fill_peer(&b->ctx);
}

void
context_fill(struct batch *b)
{
    fill_peer(&b->ctx);
    fill_trace(&b->ctx);
}

const char *
context_batch_trace_id(struct batch *b)
{
    fill_trace(&b->ctx);
    return b->ctx.trace_id;
}

/* The batch of the call h names, where its context may be read now. */
static struct batch *
batch_of(rpchost_call *h)
{
    uint32_t f;
    struct call *c = open_call(h, &f);

    return c ? c->batch : NULL;
}

const char *
context_peer(rpchost_call *h)
{
    struct batch *b = batch_of(h);

    if (b == NULL)
        return NULL;
    fill_peer(&b->ctx); /* a no-op where the call left the loop */
    return b->ctx.peer;
}

int
context_transport(rpchost_call *h)
{
    struct batch *b = batch_of(h);

    return b ? b->ctx.transport : RPCHOST_TRANSPORT_NONE;
}

const char *
context_credential(rpchost_call *h)
{
    struct batch *b = batch_of(h);

    return b && b->ctx.user ? b->ctx.user->name : NULL;
}

const char *
context_header(rpchost_call *h, const char *name)
{
    struct running *r = running_of(h);
    const struct call_ctx *x;

    if (r == NULL || r->what == RUN_ON_DONE || name == NULL)
        return NULL;
    x = &r->c->batch->ctx;
    return x->src && x->src->header ? x->src->header(x->src_arg, name) : NULL;
}

int
context_batch(rpchost_call *h, size_t *index, size_t *count)
{
    uint32_t f;
    struct call *c = open_call(h, &f);

    if (c == NULL)
        return RPCHOST_ESTATE;
    if (index != NULL)
        *index = (size_t)(c - c->batch->calls);
    if (count != NULL)
        *count = c->batch->n;
    return RPCHOST_OK;
}

const char *
context_traceparent(rpchost_call *h)
{
    struct batch *b = batch_of(h);

    if (b == NULL)
        return NULL;
    fill_trace(&b->ctx);
    return b->ctx.trace;
}

const char *
context_call_trace_id(rpchost_call *h)
{
    struct batch *b = batch_of(h);

    return b ? context_batch_trace_id(b) : NULL;
}
