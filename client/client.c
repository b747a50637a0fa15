/* SPDX-License-Identifier: MIT */
/*
 * client.c - the rpchost client: URL, connections, calls in flight and
 * their timers, on libevent's evhttp client (see rpchost/client.h).
 *
 * Every call is a `struct pending` on the client's list.  It owns one
 * evhttp request (until evhttp has called back) and one timer event.  The
 * timer does two jobs: it fires at the call's deadline (the request is then
 * cancelled with evhttp_cancel_request() and the call ends with
 * RPCHOST_CLIENT_ETIMEOUT), and it is activated by hand when the answer
 * arrived, so that user callbacks always run from our own event and never
 * from inside evhttp's code (where freeing the client would free the
 * connection evhttp is still using).
 *
 * Blocking calls run the same code on a private event_base and loop it
 * until their pending ends.
 *
 * Unix-domain sockets.  libevent 2.1's evhttp only connects by host name
 * and port: evhttp_connection_connect_() closes whatever socket the
 * bufferevent holds (a pre-connected AF_UNIX one included) and calls
 * bufferevent_socket_connect_hostname(), which takes AF_INET/AF_INET6
 * only.  So a unix connection is an evhttp connection to a placeholder
 * name on a resolver with no nameservers: the lookup is never answered,
 * and evhttp waits in its connecting state with no socket.  We then
 * connect the AF_UNIX socket ourselves and give it to the bufferevent
 * (bufferevent_setfd() cancels the lookup; bufferevent_socket_connect()
 * with no address reports it connected), and evhttp carries on as after
 * any connect.  evhttp connects again by itself (after a reset, for the
 * next queued request) without telling us, so every place that may have
 * led to that "kicks" the connection: unix_connect_cb() runs from our own
 * event and does the above when evhttp is waiting for it.  A cancelled
 * lookup calls back later, from its resolver's base, to give the
 * bufferevent back (it holds a reference and suspends its I/O): the
 * resolver runs on a private base that unix_flush() runs at once.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/util.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "envelope.h"

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_MAX_CONNS 4
#define MAX_CONNS 1024
/* evhttp's own per-connection timeout; our timers do the real work. */
#define CONN_TIMEOUT_S (24 * 3600)
/* What evhttp "resolves" for a unix connection (never answered). */
#define UNIX_PLACEHOLDER_HOST "unix-socket.invalid"

struct conn {
    rpchost_client *c;
    struct evhttp_connection *evcon;
    struct event *kick; /* unix socket: runs unix_connect_cb() */
    size_t inflight;
};

/* Connections on one event_base. */
struct pool {
    struct event_base *base;
    struct conn **conns;
    size_t n;
};

struct header {
    char *name;
    char *value;
};

enum kind { KIND_CALL, KIND_NOTIFY, KIND_BATCH };

struct pending {
    rpchost_client *c;
    struct pending *prev, *next;
    struct conn *conn;
    struct evhttp_request *req; /* NULL once evhttp called back */
    struct event *timer;
    enum kind kind;
    int answered;  /* the outcome is known; deliver from the timer */
    int cancelled; /* we cancelled req: ignore evhttp's callbacks */
    int have_err;  /* evhttp reported err before calling back */
    enum evhttp_request_error err;
    int err_errno;
    int timeout_ms;
    rpchost_client_result res; /* KIND_CALL, KIND_NOTIFY */
    rpchost_client_batch *batch;
    int batch_rc;
    int batch_filled; /* env_batch_answer() filled the results */
    rpchost_client_cb cb;
    rpchost_client_batch_cb bcb;
    void *arg;
};

struct rpchost_client {
    char *host;
    int port;
    char *path; /* path and query, as sent */
    char *host_header;
    char *unix_path; /* connect here instead of host:port; NULL: TCP */
    struct event_base *dns_loop; /* unix: runs dns (see the file comment) */
    struct evdns_base *dns;      /* unix: a resolver that never answers */
    struct header *headers;
    size_t nheaders;
    int timeout_ms;
    size_t max_conns;
    struct pool async; /* on the caller's base (base NULL: none) */
    struct pool sync;  /* on a private base, made on first use */
    int64_t next_id;
    struct pending *pending;
    rpchost_client_trace_fn trace;
    void *trace_arg;
};

RPCHOST_CLIENT_API const char *
rpchost_client_strerror(int rc)
{
    switch (rc) {
    case RPCHOST_CLIENT_OK:
        return "success";
    case RPCHOST_CLIENT_ENOMEM:
        return "out of memory";
    case RPCHOST_CLIENT_EINVAL:
        return "invalid argument";
    case RPCHOST_CLIENT_ECONNECT:
        return "connection failed";
    case RPCHOST_CLIENT_ETIMEOUT:
        return "timed out";
    case RPCHOST_CLIENT_EHTTP:
        return "HTTP error";
    case RPCHOST_CLIENT_EPROTO:
        return "not a valid JSON-RPC answer";
    case RPCHOST_CLIENT_ERPC:
        return "JSON-RPC error";
    case RPCHOST_CLIENT_ECANCELED:
        return "cancelled";
    case RPCHOST_CLIENT_ESTATE:
        return "not possible in this state";
    default:
        return "unknown error";
    }
}

RPCHOST_CLIENT_API void
rpchost_client_result_clear(rpchost_client_result *res)
{
    if (res == NULL)
        return;
    cJSON_Delete(res->result);
    cJSON_Delete(res->data);
    cJSON_Delete(res->id);
    free(res->message);
    memset(res, 0, sizeof(*res));
}

/* ---- The client object ---- */

static int
has_crlf(const char *s)
{
    return strchr(s, '\r') != NULL || strchr(s, '\n') != NULL;
}

static char *
join3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *d = malloc(la + lb + lc + 1);

    if (d != NULL) {
        memcpy(d, a, la);
        memcpy(d + la, b, lb);
        memcpy(d + la + lb, c, lc + 1);
    }
    return d;
}

/* Fill host, port, path and the Host header from the URL. */
static int
parse_url(rpchost_client *c, const char *url)
{
    struct evhttp_uri *uri = evhttp_uri_parse(url);
    const char *scheme, *host, *path, *query;
    char portbuf[16];
    int rc = RPCHOST_CLIENT_EINVAL;

    if (uri == NULL)
        return RPCHOST_CLIENT_EINVAL;
    scheme = evhttp_uri_get_scheme(uri);
    host = evhttp_uri_get_host(uri);
    if (scheme == NULL || strcmp(scheme, "http") != 0 || host == NULL ||
        host[0] == '\0')
        goto out;
    c->port = evhttp_uri_get_port(uri);
    if (c->port == -1)
        c->port = 80;
    if (c->port <= 0 || c->port > 65535)
        goto out;
    rc = RPCHOST_CLIENT_ENOMEM;
    /* evhttp gives IPv6 literals without brackets. */
    c->host = strdup(host);
    path = evhttp_uri_get_path(uri);
    query = evhttp_uri_get_query(uri);
    if (path == NULL || path[0] == '\0')
        path = "/";
    c->path = join3(path, query != NULL ? "?" : "", query != NULL ? query : "");
    snprintf(portbuf, sizeof(portbuf), ":%d", c->port);
    if (strchr(host, ':') != NULL)
        c->host_header = join3("[", host, "]");
    else
        c->host_header = strdup(host);
    if (c->host_header != NULL && c->port != 80) {
        char *h = join3(c->host_header, portbuf, "");

        free(c->host_header);
        c->host_header = h;
    }
    if (c->host != NULL && c->path != NULL && c->host_header != NULL)
        rc = RPCHOST_CLIENT_OK;
out:
    evhttp_uri_free(uri);
    return rc;
}

RPCHOST_CLIENT_API int
rpchost_client_new(rpchost_client **out, const char *url,
                   struct event_base *base)
{
    rpchost_client *c;
    int rc;

    if (out == NULL)
        return RPCHOST_CLIENT_EINVAL;
    *out = NULL;
    if (url == NULL)
        return RPCHOST_CLIENT_EINVAL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return RPCHOST_CLIENT_ENOMEM;
    c->timeout_ms = DEFAULT_TIMEOUT_MS;
    c->max_conns = DEFAULT_MAX_CONNS;
    c->next_id = 1;
    c->async.base = base;
    rc = parse_url(c, url);
    if (rc != RPCHOST_CLIENT_OK) {
        rpchost_client_free(c);
        return rc;
    }
    *out = c;
    return RPCHOST_CLIENT_OK;
}

/* Is evhttp waiting for the lookup of a unix connection: its event
 * callback set, no socket?  (Reset: no callbacks; connected: a socket.) */
static int
unix_waiting(struct bufferevent *bev)
{
    bufferevent_data_cb readcb, writecb;
    bufferevent_event_cb eventcb;
    void *cbarg;

    bufferevent_getcb(bev, &readcb, &writecb, &eventcb, &cbarg);
    return readcb == NULL && eventcb != NULL && bufferevent_getfd(bev) < 0;
}

/* Run the callbacks of cancelled lookups (see the file comment). */
static void
unix_flush(rpchost_client *c)
{
    if (c->dns_loop != NULL)
        event_base_loop(c->dns_loop, EVLOOP_NONBLOCK);
}

static void
pool_close(struct pool *p)
{
    struct bufferevent *bev;
    size_t i;

    for (i = 0; i < p->n; i++) {
        if (p->conns[i]->kick != NULL) {
            /* evhttp_connection_free() leaves a lookup running. */
            bev = evhttp_connection_get_bufferevent(p->conns[i]->evcon);
            if (unix_waiting(bev))
                bufferevent_setfd(bev, -1);
            event_free(p->conns[i]->kick);
        }
        evhttp_connection_free(p->conns[i]->evcon);
        free(p->conns[i]);
    }
    free(p->conns);
    p->conns = NULL;
    p->n = 0;
}

static void deliver(struct pending *p);

RPCHOST_CLIENT_API void
rpchost_client_free(rpchost_client *c)
{
    struct pending *p;
    size_t i;

    if (c == NULL)
        return;
    /* Closing the connections frees their requests without callbacks. */
    for (p = c->pending; p != NULL; p = p->next) {
        p->req = NULL;
        p->cancelled = 1;
    }
    pool_close(&c->async);
    pool_close(&c->sync);
    unix_flush(c); /* frees the bufferevents of cancelled lookups */
    if (c->dns != NULL)
        evdns_base_free(c->dns, 0);
    if (c->dns_loop != NULL)
        event_base_free(c->dns_loop);
    while (c->pending != NULL) {
        p = c->pending;
        p->answered = 1;
        if (p->kind == KIND_BATCH)
            p->batch_rc = RPCHOST_CLIENT_ECANCELED;
        env_fail(&p->res, RPCHOST_CLIENT_ECANCELED,
                 "the client was freed before the call ended");
        deliver(p); /* unlinks p */
    }
    if (c->sync.base != NULL)
        event_base_free(c->sync.base);
    for (i = 0; i < c->nheaders; i++) {
        free(c->headers[i].name);
        free(c->headers[i].value);
    }
    free(c->headers);
    free(c->host);
    free(c->path);
    free(c->host_header);
    free(c->unix_path);
    free(c);
}

RPCHOST_CLIENT_API int
rpchost_client_set_timeout(rpchost_client *c, int ms)
{
    if (c == NULL)
        return RPCHOST_CLIENT_EINVAL;
    c->timeout_ms = ms <= 0 ? -1 : ms;
    return RPCHOST_CLIENT_OK;
}

RPCHOST_CLIENT_API int
rpchost_client_add_header(rpchost_client *c, const char *name,
                          const char *value)
{
    struct header *h;

    if (c == NULL || name == NULL || value == NULL || name[0] == '\0' ||
        has_crlf(name) || has_crlf(value) || strchr(name, ':') != NULL)
        return RPCHOST_CLIENT_EINVAL;
    h = realloc(c->headers, (c->nheaders + 1) * sizeof(*h));
    if (h == NULL)
        return RPCHOST_CLIENT_ENOMEM;
    c->headers = h;
    h[c->nheaders].name = strdup(name);
    h[c->nheaders].value = strdup(value);
    if (h[c->nheaders].name == NULL || h[c->nheaders].value == NULL) {
        free(h[c->nheaders].name);
        free(h[c->nheaders].value);
        return RPCHOST_CLIENT_ENOMEM;
    }
    c->nheaders++;
    return RPCHOST_CLIENT_OK;
}

RPCHOST_CLIENT_API int
rpchost_client_set_max_connections(rpchost_client *c, int n)
{
    if (c == NULL || n < 1 || n > MAX_CONNS)
        return RPCHOST_CLIENT_EINVAL;
    c->max_conns = (size_t)n;
    return RPCHOST_CLIENT_OK;
}

RPCHOST_CLIENT_API void
rpchost_client_set_trace(rpchost_client *c, rpchost_client_trace_fn fn,
                         void *arg)
{
    if (c == NULL)
        return;
    c->trace = fn;
    c->trace_arg = arg;
}

RPCHOST_CLIENT_API int
rpchost_client_set_unix_socket(rpchost_client *c, const char *path)
{
    struct sockaddr_un sun;
    char *copy = NULL;

    if (c == NULL || (path != NULL && (path[0] == '\0' ||
                                       strlen(path) >= sizeof(sun.sun_path))))
        return RPCHOST_CLIENT_EINVAL;
    if (c->async.n > 0 || c->sync.n > 0)
        return RPCHOST_CLIENT_ESTATE;
    if (path != NULL && (copy = strdup(path)) == NULL)
        return RPCHOST_CLIENT_ENOMEM;
    free(c->unix_path);
    c->unix_path = copy;
    return RPCHOST_CLIENT_OK;
}

/* ---- Transport ---- */

static void unix_connect_cb(evutil_socket_t unused, short what, void *arg);

/* A new evhttp connection for conn: to host:port, or for a unix socket
 * (see the file comment).  NULL when out of memory. */
static struct evhttp_connection *
conn_open(rpchost_client *c, struct pool *pool, struct conn *conn)
{
    struct evhttp_connection *evcon;
    const char *host = c->host;
    struct evdns_base *dns = NULL;

    conn->c = c;
    if (c->unix_path != NULL) {
        if (c->dns_loop == NULL)
            c->dns_loop = event_base_new();
        if (c->dns == NULL && c->dns_loop != NULL)
            c->dns = evdns_base_new(c->dns_loop, 0);
        if (conn->kick == NULL)
            conn->kick = event_new(pool->base, -1, 0, unix_connect_cb, conn);
        if (c->dns == NULL || conn->kick == NULL)
            return NULL;
        dns = c->dns;
        host = UNIX_PLACEHOLDER_HOST;
    }
    evcon =
        evhttp_connection_base_new(pool->base, dns, host, (uint16_t)c->port);
    if (evcon != NULL)
        evhttp_connection_set_timeout(evcon, CONN_TIMEOUT_S);
    return evcon;
}

/* Has the server closed this idle connection (or sent something unasked)?
 * evhttp would notice only when its loop runs, and a blocking client's
 * base does not run between calls: the next request would fail, or raise
 * SIGPIPE on a unix socket. */
static int
conn_dropped(const struct conn *conn)
{
    evutil_socket_t fd =
        bufferevent_getfd(evhttp_connection_get_bufferevent(conn->evcon));
    char byte;

    if (fd < 0)
        return 0; /* not connected: evhttp connects for the next request */
    if (recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) >= 0)
        return 1;
    return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

/* A unix connection may have to be connected (see the file comment). */
static void
conn_kick(struct conn *conn)
{
    if (conn->kick != NULL)
        event_active(conn->kick, EV_TIMEOUT, 1);
}

/* The connection with the fewest calls in flight; a new one when all are
 * busy and the pool may still grow.  NULL when none can be made. */
static struct conn *
pick_conn(rpchost_client *c, struct pool *pool, size_t max)
{
    struct conn *best = NULL, *nc, **grown;
    size_t i;

    for (i = 0; i < pool->n; i++)
        if (best == NULL || pool->conns[i]->inflight < best->inflight)
            best = pool->conns[i];
    if (best != NULL && best->inflight == 0 && conn_dropped(best)) {
        /* Idle, so no request to lose: start over on a new connection. */
        struct evhttp_connection *evcon = conn_open(c, pool, best);

        if (evcon == NULL)
            return NULL;
        evhttp_connection_free(best->evcon);
        best->evcon = evcon;
    }
    if (best != NULL && (best->inflight == 0 || pool->n >= max))
        return best;
    grown = realloc(pool->conns, (pool->n + 1) * sizeof(*grown));
    if (grown == NULL)
        return best;
    pool->conns = grown;
    nc = calloc(1, sizeof(*nc));
    if (nc == NULL)
        return best;
    nc->evcon = conn_open(c, pool, nc);
    if (nc->evcon == NULL) {
        if (nc->kick != NULL)
            event_free(nc->kick);
        free(nc);
        return best;
    }
    pool->conns[pool->n++] = nc;
    return nc;
}

static void
unlink_pending(struct pending *p)
{
    rpchost_client *c = p->c;

    if (p->prev != NULL)
        p->prev->next = p->next;
    else if (c->pending == p)
        c->pending = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
}

/* End a pending call: run the user's callback and free it.  Runs from the
 * pending's timer (or from rpchost_client_free()). */
static void
deliver(struct pending *p)
{
    rpchost_client_batch *b = p->batch;
    size_t i;

    unlink_pending(p);
    if (p->timer != NULL)
        event_free(p->timer);
    p->timer = NULL;
    if (p->kind == KIND_BATCH) {
        if (p->batch_rc != RPCHOST_CLIENT_OK) {
            free(b->error);
            b->error = strdup(p->res.message != NULL
                                  ? p->res.message
                                  : rpchost_client_strerror(p->batch_rc));
        }
        if (p->batch_rc != RPCHOST_CLIENT_OK && !p->batch_filled) {
            for (i = 0; i < b->nres; i++)
                env_fail(&b->res[i], p->batch_rc, "%s",
                         p->res.message != NULL
                             ? p->res.message
                             : rpchost_client_strerror(p->batch_rc));
        }
        b->busy = 0;
        if (p->bcb != NULL)
            p->bcb(b, p->batch_rc, p->arg);
    } else if (p->cb != NULL) {
        p->cb(&p->res, p->arg);
    }
    rpchost_client_result_clear(&p->res);
    free(p);
}

/* The outcome is known: deliver from our own event, not from evhttp. */
static void
complete(struct pending *p)
{
    p->answered = 1;
    event_del(p->timer);
    event_active(p->timer, EV_TIMEOUT, 1);
}

static void
set_transport_error(struct pending *p, int rc, const char *text)
{
    env_fail(&p->res, rc, "%s", text);
    if (p->kind == KIND_BATCH)
        p->batch_rc = rc;
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pending *p = arg;
    char text[128];

    (void)fd;
    (void)what;
    if (!p->answered) {
        /* The deadline passed. */
        p->cancelled = 1;
        if (p->req != NULL) {
            struct evhttp_request *req = p->req;

            p->req = NULL;
            p->conn->inflight--;
            evhttp_cancel_request(req);
            conn_kick(p->conn); /* evhttp reconnects for queued calls */
        }
        snprintf(text, sizeof(text), "no answer within %d ms", p->timeout_ms);
        set_transport_error(p, RPCHOST_CLIENT_ETIMEOUT, text);
    }
    deliver(p);
}

/* Connect a unix connection that evhttp waits for (see the file comment).
 * When the socket cannot be reached, end the calls queued on it. */
static void
unix_connect_cb(evutil_socket_t unused, short what, void *arg)
{
    struct conn *conn = arg;
    rpchost_client *c = conn->c;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(conn->evcon);
    struct sockaddr_un sun;
    struct pending *p;
    evutil_socket_t fd;
    char text[300];
    int err;

    (void)unused;
    (void)what;
    if (!unix_waiting(bev)) {
        unix_flush(c); /* lookups that evhttp cancelled */
        return;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, c->unix_path, strlen(c->unix_path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || evutil_make_socket_nonblocking(fd) != 0 ||
        evutil_make_socket_closeonexec(fd) != 0 ||
        connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
        err = errno;
        if (fd >= 0)
            evutil_closesocket(fd);
    } else if (bufferevent_setfd(bev, fd) != 0) {
        err = errno;
        evutil_closesocket(fd);
    } else {
        unix_flush(c); /* the cancelled lookup resumes the bufferevent */
        if (bufferevent_socket_connect(bev, NULL, 0) == 0)
            return;  /* connected: evhttp's callback runs from the loop */
        err = errno; /* the bufferevent has fd: evhttp's reset closes it */
    }
    snprintf(text, sizeof(text), "cannot connect to unix socket %s: %s",
             c->unix_path, strerror(err));
    /* Newest first: the call evhttp works on (the oldest) goes last, so
     * that evhttp does not connect again for the others. */
    for (p = c->pending; p != NULL; p = p->next) {
        struct evhttp_request *req = p->req;

        if (p->conn != conn || req == NULL)
            continue;
        p->req = NULL;
        p->cancelled = 1;
        conn->inflight--;
        set_transport_error(p, RPCHOST_CLIENT_ECONNECT, text);
        evhttp_cancel_request(req);
        complete(p);
    }
    unix_flush(c);
}

static void
error_cb(enum evhttp_request_error err, void *arg)
{
    struct pending *p = arg;

    if (p->cancelled)
        return;
    p->have_err = 1;
    p->err = err;
    p->err_errno = errno;
}

/* A request failed before an HTTP answer arrived. */
static void
failed(struct pending *p)
{
    rpchost_client *c = p->c;
    char text[400], where[300];
    int rc = RPCHOST_CLIENT_ECONNECT;
    const char *why = NULL;

    if (p->have_err) {
        switch (p->err) {
        case EVREQ_HTTP_TIMEOUT:
            rc = RPCHOST_CLIENT_ETIMEOUT;
            why = "the connection timed out";
            break;
        case EVREQ_HTTP_INVALID_HEADER:
            rc = RPCHOST_CLIENT_EHTTP;
            why = "malformed HTTP answer";
            break;
        case EVREQ_HTTP_DATA_TOO_LONG:
            rc = RPCHOST_CLIENT_EHTTP;
            why = "HTTP answer too large";
            break;
        case EVREQ_HTTP_EOF:
            why = "connection closed before a complete answer";
            break;
        default:
            why = "connection failed";
            break;
        }
    }
    if (c->unix_path != NULL)
        snprintf(where, sizeof(where), "unix socket %s", c->unix_path);
    else
        snprintf(where, sizeof(where), "%s:%d", c->host, c->port);
    if (why == NULL && c->unix_path != NULL) {
        /* unix_connect_cb() reports its own failures. */
        snprintf(text, sizeof(text), "cannot connect to %s", where);
    } else if (why == NULL) {
        /* evhttp reports no error for a refused connect (nor for a name
         * that does not resolve), and errno is gone by now. */
        struct evutil_addrinfo hints, *ai = NULL;
        int gai;

        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        gai = evutil_getaddrinfo(c->host, NULL, &hints, &ai);
        if (ai != NULL)
            evutil_freeaddrinfo(ai);
        if (gai != 0)
            snprintf(text, sizeof(text), "cannot resolve host '%s': %s",
                     c->host, evutil_gai_strerror(gai));
        else
            snprintf(text, sizeof(text),
                     "cannot connect to %s:%d: connection refused",
                     c->host_header[0] == '[' ? c->host_header : c->host,
                     c->port);
    } else
        snprintf(text, sizeof(text), "%s (%s)%s%s", why, where,
                 p->err_errno && rc == RPCHOST_CLIENT_ECONNECT ? ": " : "",
                 p->err_errno && rc == RPCHOST_CLIENT_ECONNECT
                     ? strerror(p->err_errno)
                     : "");
    set_transport_error(p, rc, text);
}

/* Name the HTTP status with its reason in EHTTP outcomes. */
static void
http_reason(rpchost_client_result *res, size_t n, struct evhttp_request *req)
{
    const char *line = evhttp_request_get_response_code_line(req);
    int status = evhttp_request_get_response_code(req);
    size_t i;

    for (i = 0; i < n; i++)
        if (res[i].rc == RPCHOST_CLIENT_EHTTP)
            env_fail(&res[i], RPCHOST_CLIENT_EHTTP, "HTTP %d %s", status,
                     line != NULL ? line : "");
}

static void
http_cb(struct evhttp_request *req, void *arg)
{
    struct pending *p = arg;
    struct evbuffer *in;
    const char *body = NULL;
    size_t len = 0;
    int status = req != NULL ? evhttp_request_get_response_code(req) : 0;

    if (p->cancelled)
        return;
    p->req = NULL;
    p->conn->inflight--;
    conn_kick(p->conn); /* evhttp may have reconnected for queued calls */
    if (status == 0) {
        if (!p->have_err)
            p->err_errno = errno;
        failed(p);
        complete(p);
        return;
    }
    in = evhttp_request_get_input_buffer(req);
    len = evbuffer_get_length(in);
    if (len > 0)
        body = (const char *)evbuffer_pullup(in, -1);
    if (p->c->trace != NULL)
        p->c->trace(RPCHOST_CLIENT_TRACE_IN, body != NULL ? body : "", len,
                    status, evhttp_request_get_response_code_line(req),
                    p->c->trace_arg);
    p->res.http_status = status;
    switch (p->kind) {
    case KIND_CALL:
        env_single_answer(&p->res, status, body, len);
        break;
    case KIND_NOTIFY:
        if (status >= 200 && status <= 299)
            p->res.rc = RPCHOST_CLIENT_OK;
        else
            env_fail(&p->res, RPCHOST_CLIENT_EHTTP, "HTTP status %d", status);
        break;
    case KIND_BATCH:
        p->batch_rc =
            env_batch_answer(p->batch->res, p->batch->nres, status, body, len);
        p->batch_filled = 1;
        http_reason(p->batch->res, p->batch->nres, req);
        if (p->batch_rc != RPCHOST_CLIENT_OK)
            env_fail(&p->res, p->batch_rc, "%s",
                     p->batch->nres > 0 && p->batch->res[0].message != NULL
                         ? p->batch->res[0].message
                         : "HTTP error");
        break;
    }
    http_reason(&p->res, 1, req);
    complete(p);
}

static int
effective_timeout(const rpchost_client *c, const rpchost_client_opts *opts)
{
    if (opts != NULL && opts->timeout_ms != 0)
        return opts->timeout_ms;
    return c->timeout_ms;
}

/* Send `body` (taken, malloc'd) for pending p on pool; on success p is on
 * the client's list and will be delivered exactly once. */
static int
start(rpchost_client *c, struct pool *pool, size_t max, struct pending *p,
      char *body)
{
    struct evhttp_request *req;
    struct evkeyvalq *h;
    size_t i, len = strlen(body);
    int rc = RPCHOST_CLIENT_ENOMEM;

    p->c = c;
    p->timer = evtimer_new(pool->base, timer_cb, p);
    if (p->timer == NULL)
        goto err;
    p->conn = pick_conn(c, pool, max);
    if (p->conn == NULL) {
        rc = RPCHOST_CLIENT_ECONNECT;
        goto err;
    }
    req = evhttp_request_new(http_cb, p);
    if (req == NULL)
        goto err;
    evhttp_request_set_error_cb(req, error_cb);
    h = evhttp_request_get_output_headers(req);
    for (i = 0; i < c->nheaders; i++)
        evhttp_add_header(h, c->headers[i].name, c->headers[i].value);
    if (evhttp_find_header(h, "Host") == NULL)
        evhttp_add_header(h, "Host", c->host_header);
    if (evhttp_find_header(h, "Content-Type") == NULL)
        evhttp_add_header(h, "Content-Type", "application/json");
    if (evhttp_find_header(h, "Accept") == NULL)
        evhttp_add_header(h, "Accept", "application/json");
    if (evbuffer_add(evhttp_request_get_output_buffer(req), body, len) != 0) {
        evhttp_request_free(req);
        goto err;
    }
    if (c->trace != NULL)
        c->trace(RPCHOST_CLIENT_TRACE_OUT, body, len, 0, NULL, c->trace_arg);
    free(body);
    body = NULL;
    /* Link first: evhttp may call back from inside make_request. */
    p->next = c->pending;
    if (c->pending != NULL)
        c->pending->prev = p;
    c->pending = p;
    p->req = req;
    p->conn->inflight++;
    if (evhttp_make_request(p->conn->evcon, req, EVHTTP_REQ_POST, c->path) !=
        0) {
        /* evhttp has dropped the request (libevent 2.1 frees it in some
         * paths and not in others; never touch it again). */
        if (!p->answered) {
            unlink_pending(p);
            p->req = NULL;
            p->conn->inflight--;
            rc = RPCHOST_CLIENT_ECONNECT;
            goto err;
        }
        return RPCHOST_CLIENT_OK;
    }
    conn_kick(p->conn); /* a unix connection may have to connect */
    if (!p->answered && p->timeout_ms > 0) {
        struct timeval tv = {p->timeout_ms / 1000,
                             (p->timeout_ms % 1000) * 1000};

        evtimer_add(p->timer, &tv);
    }
    return RPCHOST_CLIENT_OK;
err:
    free(body);
    if (p->timer != NULL)
        event_free(p->timer);
    p->timer = NULL;
    return rc;
}

/* Print a request to a malloc'd string; deletes `req`. */
static char *
print_request(cJSON *req)
{
    char *text = req != NULL ? cJSON_PrintUnformatted(req) : NULL;

    cJSON_Delete(req);
    return text;
}

/* Make a pending for a single call or notification; NULL on failure with
 * *rc set (params are freed in every case). */
static struct pending *
new_single(rpchost_client *c, enum kind kind, const char *method, cJSON *params,
           const rpchost_client_opts *opts, char **body, int *rc)
{
    struct pending *p;
    cJSON *id = NULL;

    *body = NULL;
    *rc = RPCHOST_CLIENT_EINVAL;
    if (c == NULL || env_check_method(method) != 0 ||
        env_check_params(params) != 0 ||
        (kind == KIND_CALL && opts != NULL && opts->id != NULL &&
         env_check_id(opts->id) != 0)) {
        cJSON_Delete(params);
        return NULL;
    }
    *rc = RPCHOST_CLIENT_ENOMEM;
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        cJSON_Delete(params);
        return NULL;
    }
    p->kind = kind;
    p->timeout_ms = effective_timeout(c, opts);
    if (kind == KIND_CALL) {
        if (opts != NULL && opts->id != NULL)
            id = cJSON_Duplicate(opts->id, 1);
        else
            id = cJSON_CreateNumber((double)c->next_id++);
        if (id == NULL) {
            cJSON_Delete(params);
            free(p);
            return NULL;
        }
        p->res.id = id;
    }
    *body = print_request(env_request(method, params, id));
    if (*body == NULL) {
        rpchost_client_result_clear(&p->res);
        free(p);
        return NULL;
    }
    *rc = RPCHOST_CLIENT_OK;
    return p;
}

static int
single_async(rpchost_client *c, enum kind kind, const char *method,
             cJSON *params, const rpchost_client_opts *opts,
             rpchost_client_cb cb, void *arg)
{
    struct pending *p;
    char *body;
    int rc;

    if (c == NULL || c->async.base == NULL) {
        cJSON_Delete(params);
        return c == NULL ? RPCHOST_CLIENT_EINVAL : RPCHOST_CLIENT_ESTATE;
    }
    p = new_single(c, kind, method, params, opts, &body, &rc);
    if (p == NULL)
        return rc;
    p->cb = cb;
    p->arg = arg;
    rc = start(c, &c->async, c->max_conns, p, body);
    if (rc != RPCHOST_CLIENT_OK) {
        rpchost_client_result_clear(&p->res);
        free(p);
    }
    return rc;
}

RPCHOST_CLIENT_API int
rpchost_client_call_async(rpchost_client *c, const char *method, cJSON *params,
                          const rpchost_client_opts *opts, rpchost_client_cb cb,
                          void *arg)
{
    if (cb == NULL) {
        cJSON_Delete(params);
        return RPCHOST_CLIENT_EINVAL;
    }
    return single_async(c, KIND_CALL, method, params, opts, cb, arg);
}

RPCHOST_CLIENT_API int
rpchost_client_notify_async(rpchost_client *c, const char *method,
                            cJSON *params, const rpchost_client_opts *opts,
                            rpchost_client_cb cb, void *arg)
{
    return single_async(c, KIND_NOTIFY, method, params, opts, cb, arg);
}

/* ---- Blocking calls: the async machinery on the private base ---- */

struct wait {
    int done;
    rpchost_client_result *out;
    int rc;
};

static void
wait_cb(rpchost_client_result *res, void *arg)
{
    struct wait *w = arg;

    w->done = 1;
    w->rc = res->rc;
    if (w->out != NULL) {
        *w->out = *res;
        memset(res, 0, sizeof(*res));
    }
}

static void
wait_batch_cb(rpchost_client_batch *b, int rc, void *arg)
{
    struct wait *w = arg;

    (void)b;
    w->done = 1;
    w->rc = rc;
}

static int
sync_base(rpchost_client *c)
{
    if (c->sync.base == NULL)
        c->sync.base = event_base_new();
    return c->sync.base != NULL ? RPCHOST_CLIENT_OK : RPCHOST_CLIENT_ENOMEM;
}

/* Loop the private base until w is done. */
static void
run_until(rpchost_client *c, struct wait *w)
{
    while (!w->done) {
        if (event_base_loop(c->sync.base, EVLOOP_ONCE) != 0)
            break; /* cannot happen while a pending holds its events */
    }
}

static int
single_sync(rpchost_client *c, enum kind kind, const char *method,
            cJSON *params, const rpchost_client_opts *opts,
            rpchost_client_result *res)
{
    struct wait w = {0, res, 0};
    struct pending *p;
    char *body;
    int rc;

    if (res != NULL)
        rpchost_client_result_clear(res);
    if (c == NULL) {
        cJSON_Delete(params);
        rc = RPCHOST_CLIENT_EINVAL;
        goto fail;
    }
    rc = sync_base(c);
    if (rc != RPCHOST_CLIENT_OK) {
        cJSON_Delete(params);
        goto fail;
    }
    p = new_single(c, kind, method, params, opts, &body, &rc);
    if (p == NULL)
        goto fail;
    p->cb = wait_cb;
    p->arg = &w;
    rc = start(c, &c->sync, 1, p, body);
    if (rc != RPCHOST_CLIENT_OK) {
        rpchost_client_result_clear(&p->res);
        free(p);
        goto fail;
    }
    run_until(c, &w);
    if (!w.done) {
        rc = RPCHOST_CLIENT_ESTATE;
        goto fail;
    }
    return w.rc;
fail:
    if (res != NULL)
        env_fail(res, rc, "%s", rpchost_client_strerror(rc));
    return rc;
}

RPCHOST_CLIENT_API int
rpchost_client_call(rpchost_client *c, const char *method, cJSON *params,
                    const rpchost_client_opts *opts, rpchost_client_result *res)
{
    if (res == NULL) {
        cJSON_Delete(params);
        return RPCHOST_CLIENT_EINVAL;
    }
    return single_sync(c, KIND_CALL, method, params, opts, res);
}

RPCHOST_CLIENT_API int
rpchost_client_notify(rpchost_client *c, const char *method, cJSON *params,
                      const rpchost_client_opts *opts,
                      rpchost_client_result *res)
{
    rpchost_client_result own = {0};
    int rc = single_sync(c, KIND_NOTIFY, method, params, opts,
                         res != NULL ? res : &own);

    rpchost_client_result_clear(&own);
    return rc;
}

/* ---- Batches ---- */

RPCHOST_CLIENT_API rpchost_client_batch *
rpchost_client_batch_new(void)
{
    return calloc(1, sizeof(rpchost_client_batch));
}

RPCHOST_CLIENT_API void
rpchost_client_batch_free(rpchost_client_batch *b)
{
    size_t i;

    if (b == NULL)
        return;
    for (i = 0; i < b->n; i++) {
        free(b->entries[i].method);
        cJSON_Delete(b->entries[i].params);
        cJSON_Delete(b->entries[i].id);
    }
    for (i = 0; i < b->nres; i++)
        rpchost_client_result_clear(&b->res[i]);
    free(b->error);
    free(b->entries);
    free(b->res);
    free(b);
}

static int
batch_push(rpchost_client_batch *b, const char *method, cJSON *params,
           const cJSON *id, int call)
{
    struct env_entry *e;
    size_t i;

    if (b == NULL || b->busy || env_check_method(method) != 0 ||
        env_check_params(params) != 0 ||
        (id != NULL && env_check_id(id) != 0) || b->n >= INT_MAX / 2)
        goto inval;
    if (id != NULL)
        for (i = 0; i < b->n; i++)
            if (b->entries[i].id != NULL &&
                cJSON_Compare(b->entries[i].id, id, 1))
                goto inval;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        struct env_entry *ne = realloc(b->entries, cap * sizeof(*ne));

        if (ne == NULL)
            goto nomem;
        b->entries = ne;
        b->cap = cap;
    }
    if (call && b->nres == b->rescap) {
        size_t cap = b->rescap ? b->rescap * 2 : 8;
        rpchost_client_result *nr = realloc(b->res, cap * sizeof(*nr));

        if (nr == NULL)
            goto nomem;
        b->res = nr;
        b->rescap = cap;
    }
    e = &b->entries[b->n];
    memset(e, 0, sizeof(*e));
    e->method = strdup(method);
    e->id = id != NULL ? cJSON_Duplicate(id, 1) : NULL;
    if (e->method == NULL || (id != NULL && e->id == NULL)) {
        free(e->method);
        cJSON_Delete(e->id);
        goto nomem;
    }
    e->params = params;
    e->slot = call ? (int)b->nres : -1;
    b->n++;
    if (call)
        memset(&b->res[b->nres++], 0, sizeof(*b->res));
    return call ? e->slot : RPCHOST_CLIENT_OK;
inval:
    cJSON_Delete(params);
    return RPCHOST_CLIENT_EINVAL;
nomem:
    cJSON_Delete(params);
    return RPCHOST_CLIENT_ENOMEM;
}

RPCHOST_CLIENT_API int
rpchost_client_batch_add(rpchost_client_batch *b, const char *method,
                         cJSON *params, const cJSON *id)
{
    return batch_push(b, method, params, id, 1);
}

RPCHOST_CLIENT_API int
rpchost_client_batch_notify(rpchost_client_batch *b, const char *method,
                            cJSON *params)
{
    return batch_push(b, method, params, NULL, 0);
}

RPCHOST_CLIENT_API size_t
rpchost_client_batch_count(const rpchost_client_batch *b)
{
    return b != NULL ? b->nres : 0;
}

RPCHOST_CLIENT_API const char *
rpchost_client_batch_error(const rpchost_client_batch *b)
{
    return b != NULL ? b->error : NULL;
}

RPCHOST_CLIENT_API rpchost_client_result *
rpchost_client_batch_result(rpchost_client_batch *b, size_t index)
{
    if (b == NULL || index >= b->nres)
        return NULL;
    return &b->res[index];
}

/* The next automatic id not used explicitly in the batch. */
static cJSON *
auto_id(rpchost_client *c, const rpchost_client_batch *b)
{
    cJSON *id;
    size_t i;

    for (;;) {
        id = cJSON_CreateNumber((double)c->next_id++);
        if (id == NULL)
            return NULL;
        for (i = 0; i < b->n; i++)
            if (b->entries[i].id != NULL &&
                cJSON_Compare(b->entries[i].id, id, 1))
                break;
        if (i == b->n)
            return id;
        cJSON_Delete(id);
    }
}

/* Reset the results, give each call its id and print the batch. */
static int
batch_body(rpchost_client *c, rpchost_client_batch *b, char **body)
{
    cJSON *arr, *req, *params;
    struct env_entry *e;
    rpchost_client_result *r;
    size_t i;

    *body = NULL;
    if (b->n == 0)
        return RPCHOST_CLIENT_EINVAL;
    for (i = 0; i < b->nres; i++)
        rpchost_client_result_clear(&b->res[i]);
    free(b->error);
    b->error = NULL;
    arr = cJSON_CreateArray();
    if (arr == NULL)
        return RPCHOST_CLIENT_ENOMEM;
    for (i = 0; i < b->n; i++) {
        e = &b->entries[i];
        r = e->slot >= 0 ? &b->res[e->slot] : NULL;
        if (r != NULL) {
            r->id = e->id != NULL ? cJSON_Duplicate(e->id, 1) : auto_id(c, b);
            if (r->id == NULL)
                goto nomem;
        }
        params = NULL;
        if (e->params != NULL) {
            params = cJSON_Duplicate(e->params, 1);
            if (params == NULL)
                goto nomem;
        }
        req = env_request(e->method, params, r != NULL ? r->id : NULL);
        if (req == NULL || !cJSON_AddItemToArray(arr, req)) {
            cJSON_Delete(req);
            goto nomem;
        }
    }
    *body = print_request(arr);
    return *body != NULL ? RPCHOST_CLIENT_OK : RPCHOST_CLIENT_ENOMEM;
nomem:
    cJSON_Delete(arr);
    return RPCHOST_CLIENT_ENOMEM;
}

static int
batch_start(rpchost_client *c, struct pool *pool, size_t max,
            rpchost_client_batch *b, const rpchost_client_opts *opts,
            rpchost_client_batch_cb cb, void *arg)
{
    struct pending *p;
    char *body;
    int rc;

    if (b->busy)
        return RPCHOST_CLIENT_ESTATE;
    rc = batch_body(c, b, &body);
    if (rc != RPCHOST_CLIENT_OK)
        return rc;
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        free(body);
        return RPCHOST_CLIENT_ENOMEM;
    }
    p->kind = KIND_BATCH;
    p->batch = b;
    p->bcb = cb;
    p->arg = arg;
    p->timeout_ms = effective_timeout(c, opts);
    b->busy = 1;
    rc = start(c, pool, max, p, body);
    if (rc != RPCHOST_CLIENT_OK) {
        b->busy = 0;
        free(p);
    }
    return rc;
}

RPCHOST_CLIENT_API int
rpchost_client_batch_send(rpchost_client *c, rpchost_client_batch *b,
                          const rpchost_client_opts *opts)
{
    struct wait w = {0, NULL, 0};
    size_t i;
    int rc;

    if (c == NULL || b == NULL)
        return RPCHOST_CLIENT_EINVAL;
    rc = sync_base(c);
    if (rc == RPCHOST_CLIENT_OK)
        rc = batch_start(c, &c->sync, 1, b, opts, wait_batch_cb, &w);
    if (rc == RPCHOST_CLIENT_OK) {
        run_until(c, &w);
        rc = w.done ? w.rc : RPCHOST_CLIENT_ESTATE;
    }
    if (rc != RPCHOST_CLIENT_OK && !w.done) {
        for (i = 0; i < b->nres; i++)
            env_fail(&b->res[i], rc, "%s", rpchost_client_strerror(rc));
        free(b->error);
        b->error = strdup(rpchost_client_strerror(rc));
    }
    return rc;
}

RPCHOST_CLIENT_API int
rpchost_client_batch_send_async(rpchost_client *c, rpchost_client_batch *b,
                                const rpchost_client_opts *opts,
                                rpchost_client_batch_cb cb, void *arg)
{
    if (c == NULL || b == NULL || cb == NULL)
        return RPCHOST_CLIENT_EINVAL;
    if (c->async.base == NULL)
        return RPCHOST_CLIENT_ESTATE;
    return batch_start(c, &c->async, c->max_conns, b, opts, cb, arg);
}
