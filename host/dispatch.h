/* SPDX-License-Identifier: MIT */
/*
 * dispatch.h - answering one request body: parse the envelope, run each
 * call's handler, collect the answers, hand back the response body.
 *
 * No libevent here: deferred calls reach their event loop through loop.h.
 * Everything of a batch happens on its loop's thread, except a deferred
 * call's answer, which a plugin may give from any thread; that thread only
 * writes the call's own answer and posts the rest to the loop.  What a
 * plugin does with its call through the API table is call.h's.
 */
#ifndef HOST_DISPATCH_H
#define HOST_DISPATCH_H

#include <stddef.h>

struct auth_user;
struct generation;
struct loop;
struct stats;

/* What the edge tells of a request, when asked (loop thread, while the
 * body's answer is not yet handed back): its peer as text ("ADDR:PORT",
 * "unix:uid=N") and its headers by name (NULL: absent, or the request is
 * gone).  `arg` is dispatch_env.src_arg. */
struct dispatch_source {
    void (*peer)(void *arg, char *out, size_t len);
    const char *(*header)(void *arg, const char *name);
};

/* Where a body is answered: its event loop (NULL: no deferred calls), the
 * loop's counters (NULL: none), the authenticated caller (NULL: none), how
 * it came (enum rpchost_transport) and what else the edge can tell of it
 * (src NULL: nothing).  With want_trace the answer's callback gets the
 * request's trace.  `depth`: 0 for a request from outside, N + 1 for a
 * call a plugin made from a call at depth N (subcall.h). */
struct dispatch_env {
    struct loop *loop;
    struct stats *stats;
    const struct auth_user *user;
    int transport;
    const struct dispatch_source *src;
    void *src_arg;
    int want_trace;
    unsigned depth;
};

/* The answer to one body: `status` is the HTTP status to send (200; 204
 * when there is nothing to send, only notifications; 403 when the caller
 * may not call one of the methods; 429 when its one call (not a batch)
 * was refused by a limit (admit.h), to be retried after `retry_after`
 * seconds (0 otherwise); 500 when out of memory).  `body` is
 * malloc()ed and now the callee's, or NULL.  `what` names the call for the
 * access log ("ping", "batch[3]", "-"), `trace` is the request's
 * traceparent (trace.h) when it was made (always with want_trace), or
 * NULL; both valid during the callback.  Runs on the loop's thread. */
typedef void (*dispatch_done_fn)(void *arg, int status, char *body, size_t len,
                                 const char *what, const char *trace,
                                 unsigned retry_after);

struct batch;

/* Answer `body` (len bytes, read only while this runs: the ids of calls
 * that outlive it are copied) with the methods of `gen` (referenced for
 * as long as any of its calls runs), in `env` (may be NULL).  `done` runs
 * exactly once, possibly before this returns.  Loop thread.  Returns NULL when
 * `done` ran, else the batch, whose calls wait (deferred or suspended): valid
 * until `done` runs, for cancel_batch() (cancel.h). */
struct batch *dispatch_body(struct generation *gen,
                            const struct dispatch_env *env, const char *body,
                            size_t len, dispatch_done_fn done, void *arg);

#endif
