/* SPDX-License-Identifier: MIT */
/*
 * rpchost/plugin.h - the one public header a plugin is built against.
 *
 * A plugin is a shared object that rpchost loads with
 * dlopen(RTLD_NOW | RTLD_LOCAL).  It exports exactly one symbol,
 * `rpchost_plugin_entry`, a declarative table made with
 * RPCHOST_PLUGIN_DEFINE(). The host reads the table's ABI version before
 * running any plugin code, refuses a plugin built for a newer ABI, and then
 * calls the table's init hook with the host API table (struct rpchost_api).
 * Everything a plugin does with the host goes through that table: plugins never
 * link against the host and never see its private headers.
 *
 * ABI policy (see sdk/README.md for the long form):
 *  - RPCHOST_ABI_VERSION grows by one each time functions are appended to
 *    struct rpchost_api.  Functions are only ever appended, never removed,
 *    reordered or changed; a plugin built against ABI N runs on every host
 *    that provides ABI >= N.
 *  - A plugin built against a newer ABI than the host provides is refused
 *    at load time with a message naming both versions.
 *  - Structs a plugin hands to the host (rpchost_plugin_def, rpchost_method,
 *    rpchost_param, and from ABI 2 rpchost_method_doc, rpchost_param_doc,
 *    rpchost_error_doc) are frozen once released; new fields come as new
 *    structs with new functions.
 *  - RPCHOST_PLUGIN_DEFINE stamps the plugin with the ABI of the header it
 *    was built with, and the host refuses a plugin built for a newer ABI:
 *    so a plugin may use every function its header declares without
 *    checking api->abi_version.
 *  - Return codes (enum rpchost_rc) and their texts are only ever appended.
 *
 * Ownership of cJSON values crossing the ABI:
 *  - params handed to a handler are borrowed and read-only; they live until
 *    the handler returns.
 *  - a result or error data handed to the host belongs to the host from the
 *    moment of the call, whether the call succeeds or fails.
 *
 * Threads: rpchost runs several event loops on their own threads.  Handlers
 * of one method may run concurrently on different threads; a plugin that
 * keeps mutable state must protect it.  Init and fini run while no handler
 * of that plugin runs: on the main thread, except on a reload (SIGHUP),
 * whose inits run on the host's reload thread - and so does the fini of a
 * plugin whose generation failed to build after its init succeeded (see
 * sdk/README.md).
 *
 * Plugins and host share the system's one libcjson (link with -lcjson; never
 * a static or vendored copy).
 */
#ifndef RPCHOST_PLUGIN_H
#define RPCHOST_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes.  Appending to struct rpchost_api bumps it. */
#define RPCHOST_ABI_VERSION 2

/* Marks the one symbol a plugin exports. */
#if defined(__GNUC__)
#define RPCHOST_EXPORT __attribute__((visibility("default")))
#else
#define RPCHOST_EXPORT
#endif

/* Return codes of the API functions: 0 is success, errors are negative.
 * Values are only ever appended; rpchost_api.strerror() gives the text. */
enum rpchost_rc {
    RPCHOST_OK = 0,
    RPCHOST_ENOMEM = -1,    /* out of memory */
    RPCHOST_EINVAL = -2,    /* an argument is invalid (e.g. a bad name) */
    RPCHOST_EEXIST = -3,    /* the method name is already registered */
    RPCHOST_ESTATE = -4,    /* not allowed now (e.g. call already answered) */
    RPCHOST_ERANGE = -5,    /* a value is out of the allowed range */
    RPCHOST_ENOENT = -6,    /* no such key / param */
    RPCHOST_ERESERVED = -7, /* error code in the JSON-RPC reserved range */
    RPCHOST_EFAIL = -8,     /* generic failure reported by a plugin */
    RPCHOST_ETYPE = -9,     /* a value has the wrong type */
};

/* JSON-RPC 2.0 error codes (the wire codes, distinct from enum rpchost_rc).
 * Plugins may answer with RPCHOST_INVALID_PARAMS and RPCHOST_INTERNAL_ERROR;
 * the rest of -32768..-32000 is the host's.  Any other code is free. */
#define RPCHOST_PARSE_ERROR -32700
#define RPCHOST_INVALID_REQUEST -32600
#define RPCHOST_METHOD_NOT_FOUND -32601
#define RPCHOST_INVALID_PARAMS -32602
#define RPCHOST_INTERNAL_ERROR -32603
#define RPCHOST_RESERVED_MIN -32768
#define RPCHOST_RESERVED_MAX -32000

/* Log levels for rpchost_api.log(). */
enum rpchost_log_level {
    RPCHOST_LOG_ERROR = 0,
    RPCHOST_LOG_WARN = 1,
    RPCHOST_LOG_INFO = 2,
    RPCHOST_LOG_DEBUG = 3,
};

/* Opaque handles.  The host owns both.
 *
 * A call handle is checked, not a pointer into the call: it stays safe to
 * pass to result()/error() after the call ended - answered by you, by the
 * deadline or by the host, its request answered and its memory freed -
 * which then return RPCHOST_ESTATE, free what they were given and touch
 * nothing else.  (A handle could only be taken for another call's after
 * 2^32 later calls reused its slot; 2^12 where pointers have 32 bits.)
 * The other functions taking a call are for the times they name: inside
 * the handler, or for a deferred call until your answer. */
typedef struct rpchost_plugin rpchost_plugin; /* one loaded plugin */
typedef struct rpchost_call rpchost_call;     /* one call being answered */

typedef struct rpchost_api rpchost_api;

/*
 * A method handler.  `params` is the request's "params" member (an array or
 * an object) or NULL when the request had none; borrowed, read-only, valid
 * until the handler returns.  `state` is the plugin's state pointer (see
 * rpchost_plugin_def.init).
 *
 * The handler answers the call exactly once with api->result() or
 * api->error() and returns RPCHOST_OK.  Returning a negative code instead
 * (or returning without answering) makes the host answer -32603 "Internal
 * error" and log the code; no plugin text reaches the client that way.
 * Notifications are answered the same way; the host drops the answer.
 */
typedef int (*rpchost_handler)(rpchost_call *call, const cJSON *params,
                               void *state);

/* Method flags (rpchost_method.flags). */
/* Never run two calls of it at once: a concurrency cap of 1 (README,
 * "Admission control").  A call arriving meanwhile waits in a bounded
 * queue without blocking its loop, or is refused -32005.  A deferred call
 * holds the cap until answered. */
#define RPCHOST_METHOD_SERIAL 0x1u
/* ABI 2: called as a notification only.  Its handler need not answer
 * (returning RPCHOST_OK is enough); a request with an id is refused by the
 * host with -32600 before the handler runs. */
#define RPCHOST_METHOD_NOTIFICATION 0x2u

/* How a call arrived (rpchost_api.call_transport; ABI 2). */
enum rpchost_transport {
    RPCHOST_TRANSPORT_NONE = 0,   /* not known (or not a call) */
    RPCHOST_TRANSPORT_TCP = 1,    /* HTTP over TCP */
    RPCHOST_TRANSPORT_UNIX = 2,   /* HTTP over a unix-domain socket */
    RPCHOST_TRANSPORT_PLUGIN = 3, /* another plugin's call_method_async */
};

/* JSON types for rpchost_param.type. */
enum rpchost_type {
    RPCHOST_TYPE_ANY = 0,
    RPCHOST_TYPE_STRING,
    RPCHOST_TYPE_INTEGER,
    RPCHOST_TYPE_NUMBER,
    RPCHOST_TYPE_BOOLEAN,
    RPCHOST_TYPE_OBJECT,
    RPCHOST_TYPE_ARRAY,
    RPCHOST_TYPE_NULL,
};

/* One parameter of a method, for validation and introspection.  An array of
 * them ends with an entry whose name is NULL. */
typedef struct rpchost_param {
    const char *name;        /* its name, for by-name calls and messages */
    int type;                /* enum rpchost_type */
    int required;            /* non-zero: the call must supply it */
    const char *description; /* one line, may be NULL */
} rpchost_param;

/* A method to register.  The host copies everything it needs during
 * register_method(); the struct and its strings may be freed afterwards.
 * Frozen for ABI major 1. */
typedef struct rpchost_method {
    const char *name; /* see register_method() for the rules */
    rpchost_handler handler;
    void *udata;                 /* returned by api->call_udata() */
    unsigned flags;              /* RPCHOST_METHOD_* */
    const char *summary;         /* one line for introspection, may be NULL */
    const rpchost_param *params; /* NULL: params not described */
    const rpchost_param *result; /* one entry describing the result, or NULL */
} rpchost_method;

/* ---- ABI 2: method descriptions (api->describe_method) ----
 * What rpchost_method and rpchost_param cannot say, for rpc.discover and
 * the host's params checks: variadic params, array item types, schema
 * titles, the params structure and a method's own error codes. */

/* rpchost_param_doc.flags. */
/* The last param repeats: by position it takes every value past the
 * others (sum(n...) takes 0..any numbers), by name every member no other
 * param names (as Python's *args and **kwargs), each of its type. */
#define RPCHOST_PARAM_VARIADIC 0x1u

/* One parameter (or a result): rpchost_param plus more.  An array of them
 * ends with an entry whose name is NULL. */
typedef struct rpchost_param_doc {
    const char *name;        /* as rpchost_param.name */
    int type;                /* enum rpchost_type */
    int required;            /* variadic: at least one */
    const char *description; /* one line, may be NULL */
    int item_type;           /* an ARRAY's items: enum rpchost_type */
    unsigned flags;          /* RPCHOST_PARAM_* */
    const char *title;       /* its schema's title (NULL: the host makes
                                one, e.g. "sumParamN"); 1..64 characters
                                of A-Z a-z 0-9 _ */
} rpchost_param_doc;

/* One error code a method answers with.  An array of them ends with an
 * entry whose message is NULL. */
typedef struct rpchost_error_doc {
    int code;                /* outside -32768..-32000, or -32602/-32603 */
    const char *message;     /* the error's message */
    const char *description; /* when it happens, may be NULL */
} rpchost_error_doc;

/* rpchost_method_doc.param_structure: how params may be given. */
enum rpchost_param_structure {
    RPCHOST_PARAMS_EITHER = 0,  /* an array or an object */
    RPCHOST_PARAMS_BY_POSITION, /* an array only (an object: -32602) */
    RPCHOST_PARAMS_BY_NAME,     /* an object only (an array: -32602) */
    RPCHOST_PARAMS_ANY,         /* anything: not checked, nor described */
};

/* A method's description.  Every member may be 0/NULL: a NULL params or
 * result keeps what register_method() gave. */
typedef struct rpchost_method_doc {
    const char *description;         /* longer than the summary; Markdown */
    int param_structure;             /* enum rpchost_param_structure */
    const rpchost_param_doc *params; /* ends with name NULL */
    const rpchost_param_doc *result; /* one entry, or NULL */
    const rpchost_error_doc *errors; /* ends with message NULL, or NULL */
} rpchost_method_doc;

/*
 * The host API table, passed to init.  Keep the pointer: it stays valid
 * until fini returns.  `abi_version` is the ABI the host provides and
 * `size` is sizeof(struct rpchost_api) in the host; a function exists in
 * this host when its offset is below `size`.
 */
/* Every member is tagged with the ABI that added it, as sqlite3ext.h
 * does.  Members added later go at the end, under a "---- Added in ABI
 * N ----" line.  A plugin built with this header requires its ABI (see
 * the policy at the top), so it calls any member without a check. */
struct rpchost_api {
    /* ---- Added in ABI 1 ---- */
    uint32_t abi_version;
    uint32_t size;

    /* Text for an enum rpchost_rc value.  Never NULL; static storage. */
    const char *(*strerror)(int rc);

    /* Log through the host's logger, prefixed with the plugin's name.
     * Any thread.  `level` is enum rpchost_log_level. */
    void (*log)(rpchost_plugin *plugin, int level, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;

    /* Register a method.  Only during init.  The name must be 1..128 bytes
     * of printable ASCII (0x21..0x7e; no spaces) and must not start with
     * "rpc." (reserved for the host).  Returns RPCHOST_EINVAL for a bad name
     * or handler, RPCHOST_EEXIST when another plugin or this one already
     * registered the name, RPCHOST_ESTATE outside init. */
    int (*register_method)(rpchost_plugin *plugin, const rpchost_method *m);

    /* Record why init is failing; the host prints it in its startup error.
     * Call before returning a negative code from init.  The text is copied. */
    void (*set_error)(rpchost_plugin *plugin, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 2, 3)))
#endif
        ;

    /* The plugin's own config keys (its ini section, except "path").
     * config_string: the value, or `def` when the key is absent; the string
     * is owned by the host and valid until fini returns.
     * config_int / config_double / config_bool: parse the key into *out;
     * when absent, *out = def and RPCHOST_OK.  A malformed value is
     * RPCHOST_ETYPE, one outside [min, max] RPCHOST_ERANGE; both also log
     * the key and value.  Only during init. */
    const char *(*config_string)(rpchost_plugin *plugin, const char *key,
                                 const char *def);
    int (*config_int)(rpchost_plugin *plugin, const char *key, int64_t def,
                      int64_t min, int64_t max, int64_t *out);
    int (*config_double)(rpchost_plugin *plugin, const char *key, double def,
                         double *out);
    int (*config_bool)(rpchost_plugin *plugin, const char *key, int def,
                       int *out);

    /* Answer a call with a result.  Takes ownership of `result` in every
     * case (NULL is RPCHOST_ENOMEM, so `api->result(c, cJSON_Create...())`
     * is safe).  The first answer wins: RPCHOST_ESTATE when the call was
     * already answered (by you, by its deadline, by the host), from any
     * thread and at any time later, even after the call ended (see
     * rpchost_call above).  A call that is not deferred is answered inside
     * its handler, on the handler's thread. */
    int (*result)(rpchost_call *call, cJSON *result);

    /* Answer a call with an error.  `message` is copied; `data` (may be
     * NULL) is taken in every case.  Codes in -32768..-32000 other than
     * -32602 and -32603 are refused with RPCHOST_ERESERVED and the client
     * gets -32603 instead.  RPCHOST_ESTATE as for result(). */
    int (*error)(rpchost_call *call, int code, const char *message,
                 cJSON *data);

    /* The method name of a call (host-owned, valid while the call is
     * yours: in the handler, or deferred until you answer it; NULL after). */
    const char *(*call_method)(rpchost_call *call);
    /* Non-zero when the call is a notification (its answer is dropped). */
    int (*call_is_notification)(rpchost_call *call);
    /* The udata given at registration of the method being called. */
    void *(*call_udata)(rpchost_call *call);

    /* ---- Params (valid only while the handler runs) ----
     * Each getter finds one param: by position `pos` when params is an
     * array, by `name` when it is an object (pos RPCHOST_NOPOS: by name
     * only; name NULL: by position only).  They return RPCHOST_OK and set
     * *out, RPCHOST_ENOENT when it is absent, RPCHOST_ETYPE for a wrong
     * type, RPCHOST_ERANGE when out of range.  On failure the host notes
     * which param failed: a handler that then returns the code without
     * answering gets -32602 "Invalid params" sent for it, with "data"
     * naming the param (e.g. "param 'b' (1): expected an integer").
     * Cost: by position, the one after the last found is one step, any
     * other O(1) amortised (the host indexes a long array once); by name,
     * a walk over the members.  cJSON_ArrayForEach over `params` is the
     * fastest walk of all; cJSON_GetArrayItem(params, i) walks i items. */
    const cJSON *(*param)(rpchost_call *call, size_t pos, const char *name);
    int (*param_string)(rpchost_call *call, size_t pos, const char *name,
                        const char **out);
    int (*param_int)(rpchost_call *call, size_t pos, const char *name,
                     int64_t min, int64_t max, int64_t *out);
    int (*param_double)(rpchost_call *call, size_t pos, const char *name,
                        double *out);
    int (*param_bool)(rpchost_call *call, size_t pos, const char *name,
                      int *out);
    int (*param_object)(rpchost_call *call, size_t pos, const char *name,
                        const cJSON **out);
    int (*param_array)(rpchost_call *call, size_t pos, const char *name,
                       const cJSON **out);

    /* ---- Deferred calls ----
     * defer: keep the call open after the handler returns; answer it later
     * with result()/error() from any thread (call defer() before handing
     * the call to another thread).  Answer once: the host keeps the call
     * until your first answer.  The host answers -32001 "Call timed out"
     * itself when [server] call_timeout passes first; your answer is then
     * dropped (result()/error() give RPCHOST_ESTATE and free what they
     * were given), and so is any second answer, whenever and from whatever
     * thread it comes.  A batch waits for its deferred members.  Only
     * inside the handler.  A serialised method's deferred call holds its
     * cap (of 1) until answered or timed out. */
    int (*defer)(rpchost_call *call);
    /* timer: run fn(call, arg) once on the call's event loop after `ms`
     * milliseconds (the loop is never blocked meanwhile).  Only for a
     * deferred call, from the handler or from an earlier timer of the
     * same call, and not once the call is answered (by the plugin or by its
     * deadline: RPCHOST_ESTATE).  At shutdown pending timers run at once.
     * fn should answer the call or set another timer. */
    int (*timer)(rpchost_call *call, unsigned ms,
                 void (*fn)(rpchost_call *call, void *arg), void *arg);

    /* ---- Plugin-wide ----
     * set_serial: during init, make every method of the plugin serialised
     * (as if each had RPCHOST_METHOD_SERIAL), sharing one cap of 1. */
    int (*set_serial)(rpchost_plugin *plugin);
    /* config_require: like config_string, but a missing or empty key
     * returns NULL and records "missing required key 'KEY'" as the
     * startup error; return RPCHOST_ENOENT from init then. */
    const char *(*config_require)(rpchost_plugin *plugin, const char *key);

    /* ---- Added in ABI 2 ---- */

    /* invalid_params: answer the call -32602 "Invalid params", with the
     * printf-formatted text (cut at 255 bytes) as the error's data, and
     * return what api->error returns: the shorthand for the commonest
     * refusal, `return api->invalid_params(call, "need %d numbers", 2);`. */
    int (*invalid_params)(rpchost_call *call, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 2, 3)))
#endif
        ;

    /* ABI 2: method descriptions */
    /* describe_method: describe `method`, registered by this plugin
     * earlier in the same init; the host copies everything (doc may be
     * freed afterwards) and checks it as register_method() checks params,
     * and more: RPCHOST_PARAM_VARIADIC only on the last param, and an
     * item_type only for an ARRAY.  Then the host checks calls against
     * it before the handler runs (a variadic param takes any count of
     * extra values of its type: positional ones past the others, or
     * members no other param names; RPCHOST_PARAMS_ANY: nothing is
     * checked) and rpc.discover lists it.  Returns RPCHOST_EINVAL for a
     * bad description, RPCHOST_ERESERVED for an error code the host owns,
     * RPCHOST_ENOENT when this plugin registered no such method,
     * RPCHOST_ESTATE outside init; like register_method(), a failure
     * refuses the plugin even if init ignores it. */
    int (*describe_method)(rpchost_plugin *plugin, const char *method,
                           const rpchost_method_doc *doc);

    /* ABI 2: the call's context.  Each is valid inside the handler or a
     * hook, and for a deferred or suspended call until it is answered
     * (as call_method); NULL (or 0) otherwise.  Strings are host-owned.
     *
     * call_peer: who sent it: "ADDR:PORT" ("[ADDR]:PORT" for IPv6),
     * "unix:uid=N" over a unix socket, "plugin:NAME" for a call another
     * plugin made (call_method_async); with [server] trusted_proxies, the
     * client address the proxy reported (no port).
     * call_transport: enum rpchost_transport.
     * call_credential: the name that authenticated the request (an
     * auth_file user), or NULL when none did.
     * call_header: a request header by name (case-insensitive; the first
     * of several), or NULL.  Only inside the handler or on_call, on their
     * thread: the request may be gone later.
     * call_batch: the call's 0-based position in its batch and the
     * batch's size (a single call is 0 of 1).  RPCHOST_OK or
     * RPCHOST_ESTATE.
     * call_trace_id: the W3C trace id, 32 lowercase hex digits: the
     * request's `traceparent` header's, or one made for it.
     * call_traceparent: "00-TRACEID-SPANID-FLAGS", the request's span as
     * this host's (its own span id, the caller's trace id and flags): the
     * value to send on to services the call calls. */
    const char *(*call_peer)(rpchost_call *call);
    int (*call_transport)(rpchost_call *call);
    const char *(*call_credential)(rpchost_call *call);
    const char *(*call_header)(rpchost_call *call, const char *name);
    int (*call_batch)(rpchost_call *call, size_t *index, size_t *count);
    const char *(*call_trace_id)(rpchost_call *call);
    const char *(*call_traceparent)(rpchost_call *call);

    /* ABI 2: call hooks.  During init, a plugin may register one pair;
     * they belong to its generation and run, in config order with every
     * other plugin's, for every call, batch member and notification with
     * a method name (not for an invalid request's -32600).  Either may be
     * NULL, not both (RPCHOST_EINVAL).  `state` is the plugin's.
     * RPCHOST_EEXIST for a second pair, RPCHOST_ESTATE outside init.
     *
     * on_call runs on the call's loop before the method is looked up;
     * params as for a handler (read them with api->param()).  It returns
     * RPCHOST_OK having done one of:
     *  - nothing: the next hook runs, then the method;
     *  - answered with api->error() (or api->result()): the call is
     *    answered so, nothing after runs but the on_done hooks;
     *  - api->call_suspend(call): the call waits (no loop is blocked)
     *    until api->call_resume(call), which continues with the next hook,
     *    or an answer (api->error()), each from any thread; past
     *    call_timeout the host answers -32001 as for a deferred call.
     * A negative return without an answer is -32603 (logged); after a
     * resume or an answer it is only logged.
     *
     * on_done runs on the call's loop after the call is answered (by
     * anyone) and counted: `code` is 0 for a result, the error code
     * otherwise; `duration_us` is from arrival to the answer.  The
     * context getters work; params and headers are gone. */
    int (*add_hooks)(rpchost_plugin *plugin,
                     int (*on_call)(rpchost_call *call, const cJSON *params,
                                    void *state),
                     void (*on_done)(rpchost_call *call, int code,
                                     uint64_t duration_us, void *state));
    /* Only inside on_call: RPCHOST_OK, RPCHOST_ESTATE (answered,
     * suspended already, or not in on_call), RPCHOST_EINVAL (NULL) or
     * RPCHOST_ENOMEM (the call then goes on, not suspended). */
    int (*call_suspend)(rpchost_call *call);
    /* Any thread, once per suspension: RPCHOST_OK, RPCHOST_ESTATE when
     * the call is not suspended (answered meanwhile: by its deadline, or
     * at a shutdown's end), RPCHOST_EINVAL (NULL), or RPCHOST_ENOMEM when
     * the resumption could not be queued: the call is then the host's,
     * answered -32001 at its deadline (do not answer it yourself). */
    int (*call_resume)(rpchost_call *call);

    /* ABI 2: calls between plugins */

    /* call_method_async: call `method` with `params` as the calling
     * plugin, as Redis modules have RM_Call, and get the answer in `done`
     * on `call`'s loop, later: the call never runs inside this function.
     * For `call`'s handler or on_call hook, or for a deferred (or
     * suspended) call until it is answered, on its loop thread (its
     * timers, an earlier `done`): RPCHOST_ESTATE otherwise, and
     * RPCHOST_EINVAL for a NULL call or method or params that are neither
     * an array nor an object.  `params` (NULL: none) is taken in every
     * case.
     *
     * The call is a request of its own, answered with the methods of
     * `call`'s generation (a reload meanwhile changes nothing for it): its
     * transport is RPCHOST_TRANSPORT_PLUGIN, its peer "plugin:NAME" (the
     * caller's), its credential `call`'s (an allow-list applies), its
     * trace `call`'s trace id with a span of its own, and it has no other
     * headers.  The on_call and on_done hooks, the params checks, the
     * deadline and the counters see it as any call; the access log does
     * not (it is no HTTP request).  A call made from a call made by a
     * plugin is one level deeper: past [server] max_call_depth levels
     * (default 8) it is not made, and `done` gets RPCHOST_CALL_TOO_DEEP
     * - so a method calling itself, or two calling each other, end.
     *
     * On RPCHOST_OK, `done` runs exactly once, on `call`'s loop, with
     * `call` and `arg`: for a result `code` is 0 and `result` the result
     * (a null result is a cJSON null); for an error `result` is NULL and
     * `code`, `message` (never NULL) and `data` (NULL when none) are the
     * error's.  All are borrowed, valid while `done` runs: duplicate what
     * you keep.  `done` runs even when `call` was answered meanwhile (its
     * deadline, or a handler that answered at once): its answer then
     * gives RPCHOST_ESTATE.  So the usual pattern is to defer `call`,
     * make the call, and answer `call` in `done`; `done` may make further
     * calls.  With `done` NULL the call is made as a notification: no
     * answer is wanted and none is reported.  On an error return `done`
     * never runs.  Plugin code on the loop: keep `done` short. */
    int (*call_method_async)(
        rpchost_call *call, const char *method, cJSON *params,
        void (*done)(rpchost_call *call, const cJSON *result, int code,
                     const char *message, const cJSON *data, void *arg),
        void *arg);

    /* ABI 2: cancellation.  Advisory: a deferred or suspended call is
     * cancelled when the host gives up on it before your answer - its
     * client went away (the connection closed while the call was
     * pending), its call_timeout passed, or a shutdown's drain ended -
     * and the host then answers it itself: -32003 "Call cancelled" for a
     * client gone (read only by one that merely half-closed), -32001
     * otherwise.  An
     * answer of yours after that gets RPCHOST_ESTATE (what it was given is
     * freed).
     *
     * on_cancel: run fn(call, arg) once, on the call's loop, when the call
     * is cancelled.  Right after fn, the host drops the call's pending
     * timers (api->timer: they never run), so fn frees what they would
     * have, and the call is over for you: you need not answer it any
     * more (without on_cancel you must, as for a call past its
     * deadline).  Only on the call's loop (in the handler after defer(), in
     * on_call after call_suspend(), or in a timer of the call) and before
     * your answer; RPCHOST_ESTATE otherwise (not deferred, answered, or
     * another thread).  A second registration replaces the first; fn NULL
     * removes it.  A call cancelled already runs fn soon (posted, never
     * inside on_cancel).  fn is never run once you answered, resumed the
     * call (a suspension's registration ends with it) or the call ended
     * otherwise.  RPCHOST_ENOMEM when the posting failed.  Since the call
     * ends for you when fn returns, a thread of yours that still uses it
     * (its getters: call_method, call_peer, ...) must not race fn: take a
     * lock of yours in fn and around those uses, or copy what the thread
     * needs in the handler; answering (result/error) stays safe from any
     * thread at any time.
     * call_cancelled: any thread, at any time (a few atomic loads, no
     * lock): non-zero
     * once the call was cancelled, and for a handle whose call has ended;
     * 0 while it runs - the cheap check for a worker thread of yours. */
    int (*on_cancel)(rpchost_call *call,
                     void (*fn)(rpchost_call *call, void *arg), void *arg);
    int (*call_cancelled)(rpchost_call *call);

    /* (Members added in later ABIs go here, each group under its
     * "---- Added in ABI N ----" line.) */
};

/* Position argument of the param getters meaning "by name only". */
#define RPCHOST_NOPOS ((size_t)-1)

/* The host's own server errors (in -32099..-32000). */
#define RPCHOST_CALL_TIMEOUT -32001       /* deferred call past its deadline */
#define RPCHOST_RESPONSE_TOO_LARGE -32002 /* answer over max_response_size */
#define RPCHOST_CALL_CANCELLED -32003 /* its client went away (never sent) */
#define RPCHOST_LIMIT_EXCEEDED -32005 /* refused by an admission limit */
/* A call between plugins nested deeper than max_call_depth (ABI 2). */
#define RPCHOST_CALL_TOO_DEEP -32010

/*
 * The table a plugin exports.  init registers methods and may set *state
 * (handed to every handler and to fini); return RPCHOST_OK, or a negative
 * code after api->set_error() to refuse loading (startup then fails).
 * fini (may be NULL) runs once, after the last call of the plugin finished.
 */
typedef struct rpchost_plugin_def {
    uint32_t abi_version; /* RPCHOST_ABI_VERSION at build time */
    uint32_t size;        /* sizeof(rpchost_plugin_def) at build time */
    const char *name;     /* short name for logs, e.g. "ping" */
    const char *version;  /* the plugin's own version, e.g. "1.0.0" */
    int (*init)(rpchost_plugin *plugin, const rpchost_api *api, void **state);
    void (*fini)(void *state);
} rpchost_plugin_def;

/* The symbol the host looks up. */
#define RPCHOST_PLUGIN_SYMBOL "rpchost_plugin_entry"

/* Define the plugin's table.  Use once, at file scope:
 *   RPCHOST_PLUGIN_DEFINE("ping", "1.0.0", ping_init, NULL);  */
#define RPCHOST_PLUGIN_DEFINE(name_, version_, init_, fini_)                   \
    RPCHOST_EXPORT const rpchost_plugin_def rpchost_plugin_entry = {           \
        RPCHOST_ABI_VERSION,                                                   \
        (uint32_t)sizeof(rpchost_plugin_def),                                  \
        (name_),                                                               \
        (version_),                                                            \
        (init_),                                                               \
        (fini_)}

#ifdef __cplusplus
}
#endif

#endif /* RPCHOST_PLUGIN_H */
