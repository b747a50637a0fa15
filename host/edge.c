/* SPDX-License-Identifier: MIT */
/*
 * edge.c - see edge.h.
 */
#define _GNU_SOURCE
#include "edge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "admit.h"
#include "cancel.h"
#include "conns.h"
#include "dispatch.h"
#include "forwarded.h"
#include "generation.h"
#include "guard.h"
#include "heads.h"
#include "hangup.h"
#include "log.h"
#include "auth.h"
#include "stats.h"
#include "trace.h"
#include "util.h"

#include "lanedef.h"

/* One request being answered.  evhttp reads a connection's next request
 * only after the previous reply went out, so a connection has at most one
 * of these; its close callback points at it until the reply completes. */
struct req_ctx {
    struct lane *w;
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    struct conn *conn; /* its connection's state (conns.h), or NULL */
    int replied;       /* the reply was handed to evhttp */
    int closed;        /* the connection went away first */
    uint64_t t0_us;    /* arrival */
    size_t in_bytes;
    const char *trace;     /* its traceparent, while its reply is made */
    struct batch *batch;   /* its calls, while some wait (dispatch.h) */
    struct hangup *hangup; /* watching for its client to go meanwhile */
    int gone;              /* the client went away: close after the reply */
};

static void
unwatch(struct req_ctx *rc)
{
    hangup_stop(rc->hangup);
    rc->hangup = NULL;
}

static void
req_ctx_end(struct req_ctx *rc)
{
    unwatch(rc);
    rc->w->inflight--;
    if (rc->evcon != NULL)
        evhttp_connection_set_closecb(rc->evcon, NULL, NULL);
    free(rc);
}

/* The connection is being freed before the reply was fully written. */
static void
on_conn_close(struct evhttp_connection *evcon, void *arg)
{
    struct req_ctx *rc = arg;

    (void)evcon;
    unwatch(rc); /* before its socket closes */
    rc->evcon = NULL;
    rc->req = NULL;
    rc->conn = NULL; /* retired by the next sweep */
    if (rc->replied) {
        req_ctx_end(rc); /* its on_complete will never come */
        return;
    }
    rc->closed = 1; /* on_dispatched ends it */
    if (rc->batch != NULL)
        cancel_batch(rc->batch); /* may end it */
}

/* The client went away while calls of its request wait (hangup.h): they
 * are cancelled; the answer, if any, is written with Connection: close
 * (evhttp then frees the connection as for any other). */
static void
on_hangup(void *arg)
{
    struct req_ctx *rc = arg;

    unwatch(rc);
    rc->gone = 1;
    cancel_batch(rc->batch); /* may end it */
}

/* Calls of the request wait: watch for its client going away meanwhile
 * (evhttp reads nothing until the answer is written). */
static void
watch_client(struct req_ctx *rc)
{
    struct bufferevent *bev =
        rc->evcon ? evhttp_connection_get_bufferevent(rc->evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;

    if (fd >= 0)
        rc->hangup = hangup_watch(rc->w->base, fd, on_hangup, rc);
}

static void
request_complete(struct evhttp_request *req, void *arg)
{
    struct req_ctx *rc = arg;

    (void)req;
    if (rc->conn != NULL)
        conn_idle(rc->conn); /* the answer is out: the next request's turn */
    req_ctx_end(rc);
}

static void
free_body(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

static const char *
method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    }
    return "?";
}

/* Whether the request came over a unix-domain socket: evhttp gives its
 * peer as "localhost" port 0, a port no TCP peer has. */
static int
over_unix(struct evhttp_connection *evcon)
{
    char *peer = NULL;
    ev_uint16_t port = 1;

    if (evcon == NULL)
        return 0;
    evhttp_connection_get_peer(evcon, &peer, &port);
    return port == 0;
}

/* The access log's peer: "ADDR:PORT", or "unix:uid=N" (SO_PEERCRED). */
static void
peer_text(struct evhttp_connection *evcon, char *out, size_t len)
{
    char *peer = NULL;
    ev_uint16_t port = 0;
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    struct bufferevent *bev;

    snprintf(out, len, "?");
    if (evcon == NULL)
        return;
    evhttp_connection_get_peer(evcon, &peer, &port);
    if (port != 0) {
        /* Once per request with a rate per peer or the access log: by
         * hand, a tenth of snprintf's cost. */
        size_t n = peer ? strlen(peer) : 0, k = 0;
        char digits[8];
        int v6 = n != 0 && memchr(peer, ':', n) != NULL, d = 0;

        if (n == 0 || n + 10 > len)
            return;
        if (v6)
            out[k++] = '[';
        memcpy(out + k, peer, n);
        k += n;
        if (v6)
            out[k++] = ']';
        out[k++] = ':';
        for (unsigned p = port; p != 0; p /= 10)
            digits[d++] = (char)('0' + p % 10);
        while (d > 0)
            out[k++] = digits[--d];
        out[k] = '\0';
        return;
    }
    bev = evhttp_connection_get_bufferevent(evcon);
    if (bev != NULL && getsockopt(bufferevent_getfd(bev), SOL_SOCKET,
                                  SO_PEERCRED, &cred, &clen) == 0)
        snprintf(out, len, "unix:uid=%u", (unsigned)cred.uid);
    else
        snprintf(out, len, "unix");
}

/* The client's address as peer_text() writes it, or, when the TCP peer
 * is one of trusted_proxies, the address its headers name (forwarded.h):
 * for the access log, the call context and the rate per peer. */
static void
client_text(struct req_ctx *rc, char *out, size_t len)
{
    const struct admission *a = rc->w->gen->adm;
    struct evkeyvalq *in;
    char addr[FORWARDED_ADDR_MAX], client[FORWARDED_ADDR_MAX];
    const char *p = out, *end;

    peer_text(rc->evcon, out, len);
    if (a == NULL || a->proxies == NULL || rc->req == NULL)
        return;
    if (*p == '[') { /* "[V6]:PORT" */
        p++;
        end = strchr(p, ']');
    } else {
        end = strrchr(p, ':');
    }
    if (end == NULL || (size_t)(end - p) >= sizeof(addr))
        return; /* a unix socket: no proxy headers taken */
    memcpy(addr, p, (size_t)(end - p));
    addr[end - p] = '\0';
    in = evhttp_request_get_input_headers(rc->req);
    if (forwarded_client(
            a->proxies, addr, evhttp_find_header(in, "X-Forwarded-For"),
            evhttp_find_header(in, "X-Real-IP"), client, sizeof(client)))
        snprintf(out, len, "%s", client);
}

/* Count the reply and write its access log line. */
static void
account(struct req_ctx *rc, int status, size_t out_bytes, const char *what)
{
    char peer[80], trace_id[TRACE_ID_LEN + 1], made[TRACE_LEN + 1];
    struct access_fields f;

    stats_http(rc->w->stats, status);
    if (!log_access_enabled())
        return;
    client_text(rc, peer, sizeof(peer));
    f.peer = peer;
    f.method = rc->req ? method_name(evhttp_request_get_command(rc->req)) : "?";
    f.uri = rc->req ? evhttp_request_get_uri(rc->req) : NULL;
    if (f.uri == NULL)
        f.uri = "?";
    f.status = status;
    f.in = rc->in_bytes;
    f.out = out_bytes;
    f.ms = (double)(util_mono_us() - rc->t0_us) / 1000.0;
    f.what = what != NULL && strcmp(what, "-") != 0 ? what : NULL;
    if (rc->trace == NULL) {
        /* Refused before its body was answered: its trace is made here,
         * so that every line has one. */
        trace_make(rc->req ? evhttp_find_header(
                                 evhttp_request_get_input_headers(rc->req),
                                 "traceparent")
                           : NULL,
                   made);
        rc->trace = made;
    }
    /* "00-TRACEID-...": the id alone. */
    memcpy(trace_id, rc->trace + TRACE_ID_OFF, TRACE_ID_LEN);
    trace_id[TRACE_ID_LEN] = '\0';
    f.trace_id = trace_id;
    log_access(&f);
}

/* The Date header value, formatted once a second per loop. */
static const char *
loop_date(struct lane *w)
{
    time_t now = time(NULL);

    if (now != w->date_sec) {
        util_http_date(w->date, sizeof(w->date), now);
        w->date_sec = now;
    }
    return w->date;
}

/* Write a reply evhttp has just queued, now, instead of one loop iteration
 * later.  evhttp queues a reply in the connection's bufferevent and enables
 * EV_WRITE; the write happens when epoll next reports the socket writable,
 * after which evhttp disables EV_WRITE again: two epoll_ctl calls and one
 * more epoll_wait round per request.  A reply nearly always fits in the
 * socket's send buffer, so it is written here; when all of it went out, the
 * bufferevent is told its output is drained, which runs evhttp's own
 * completion (the request freed, the connection reading again or freed) at
 * once, and the EV_WRITE enable and disable cancel out in the epoll
 * changelist.  What the socket does not take now is left to the EV_WRITE
 * path, as are write errors (evhttp's error callback then reports them).
 * The output buffer's start is frozen by the bufferevent (only it may drain
 * it), hence the unfreeze around the write.  `evcon` may be freed when this
 * returns. */
static void
write_now(struct evhttp_connection *evcon)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    struct evbuffer *out;
    evutil_socket_t fd;
    int n;

    if (bev == NULL)
        return;
    out = bufferevent_get_output(bev);
    fd = bufferevent_getfd(bev);
    if (fd < 0 || evbuffer_get_length(out) == 0)
        return;
    evbuffer_unfreeze(out, 1);
    n = evbuffer_write(out, fd);
    evbuffer_freeze(out, 1);
    if (n > 0 && evbuffer_get_length(out) == 0) {
        /* Nothing left to write: a connection evhttp now closes must not
         * keep its write event (keep-alive ones drop it anyway). */
        bufferevent_disable(bev, EV_WRITE);
        bufferevent_trigger(bev, EV_WRITE, 0);
    }
}

/* Send a reply: `body` (malloc()ed, taken) of `type`, or none.  `rc` may be
 * freed when this returns. */
static void
reply(struct req_ctx *rc, int status, const char *reason, const char *type,
      char *body, size_t len, const char *what)
{
    struct evhttp_request *req = rc->req;
    struct evhttp_connection *evcon = rc->evcon;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *out = NULL;

    rc->replied = 1;
    if (rc->conn != NULL)
        conn_sending(rc->conn); /* the client has response_timeout */
    account(rc, status, body ? len : 0, what);
    evhttp_add_header(h, "Date", loop_date(rc->w));
    if (rc->w->draining || rc->gone)
        evhttp_add_header(h, "Connection", "close");
    if (body != NULL) {
        evhttp_add_header(h, "Content-Type", type);
        out = evhttp_request_get_output_buffer(req);
        if (evbuffer_add_reference(out, body, len, free_body, NULL) != 0) {
            free(body);
            evhttp_send_error(req, 500, "Internal Server Error");
            return;
        }
    }
    evhttp_send_reply(req, status, reason, out);
    if (evcon != NULL)
        write_now(evcon);
}

/* An HTTP-level refusal, with a JSON-RPC error object as its body so that
 * clients which always parse JSON get a readable reason. */
static void
reply_error(struct req_ctx *rc, int status, const char *reason,
            const char *detail)
{
    struct buf b = BUF_INIT;
    char *body;
    size_t len = 0;

    rpc_write_error_detail(&b, NULL, 0, RPCHOST_INVALID_REQUEST, detail);
    body = buf_take(&b, &len);
    reply(rc, status, reason, "application/json", body, body ? len : 0, "-");
}

/* What dispatch.c may ask of a request (dispatch_source). */
static void
source_peer(void *arg, char *out, size_t len)
{
    struct req_ctx *rc = arg;

    client_text(rc, out, len);
}

static const char *
source_header(void *arg, const char *name)
{
    struct req_ctx *rc = arg;

    return rc->req ? evhttp_find_header(
                         evhttp_request_get_input_headers(rc->req), name)
                   : NULL;
}

static const struct dispatch_source edge_source = {source_peer, source_header};

static void
on_dispatched(void *arg, int status, char *body, size_t len, const char *what,
              const char *trace, unsigned retry_after)
{
    char retry[16];

    struct req_ctx *rc = arg;

    rc->trace = trace;
    rc->batch = NULL;
    unwatch(rc);
    if (rc->closed) { /* nobody to answer */
        free(body);
        req_ctx_end(rc);
        return;
    }
    switch (status) {
    case 200:
        reply(rc, 200, "OK", "application/json", body, len, what);
        break;
    case 204:
        /* Nothing to return (notifications only): 204, or, for clients
         * that take only 200 (notification_status = 200), 200 with an
         * empty body: Content-Length 0 and no Content-Type, since there
         * is no JSON to type. */
        free(body);
        if (rc->w->gen->cfg->notification_status == 200)
            reply(rc, 200, "OK", NULL, NULL, 0, what);
        else
            reply(rc, 204, "No Content", NULL, NULL, 0, what);
        break;
    case 403:
        reply(rc, 403, "Forbidden", "application/json", body, len, what);
        break;
    case 429:
        snprintf(retry, sizeof(retry), "%u", retry_after ? retry_after : 1);
        evhttp_add_header(evhttp_request_get_output_headers(rc->req),
                          "Retry-After", retry);
        reply(rc, 429, "Too Many Requests", body ? "application/json" : NULL,
              body, len, what);
        break;
    default:
        free(body);
        reply_error(rc, 500, "Internal Server Error",
                    "HTTP 500: out of memory");
        break;
    }
}

/* GET /healthz: 200 while serving; 503 while draining, and while any loop
 * is stalled (stall.h: its flag, which the main thread sets), naming the
 * stalled loops.  Answered by a loop that is not stalled, by definition. */
static void
serve_health(struct req_ctx *rc)
{
    struct buf b = BUF_INIT;
    int draining = rc->w->draining || stats_draining(), nstalled = 0;
    int stalled[CONFIG_MAX_THREADS]; /* a snapshot of the flags */
    char *body;
    size_t len = 0;

    for (int i = 0; i < rc->w->npeers && i < CONFIG_MAX_THREADS; i++) {
        const struct lane *p = rc->w->peers[i];

        if (atomic_load_explicit(&p->stats->stalled, memory_order_relaxed))
            stalled[nstalled++] = p->index;
    }
    buf_printf(&b, "{\"status\":\"%s\",\"generation\":%lu",
               draining   ? "draining"
               : nstalled ? "stalled"
                          : "ok",
               rc->w->gen->id);
    if (nstalled > 0) {
        buf_puts(&b, ",\"stalled_loops\":[");
        for (int i = 0; i < nstalled; i++)
            buf_printf(&b, "%s%d", i > 0 ? "," : "", stalled[i]);
        buf_putc(&b, ']');
    }
    buf_puts(&b, "}\n");
    body = buf_take(&b, &len);
    if (draining || nstalled > 0)
        reply(rc, 503, "Service Unavailable", "application/json", body,
              body ? len : 0, "healthz");
    else
        reply(rc, 200, "OK", "application/json", body, body ? len : 0,
              "healthz");
}

/* GET /metrics: Prometheus text of every loop. */
static void
serve_metrics(struct req_ctx *rc)
{
    struct buf b = BUF_INIT;
    char *body;
    size_t len = 0;

    stats_render_all(&b);
    body = buf_take(&b, &len);
    if (body == NULL) {
        reply_error(rc, 500, "Internal Server Error",
                    "HTTP 500: out of memory");
        return;
    }
    reply(rc, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, len,
          "metrics");
}

/* CORS: the allowed origin for this request's Origin header, or NULL. */
static const char *
cors_origin(const struct config *cfg, struct evhttp_request *req)
{
    const char *origin;

    if (cfg->cors_origins == NULL)
        return NULL;
    origin =
        evhttp_find_header(evhttp_request_get_input_headers(req), "Origin");
    if (origin == NULL)
        return NULL;
    return config_origin_allowed(cfg, origin) ? origin : NULL;
}

/* Whether `v` passes check (allowed_hosts or the type check), answered
 * from `cache` (n bytes: the last value that passed on this loop) when v
 * is that value: a connection sends the same Host and Content-Type each
 * time. */
static int
passes(char *cache, size_t n, const char *v,
       int (*check)(struct lane *w, const char *v), struct lane *w)
{
    size_t len;

    if (v != NULL && cache[0] != '\0' && strcmp(v, cache) == 0)
        return 1;
    if (!check(w, v))
        return 0;
    len = v != NULL ? strlen(v) : n;
    if (len < n)
        memcpy(cache, v, len + 1);
    return 1;
}

static int
check_host(struct lane *w, const char *host)
{
    return guard_host_allowed(w->gen->cfg->allowed_hosts, w->loopback, host);
}

static int
check_type(struct lane *w, const char *ctype)
{
    (void)w;
    return guard_json_type(ctype);
}

void
edge_request(struct evhttp_request *req, void *arg)
{
    struct lane *w = arg;
    const struct config *cfg = w->gen->cfg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    struct evkeyvalq *out_h = evhttp_request_get_output_headers(req);
    const struct auth_user *user = NULL;
    struct dispatch_env env;
    struct heads heads;
    const char *origin, *framing;
    int status;
    struct evbuffer *in;
    struct req_ctx *rc;
    struct batch *b;
    size_t len;
    const char *data;

    rc = calloc(1, sizeof(*rc));
    if (rc == NULL) {
        evhttp_send_error(req, 503, "Service Unavailable");
        return;
    }
    rc->w = w;
    rc->req = req;
    rc->t0_us = util_mono_us();
    rc->evcon = evhttp_request_get_connection(req);
    if (rc->evcon != NULL) {
        rc->conn = conns_of(w->conns, rc->evcon);
        if (rc->conn != NULL)
            conn_busy(rc->conn); /* arrived whole: no deadline now */
    }
    w->inflight++;
    evhttp_request_set_on_complete_cb(req, request_complete, rc);
    if (rc->evcon != NULL)
        evhttp_connection_set_closecb(rc->evcon, on_conn_close, rc);
    in = evhttp_request_get_input_buffer(req);
    len = evbuffer_get_length(in);
    rc->in_bytes = len;
    framing = heads_read(req, cmd, &heads, &status);
    if (framing != NULL) {
        evhttp_add_header(out_h, "Connection", "close");
        reply_error(rc, status,
                    status == 501 ? "Not Implemented" : "Bad Request", framing);
        return;
    }
    if (uri != NULL && evhttp_uri_get_host(uri) != NULL) {
        /* "//name/path" parses with a host but no scheme: neither
         * origin-form nor absolute-form (RFC 9112 3.2), and taking its
         * host for the Host would let a rebound page pass. */
        if (evhttp_uri_get_scheme(uri) == NULL) {
            reply_error(rc, 400, "Bad Request",
                        "HTTP 400: the request target is neither a path nor "
                        "an absolute URI");
            return;
        }
        heads.host = evhttp_request_get_host(req); /* absolute-form */
    }
    /* Over a unix socket nothing can rebind a name to it: no Host check. */
    if (!passes(w->host_ok, sizeof(w->host_ok), heads.host, check_host, w) &&
        !over_unix(rc->evcon)) {
        reply_error(rc, 403, "Forbidden",
                    "HTTP 403: this Host is not served; list it in [server] "
                    "allowed_hosts");
        return;
    }
    if (path == NULL || path[0] == '\0')
        path = "/";
    if (strcmp(path, cfg->endpoint) != 0) {
        int get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
        if (get && cfg->health_path && strcmp(path, cfg->health_path) == 0) {
            serve_health(rc);
            return;
        }
        if (get && cfg->metrics_path && strcmp(path, cfg->metrics_path) == 0) {
            serve_metrics(rc);
            return;
        }
        reply_error(rc, 404, "Not Found",
                    "HTTP 404: no JSON-RPC endpoint at this path");
        return;
    }
    origin = cors_origin(cfg, req);
    if (origin != NULL) {
        evhttp_add_header(out_h, "Access-Control-Allow-Origin", origin);
        evhttp_add_header(out_h, "Vary", "Origin");
    }
    if (cmd == EVHTTP_REQ_OPTIONS && origin != NULL) {
        /* A CORS preflight. */
        evhttp_add_header(out_h, "Access-Control-Allow-Methods", "POST");
        evhttp_add_header(out_h, "Access-Control-Allow-Headers",
                          "Content-Type, Authorization");
        evhttp_add_header(out_h, "Access-Control-Max-Age", "600");
        reply(rc, 204, "No Content", NULL, NULL, 0, "preflight");
        return;
    }
    if (cmd != EVHTTP_REQ_POST) {
        evhttp_add_header(out_h, "Allow",
                          origin != NULL ? "POST, OPTIONS" : "POST");
        reply_error(rc, 405, "Method Not Allowed",
                    "HTTP 405: JSON-RPC requests must use POST");
        return;
    }
    if (!passes(w->ctype_ok, sizeof(w->ctype_ok), heads.ctype, check_type, w)) {
        reply_error(rc, 415, "Unsupported Media Type",
                    "HTTP 415: Content-Type must be application/json");
        return;
    }
    if (w->gen->auth != NULL) {
        const char *hdr = heads.auth;

        if (heads.auths > 1) {
            reply_error(rc, 400, "Bad Request",
                        "HTTP 400: more than one Authorization header");
            return;
        }
        user = auth_check(w->gen->auth, hdr);
        if (user == NULL) {
            evhttp_add_header(out_h, "WWW-Authenticate",
                              "Basic realm=\"rpchost\", charset=\"UTF-8\"");
            evhttp_add_header(out_h, "WWW-Authenticate",
                              "Bearer realm=\"rpchost\"");
            reply_error(rc, 401, "Unauthorized",
                        hdr ? "HTTP 401: bad credentials"
                            : "HTTP 401: credentials required");
            return;
        }
    }
    data = len ? (const char *)evbuffer_pullup(in, -1) : "";
    if (data == NULL) {
        reply_error(rc, 500, "Internal Server Error",
                    "HTTP 500: out of memory");
        return;
    }
    env.loop = w->loop;
    env.stats = w->stats;
    env.user = user;
    env.transport =
        over_unix(rc->evcon) ? RPCHOST_TRANSPORT_UNIX : RPCHOST_TRANSPORT_TCP;
    env.src = &edge_source;
    env.src_arg = rc;
    env.want_trace = log_access_enabled();
    env.depth = 0;
    /* NULL: answered, and rc may be gone; else rc lives until
     * on_dispatched. */
    b = dispatch_body(w->gen, &env, data, len, on_dispatched, rc);
    if (b != NULL) {
        /* Its calls wait: the body is read (dispatch_body copied what
         * outlives it), so give back its chains (1 KiB for a small one)
         * rather than hold them until the answer. */
        evbuffer_drain(in, len);
        rc->batch = b;
        watch_client(rc);
    }
}
