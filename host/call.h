/* SPDX-License-Identifier: MIT */
/*
 * call.h - the call-side half of the plugin API: what a plugin does with
 * a call it is answering, through the API table (api.c wires these into
 * struct rpchost_api; plugin.h states what plugins may rely on).  The
 * plugin-side half (logging, registration, config) is api.h's; the calls
 * themselves come from dispatch.h.
 *
 * Each function takes the plugin's handle for a call (rpchost_call *),
 * checked, never trusted as a pointer: NULL, a handle whose call ended, or
 * one used where it is not allowed now is refused without touching the
 * call's memory - RPCHOST_EINVAL for NULL and RPCHOST_ESTATE otherwise, or
 * NULL / 0 from the functions returning a value.  Where each may be used:
 *  - call_result, call_error: once per call, the first answer winning (the
 *    plugin's, the deadline's or the host's); inside the handler, or, for a
 *    deferred call, later from any thread.  They take `result` and `data`
 *    in every case.
 *  - call_method, call_is_notification, call_udata: inside the handler, or
 *    for a deferred call until the plugin answers it.
 *  - call_param*: inside the handler only, on its thread; a failing getter
 *    notes which param failed, so that a handler returning the code gets
 *    -32602 for it.
 *  - call_defer: inside the handler only, not for serialised methods, and
 *    only where the body has an event loop (dispatch_env.loop).
 *  - call_timer: on the call's loop thread, for a deferred call neither
 *    the plugin nor its deadline answered yet.
 */
#ifndef HOST_CALL_H
#define HOST_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "rpchost/plugin.h"

struct call;

int call_result(rpchost_call *call, cJSON *result);
int call_error(rpchost_call *call, int code, const char *message, cJSON *data);
const char *call_method(rpchost_call *call);
int call_is_notification(rpchost_call *call);
void *call_udata(rpchost_call *call);
const cJSON *call_param(rpchost_call *call, size_t pos, const char *name);
int call_param_string(rpchost_call *call, size_t pos, const char *name,
                      const char **out);
int call_param_int(rpchost_call *call, size_t pos, const char *name,
                   int64_t min, int64_t max, int64_t *out);
int call_param_double(rpchost_call *call, size_t pos, const char *name,
                      double *out);
int call_param_bool(rpchost_call *call, size_t pos, const char *name, int *out);
int call_param_object(rpchost_call *call, size_t pos, const char *name,
                      const cJSON **out);
int call_param_array(rpchost_call *call, size_t pos, const char *name,
                     const cJSON **out);
int call_defer(rpchost_call *call);
int call_timer(rpchost_call *call, unsigned ms,
               void (*fn)(rpchost_call *call, void *arg), void *arg);

/* Loop thread, for cancel.c: drop c's pending plugin timers (they never
 * run) and their references to the batch, of which the caller holds
 * another. */
void call_drop_timers(struct call *c);

/* ABI 2: -32602 with the formatted text as data (plugin.h). */
int call_invalid_params(rpchost_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
