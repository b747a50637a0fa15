/* SPDX-License-Identifier: MIT */
/*
 * calldef.h - the state of a request body being answered (dispatch.h),
 * shared by the two files that make it up: dispatch.c (the batch: running
 * each call, settling and joining the answers) and call.c (what a plugin
 * does with its call through the API table: answer it, read it and its
 * params, defer it, set timers; call.h).  Nothing else looks inside.
 *
 * Handles.  A plugin never sees a `struct call *`: its rpchost_call * is
 * the call's handle (handle.h), whose slot outlives the call and keeps the
 * call's state flags (CALL_*).  So whatever a plugin does with a handle
 * after the call ended - a second answer, a late one, from any thread,
 * after the batch was freed - is decided from the slot alone and answered
 * RPCHOST_ESTATE, touching no freed memory.
 *
 * Answering.  CALL_ANSWERED is claimed atomically by whoever answers
 * first: the plugin (result/error, call.c), the host for a failed handler,
 * or the deadline timer (dispatch.c); the loser's answer is dropped.  The
 * plugin's first answer also sets CALL_PLUGIN, after which none of its
 * answers touch the call: for a deferred call that first answer is when
 * its reference goes.
 */
#ifndef HOST_CALLDEF_H
#define HOST_CALLDEF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dispatch.h"
#include "handle.h"
#include "jsonrpc.h"
#include "params.h"

struct batch;
struct generation;
struct loop;
struct loop_post;
struct limit_cap;
struct call_timer;
struct late_cancel;
struct loop_timer;
struct method;
struct plugin;
struct stats;

/* A call's state, kept in the flags of its handle's slot. */
enum {
    CALL_ANSWERED = 0x1,   /* answered, by anyone: later answers are dropped */
    CALL_PLUGIN = 0x2,     /* the plugin answered: it may touch it no more */
    CALL_DEFERRED = 0x4,   /* defer() was called: the plugin holds a reference
                            * to the batch until CALL_PLUGIN */
    CALL_SUSPENDED = 0x8,  /* an on_call hook suspended it (with
                            * CALL_DEFERRED: its reference) until it resumes
                            * it (setting CALL_PLUGIN) or answers */
    CALL_CANCELLED = 0x10, /* the host answered it, giving up on it
                            * (cancel.h); set with CALL_ANSWERED */
};

/* One call of a batch.  Loop thread only, but for its answer (`out`,
 * `code`), which the plugin of a deferred call writes from its own thread
 * once it claimed the call (CALL_PLUGIN), under its reference. */
struct call {
    struct batch *batch;
    uintptr_t h;              /* the plugin's handle for it */
    struct handle_slot *slot; /* h's slot: its flags */
    const struct method *m;
    const char *method; /* name as requested */
    const char *id;     /* raw id text, NULL for a notification */
    size_t id_len;
    atomic_int post_failed; /* loop_post() failed for its settlement */
    int code;               /* 0, or the error code it was answered with */
    uint32_t hook_next;     /* the on_call hook it resumes at */
    unsigned char discover; /* it calls rpc.discover (the host's method) */
    struct loop_timer *deadline;
    char *id_copy;   /* a deferred call's id outlives the request body */
    struct buf out;  /* the response object; empty for notifications */
    uint64_t t0_us;  /* when it started, for its latency */
    char *param_err; /* set by a failing param getter (malloc) */
    const struct rpc_req *req; /* its request, in the batch's envelope */
    struct limit_cap *held;    /* its method's cap, while it has a slot */
    struct loop_post *wake;    /* while queued for the cap: its post */
    struct call_timer *timers; /* its plugin timers pending (call.c) */
    void (*cancel_fn)(rpchost_call *call, void *arg); /* on_cancel's */
    void *cancel_arg;
    struct late_cancel *cancel_late; /* cancel.c: posted, not yet run */
};

/* What a batch knows of its request beyond the body (dispatch.h's
 * dispatch_env), asked of the edge (`src`) only when someone needs it, on
 * the loop thread while the batch has not finished.  A call that leaves
 * the loop (deferred or suspended) first fills everything (context.c), so
 * other threads, and the times after the request is gone, read only
 * these, never the edge's. */
enum {
    CTX_PEER = 0x1,     /* peer[] is filled */
    CTX_TRACE = 0x2,    /* trace[] is filled */
    CTX_PEER_KEY = 0x4, /* peer_key is the hash of peer[]'s address */
};
/* `have` is read by other threads without atomics: it is only written on
 * the loop thread before the first call of the batch leaves the loop
 * (admit_rate() sets CTX_PEER_KEY before hooks or handlers run, and
 * context_fill() the rest when a call leaves), and never after. */

struct call_ctx {
    const struct dispatch_source *src; /* NULL: none */
    void *src_arg;
    const struct auth_user *user;
    int transport;
    unsigned have;     /* CTX_* */
    unsigned depth;    /* dispatch_env.depth */
    uint64_t peer_key; /* admit.c: the rate per peer's key */
    /* The texts last: written before they are read (`have`), so a new
     * batch zeroes only what is above (dispatch_body). */
    char peer[64];
    char trace[56];    /* TRACE_LEN + 1: this host's traceparent */
    char trace_id[33]; /* its trace id alone */
};

/* One request body being answered: its memory lives while `refs` is
 * above 0 (dispatch_batch_unref()). */
struct batch {
    struct generation *gen;
    struct loop *loop;
    struct stats *stats;
    struct call *calls;
    char *slab; /* its calls start their answers here (dispatch.c) */
    size_t n;
    struct handle_chain slots; /* its calls' handles' slots */
    size_t pending;            /* loop thread only */
    uint64_t clock_us;         /* while dispatching: when the last call ended */
    atomic_long refs;
    dispatch_done_fn done;
    void *arg;
    int want_trace;   /* the answer's callback gets the trace */
    unsigned retry_s; /* a single call refused by a limit: 429 */
    /* Not zeroed with the fields above when the batch is made: each is
     * started by its own (dispatch_body). */
    struct rpc_envelope env; /* rpc_parse() */
    struct call_ctx ctx;     /* its fields before `peer` zeroed */
    struct call one;         /* the call of a single request, made as the
                              * calls of a batch are */
};

/* What runs for a call: its handler, or one of its hooks (hooks.c). */
enum {
    RUN_HANDLER = 0,
    RUN_ON_CALL = 1,
    RUN_ON_DONE = 2,
};

/* A handler (or hook) running: its call and what exists only meanwhile.
 * On the stack of dispatch.c's run_call() (hooks.c's functions). */
struct running {
    struct call *c;
    const cJSON *params;
    struct params_cursor cursor; /* positional lookups in params */
    int what;                    /* RUN_* */
};

/* The handler running on this thread, NULL between handlers: set by
 * dispatch.c around each handler, read by call.c's functions allowed only
 * inside one (each API call).  Local-exec, as it was while one file held
 * it static (rpchost_core is only ever linked into executables): call.c
 * reads it in the one instruction dispatch.c uses. */
extern _Thread_local struct running *dispatch_running
    __attribute__((tls_model("local-exec")));

/* The handler (or hook) running on this thread, if it is h's. */
static inline struct running *
running_of(rpchost_call *h)
{
    struct running *r = dispatch_running;

    return r != NULL && r->c->h == (uintptr_t)h ? r : NULL;
}

/* The call h names if its memory may be read here: while a handler or
 * hook of it runs on this thread, or when it is deferred (or suspended)
 * and not yet answered by the plugin (whose reference keeps it); *flags
 * receives its flags.  Else NULL. */
static inline struct call *
open_call(rpchost_call *h, uint32_t *flags)
{
    struct running *r = running_of(h);
    struct call *c;

    if (r != NULL) {
        *flags = handle_flags(r->c->slot);
        return r->c;
    }
    c = handle_get((uintptr_t)h, flags);
    return c != NULL &&
                   (*flags & (CALL_DEFERRED | CALL_PLUGIN)) == CALL_DEFERRED
               ? c
               : NULL;
}

/* call.c: the plugin whose on_call hook ran last for c (a suspended
 * call's: the one that suspended it), or NULL. */
struct plugin *call_hook(const struct call *c);
/* call.c: the names of the plugin code that runs for c, for its loop's
 * activity record (activity.h): its method's, or before its method was
 * looked up the last on_call hook's. */
void call_code_names(const struct call *c, const char **method,
                     const char **plugin);

/* Drop a reference to b (any thread); the last one frees it: its calls,
 * their handles' slots (retired: later use of a handle is refused), the
 * envelope and its generation reference. */
void dispatch_batch_unref(struct batch *b);

/* Loop thread, posted by call.c (loop_post(), arg: the struct call *): a
 * deferred call's answer was written by its plugin; cancel its deadline
 * and settle it. */
void dispatch_deferred_done(void *arg);

/* call.c, loop thread: the call leaves the loop with its plugin holding a
 * reference to the batch (defer: CALL_DEFERRED; a hook's suspension: also
 * CALL_SUSPENDED): its id is copied, its context filled, `bits` set
 * unless it was answered or left already.  RPCHOST_OK, RPCHOST_ENOMEM or
 * RPCHOST_ESTATE. */
int call_leave_loop(struct call *c, uint32_t bits);

/* Loop thread, for hooks.c: a call is answered (its text written, its
 * handle claimed): count it, run its on_done hooks, settle it. */
void dispatch_settle_call(struct call *c);
/* Answer c with an error unless someone already did: 0 when this was the
 * answer (then settle it). */
int dispatch_host_error(struct call *c, int code, const char *detail);
/* Copy c's id, which points into the request body, before c outlives
 * dispatch_body() (deferred, suspended, queued): 0, or RPCHOST_ENOMEM. */
int dispatch_keep_id(struct call *c);
/* Run the call's method: what follows its on_call hooks. */
void dispatch_method(struct call *c);
/* Loop thread, posted (arg: the struct call *): a call that waited for
 * its method's concurrency cap holds a slot now: run its handler. */
void dispatch_unqueued(void *arg);

#endif
