/* SPDX-License-Identifier: MIT */
/*
 * subcall.h - calls between plugins (plugin.h's call_method_async, ABI 2):
 * a plugin calls a method by name, as Redis modules have RM_Call, and
 * gets the answer in a callback on its call's loop.
 *
 * Such a call is a request body of its own (dispatch.h), built from the
 * method and params, answered with the calling call's generation on the
 * calling call's loop, from a loop_post() callback: never inside the
 * plugin's call, so a method calling itself takes no stack.  Its context
 * (transport RPCHOST_TRANSPORT_PLUGIN, peer "plugin:NAME", the caller's
 * credential and trace id) comes from a dispatch_source of its own; its
 * depth is the caller's + 1, and one deeper than [server] max_call_depth
 * is not made (RPCHOST_CALL_TOO_DEEP).  Until `done` ran, the caller's
 * batch is referenced, so the caller's handle stays checkable and its
 * memory (for a deferred call) readable.
 */
#ifndef HOST_SUBCALL_H
#define HOST_SUBCALL_H

#include "rpchost/plugin.h"

/* The answer of a call between plugins (plugin.h). */
typedef void (*subcall_done_fn)(rpchost_call *call, const cJSON *result,
                                int code, const char *message,
                                const cJSON *data, void *arg);

/* plugin.h's call_method_async: the calling call's loop thread, inside
 * its handler or on_call hook, or while it is deferred or suspended and
 * not answered by the plugin.  Takes `params` in every case. */
int subcall_start(rpchost_call *call, const char *method, cJSON *params,
                  subcall_done_fn done, void *arg);

#endif
