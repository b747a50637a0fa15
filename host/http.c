/*
 * http.c - see http.h.
 */
#define _GNU_SOURCE /* pthread_clockjoin_np */
#include "http.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "buf.h"
#include "conns.h"
#include "dispatch.h"
#include "fatal.h"
#include "generation.h"
#include "guard.h"
#include "jsonrpc.h"
#include "log.h"
#include "auth.h"
#include "loop.h"
#include "stats.h"
#include "util.h"

struct worker {
    struct loop *loop;       /* its thread's runtime (loop.h) */
    struct event_base *base; /* the loop's */
    struct stats *stats;
    struct evconnlistener *lev;
    long max_conns;       /* this loop's share of max_connections; 0: none */
    int accept_paused;    /* at its share of max_connections */
    int balance_paused;   /* ahead of the other loops (accept balancing) */
    atomic_int full;      /* accept_paused, for the other loops to read */
    atomic_llong beat_ms; /* when its last sweep ran (util_mono_ms()) */
    atomic_int accepting; /* its listener is on; read by the other loops */
    struct worker *const *peers; /* every loop, this one included */
    struct event *balance_ev;    /* on_balance_recheck, while paused */
    struct worker *watched;      /* the loop this one stepped back for */
    unsigned long watched_total; /* its connections_total then */
    int npeers;
    struct conns *conns; /* each connection's state (conns.h) */
    struct event *sweep_ev;
    struct event *backoff_ev;  /* ends accept_backoff */
    int accept_backoff;        /* accept() failed: paused for a moment */
    unsigned long accept_errs; /* failures since the last log line */
    long long accept_log_ms;   /* when the last one was logged */
    int index;
    int listen_fd;
    int started;
    int finished; /* its loop ran and finished (loop_finish) */
    pthread_t joinable;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct generation *gen; /* this loop's current generation (a ref) */
    struct event *stop_ev;
    struct event *drain_ev;
    long long drain_deadline_ms; /* CLOCK_MONOTONIC */
    int stop_timeout_ms;
    int linger;    /* the drain keeps idle keep-alive connections until its
                      deadline (a replacement: worker_stop) */
    long inflight; /* requests not yet fully answered; loop thread only */
    int draining;
    int loopback; /* it listens on a loopback address (guard.h) */
    /* The last Host and Content-Type values that passed the guard (a
     * connection sends the same ones each time); cleared with each
     * generation's settings. */
    char host_ok[64], ctype_ok[64];
    long conn_cap; /* max_connections the descriptor limit allows; 0: any */
    long fd_share; /* this loop's share of conn_cap: sockets held; 0: any */
    long long share_log_ms; /* when "its share of max_connections" was said */
    long long reap_ms;      /* when conns_reap() last ran */
    size_t read_max;        /* what a connection's input may hold */
    int expired;     /* the shutdown timeout passed: open calls were answered */
    time_t date_sec; /* the second `date` was formatted for */
    char date[40];   /* cached Date header value (evhttp formats one per
                        reply otherwise) */
};

/* ---- requests ---- */

/* One request being answered.  evhttp reads a connection's next request
 * only after the previous reply went out, so a connection has at most one
 * of these; its close callback points at it until the reply completes. */
struct req_ctx {
    struct worker *w;
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    struct conn *conn; /* its connection's state (conns.h), or NULL */
    int replied;       /* the reply was handed to evhttp */
    int closed;        /* the connection went away first */
    uint64_t t0_us;    /* arrival */
    size_t in_bytes;
};

static void
req_ctx_end(struct req_ctx *rc)
{
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
    rc->evcon = NULL;
    rc->req = NULL;
    rc->conn = NULL; /* retired by the next sweep */
    if (rc->replied)
        req_ctx_end(rc); /* its on_complete will never come */
    else
        rc->closed = 1; /* on_dispatched ends it */
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

/* Count the reply and write its access log line. */
static void
account(struct req_ctx *rc, int status, size_t out_bytes, const char *what)
{
    char *peer = NULL;
    ev_uint16_t port = 0;
    const char *uri;

    stats_http(rc->w->stats, status);
    if (!log_access_enabled())
        return;
    if (rc->evcon != NULL)
        evhttp_connection_get_peer(rc->evcon, &peer, &port);
    uri = rc->req ? evhttp_request_get_uri(rc->req) : "?";
    log_access("%s:%u \"%s %.200s\" %d %zu %zu %.3fms %.64s", peer ? peer : "?",
               (unsigned)port,
               rc->req ? method_name(evhttp_request_get_command(rc->req)) : "?",
               uri ? uri : "?", status, rc->in_bytes, out_bytes,
               (double)(util_mono_us() - rc->t0_us) / 1000.0,
               what ? what : "-");
}

/* The Date header value, formatted once a second per loop. */
static const char *
loop_date(struct worker *w)
{
    time_t now = time(NULL);
    struct tm tm;

    if (now != w->date_sec && gmtime_r(&now, &tm) != NULL) {
        strftime(w->date, sizeof(w->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
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
    if (rc->w->draining)
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

static void
on_dispatched(void *arg, int status, char *body, size_t len, const char *what)
{
    struct req_ctx *rc = arg;

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
        free(body);
        reply(rc, 204, "No Content", NULL, NULL, 0, what);
        break;
    case 403:
        reply(rc, 403, "Forbidden", "application/json", body, len, what);
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
        const struct worker *p = rc->w->peers[i];

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

/* Whether the value is exactly "chunked" (any case), spaces aside. */
static int
is_chunked(const char *v)
{
    size_t n;

    v += strspn(v, " \t");
    n = strcspn(v, " \t");
    return n == 7 && evutil_ascii_strncasecmp(v, "chunked", 7) == 0 &&
           v[n + strspn(v + n, " \t")] == '\0';
}

/* Whether header name k is `canon` ("Content-Type"), regardless of case
 * (`lc`, the same in lower case).  Clients nearly always send the
 * canonical form: one strcmp. */
static int
name_is(const char *k, const char *canon, const char *lc)
{
    if (strcmp(k, canon) == 0)
        return 1;
    for (; *lc != '\0'; k++, lc++) {
        int c = (unsigned char)*k;

        if ((c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c) != *lc)
            return 0;
    }
    return *k == '\0';
}

/* What one pass over a request's headers found. */
struct heads {
    const char *host;         /* the Host value, or NULL */
    const char *ctype;        /* the Content-Type value, or NULL */
    const char *auth;         /* the Authorization value, or NULL */
    int hosts, ctypes, auths; /* how many of each */
};

/* RFC 9110 5.6.2 token characters, which a field name is made of. */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
    ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
    ['`'] = 1, ['|'] = 1, ['~'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1,
    ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,
    ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1,
    ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1,
    ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,
    ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
    ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1,
    ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* Whether a field name is a token: evhttp keeps whatever precedes the
 * colon, "Content-Length " included, which it then does not take for a
 * Content-Length while a proxy in front may have (RFC 9112 5.1: such a
 * request must be refused).  Checked for the names that begin like the
 * ones that frame, route or authorise a request; the others are never
 * read. */
static int
is_token(const char *k)
{
    const unsigned char *p = (const unsigned char *)k;

    while (tchar[*p])
        p++;
    return *p == '\0' && p != (const unsigned char *)k;
}

/* One pass over the request's headers: what `h` says of Host,
 * Content-Type and Authorization, and whether the framing is ambiguous:
 * more than one Content-Length, one that is not plain digits, one beside
 * a Transfer-Encoding, more than one Transfer-Encoding, or one that is not
 * just "chunked".  evhttp takes the first Content-Length (and "+5") as it
 * comes and reads no body for a coding it does not know; a proxy in front
 * that framed the request otherwise would see another request boundary
 * (request smuggling), so RFC 9112 6.1 and 6.3 make these errors, and the
 * connection is closed.  The framing error, with the status in *status,
 * or NULL. */
static const char *
read_heads(struct evhttp_request *req, struct heads *h, int *status)
{
    const struct evkeyvalq *q = evhttp_request_get_input_headers(req);
    const struct evkeyval *kv;
    int lengths = 0, codings = 0;

    memset(h, 0, sizeof(*h));
    *status = 400;
    for (kv = q->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
        const char *k = kv->key;
        int seen = 1;

        /* One name compared per header, picked by its first letter. */
        switch (k[0] | 0x20) {
        case 'h':
            seen = name_is(k, "Host", "host");
            if (seen) {
                h->host = kv->value;
                h->hosts++;
            }
            break;
        case 'a':
            seen = name_is(k, "Authorization", "authorization");
            if (seen) {
                h->auth = kv->value;
                h->auths++;
            }
            break;
        case 't':
            seen = name_is(k, "Transfer-Encoding", "transfer-encoding");
            if (!seen)
                break;
            if (++codings > 1)
                return "HTTP 400: more than one Transfer-Encoding";
            if (!is_chunked(kv->value)) {
                *status = 501;
                return "HTTP 501: Transfer-Encoding other than chunked";
            }
            break;
        case 'c':
            if (name_is(k, "Content-Type", "content-type")) {
                h->ctype = kv->value;
                h->ctypes++;
            } else if (name_is(k, "Content-Length", "content-length")) {
                const char *v = kv->value + strspn(kv->value, " \t");

                if (++lengths > 1)
                    return "HTTP 400: more than one Content-Length";
                if (*v == '\0' || v[strspn(v, "0123456789")] != '\0')
                    return "HTTP 400: Content-Length is not a number";
            } else {
                seen = 0;
            }
            break;
        default:
            break;
        }
        /* A name evhttp does not take for one of these although a proxy
         * may ("Content-Length ": a space before the colon). */
        if (!seen && !is_token(k))
            return "HTTP 400: a header name that is not a token (RFC 9110 "
                   "5.6.2; no space before the colon)";
    }
    if (lengths > 0 && codings > 0)
        return "HTTP 400: both Content-Length and Transfer-Encoding";
    if (h->hosts > 1)
        return "HTTP 400: more than one Host";
    if (h->ctypes > 1)
        return "HTTP 400: more than one Content-Type";
    return NULL;
}

/* Whether `v` passes check (allowed_hosts or the type check), answered
 * from `cache` (n bytes: the last value that passed on this loop) when v
 * is that value: a connection sends the same Host and Content-Type each
 * time. */
static int
passes(char *cache, size_t n, const char *v,
       int (*check)(struct worker *w, const char *v), struct worker *w)
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
check_host(struct worker *w, const char *host)
{
    return guard_host_allowed(w->gen->cfg->allowed_hosts, w->loopback, host);
}

static int
check_type(struct worker *w, const char *ctype)
{
    (void)w;
    return guard_json_type(ctype);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
    struct worker *w = arg;
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
    framing = read_heads(req, &heads, &status);
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
    if (!passes(w->host_ok, sizeof(w->host_ok), heads.host, check_host, w)) {
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
    dispatch_body(w->gen, &env, data, len, on_dispatched, rc);
}

/* ---- connections ----
 *
 * What each connection is doing, its deadlines and its retirement are
 * conns.c's.  At its share of max_connections a loop first makes room
 * (closing the longest idle keep-alive connection, else a request that has
 * been arriving for long); when there is none to close it stops accepting
 * (as nginx does at worker_connections): further clients wait in the listen
 * backlog until a connection closes or becomes idle. */

_Static_assert(CONNS_NREASONS == STATS_CLOSE_REASONS,
               "stats.h counts conns.h's reasons");

#define SWEEP_MS 100

/* Publish the loop's open connections for /metrics and the other loops. */
static long
count_open(struct worker *w)
{
    long open = conns_open(w->conns);

    atomic_store_explicit(&w->stats->connections, open, memory_order_relaxed);
    return open;
}

/* ---- accept balancing ----
 *
 * All loops accept from the one listening socket, and a loop woken for new
 * connections accepts until the queue is empty: a burst of connects (a
 * proxy's or a benchmark's connection pool) would all land on whichever
 * loop woke first, and the other loops would idle.  So a loop more than
 * BALANCE_SLACK connections ahead of the least loaded other loop stops
 * accepting, and makes sure that one accepts (its listener is turned back
 * on through its post queue).  A paused loop turns its listener back on by
 * itself when it is no longer ahead, or when the loop it stepped back for
 * took no connection within RECHECK_MS (busy in a long call): checked
 * every RECHECK_MS while paused, and at every sweep.  Loops at their share of
 * max_connections are left out of the comparison, and so are loops that
 * have not run their sweep for STUCK_MS (a plugin blocking their thread):
 * new connections go to loops that can answer them. */

#define BALANCE_SLACK 1
#define RECHECK_MS 20
#define STUCK_MS (3 * SWEEP_MS)

/* Turn the listener on or off and say so to the other loops. */
static void
set_accepting(struct worker *w)
{
    int on = w->lev != NULL && !w->draining && !w->accept_paused &&
             !w->balance_paused && !w->accept_backoff;

    if (on == atomic_load_explicit(&w->accepting, memory_order_relaxed))
        return;
    if (w->lev != NULL) {
        if (on)
            evconnlistener_enable(w->lev);
        else
            evconnlistener_disable(w->lev);
    }
    atomic_store_explicit(&w->accepting, on, memory_order_relaxed);
}

static long
open_conns(const struct worker *w)
{
    return atomic_load_explicit(&w->stats->connections, memory_order_relaxed);
}

/* The other loop with the fewest open connections that is neither at its
 * share of max_connections nor stuck, or NULL; its count in *open. */
static struct worker *
least_loaded_peer(const struct worker *w, long *open)
{
    struct worker *best = NULL;
    long long now = util_mono_ms();

    for (int i = 0; i < w->npeers; i++) {
        struct worker *p = w->peers[i];
        long n;

        if (p == w || atomic_load_explicit(&p->full, memory_order_relaxed))
            continue;
        if (now - atomic_load_explicit(&p->beat_ms, memory_order_relaxed) >
            STUCK_MS)
            continue;
        n = open_conns(p);
        if (best == NULL || n < *open) {
            best = p;
            *open = n;
        }
    }
    return best;
}

static unsigned long
accepted(const struct worker *w)
{
    return atomic_load_explicit(&w->stats->connections_total,
                                memory_order_relaxed);
}

/* Look again in RECHECK_MS whether p took connections meanwhile. */
static void
watch_peer(struct worker *w, struct worker *p)
{
    struct timeval tv = {0, RECHECK_MS * 1000};

    w->watched = p;
    w->watched_total = accepted(p);
    evtimer_add(w->balance_ev, &tv);
}

/* On loop `arg`: accept again (posted by a loop that got ahead). */
static void
balance_resume(void *arg)
{
    struct worker *w = arg;

    w->balance_paused = 0;
    set_accepting(w);
}

/* After this loop accepted a connection. */
static void
balance_after_accept(struct worker *w)
{
    struct worker *p;
    long least = 0;

    if (w->npeers < 2 || w->balance_paused || w->draining)
        return;
    p = least_loaded_peer(w, &least);
    if (p == NULL || open_conns(w) <= least + BALANCE_SLACK)
        return;
    w->balance_paused = 1;
    set_accepting(w);
    if (!atomic_load_explicit(&p->accepting, memory_order_relaxed))
        loop_post(p->loop, balance_resume, p); /* fails only at exit */
    watch_peer(w, p);
}

/* While paused: every RECHECK_MS, accept again unless the loop it stepped
 * back for took a connection since the last look.  A loop busy in a long
 * call (but not yet stuck) takes none, and new clients are then not left
 * waiting for it; with no clients arriving this resumes too, which costs
 * nothing. */
static void
on_balance_recheck(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    struct worker *p;
    long least = 0;

    (void)fd;
    (void)what;
    if (!w->balance_paused)
        return;
    p = least_loaded_peer(w, &least);
    if (p == NULL || open_conns(w) <= least + BALANCE_SLACK ||
        !atomic_load_explicit(&p->accepting, memory_order_relaxed) ||
        (p == w->watched && accepted(p) == w->watched_total)) {
        w->balance_paused = 0;
        set_accepting(w);
        return;
    }
    watch_peer(w, p);
}

/* Whether the loop holds its share of the descriptors the limit leaves
 * for connections: closed connections keep theirs for two sweeps (see
 * conns.h), so under a burst of closes and accepts the open count alone
 * would let the process run out. */
static int
fds_short(const struct worker *w)
{
    return w->fd_share > 0 && conns_held(w->conns) >= w->fd_share;
}

static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    const struct config *cfg = w->gen->cfg;
    unsigned long closed[CONNS_NREASONS] = {0};
    long open;

    (void)fd;
    (void)what;
    atomic_store_explicit(&w->beat_ms, util_mono_ms(), memory_order_relaxed);
    struct conns_deadlines d = {cfg->header_timeout_ms, cfg->request_timeout_ms,
                                cfg->response_timeout_ms};

    conns_sweep(w->conns, &d, closed);
    for (int r = 0; r < CONNS_NREASONS; r++)
        if (closed[r] > 0)
            stats_add(&w->stats->conn_closed[r], closed[r]);
    open = count_open(w);
    if (w->accept_paused && !fds_short(w) &&
        (w->max_conns == 0 || open < w->max_conns ||
         conns_can_make_room(w->conns))) {
        w->accept_paused = 0;
        atomic_store_explicit(&w->full, 0, memory_order_relaxed);
        set_accepting(w);
    }
    if (w->balance_paused) /* a second look, should its timer have failed */
        on_balance_recheck(-1, 0, w);
}

/* After an accept that left `open` connections, at least the loop's share
 * of max_connections: if that is one beyond the share, make room for it;
 * if there is no room to be made for the next one, stop accepting until
 * there is (on_sweep looks). */
static void
at_share(struct worker *w, long open)
{
    long long now;

    if (open > w->max_conns && conns_make_room(w->conns)) {
        stats_add(&w->stats->conn_closed[CONNS_MADE_ROOM], 1);
        count_open(w);
    }
    if (w->accept_paused || w->lev == NULL ||
        (!fds_short(w) && conns_can_make_room(w->conns)))
        return;
    w->accept_paused = 1;
    atomic_store_explicit(&w->full, 1, memory_order_relaxed);
    set_accepting(w);
    now = util_mono_ms();
    if (now - w->share_log_ms >= 10000) {
        if (fds_short(w))
            log_warn("loop %d: %ld sockets held (closed connections keep "
                     "theirs for up to 200 ms), its share of what the "
                     "descriptor limit allows; not accepting for a moment "
                     "(said at most every 10 s)",
                     w->index, conns_held(w->conns));
        else
            log_warn("loop %d: %ld connections, its share of "
                     "max_connections, none idle or slow; not accepting until "
                     "one closes or goes idle (said at most every 10 s)",
                     w->index, w->max_conns);
        w->share_log_ms = now;
    }
}

static struct bufferevent *
make_bev(struct event_base *base, void *arg)
{
    struct worker *w = arg;
    struct bufferevent *bev;
    long open;

    (void)base;
    /* Near the share, count the connections evhttp freed since the last
     * sweep first; that looks at every connection, so at most every
     * 10 ms. */
    if (w->max_conns > 0 && conns_open(w->conns) + 1 >= w->max_conns) {
        long long now = util_mono_ms();

        if (now - w->reap_ms >= 10) {
            conns_reap(w->conns);
            w->reap_ms = now;
        }
    }
    bev = conns_add(w->conns, w->read_max);
    if (bev == NULL)
        return NULL; /* evhttp makes its own; it goes uncounted */
    stats_add(&w->stats->connections_total, 1);
    open = count_open(w);
    if ((w->max_conns > 0 && open >= w->max_conns) || fds_short(w))
        at_share(w, open);
    balance_after_accept(w);
    return bev;
}

/* ---- accept errors ----
 *
 * accept() failing with anything but "try again" (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM: out of descriptors or memory) leaves the connection in the
 * backlog and the listening socket readable: retried at once, it would
 * spin the loop and flood the log.  So the loop stops accepting for
 * ACCEPT_BACKOFF_MS and logs at most once a second, with a count. */

#define ACCEPT_BACKOFF_MS 100

static void
on_backoff_end(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;

    (void)fd;
    (void)what;
    w->accept_backoff = 0;
    set_accepting(w);
}

/* The worker whose loop runs on this thread (an error callback's argument
 * is evhttp's, not ours). */
static _Thread_local struct worker *this_worker;

static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
    struct worker *w = this_worker;
    struct timeval backoff = {0, ACCEPT_BACKOFF_MS * 1000};
    int err = EVUTIL_SOCKET_ERROR();
    long long now = util_mono_ms();

    (void)lev;
    (void)arg;
    if (w == NULL || w->draining || err == EINVAL)
        return; /* the listening socket was shut down: the drain began */
    stats_add(&w->stats->accept_errors, 1);
    w->accept_errs++;
    if (now - w->accept_log_ms >= 1000) {
        log_error("loop %d: accept: %s; pausing accepts for %d ms (%lu "
                  "failure(s) in the last second)",
                  w->index, evutil_socket_error_to_string(err),
                  ACCEPT_BACKOFF_MS, w->accept_errs);
        w->accept_log_ms = now;
        w->accept_errs = 0;
    }
    if (evtimer_add(w->backoff_ev, &backoff) != 0)
        return; /* no timer to end it: retry at once rather than never */
    w->accept_backoff = 1;
    set_accepting(w);
}

/* ---- generations ---- */

/* A loop's share of max_connections (0: no limit), the process's cap
 * (0: none) applied first. */
/* One loop's share of n (0: none), rounded up. */
static long
per_loop(long n, int threads)
{
    return n > 0 ? (n + threads - 1) / threads : 0;
}

static long
conn_share(const struct config *cfg, long cap)
{
    long max = cfg->max_connections;

    if (cap > 0 && (max == 0 || max > cap))
        max = cap;
    return per_loop(max, cfg->threads);
}

/* Settings of a generation, for connections accepted from now on. */
static void
apply_settings(struct worker *w, const struct config *cfg)
{
    struct timeval tv;

    evhttp_set_max_body_size(w->http, (ev_ssize_t)cfg->max_body_size);
    evhttp_set_max_headers_size(w->http, (ev_ssize_t)cfg->max_header_size);
    tv.tv_sec = cfg->timeout_ms / 1000;
    tv.tv_usec = (cfg->timeout_ms % 1000) * 1000;
    evhttp_set_timeout_tv(w->http, &tv);
    w->loopback = config_is_loopback(cfg->listen_host);
    w->host_ok[0] = w->ctype_ok[0] = '\0';
    w->max_conns = conn_share(cfg, w->conn_cap);
    w->fd_share = per_loop(w->conn_cap, cfg->threads);
    /* A whole request (headers, body, chunk lines) and then some: what a
     * connection may hold while its answer is written (conns.h). */
    w->read_max = cfg->max_header_size + cfg->max_body_size + 65536;
}

struct gen_switch {
    struct worker *w;
    struct generation *gen;
};

static void
on_gen_switch(void *arg)
{
    struct gen_switch *sw = arg;
    struct generation *old = sw->w->gen;

    sw->w->gen = sw->gen;
    apply_settings(sw->w, sw->gen->cfg);
    log_debug("loop %d: now on generation %lu", sw->w->index, sw->gen->id);
    generation_unref(old);
    free(sw);
}

void
worker_set_generation(struct worker *w, struct generation *gen)
{
    struct gen_switch *sw = malloc(sizeof(*sw));

    if (sw == NULL) {
        log_error("loop %d: out of memory switching generations", w->index);
        return;
    }
    generation_ref(gen);
    sw->w = w;
    sw->gen = gen;
    if (loop_post(w->loop, on_gen_switch, sw) != 0) {
        log_error("loop %d: cannot switch to generation %lu", w->index,
                  gen->id);
        generation_unref(gen);
        free(sw);
    }
}

/* ---- stopping ---- */

static void
on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    struct timeval tick = {0, 20000};

    (void)fd;
    (void)what;
    if (w->inflight <= 0 && w->linger && conns_open(w->conns) > 0 &&
        util_mono_ms() < w->drain_deadline_ms) {
        /* Replaced: another worker serves.  An idle keep-alive client
         * may still send a request, answered with Connection: close,
         * rather than find its connection closed under it. */
        event_add(w->drain_ev, &tick);
        return;
    }
    if (w->inflight <= 0) {
        /* Nothing will serve this loop's other connections from now on:
         * close them, so that their clients fail over at once. */
        conns_close_waiting(w->conns);
        event_base_loopexit(w->base, NULL);
        return;
    }
    if (util_mono_ms() >= w->drain_deadline_ms) {
        if (!w->expired) {
            /* Answer what is still open now (deadlines first: -32001),
             * and give the answers a moment to be written. */
            log_warn("loop %d: shutdown timeout with %ld request(s) "
                     "unfinished; answering them now",
                     w->index, w->inflight);
            w->expired = 1;
            loop_expire_timers(w->loop);
            w->drain_deadline_ms = util_mono_ms() + 1000;
        } else {
            log_warn("loop %d: %ld request(s) not written after the "
                     "shutdown timeout; closing",
                     w->index, w->inflight);
            event_base_loopexit(w->base, NULL);
            return;
        }
    }
    event_add(w->drain_ev, &tick);
}

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;

    (void)fd;
    (void)what;
    if (w->draining)
        return;
    w->draining = 1;
    if (w->bound != NULL) {
        evhttp_del_accept_socket(w->http, w->bound);
        w->bound = NULL;
        w->lev = NULL;
    }
    set_accepting(w);
    w->drain_deadline_ms = util_mono_ms() + w->stop_timeout_ms;
    on_drain_tick(-1, 0, w);
}

struct worker *
worker_new(int index, int listen_fd, struct generation *gen,
           struct stats *stats, struct worker *const *peers, int npeers,
           long conn_cap)
{
    const struct config *cfg = gen->cfg;
    struct worker *w = calloc(1, sizeof(*w));
    struct evconnlistener *lev;

    if (w == NULL) {
        log_error("loop %d: out of memory", index);
        return NULL;
    }
    w->index = index;
    w->listen_fd = listen_fd;
    w->peers = peers;
    w->npeers = npeers;
    w->stats = stats;
    w->conn_cap = conn_cap;
    generation_ref(gen);
    w->gen = gen;
    w->loop = loop_new();
    if (w->loop == NULL)
        goto fail;
    w->base = loop_base(w->loop);
    w->http = evhttp_new(w->base);
    w->stop_ev = event_new(w->base, -1, 0, on_stop, w);
    w->drain_ev = evtimer_new(w->base, on_drain_tick, w);
    if (w->http == NULL || w->stop_ev == NULL || w->drain_ev == NULL)
        goto fail;
    /* Not LEV_OPT_CLOSE_ON_FREE: the socket is shared by all loops.
     * Backlog 0: the socket listens already, with the configured backlog
     * (any other value would call listen() again, and -1 means 128). */
    lev = evconnlistener_new(w->base, NULL, NULL, LEV_OPT_CLOSE_ON_EXEC, 0,
                             listen_fd);
    if (lev == NULL)
        goto fail;
    evconnlistener_set_error_cb(lev, on_accept_error);
    w->bound = evhttp_bind_listener(w->http, lev);
    if (w->bound == NULL) {
        evconnlistener_free(lev);
        goto fail;
    }
    w->lev = lev;
    atomic_init(&w->accepting, 1);
    /* Live from now: a loop whose thread is still starting is not stuck
     * (the other loops leave it its share of the first connections). */
    atomic_init(&w->beat_ms, util_mono_ms());
    evhttp_set_bevcb(w->http, make_bev, w);
    w->conns = conns_new(w->base);
    w->sweep_ev = event_new(w->base, -1, EV_PERSIST, on_sweep, w);
    w->balance_ev = evtimer_new(w->base, on_balance_recheck, w);
    w->backoff_ev = evtimer_new(w->base, on_backoff_end, w);
    if (w->conns == NULL || w->sweep_ev == NULL || w->balance_ev == NULL ||
        w->backoff_ev == NULL ||
        event_add(w->sweep_ev, &(struct timeval){0, SWEEP_MS * 1000}) != 0)
        goto fail;
    evhttp_set_gencb(w->http, on_request, w);
    evhttp_set_allowed_methods(
        w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                     EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                     EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    apply_settings(w, cfg);
    return w;
fail:
    log_error("loop %d: cannot set up the event loop", index);
    worker_free(w);
    return NULL;
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;

    loop_enter(w->loop);
    this_worker = w;
    fatal_thread_start(w->index);
    log_debug("loop %d running", w->index);
    event_base_dispatch(w->base);
    /* Answer what is still open (deadlines and plugin timers run now), so
     * no call is left behind when the loop goes away. */
    loop_finish(w->loop);
    w->finished = 1;
    log_debug("loop %d done", w->index);
    fatal_thread_end();
    return NULL;
}

int
worker_start(struct worker *w)
{
    pthread_t t;
    int rc = pthread_create(&t, NULL, worker_main, w);

    if (rc != 0) {
        log_error("loop %d: cannot start thread: %s", w->index, strerror(rc));
        return -1;
    }
    w->joinable = t;
    w->started = 1;
    return 0;
}

static void
stop_on_loop(void *arg)
{
    struct worker *w = arg;

    event_active(w->stop_ev, EV_READ, 0);
}

void
worker_stop(struct worker *w, int timeout_ms, int linger)
{
    w->stop_timeout_ms = timeout_ms;
    w->linger = linger;
    if (loop_post(w->loop, stop_on_loop, w) != 0)
        log_error("loop %d: cannot ask it to stop", w->index);
}

long long
worker_beat_age_ms(const struct worker *w)
{
    return util_mono_ms() -
           atomic_load_explicit(&w->beat_ms, memory_order_relaxed);
}

long long
worker_beat_ms(const struct worker *w)
{
    return atomic_load_explicit(&w->beat_ms, memory_order_relaxed);
}

int
worker_index(const struct worker *w)
{
    return w->index;
}

int
worker_join_until(struct worker *w, long long deadline_ms)
{
    struct timespec at;
    int rc;

    if (w == NULL || !w->started)
        return 0;
    if (deadline_ms < 0)
        deadline_ms = 0;
    at.tv_sec = (time_t)(deadline_ms / 1000);
    at.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
    /* CLOCK_MONOTONIC, util_mono_ms()'s clock: a wall-clock step neither
     * cuts the wait short nor stretches it.  A thread that has ended is
     * joined even when the deadline has passed. */
    rc = pthread_clockjoin_np(w->joinable, NULL, CLOCK_MONOTONIC, &at);
    if (rc == ETIMEDOUT)
        return -1;
    if (rc != 0) {
        log_error("loop %d: cannot join its thread: %s", w->index,
                  strerror(rc));
        return -1;
    }
    w->started = 0;
    return 0;
}

void
worker_join(struct worker *w)
{
    if (w != NULL && w->started) {
        pthread_join(w->joinable, NULL);
        w->started = 0;
    }
}

void
worker_free(struct worker *w)
{
    if (w == NULL)
        return;
    worker_join(w);
    /* A loop that never ran (another failed to start) may hold posts from
     * the others: run them now, on this thread, as the loop would have. */
    if (!w->finished && w->loop != NULL)
        loop_finish(w->loop);
    w->lev = NULL; /* evhttp_free frees it before the connections */
    w->draining = 1;
    if (w->http != NULL)
        evhttp_free(w->http);
    conns_free(w->conns);
    if (w->sweep_ev != NULL)
        event_free(w->sweep_ev);
    if (w->backoff_ev != NULL)
        event_free(w->backoff_ev);
    if (w->balance_ev != NULL)
        event_free(w->balance_ev);
    if (w->stop_ev != NULL)
        event_free(w->stop_ev);
    if (w->drain_ev != NULL)
        event_free(w->drain_ev);
    loop_free(w->loop); /* and the base */
    generation_unref(w->gen);
    free(w);
}
