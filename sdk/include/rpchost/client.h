/* SPDX-License-Identifier: MIT */
/*
 * rpchost/client.h - a JSON-RPC 2.0 client over HTTP, blocking and
 * asynchronous, on libevent (link with -lrpchost_client, or use the CMake
 * target rpchost::client or `pkg-config rpchost-client`).
 *
 * A client talks to one URL (http://HOST[:PORT][/PATH]), over TCP to HOST:PORT
 * or over a unix-domain socket (rpchost_client_set_unix_socket()).  It makes
 *  - blocking calls (rpchost_client_call, _notify, _batch_send), run on a
 *    private event_base the client owns, and
 *  - asynchronous calls (rpchost_client_call_async, ...) whose callbacks run
 *    on the event_base the caller gave to rpchost_client_new(), from that
 *    base's loop.
 * Blocking and asynchronous calls use separate connections, so a blocking
 * call may be made from inside an asynchronous callback.
 *
 * Connections are HTTP/1.1 and kept alive: calls reuse them.  Asynchronous
 * calls are spread over up to rpchost_client_set_max_connections()
 * connections (default 4); calls on one connection are sent one after
 * the other.
 *
 * Outcomes.  Every call ends in an `rpchost_client_result` whose `rc` is
 *  - RPCHOST_CLIENT_OK: the server answered with a result (`result`);
 *  - RPCHOST_CLIENT_ERPC: the server answered with a JSON-RPC error
 *    (`code`, `message`, `data`);
 *  - another negative code: a transport failure (could not connect, timed
 *    out, HTTP error, an answer that is not JSON-RPC, ...) with a
 *    description in `message`; nothing from the server's methods.
 *
 * Ownership of cJSON values (the same rules as the plugin API):
 *  - params given to any call function belong to the library from the
 *    moment of the call, whether it succeeds or fails.  They must be an
 *    array or an object, or NULL for "no params".
 *  - the members of an rpchost_client_result are owned by the struct.  Take
 *    one by copying the pointer and setting the member to NULL; free the
 *    rest with rpchost_client_result_clear().
 *
 * Threads: a client is not thread-safe.  Use it (and free it) from one
 * thread at a time; asynchronous calls only from the thread that runs its
 * event_base.  Different clients are independent.  Host names are resolved
 * with the system's (blocking) resolver when a connection opens.
 *
 * SIGPIPE: a request written on a connection the server has just closed
 * raises SIGPIPE, at once on a unix socket (the library checks an idle
 * connection before reusing it, but cannot close that race).  Programs
 * should ignore it (signal(SIGPIPE, SIG_IGN)); the call then fails with a
 * transport error.
 *
 * Return codes (enum rpchost_client_rc) are only ever appended;
 * rpchost_client_strerror() gives their text.
 */
#ifndef RPCHOST_CLIENT_H
#define RPCHOST_CLIENT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the library's exported functions. */
#if defined(__GNUC__)
#define RPCHOST_CLIENT_API __attribute__((visibility("default")))
#else
#define RPCHOST_CLIENT_API
#endif

struct event_base; /* libevent's, from <event2/event.h> */

/* Return codes: 0 is success, errors are negative and only ever appended. */
enum rpchost_client_rc {
    RPCHOST_CLIENT_OK = 0,
    RPCHOST_CLIENT_ENOMEM = -1,    /* out of memory */
    RPCHOST_CLIENT_EINVAL = -2,    /* bad argument (URL, method, params) */
    RPCHOST_CLIENT_ECONNECT = -3,  /* could not connect, or connection lost */
    RPCHOST_CLIENT_ETIMEOUT = -4,  /* no answer within the call's timeout */
    RPCHOST_CLIENT_EHTTP = -5,     /* HTTP error status or malformed HTTP */
    RPCHOST_CLIENT_EPROTO = -6,    /* the answer is not JSON-RPC / bad id */
    RPCHOST_CLIENT_ERPC = -7,      /* the server answered a JSON-RPC error */
    RPCHOST_CLIENT_ECANCELED = -8, /* the client was freed first */
    RPCHOST_CLIENT_ESTATE = -9,    /* not possible now (e.g. no base) */
};

/* Text for an enum rpchost_client_rc value.  Never NULL; static storage.
 * Any thread. */
RPCHOST_CLIENT_API const char *rpchost_client_strerror(int rc);

/* True for the codes that mean "the exchange failed" rather than "the
 * server answered": every negative code except RPCHOST_CLIENT_ERPC. */
#define RPCHOST_CLIENT_IS_TRANSPORT(rc)                                        \
    ((rc) < 0 && (rc) != RPCHOST_CLIENT_ERPC)

/* The outcome of one call.  Zero-initialise it before first use; the
 * library fills it and the caller frees the members with
 * rpchost_client_result_clear(). */
typedef struct rpchost_client_result {
    int rc;          /* enum rpchost_client_rc (see the file comment) */
    int http_status; /* status of the HTTP answer; 0 when none arrived */
    cJSON *result;   /* rc OK: the "result" member (never NULL then) */
    int code;        /* rc ERPC: the error's "code" */
    char *message;   /* rc ERPC: the error's "message"; transport errors:
                        a description; rc OK: NULL */
    cJSON *data;     /* rc ERPC: the error's "data", or NULL */
    cJSON *id;       /* the request's id (a copy); NULL for notifications */
} rpchost_client_result;

/* Free what the struct still owns and zero it.  NULL is a no-op. */
RPCHOST_CLIENT_API void rpchost_client_result_clear(rpchost_client_result *res);

/* Options of one call; NULL or a zeroed struct means the defaults.  Frozen
 * for version 0.x (new options come as new functions). */
typedef struct rpchost_client_opts {
    int timeout_ms;  /* 0: the client's timeout; negative: wait forever */
    const cJSON *id; /* the request id, a string or a number (copied);
                        NULL: the next integer of the client's counter */
} rpchost_client_opts;

typedef struct rpchost_client rpchost_client;
typedef struct rpchost_client_batch rpchost_client_batch;

/* Callback of an asynchronous call or notification.  `res` is owned by the
 * library and cleared after the callback returns: take members out of it
 * by setting them to NULL.  Runs on the client's event_base (never from
 * inside the function that started the call). */
typedef void (*rpchost_client_cb)(rpchost_client_result *res, void *arg);

/* Callback of an asynchronous batch.  `rc` is RPCHOST_CLIENT_OK when an
 * answer arrived (each call's outcome is in its result), else the transport
 * error (copied into every result too).  The batch is the caller's again:
 * read it, free it or send it again. */
typedef void (*rpchost_client_batch_cb)(rpchost_client_batch *batch, int rc,
                                        void *arg);

/* Direction of a traced message. */
enum rpchost_client_trace_dir {
    RPCHOST_CLIENT_TRACE_OUT = 0, /* a request body about to be sent */
    RPCHOST_CLIENT_TRACE_IN = 1,  /* an answer body as received */
};

/* Receives every request body sent and every answer body received.  `text`
 * is borrowed for the duration of the call and is not NUL-terminated.
 * For TRACE_IN, `http_status` and `reason` describe the HTTP answer
 * (reason may be NULL); for TRACE_OUT they are 0 and NULL. */
typedef void (*rpchost_client_trace_fn)(int dir, const char *text, size_t len,
                                        int http_status, const char *reason,
                                        void *arg);

/* ---- The client ---- */

/*
 * Create a client for `url` ("http://HOST[:PORT][/PATH][?QUERY]"; HOST may
 * be a name, an IPv4 address or a bracketed IPv6 address; the port
 * defaults to 80 and the path to "/").  `base` is the event_base that runs
 * asynchronous calls; it is borrowed and must outlive the client.  NULL
 * allows blocking calls only.  On success *out is the client, owned by the
 * caller (rpchost_client_free()).  RPCHOST_CLIENT_EINVAL for a bad URL or
 * a scheme other than http.  No connection is made yet.
 */
RPCHOST_CLIENT_API int rpchost_client_new(rpchost_client **out, const char *url,
                                          struct event_base *base);

/*
 * Free the client.  Pending asynchronous calls end first: their callbacks
 * run, from inside this function, with RPCHOST_CLIENT_ECANCELED (and must
 * not use the client).  Connections are closed.  NULL is a no-op.
 */
RPCHOST_CLIENT_API void rpchost_client_free(rpchost_client *c);

/* The default timeout of calls, in milliseconds (default 30000; 0 or
 * negative: none).  Applies to calls started afterwards. */
RPCHOST_CLIENT_API int rpchost_client_set_timeout(rpchost_client *c, int ms);

/* Add an HTTP header sent with every request (e.g. "Authorization").  Both
 * strings are copied.  RPCHOST_CLIENT_EINVAL for an empty name or a CR or
 * LF in either.  Host, Content-Type, Content-Length and Accept are set by
 * the library unless given here. */
RPCHOST_CLIENT_API int rpchost_client_add_header(rpchost_client *c,
                                                 const char *name,
                                                 const char *value);

/* The most connections asynchronous calls open at once (1..1024; default
 * 4).  Applies to connections opened afterwards. */
RPCHOST_CLIENT_API int rpchost_client_set_max_connections(rpchost_client *c,
                                                          int n);

/* Trace the bodies sent and received (NULL stops tracing).  `fn` runs on
 * the thread making the call (blocking) or the base's loop (async). */
RPCHOST_CLIENT_API void rpchost_client_set_trace(rpchost_client *c,
                                                 rpchost_client_trace_fn fn,
                                                 void *arg);

/*
 * Connect to the unix-domain socket at `path` instead of HOST:PORT, as
 * curl's --unix-socket does: the URL still gives the Host header and the
 * request path.  `path` is copied; NULL goes back to HOST:PORT.  Blocking
 * and asynchronous calls, keep-alive and the connection pool work as over
 * TCP.  Set it before the first call: RPCHOST_CLIENT_ESTATE once the client
 * has opened a connection.  RPCHOST_CLIENT_EINVAL for an empty path or one
 * longer than a struct sockaddr_un holds (107 bytes on Linux).  A socket
 * that cannot be reached (no such file, nobody listening, no permission)
 * fails the calls with RPCHOST_CLIENT_ECONNECT naming the path and why.
 */
RPCHOST_CLIENT_API int rpchost_client_set_unix_socket(rpchost_client *c,
                                                      const char *path);

/* ---- Single calls ---- */

/*
 * Call `method` and wait for the answer.  `params` is taken (see the file
 * comment); `opts` may be NULL.  `res` must be zeroed or cleared; it is
 * filled in every case and must be cleared by the caller afterwards.
 * Returns res->rc: RPCHOST_CLIENT_OK, RPCHOST_CLIENT_ERPC or a transport
 * error; RPCHOST_CLIENT_EINVAL (in res too) for an empty method, params
 * that are neither array nor object, or a bad id.
 */
RPCHOST_CLIENT_API int rpchost_client_call(rpchost_client *c,
                                           const char *method, cJSON *params,
                                           const rpchost_client_opts *opts,
                                           rpchost_client_result *res);

/*
 * Start a call on the client's event_base; `cb(res, arg)` runs exactly
 * once, on that base, when the call ends (answer, error, timeout, or
 * rpchost_client_free()).  Returns RPCHOST_CLIENT_OK when started;
 * otherwise a negative code and `cb` never runs (RPCHOST_CLIENT_ESTATE
 * when the client has no base).
 */
RPCHOST_CLIENT_API int
rpchost_client_call_async(rpchost_client *c, const char *method, cJSON *params,
                          const rpchost_client_opts *opts, rpchost_client_cb cb,
                          void *arg);

/*
 * Send a notification (a request without an id) and wait until the server
 * took it (its empty HTTP answer).  Returns RPCHOST_CLIENT_OK or a
 * transport error; the server sends no result or error for notifications.
 * `res` may be NULL; otherwise it is filled as by rpchost_client_call()
 * (rc, http_status, and message for a failure) and must be cleared.
 * opts->id is ignored.
 */
RPCHOST_CLIENT_API int rpchost_client_notify(rpchost_client *c,
                                             const char *method, cJSON *params,
                                             const rpchost_client_opts *opts,
                                             rpchost_client_result *res);

/* The asynchronous notification; `cb` (may be NULL) runs as for
 * rpchost_client_call_async() with res->rc OK or a transport error. */
RPCHOST_CLIENT_API int
rpchost_client_notify_async(rpchost_client *c, const char *method,
                            cJSON *params, const rpchost_client_opts *opts,
                            rpchost_client_cb cb, void *arg);

/* ---- Batches ---- */

/* A new empty batch, owned by the caller (rpchost_client_batch_free()).
 * NULL when out of memory.  A batch is not tied to a client. */
RPCHOST_CLIENT_API rpchost_client_batch *rpchost_client_batch_new(void);

/* Free a batch, its results included.  Not while it is being sent.  NULL
 * is a no-op. */
RPCHOST_CLIENT_API void rpchost_client_batch_free(rpchost_client_batch *b);

/*
 * Add a call to the batch.  `params` is taken; `id` (copied; a string or
 * a number) may be NULL for the next integer of the sending client's
 * counter.  Ids must be unique within the batch.  Returns the index of the
 * call's result (0, 1, ...; notifications have none), or a negative code
 * (RPCHOST_CLIENT_EINVAL for a bad method, params or id, a duplicate id).
 */
RPCHOST_CLIENT_API int rpchost_client_batch_add(rpchost_client_batch *b,
                                                const char *method,
                                                cJSON *params, const cJSON *id);

/* Add a notification to the batch.  `params` is taken.  Returns
 * RPCHOST_CLIENT_OK or a negative code. */
RPCHOST_CLIENT_API int rpchost_client_batch_notify(rpchost_client_batch *b,
                                                   const char *method,
                                                   cJSON *params);

/* The number of calls (results) in the batch; notifications not counted. */
RPCHOST_CLIENT_API size_t
rpchost_client_batch_count(const rpchost_client_batch *b);

/* The result of call `index` (as returned by rpchost_client_batch_add()),
 * owned by the batch and valid until the batch is freed or sent again;
 * take members out of it as from any result.  NULL for a bad index. */
RPCHOST_CLIENT_API rpchost_client_result *
rpchost_client_batch_result(rpchost_client_batch *b, size_t index);

/* When the last send of the batch failed as a whole (a transport error),
 * its description; else NULL.  Owned by the batch, valid until it is sent
 * again or freed. */
RPCHOST_CLIENT_API const char *
rpchost_client_batch_error(const rpchost_client_batch *b);

/*
 * Send the batch as one JSON array and wait.  Answers are matched to calls
 * by id (the server may answer in any order); a call without an answer
 * gets RPCHOST_CLIENT_EPROTO, and an error answer to the whole batch
 * (e.g. -32600) is given to every call.  Returns RPCHOST_CLIENT_OK when an
 * answer arrived (see each result), a transport error (also in every
 * result), or RPCHOST_CLIENT_EINVAL for an empty batch.  The batch stays
 * the caller's.  opts->id is ignored.
 */
RPCHOST_CLIENT_API int
rpchost_client_batch_send(rpchost_client *c, rpchost_client_batch *b,
                          const rpchost_client_opts *opts);

/* Send the batch on the client's event_base; `cb(b, rc, arg)` runs once on
 * that base when it ends.  The batch must stay untouched until then.
 * Returns RPCHOST_CLIENT_OK when started, else a negative code and `cb`
 * never runs. */
RPCHOST_CLIENT_API int
rpchost_client_batch_send_async(rpchost_client *c, rpchost_client_batch *b,
                                const rpchost_client_opts *opts,
                                rpchost_client_batch_cb cb, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* RPCHOST_CLIENT_H */
