/* SPDX-License-Identifier: MIT */
/*
 * context.h - the plugin API's view of a call's context (plugin.h, ABI
 * 2): who sent it and how, the credential, headers, its place in its
 * batch and its W3C trace.  Each function takes the plugin's handle for a
 * call, checked as call.h's are: NULL (or RPCHOST_ESTATE) for a handle
 * that is not open here.  Where they may be used: inside the handler or a
 * hook of the call, or for a deferred or suspended call until the plugin
 * answers it; context_header only inside the handler or on_call, on
 * their thread.
 */
#ifndef HOST_CONTEXT_H
#define HOST_CONTEXT_H

#include <stddef.h>

#include "rpchost/plugin.h"

const char *context_peer(rpchost_call *call);
int context_transport(rpchost_call *call);
const char *context_credential(rpchost_call *call);
const char *context_header(rpchost_call *call, const char *name);
int context_batch(rpchost_call *call, size_t *index, size_t *count);
const char *context_call_trace_id(rpchost_call *call);
const char *context_traceparent(rpchost_call *call);

/* The host's side, on a batch (calldef.h), loop thread.  context_fill:
 * fill the batch's context, before a call leaves the loop (defer,
 * suspend) or for the answer's callback; context_fill_peer: its peer's
 * text alone.  context_batch_trace_id: the trace id (32 hex digits, made
 * on first use) for log lines about a call; loop thread, or a call that
 * left the loop. */
struct batch;
void context_fill(struct batch *b);
void context_fill_peer(struct batch *b);
const char *context_batch_trace_id(struct batch *b);

#endif
