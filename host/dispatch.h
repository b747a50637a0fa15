/*
 * dispatch.h - answering one request body: parse the envelope, run each
 * call's handler, collect the answers, hand back the response body.
 *
 * No libevent here: the caller gets the finished body through a callback,
 * on the thread that answered the last call.  Also the call-side half of
 * the plugin API (result, error, call accessors).
 */
#ifndef HOST_DISPATCH_H
#define HOST_DISPATCH_H

#include <stddef.h>

#include "rpchost/plugin.h"

struct generation;

/* The answer to one body: `status` is the HTTP status to send (200; 204
 * when there is nothing to send, only notifications; 500 when out of
 * memory).  `body` is malloc()ed and now the callee's, or NULL. */
typedef void (*dispatch_done_fn)(void *arg, int status, char *body, size_t len);

/* Answer `body` (len bytes, valid until `done` runs) with the methods of
 * `gen` (referenced until then).  `done` runs exactly once, possibly before
 * this returns. */
void dispatch_body(struct generation *gen, const char *body, size_t len,
                   dispatch_done_fn done, void *arg);

/* The plugin API's call-side functions (see plugin.h). */
int call_result(rpchost_call *call, cJSON *result);
int call_error(rpchost_call *call, int code, const char *message, cJSON *data);
const char *call_method(rpchost_call *call);
int call_is_notification(rpchost_call *call);
void *call_udata(rpchost_call *call);

#endif
