/*
 * dispatch.h - answering one request body: parse the envelope, run each
 * call's handler, collect the answers, hand back the response body.
 *
 * No libevent here: deferred calls reach their event loop through loop.h.
 * Everything of a batch happens on its loop's thread, except a deferred
 * call's answer, which a plugin may give from any thread; that thread only
 * writes the call's own answer and posts the rest to the loop.  Also the
 * call-side half of the plugin API (result, error, params, defer, timer).
 */
#ifndef HOST_DISPATCH_H
#define HOST_DISPATCH_H

#include <stddef.h>

#include "rpchost/plugin.h"

struct auth_user;
struct generation;
struct loop;
struct stats;

/* Where a body is answered: its event loop (NULL: no deferred calls), the
 * loop's counters (NULL: none) and the authenticated caller (NULL: none). */
struct dispatch_env {
    struct loop *loop;
    struct stats *stats;
    const struct auth_user *user;
};

/* The answer to one body: `status` is the HTTP status to send (200; 204
 * when there is nothing to send, only notifications; 403 when the caller
 * may not call one of the methods; 500 when out of memory).  `body` is
 * malloc()ed and now the callee's, or NULL.  `what` names the call for the
 * access log ("ping", "batch[3]", "-"), valid during the callback.  Runs on
 * the loop's thread. */
typedef void (*dispatch_done_fn)(void *arg, int status, char *body, size_t len,
                                 const char *what);

/* Answer `body` (len bytes, valid until `done` runs) with the methods of
 * `gen` (referenced for as long as any of its calls runs), in `env` (may
 * be NULL).  `done` runs exactly once, possibly before this returns.  Loop
 * thread. */
void dispatch_body(struct generation *gen, const struct dispatch_env *env,
                   const char *body, size_t len, dispatch_done_fn done,
                   void *arg);

/* The plugin API's call-side functions (see plugin.h). */
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

#endif
