/*
 * http.c - see http.h.
 */
#include "http.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "buf.h"
#include "dispatch.h"
#include "generation.h"
#include "jsonrpc.h"
#include "log.h"

struct worker {
    int index;
    int listen_fd;
    pthread_t thread;
    int started;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct generation *gen; /* this loop's current generation (a ref) */
    struct event *stop_ev;
    struct event *drain_ev;
    long long drain_deadline_ms; /* CLOCK_MONOTONIC */
    int stop_timeout_ms;
    long inflight; /* requests not yet fully answered; loop thread only */
    int draining;
};

/* One request being answered.  evhttp reads a connection's next request
 * only after the previous reply went out, so a connection has at most one
 * of these; its close callback points at it until the reply completes. */
struct req_ctx {
    struct worker *w;
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
};

static void
req_ctx_end(struct req_ctx *rc)
{
    rc->w->inflight--;
    if (rc->evcon != NULL)
        evhttp_connection_set_closecb(rc->evcon, NULL, NULL);
    free(rc);
}

/* The connection went away before the reply was written. */
static void
on_conn_close(struct evhttp_connection *evcon, void *arg)
{
    struct req_ctx *rc = arg;

    (void)evcon;
    rc->evcon = NULL;
    req_ctx_end(rc);
}

static void
free_body(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

static void
request_complete(struct evhttp_request *req, void *arg)
{
    (void)req;
    req_ctx_end(arg);
}

static void
send_json(struct worker *w, struct evhttp_request *req, int status,
          const char *reason, char *body, size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *out = NULL;

    if (w->draining)
        evhttp_add_header(h, "Connection", "close");
    if (body != NULL) {
        evhttp_add_header(h, "Content-Type", "application/json");
        out = evhttp_request_get_output_buffer(req);
        if (evbuffer_add_reference(out, body, len, free_body, NULL) != 0) {
            free(body);
            evhttp_send_error(req, 500, "Internal Server Error");
            return;
        }
    }
    evhttp_send_reply(req, status, reason, out);
}

/* An HTTP-level refusal, with a JSON-RPC error object as its body so that
 * clients which always parse JSON get a readable reason. */
static void
send_http_error(struct worker *w, struct evhttp_request *req, int status,
                const char *reason, const char *detail)
{
    struct buf b = BUF_INIT;
    char *body;
    size_t len = 0;

    rpc_write_error_detail(&b, NULL, 0, RPCHOST_INVALID_REQUEST, detail);
    body = buf_take(&b, &len);
    if (body == NULL) {
        evhttp_send_error(req, status, reason);
        return;
    }
    send_json(w, req, status, reason, body, len);
}

static void
on_dispatched(void *arg, int status, char *body, size_t len)
{
    struct req_ctx *rc = arg;

    switch (status) {
    case 200:
        send_json(rc->w, rc->req, 200, "OK", body, len);
        break;
    case 204:
        free(body);
        send_json(rc->w, rc->req, 204, "No Content", NULL, 0);
        break;
    default:
        free(body);
        evhttp_send_error(rc->req, 500, "Internal Server Error");
        break;
    }
}

static void
on_request(struct evhttp_request *req, void *arg)
{
    struct worker *w = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    struct evbuffer *in;
    struct req_ctx *rc;
    size_t len;
    const char *data;

    rc = malloc(sizeof(*rc));
    if (rc == NULL) {
        evhttp_send_error(req, 503, "Service Unavailable");
        return;
    }
    rc->w = w;
    rc->req = req;
    rc->evcon = evhttp_request_get_connection(req);
    w->inflight++;
    evhttp_request_set_on_complete_cb(req, request_complete, rc);
    if (rc->evcon != NULL)
        evhttp_connection_set_closecb(rc->evcon, on_conn_close, rc);
    if (path == NULL || path[0] == '\0')
        path = "/";
    if (strcmp(path, w->gen->cfg->endpoint) != 0) {
        send_http_error(w, req, 404, "Not Found",
                        "HTTP 404: no JSON-RPC endpoint at this path");
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          "POST");
        send_http_error(w, req, 405, "Method Not Allowed",
                        "HTTP 405: JSON-RPC requests must use POST");
        return;
    }
    in = evhttp_request_get_input_buffer(req);
    len = evbuffer_get_length(in);
    data = len ? (const char *)evbuffer_pullup(in, -1) : "";
    if (data == NULL) {
        evhttp_send_error(req, 500, "Internal Server Error");
        return;
    }
    dispatch_body(w->gen, data, len, on_dispatched, rc);
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    struct timeval tick = {0, 20000};

    (void)fd;
    (void)what;
    if (w->inflight <= 0) {
        event_base_loopexit(w->base, NULL);
        return;
    }
    if (now_ms() >= w->drain_deadline_ms) {
        log_warn("loop %d: shutdown timeout with %ld request(s) unfinished",
                 w->index, w->inflight);
        event_base_loopexit(w->base, NULL);
        return;
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
    }
    w->drain_deadline_ms = now_ms() + w->stop_timeout_ms;
    on_drain_tick(-1, 0, w);
}

struct worker *
worker_new(int index, int listen_fd, struct generation *gen)
{
    const struct config *cfg = gen->cfg;
    struct worker *w = calloc(1, sizeof(*w));
    struct evconnlistener *lev;
    struct timeval tv;

    if (w == NULL) {
        log_error("loop %d: out of memory", index);
        return NULL;
    }
    w->index = index;
    w->listen_fd = listen_fd;
    w->base = event_base_new();
    if (w->base == NULL)
        goto fail;
    w->http = evhttp_new(w->base);
    w->stop_ev = event_new(w->base, -1, 0, on_stop, w);
    w->drain_ev = evtimer_new(w->base, on_drain_tick, w);
    if (w->http == NULL || w->stop_ev == NULL || w->drain_ev == NULL)
        goto fail;
    /* Not LEV_OPT_CLOSE_ON_FREE: the socket is shared by all loops. */
    lev = evconnlistener_new(w->base, NULL, NULL, LEV_OPT_CLOSE_ON_EXEC, -1,
                             listen_fd);
    if (lev == NULL)
        goto fail;
    w->bound = evhttp_bind_listener(w->http, lev);
    if (w->bound == NULL) {
        evconnlistener_free(lev);
        goto fail;
    }
    evhttp_set_gencb(w->http, on_request, w);
    evhttp_set_allowed_methods(
        w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                     EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                     EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(w->http, (ev_ssize_t)cfg->max_body_size);
    evhttp_set_max_headers_size(w->http, (ev_ssize_t)cfg->max_header_size);
    tv.tv_sec = cfg->timeout_ms / 1000;
    tv.tv_usec = (cfg->timeout_ms % 1000) * 1000;
    evhttp_set_timeout_tv(w->http, &tv);
    generation_ref(gen);
    w->gen = gen;
    return w;
fail:
    log_error("loop %d: cannot set up the event loop", index);
    worker_join_free(w);
    return NULL;
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;

    log_debug("loop %d running", w->index);
    event_base_dispatch(w->base);
    log_debug("loop %d done", w->index);
    return NULL;
}

int
worker_start(struct worker *w)
{
    int rc = pthread_create(&w->thread, NULL, worker_main, w);

    if (rc != 0) {
        log_error("loop %d: cannot start thread: %s", w->index, strerror(rc));
        return -1;
    }
    w->started = 1;
    return 0;
}

void
worker_stop(struct worker *w, int timeout_ms)
{
    w->stop_timeout_ms = timeout_ms;
    event_active(w->stop_ev, EV_READ, 0);
}

void
worker_join_free(struct worker *w)
{
    if (w == NULL)
        return;
    if (w->started)
        pthread_join(w->thread, NULL);
    if (w->http != NULL)
        evhttp_free(w->http);
    if (w->stop_ev != NULL)
        event_free(w->stop_ev);
    if (w->drain_ev != NULL)
        event_free(w->drain_ev);
    if (w->base != NULL)
        event_base_free(w->base);
    generation_unref(w->gen);
    free(w);
}
