/* SPDX-License-Identifier: MIT */
/*
 * client_check.c - drives the client library against a running server:
 *
 *   client_check [--unix-socket PATH] URL SCENARIO [N [PAUSE_MS]]
 *
 * Scenarios (against rpchost serving conf/examples.ini's plugins unless
 * noted): sync, async N, timeout, cancel, refused (URL: a closed port, or
 * PATH: no socket), keepalive N, reconnect N PAUSE_MS and pool N (any
 * server answering "ping"; the caller counts the connections).  With
 * --unix-socket the clients connect to PATH (rpchost_client_set_unix_socket).
 * Exits 0 when every check passed; each failed check prints one line on
 * stderr and the exit status is 1.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <rpchost/client.h>

static int failures;
static const char *unix_socket; /* --unix-socket */

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__,   \
                    #cond);                                                    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputs("\n", stderr);                                               \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
msg(const rpchost_client_result *r)
{
    return r->message != NULL ? r->message : "(null)";
}

/* rpchost_client_new(), on --unix-socket's path when given. */
static int
new_client(rpchost_client **c, const char *url, struct event_base *base)
{
    int rc = rpchost_client_new(c, url, base);

    if (rc == 0 && unix_socket != NULL) {
        rc = rpchost_client_set_unix_socket(*c, unix_socket);
        if (rc != 0) {
            rpchost_client_free(*c);
            *c = NULL;
        }
    }
    return rc;
}

static void
pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static cJSON *
ints(int a, int b)
{
    int v[2] = {a, b};

    return cJSON_CreateIntArray(v, 2);
}

/* ---- sync: every blocking call shape ---- */

static void
check_sync(const char *url)
{
    rpchost_client *c = NULL;
    rpchost_client_result r = {0};
    rpchost_client_opts o = {0};
    rpchost_client_batch *b;
    rpchost_client_result *br;
    cJSON *params, *id, *taken;
    int rc, i0, i1, i2, i3;

    CHECK(rpchost_client_new(&c, "ftp://x/", NULL) == RPCHOST_CLIENT_EINVAL,
          "ftp URL accepted");
    CHECK(rpchost_client_new(&c, "not a url", NULL) == RPCHOST_CLIENT_EINVAL,
          "bad URL accepted");
    CHECK(c == NULL, "out set on failure");
    rc = rpchost_client_new(&c, url, NULL);
    CHECK(rc == 0, "new: %d", rc);
    if (rc != 0)
        return;

    rc = rpchost_client_call(c, "ping", NULL, NULL, &r);
    CHECK(rc == RPCHOST_CLIENT_OK, "ping: %d %s", rc, msg(&r));
    CHECK(cJSON_IsString(r.result) &&
              strcmp(r.result->valuestring, "pong") == 0,
          "ping result");
    CHECK(r.http_status == 200, "status %d", r.http_status);
    CHECK(cJSON_IsNumber(r.id) && r.id->valuedouble == 1.0, "first id 1");
    /* Take the result out: the caller owns it, clear leaves it alone. */
    taken = r.result;
    r.result = NULL;
    rpchost_client_result_clear(&r);
    cJSON_Delete(taken);

    rc = rpchost_client_call(c, "subtract", ints(42, 23), NULL, &r);
    CHECK(rc == 0 && cJSON_IsNumber(r.result) && r.result->valuedouble == 19,
          "subtract positional: %d %s", rc, msg(&r));
    CHECK(cJSON_IsNumber(r.id) && r.id->valuedouble == 2.0, "second id 2");
    rpchost_client_result_clear(&r);

    params = cJSON_CreateObject();
    cJSON_AddNumberToObject(params, "subtrahend", 23);
    cJSON_AddNumberToObject(params, "minuend", 42);
    rc = rpchost_client_call(c, "subtract", params, NULL, &r);
    CHECK(rc == 0 && r.result->valuedouble == 19, "subtract named: %d %s", rc,
          msg(&r));
    rpchost_client_result_clear(&r);

    /* Explicit string id, echoed. */
    id = cJSON_CreateString("req-\xc3\xa9-1");
    o.id = id;
    rc = rpchost_client_call(c, "echo", cJSON_Parse("{\"a\":[1,{\"b\":null}]}"),
                             &o, &r);
    CHECK(rc == 0 && cJSON_IsObject(r.result), "echo: %d %s", rc, msg(&r));
    CHECK(cJSON_Compare(r.id, id, 1), "string id echoed");
    rpchost_client_result_clear(&r);
    cJSON_Delete(id);
    o.id = NULL;

    /* JSON-RPC errors: not transport errors. */
    rc = rpchost_client_call(c, "no.such.method", NULL, NULL, &r);
    CHECK(rc == RPCHOST_CLIENT_ERPC && r.rc == rc, "unknown method: %d", rc);
    CHECK(!RPCHOST_CLIENT_IS_TRANSPORT(rc), "ERPC is not transport");
    CHECK(r.code == -32601 && strcmp(msg(&r), "Method not found") == 0,
          "-32601: %d %s", r.code, msg(&r));
    CHECK(r.result == NULL, "no result with an error");
    rpchost_client_result_clear(&r);

    rc = rpchost_client_call(c, "subtract", cJSON_Parse("[1,\"x\"]"), NULL, &r);
    CHECK(rc == RPCHOST_CLIENT_ERPC && r.code == -32602, "invalid params");
    CHECK(cJSON_IsString(r.data) && strstr(r.data->valuestring, "subtrahend"),
          "data names the param");
    rpchost_client_result_clear(&r);

    rc = rpchost_client_call(c, "divide", ints(1, 0), NULL, &r);
    CHECK(rc == RPCHOST_CLIENT_ERPC && r.code == 1 &&
              strcmp(msg(&r), "Division by zero") == 0,
          "custom error: %d %d %s", rc, r.code, msg(&r));
    rpchost_client_result_clear(&r);

    /* Bad arguments are refused before anything is sent (params freed). */
    rc = rpchost_client_call(c, "echo", cJSON_CreateString("x"), NULL, &r);
    CHECK(rc == RPCHOST_CLIENT_EINVAL, "string params: %d", rc);
    rpchost_client_result_clear(&r);
    rc = rpchost_client_call(c, "", NULL, NULL, &r);
    CHECK(rc == RPCHOST_CLIENT_EINVAL, "empty method: %d", rc);
    rpchost_client_result_clear(&r);
    id = cJSON_CreateObject();
    o.id = id;
    rc = rpchost_client_call(c, "ping", NULL, &o, &r);
    CHECK(rc == RPCHOST_CLIENT_EINVAL, "object id: %d", rc);
    rpchost_client_result_clear(&r);
    cJSON_Delete(id);
    o.id = NULL;

    /* Notifications. */
    rc = rpchost_client_notify(c, "ping", NULL, NULL, &r);
    CHECK(rc == 0 && r.http_status == 204 && r.id == NULL, "notify: %d %d", rc,
          r.http_status);
    rpchost_client_result_clear(&r);
    rc = rpchost_client_notify(c, "subtract", ints(1, 2), NULL, NULL);
    CHECK(rc == 0, "notify without result: %d", rc);

    /* A batch: calls, a notification, an error, explicit and automatic
     * ids; answers matched by id. */
    b = rpchost_client_batch_new();
    id = cJSON_CreateNumber(1000);
    i0 = rpchost_client_batch_add(b, "subtract", ints(10, 4), NULL);
    i1 = rpchost_client_batch_add(b, "echo", cJSON_Parse("[\"e\"]"), id);
    CHECK(rpchost_client_batch_add(b, "ping", NULL, id) ==
              RPCHOST_CLIENT_EINVAL,
          "duplicate id refused");
    CHECK(rpchost_client_batch_notify(b, "ping", NULL) == 0, "batch notify");
    i2 = rpchost_client_batch_add(b, "nope", NULL, NULL);
    i3 = rpchost_client_batch_add(b, "sleep", ints(30, 0), NULL);
    cJSON_Delete(id);
    CHECK(i0 == 0 && i1 == 1 && i2 == 2 && i3 == 3, "indexes %d %d %d %d", i0,
          i1, i2, i3);
    CHECK(rpchost_client_batch_count(b) == 4, "count");
    /* sleep takes one param: [30, 0] is an invalid params error. */
    rc = rpchost_client_batch_send(c, b, NULL);
    CHECK(rc == 0, "batch send: %d", rc);
    br = rpchost_client_batch_result(b, 0);
    CHECK(br->rc == 0 && br->result->valuedouble == 6, "batch[0]: %d %s",
          br->rc, msg(br));
    br = rpchost_client_batch_result(b, 1);
    CHECK(br->rc == 0 && cJSON_IsArray(br->result) &&
              br->id->valuedouble == 1000,
          "batch[1]: %d %s", br->rc, msg(br));
    br = rpchost_client_batch_result(b, 2);
    CHECK(br->rc == RPCHOST_CLIENT_ERPC && br->code == -32601,
          "batch[2]: %d %d", br->rc, br->code);
    br = rpchost_client_batch_result(b, 3);
    CHECK(br->rc == RPCHOST_CLIENT_ERPC && br->code == -32602,
          "batch[3]: %d %d", br->rc, br->code);
    CHECK(rpchost_client_batch_result(b, 4) == NULL, "index 4");
    /* Sent again: fresh ids, same outcomes. */
    rc = rpchost_client_batch_send(c, b, NULL);
    br = rpchost_client_batch_result(b, 0);
    CHECK(rc == 0 && br->rc == 0 && br->result->valuedouble == 6,
          "batch resent");
    rpchost_client_batch_free(b);

    b = rpchost_client_batch_new();
    CHECK(rpchost_client_batch_send(c, b, NULL) == RPCHOST_CLIENT_EINVAL,
          "empty batch refused");
    rpchost_client_batch_notify(b, "ping", NULL);
    rpchost_client_batch_notify(b, "ping", NULL);
    rc = rpchost_client_batch_send(c, b, NULL);
    CHECK(rc == 0 && rpchost_client_batch_count(b) == 0,
          "notification-only batch: %d", rc);
    rpchost_client_batch_free(b);

    CHECK(rpchost_client_call_async(c, "ping", NULL, NULL, NULL, NULL) ==
              RPCHOST_CLIENT_EINVAL,
          "async without callback");
    CHECK(rpchost_client_notify_async(c, "ping", NULL, NULL, NULL, NULL) ==
              RPCHOST_CLIENT_ESTATE,
          "async without a base");
    /* A unix socket is set before the first connection only. */
    CHECK(rpchost_client_set_unix_socket(c, "/run/x.sock") ==
              RPCHOST_CLIENT_ESTATE,
          "unix socket after a call");
    rpchost_client_free(c);
    rc = rpchost_client_new(&c, url, NULL);
    CHECK(rc == 0, "new: %d", rc);
    CHECK(rpchost_client_set_unix_socket(c, "") == RPCHOST_CLIENT_EINVAL,
          "empty unix socket path");
    {
        char path[200];

        memset(path, 'x', sizeof(path) - 1);
        path[sizeof(path) - 1] = '\0';
        CHECK(rpchost_client_set_unix_socket(c, path) == RPCHOST_CLIENT_EINVAL,
              "unix socket path too long");
    }
    CHECK(rpchost_client_set_unix_socket(NULL, "/x") == RPCHOST_CLIENT_EINVAL,
          "NULL client");
    CHECK(rpchost_client_set_unix_socket(c, "/nonexistent/x.sock") == 0 &&
              rpchost_client_set_unix_socket(c, NULL) == 0,
          "set and unset a unix socket");
    rc = rpchost_client_call(c, "ping", NULL, NULL, &r);
    CHECK(rc == 0, "TCP again after unsetting: %d %s", rc, msg(&r));
    rpchost_client_result_clear(&r);
    rpchost_client_free(c);
}

/* ---- async: many calls in flight on one loop ---- */

struct many {
    int n, done, ok, max_inflight, inflight;
    int *seen;
    struct event_base *base;
};

struct one {
    struct many *m;
    int index;
    int expect; /* the result (sleep) or its first element (echo) */
};

static void
many_cb(rpchost_client_result *res, void *arg)
{
    struct one *o = arg;
    struct many *m = o->m;
    const cJSON *v = cJSON_IsArray(res->result)
                         ? cJSON_GetArrayItem(res->result, 0)
                         : res->result;

    m->done++;
    m->inflight--;
    if (res->rc == RPCHOST_CLIENT_OK && cJSON_IsNumber(v) &&
        (int)v->valuedouble == o->expect && !m->seen[o->index] &&
        cJSON_IsNumber(res->id)) {
        m->seen[o->index] = 1;
        m->ok++;
    } else {
        fprintf(stderr, "call %d: rc %d (%s)\n", o->index, res->rc, msg(res));
    }
    free(o);
}

struct batch_wait {
    int done, rc;
};

static void
batch_cb(rpchost_client_batch *b, int rc, void *arg)
{
    struct batch_wait *w = arg;

    (void)b;
    w->done = 1;
    w->rc = rc;
}

static void
count_cb(rpchost_client_result *res, void *arg)
{
    int *n = arg;

    if (res->rc == RPCHOST_CLIENT_OK)
        (*n)++;
    else
        fprintf(stderr, "notify: %d %s\n", res->rc, msg(res));
}

static void
check_async(const char *url, int n)
{
    struct event_base *base = event_base_new();
    rpchost_client *c = NULL;
    struct many m = {0};
    struct batch_wait w = {0, -100};
    rpchost_client_batch *b;
    rpchost_client_result *br;
    double t0;
    int i, rc, notified = 0;

    rc = new_client(&c, url, base);
    CHECK(rc == 0, "new: %d", rc);
    if (rc != 0)
        return;
    rpchost_client_set_max_connections(c, 8);
    m.n = n;
    m.seen = calloc((size_t)n, sizeof(int));
    m.base = base;
    t0 = now();
    for (i = 0; i < n; i++) {
        struct one *o = malloc(sizeof(*o));
        cJSON *params;

        o->m = &m;
        o->index = i;
        /* Every fourth call sleeps (deferred in the server, answered by
         * a timer), the others echo: answers come back out of order. */
        params = cJSON_CreateArray();
        if (i % 4 == 0) {
            o->expect = (i / 4) % 40;
            cJSON_AddItemToArray(params, cJSON_CreateNumber(o->expect));
            rc =
                rpchost_client_call_async(c, "sleep", params, NULL, many_cb, o);
        } else {
            o->expect = i;
            cJSON_AddItemToArray(params, cJSON_CreateNumber(i));
            rc = rpchost_client_call_async(c, "echo", params, NULL, many_cb, o);
        }
        CHECK(rc == 0, "start %d: %d", i, rc);
        if (rc != 0)
            free(o);
        else
            m.inflight++;
    }
    m.max_inflight = m.inflight;
    CHECK(m.done == 0, "no callback runs inside call_async");
    /* Notifications and a batch ride along. */
    for (i = 0; i < 10; i++)
        rpchost_client_notify_async(c, "ping", NULL, NULL, count_cb, &notified);
    b = rpchost_client_batch_new();
    rpchost_client_batch_add(b, "subtract", ints(5, 3), NULL);
    rpchost_client_batch_add(b, "sleep", cJSON_Parse("[50]"), NULL);
    rpchost_client_batch_notify(b, "ping", NULL);
    rc = rpchost_client_batch_send_async(c, b, NULL, batch_cb, &w);
    CHECK(rc == 0, "batch async: %d", rc);
    CHECK(rpchost_client_batch_send_async(c, b, NULL, batch_cb, &w) ==
              RPCHOST_CLIENT_ESTATE,
          "a batch in flight cannot be sent twice");

    while ((m.done < n || notified < 10 || !w.done) && now() - t0 < 60)
        event_base_loop(base, EVLOOP_ONCE);
    CHECK(m.max_inflight == n, "in flight at once: %d", m.max_inflight);
    CHECK(m.done == n && m.ok == n, "async calls: %d done, %d ok of %d", m.done,
          m.ok, n);
    CHECK(notified == 10, "notifications: %d", notified);
    CHECK(w.done && w.rc == 0, "batch: %d %d", w.done, w.rc);
    br = rpchost_client_batch_result(b, 0);
    CHECK(br != NULL && br->rc == 0 && br->result->valuedouble == 2,
          "async batch[0]");
    br = rpchost_client_batch_result(b, 1);
    CHECK(br != NULL && br->rc == 0 && br->result->valuedouble == 50,
          "async batch[1]");
    rpchost_client_batch_free(b);
    fprintf(stderr, "async: %d calls in %.3f s\n", n, now() - t0);
    free(m.seen);
    rpchost_client_free(c);
    event_base_free(base);
}

/* ---- timeout: against the deliberately slow sleep(ms) ---- */

struct res_wait {
    int done;
    rpchost_client_result res;
    double at;
};

static void
res_cb(rpchost_client_result *res, void *arg)
{
    struct res_wait *w = arg;

    w->done = 1;
    w->at = now();
    w->res = *res; /* take everything */
    memset(res, 0, sizeof(*res));
}

static void
check_timeout(const char *url)
{
    struct event_base *base = event_base_new();
    rpchost_client *c = NULL;
    rpchost_client_result r = {0};
    rpchost_client_opts o = {300, NULL};
    struct res_wait slow = {0}, fast = {0}, after = {0};
    rpchost_client_batch *b;
    double t0;
    int rc;

    rc = new_client(&c, url, base);
    CHECK(rc == 0, "new: %d", rc);
    if (rc != 0)
        return;

    /* Blocking: a per-call timeout. */
    t0 = now();
    rc = rpchost_client_call(c, "sleep", cJSON_Parse("[3000]"), &o, &r);
    CHECK(rc == RPCHOST_CLIENT_ETIMEOUT && RPCHOST_CLIENT_IS_TRANSPORT(rc),
          "sync timeout: %d %s", rc, msg(&r));
    CHECK(now() - t0 < 2.0, "sync timeout took %.3f s", now() - t0);
    CHECK(r.http_status == 0 && r.result == NULL, "nothing arrived");
    rpchost_client_result_clear(&r);
    /* The client still works (the connection was reset). */
    rc = rpchost_client_call(c, "sleep", cJSON_Parse("[10]"), &o, &r);
    CHECK(rc == 0 && r.result->valuedouble == 10, "after timeout: %d %s", rc,
          msg(&r));
    rpchost_client_result_clear(&r);
    /* The client's default timeout. */
    rpchost_client_set_timeout(c, 200);
    rc = rpchost_client_call(c, "sleep", cJSON_Parse("[3000]"), NULL, &r);
    CHECK(rc == RPCHOST_CLIENT_ETIMEOUT, "default timeout: %d", rc);
    rpchost_client_result_clear(&r);
    rpchost_client_set_timeout(c, 30000);
    /* A batch times out as a whole. */
    b = rpchost_client_batch_new();
    rpchost_client_batch_add(b, "sleep", cJSON_Parse("[3000]"), NULL);
    rpchost_client_batch_add(b, "ping", NULL, NULL);
    rc = rpchost_client_batch_send(c, b, &o);
    CHECK(rc == RPCHOST_CLIENT_ETIMEOUT, "batch timeout: %d", rc);
    CHECK(rpchost_client_batch_result(b, 1)->rc == RPCHOST_CLIENT_ETIMEOUT,
          "batch member timeout");
    CHECK(rpchost_client_batch_error(b) != NULL, "batch error text");
    rpchost_client_batch_free(b);

    /* Async: a slow call times out while a quick one on the same client
     * (one connection, queued behind it) still gets its answer. */
    rpchost_client_set_max_connections(c, 1);
    t0 = now();
    rc = rpchost_client_call_async(c, "sleep", cJSON_Parse("[3000]"), &o,
                                   res_cb, &slow);
    CHECK(rc == 0, "async slow: %d", rc);
    rc = rpchost_client_call_async(c, "ping", NULL, NULL, res_cb, &fast);
    CHECK(rc == 0, "async fast: %d", rc);
    while ((!slow.done || !fast.done) && now() - t0 < 10)
        event_base_loop(base, EVLOOP_ONCE);
    CHECK(slow.done && slow.res.rc == RPCHOST_CLIENT_ETIMEOUT,
          "async timeout: %d %s", slow.res.rc, msg(&slow.res));
    CHECK(slow.at - t0 < 2.0, "async timeout after %.3f s", slow.at - t0);
    CHECK(fast.done && fast.res.rc == 0, "queued call after a timeout: %d %s",
          fast.res.rc, msg(&fast.res));
    rpchost_client_result_clear(&slow.res);
    rpchost_client_result_clear(&fast.res);
    rc = rpchost_client_call_async(c, "ping", NULL, NULL, res_cb, &after);
    while (rc == 0 && !after.done && now() - t0 < 10)
        event_base_loop(base, EVLOOP_ONCE);
    CHECK(after.res.rc == 0, "async after timeout: %d", after.res.rc);
    rpchost_client_result_clear(&after.res);
    rpchost_client_free(c);
    event_base_free(base);
}

/* ---- cancel: freeing a client ends its calls ---- */

struct cancel_count {
    int cancelled, other;
};

static void
cancel_cb(rpchost_client_result *res, void *arg)
{
    struct cancel_count *n = arg;

    if (res->rc == RPCHOST_CLIENT_ECANCELED)
        n->cancelled++;
    else
        n->other++;
}

static void
cancel_batch_cb(rpchost_client_batch *b, int rc, void *arg)
{
    struct cancel_count *n = arg;

    if (rc == RPCHOST_CLIENT_ECANCELED &&
        rpchost_client_batch_result(b, 0)->rc == RPCHOST_CLIENT_ECANCELED)
        n->cancelled++;
    else
        n->other++;
    rpchost_client_batch_free(b);
}

/* Frees the client from inside its own callback. */
struct self_free {
    rpchost_client *c;
    int calls;
};

static void
self_free_cb(rpchost_client_result *res, void *arg)
{
    struct self_free *s = arg;

    s->calls++;
    if (res->rc == RPCHOST_CLIENT_OK && s->c != NULL) {
        rpchost_client *c = s->c;

        s->c = NULL;
        rpchost_client_free(c); /* ends the other pending call */
    }
}

static void
check_cancel(const char *url)
{
    struct event_base *base = event_base_new();
    rpchost_client *c = NULL;
    struct cancel_count n = {0, 0};
    struct self_free s = {NULL, 0};
    rpchost_client_batch *b = rpchost_client_batch_new();
    double t0 = now();
    int i, rc;

    rc = new_client(&c, url, base);
    CHECK(rc == 0, "new: %d", rc);
    if (rc != 0)
        return;
    for (i = 0; i < 5; i++)
        rpchost_client_call_async(c, "sleep", cJSON_Parse("[5000]"), NULL,
                                  cancel_cb, &n);
    rpchost_client_notify_async(c, "sleep", cJSON_Parse("[5000]"), NULL,
                                cancel_cb, &n);
    rpchost_client_batch_add(b, "sleep", cJSON_Parse("[5000]"), NULL);
    rpchost_client_batch_send_async(c, b, NULL, cancel_batch_cb, &n);
    /* Let the requests go out, then free the client. */
    event_base_loop(base, EVLOOP_NONBLOCK);
    rpchost_client_free(c);
    CHECK(n.cancelled == 7 && n.other == 0, "cancelled %d other %d",
          n.cancelled, n.other);

    rc = new_client(&s.c, url, base);
    CHECK(rc == 0, "new: %d", rc);
    rpchost_client_call_async(s.c, "ping", NULL, NULL, self_free_cb, &s);
    rpchost_client_call_async(s.c, "sleep", cJSON_Parse("[5000]"), NULL,
                              self_free_cb, &s);
    while (s.calls < 2 && now() - t0 < 10)
        event_base_loop(base, EVLOOP_ONCE);
    CHECK(s.calls == 2 && s.c == NULL, "free from a callback: %d", s.calls);
    CHECK(now() - t0 < 4, "cancel took %.3f s", now() - t0);
    event_base_free(base);
}

/* ---- refused: URL names a closed port ---- */

static void
check_refused(const char *url)
{
    struct event_base *base = event_base_new();
    rpchost_client *c = NULL;
    rpchost_client_result r = {0};
    struct res_wait w[5] = {{0}};
    const char *why =
        unix_socket != NULL ? "cannot connect to unix socket " : "refused";
    double t0 = now();
    int i, rc, done = 0;

    rc = new_client(&c, url, base);
    CHECK(rc == 0, "new: %d", rc);
    if (rc != 0)
        return;
    rc = rpchost_client_call(c, "ping", NULL, NULL, &r);
    CHECK(rc == RPCHOST_CLIENT_ECONNECT && r.message != NULL &&
              strstr(r.message, why) != NULL,
          "sync refused: %d %s", rc, msg(&r));
    CHECK(unix_socket == NULL || strstr(msg(&r), unix_socket) != NULL,
          "the message names the socket: %s", msg(&r));
    rpchost_client_result_clear(&r);
    rc = rpchost_client_notify(c, "ping", NULL, NULL, &r);
    CHECK(rc == RPCHOST_CLIENT_ECONNECT, "notify refused: %d", rc);
    rpchost_client_result_clear(&r);
    /* Calls queued on the pool's connections all end. */
    rpchost_client_set_max_connections(c, 2);
    for (i = 0; i < 5; i++) {
        rc = rpchost_client_call_async(c, "ping", NULL, NULL, res_cb, &w[i]);
        CHECK(rc == 0, "async start: %d", rc);
    }
    while (done < 5 && now() - t0 < 10) {
        event_base_loop(base, EVLOOP_ONCE);
        for (done = 0, i = 0; i < 5; i++)
            done += w[i].done;
    }
    for (i = 0; i < 5; i++) {
        CHECK(w[i].res.rc == RPCHOST_CLIENT_ECONNECT &&
                  strstr(msg(&w[i].res), why) != NULL,
              "async refused %d: %d %s", i, w[i].res.rc, msg(&w[i].res));
        rpchost_client_result_clear(&w[i].res);
    }
    rpchost_client_free(c);
    event_base_free(base);
}

/* ---- keepalive: N blocking and N async calls, one after another ----
 * reconnect: the same, a pause (the loop does not run) in which the server
 * closes both idle connections, and the same again. */

static void
check_keepalive(const char *url, int n, int rounds, int pause)
{
    struct event_base *base = event_base_new();
    rpchost_client *c = NULL;
    rpchost_client_result r = {0};
    int round, i, rc;

    rc = new_client(&c, url, base);
    CHECK(rc == 0, "new: %d", rc);
    if (rc != 0)
        return;
    for (round = 0; round < rounds; round++) {
        if (round > 0)
            pause_ms(pause);
        for (i = 0; i < n; i++) {
            rc = rpchost_client_call(c, "ping", NULL, NULL, &r);
            CHECK(rc == 0, "round %d sync ping %d: %d %s", round, i, rc,
                  msg(&r));
            rpchost_client_result_clear(&r);
        }
        for (i = 0; i < n; i++) {
            struct res_wait w = {0};
            double t0 = now();

            rc = rpchost_client_call_async(c, "ping", NULL, NULL, res_cb, &w);
            while (rc == 0 && !w.done && now() - t0 < 10)
                event_base_loop(base, EVLOOP_ONCE);
            CHECK(w.res.rc == 0, "round %d async ping %d: %d %s", round, i,
                  w.res.rc, msg(&w.res));
            rpchost_client_result_clear(&w.res);
        }
    }
    rpchost_client_free(c);
    event_base_free(base);
}

/* ---- pool: N async pings at once over 4 connections ---- */

static void
check_pool(const char *url, int n)
{
    struct event_base *base = event_base_new();
    rpchost_client *c = NULL;
    struct res_wait *w;
    double t0 = now();
    int i, rc, done = 0, ok = 0;

    rc = new_client(&c, url, base);
    CHECK(rc == 0, "new: %d", rc);
    if (rc != 0)
        return;
    w = calloc((size_t)n, sizeof(*w));
    for (i = 0; i < n; i++) {
        rc = rpchost_client_call_async(c, "ping", NULL, NULL, res_cb, &w[i]);
        CHECK(rc == 0, "start %d: %d", i, rc);
    }
    while (done < n && now() - t0 < 30) {
        event_base_loop(base, EVLOOP_ONCE);
        for (done = 0, i = 0; i < n; i++)
            done += w[i].done;
    }
    for (i = 0; i < n; i++) {
        if (w[i].res.rc == 0)
            ok++;
        else
            fprintf(stderr, "call %d: %d %s\n", i, w[i].res.rc, msg(&w[i].res));
        rpchost_client_result_clear(&w[i].res);
    }
    CHECK(done == n && ok == n, "pool: %d done, %d ok of %d", done, ok, n);
    free(w);
    rpchost_client_free(c);
    event_base_free(base);
}

int
main(int argc, char **argv)
{
    const char *url, *what;
    int n;

    if (argc > 2 && strcmp(argv[1], "--unix-socket") == 0) {
        unix_socket = argv[2];
        argc -= 2;
        argv += 2;
    }
    if (argc < 3) {
        fputs("usage: client_check [--unix-socket PATH] URL sync|async N|"
              "timeout|cancel|refused|keepalive N|reconnect N PAUSE_MS|"
              "pool N\n",
              stderr);
        return 2;
    }
    /* As the header asks: a request written on a connection the server
     * just closed must fail the call, not kill the program. */
    signal(SIGPIPE, SIG_IGN);
    url = argv[1];
    what = argv[2];
    n = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 1000;
    if (strcmp(what, "sync") == 0)
        check_sync(url);
    else if (strcmp(what, "async") == 0)
        check_async(url, n);
    else if (strcmp(what, "timeout") == 0)
        check_timeout(url);
    else if (strcmp(what, "cancel") == 0)
        check_cancel(url);
    else if (strcmp(what, "refused") == 0)
        check_refused(url);
    else if (strcmp(what, "keepalive") == 0)
        check_keepalive(url, n, 1, 0);
    else if (strcmp(what, "reconnect") == 0)
        check_keepalive(url, n, 2,
                        argc > 4 ? (int)strtol(argv[4], NULL, 10) : 1000);
    else if (strcmp(what, "pool") == 0)
        check_pool(url, n);
    else {
        fprintf(stderr, "client_check: unknown scenario %s\n", what);
        return 2;
    }
    if (failures == 0)
        fprintf(stderr, "client_check %s: all checks passed\n", what);
    return failures == 0 ? 0 : 1;
}
