/* SPDX-License-Identifier: MIT */
/*
 * relay.c - calls between plugins (api->call_method_async).
 *
 *   relay(method, params?, wait?)  defer; after `wait` ms (a timer; 0: at
 *                     once) call `method` with `params`; answer its result,
 *                     or its error as error 4000 with the inner error's
 *                     message and data {"code": code, "data": data}.  The
 *                     rc of that answer is recorded for last.
 *   relay_now(method, params?)  no defer: call `method`, answer "sent" in
 *                     the handler; the answer, later, is counted and the rc
 *                     of an attempt to answer the call again is recorded
 *   notify(method, params?)  call `method` as a notification, answer "sent"
 *   recurse(n)        defer, call recurse(n + 1); answer its result, or,
 *                     for an error, {"stopped_at": n, "code": code,
 *                     "data": data}
 *   bounce.a(n), bounce.b(n)  the same, calling each other
 *   whoami            {"peer", "transport", "credential", "trace_id",
 *                     "traceparent"} of the call
 *   probe             {"null_method": rc, "bad_params": rc, "from_thread":
 *                     rc}: call_method_async refused, answered in the
 *                     handler
 *   last              {"rc": last recorded rc, "dones": answers received,
 *                     "hooked": calls from plugins our on_call hook saw}
 *
 *   guarded           "through", once our on_call hook, suspending the
 *                     call, had whoami called and checked its peer
 *
 * fini logs "relay fini".
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <rpchost/plugin.h>

static const rpchost_api *api;
static rpchost_plugin *self; /* for api->log in fini */
static atomic_int last_rc = 1;
static atomic_long dones;
static atomic_long hooked; /* calls from plugins its on_call hook saw */

/* What a relay keeps until its timer: the call to make. */
struct pending {
    char *method;
    cJSON *params;
};

static void
relayed(rpchost_call *call, const cJSON *result, int code, const char *message,
        const cJSON *data, void *arg)
{
    cJSON *d;

    (void)arg;
    atomic_fetch_add(&dones, 1);
    if (code == 0) {
        atomic_store(&last_rc, api->result(call, cJSON_Duplicate(result, 1)));
        return;
    }
    d = cJSON_CreateObject();
    if (d != NULL) {
        cJSON_AddNumberToObject(d, "code", code);
        if (data != NULL)
            cJSON_AddItemToObject(d, "data", cJSON_Duplicate(data, 1));
    }
    atomic_store(&last_rc, api->error(call, 4000, message, d));
}

static void
relay_later(rpchost_call *call, void *arg)
{
    struct pending *p = arg;
    int rc = api->call_method_async(call, p->method, p->params, relayed, NULL);

    if (rc != RPCHOST_OK)
        api->error(call, 4001, api->strerror(rc), NULL);
    free(p->method);
    free(p);
}

/* params: [method, params?, wait?] or {"method", "params", "wait"} */
static int
relay(rpchost_call *call, const cJSON *params, void *state)
{
    const char *method;
    const cJSON *inner = api->param(call, 1, "params");
    int64_t wait = 0;
    struct pending *p;
    int rc;

    (void)params;
    (void)state;
    rc = api->param_string(call, 0, "method", &method);
    if (rc != RPCHOST_OK)
        return rc;
    if (api->param(call, 2, "wait") != NULL) {
        rc = api->param_int(call, 2, "wait", 0, 60000, &wait);
        if (rc != RPCHOST_OK)
            return rc;
    }
    rc = api->defer(call);
    if (rc != RPCHOST_OK)
        return rc;
    if (wait == 0) {
        rc = api->call_method_async(call, method, cJSON_Duplicate(inner, 1),
                                    relayed, NULL);
        return rc == RPCHOST_OK
                   ? rc
                   : api->error(call, 4001, api->strerror(rc), NULL);
    }
    p = malloc(sizeof(*p));
    if (p == NULL)
        return RPCHOST_ENOMEM;
    p->method = strdup(method);
    p->params = cJSON_Duplicate(inner, 1);
    rc = api->timer(call, (unsigned)wait, relay_later, p);
    if (rc != RPCHOST_OK) {
        free(p->method);
        cJSON_Delete(p->params);
        free(p);
    }
    return rc;
}

static void
answered_late(rpchost_call *call, const cJSON *result, int code,
              const char *message, const cJSON *data, void *arg)
{
    (void)result;
    (void)code;
    (void)message;
    (void)data;
    (void)arg;
    atomic_fetch_add(&dones, 1);
    /* Answered in its handler already: RPCHOST_ESTATE. */
    atomic_store(&last_rc, api->result(call, cJSON_CreateString("again")));
}

static int
relay_now(rpchost_call *call, const cJSON *params, void *state)
{
    const char *method;
    int rc;

    (void)params;
    (void)state;
    rc = api->param_string(call, 0, "method", &method);
    if (rc != RPCHOST_OK)
        return rc;
    rc = api->call_method_async(
        call, method, cJSON_Duplicate(api->param(call, 1, "params"), 1),
        api->call_udata(call) ? NULL : answered_late, NULL);
    if (rc != RPCHOST_OK)
        return api->error(call, 4001, api->strerror(rc), NULL);
    return api->result(call, cJSON_CreateString("sent"));
}

static void
hopped(rpchost_call *call, const cJSON *result, int code, const char *message,
       const cJSON *data, void *arg)
{
    cJSON *out;

    (void)message;
    if (code == 0) {
        api->result(call, cJSON_Duplicate(result, 1));
        return;
    }
    out = cJSON_CreateObject();
    if (out != NULL) {
        cJSON_AddNumberToObject(out, "stopped_at", (double)(intptr_t)arg);
        cJSON_AddNumberToObject(out, "code", code);
        if (data != NULL)
            cJSON_AddItemToObject(out, "data", cJSON_Duplicate(data, 1));
    }
    api->result(call, out);
}

/* recurse and bounce.*: call udata's method with n + 1. */
static int
hop(rpchost_call *call, const cJSON *params, void *state)
{
    int64_t n;
    int rc;

    (void)params;
    (void)state;
    rc = api->param_int(call, 0, "n", 0, 1000000, &n);
    if (rc != RPCHOST_OK)
        return rc;
    rc = api->defer(call);
    if (rc != RPCHOST_OK)
        return rc;
    return api->call_method_async(
        call, api->call_udata(call),
        cJSON_CreateIntArray((const int[]){(int)n + 1}, 1), hopped,
        (void *)(intptr_t)n);
}

static void
add_string(cJSON *o, const char *name, const char *s)
{
    cJSON_AddItemToObject(o, name,
                          s ? cJSON_CreateString(s) : cJSON_CreateNull());
}

static int
whoami(rpchost_call *call, const cJSON *params, void *state)
{
    cJSON *o = cJSON_CreateObject();

    (void)params;
    (void)state;
    if (o != NULL) {
        add_string(o, "peer", api->call_peer(call));
        cJSON_AddNumberToObject(o, "transport", api->call_transport(call));
        add_string(o, "credential", api->call_credential(call));
        add_string(o, "trace_id", api->call_trace_id(call));
        add_string(o, "traceparent", api->call_traceparent(call));
    }
    return api->result(call, o);
}

static void
never(rpchost_call *call, const cJSON *result, int code, const char *message,
      const cJSON *data, void *arg)
{
    (void)result;
    (void)code;
    (void)message;
    (void)data;
    (void)arg;
    api->error(call, 4002, "a refused call answered", NULL);
}

/* A thread of ours trying call_method_async (refused: not the loop). */
struct try_thread {
    rpchost_call *call;
    int rc;
};

static void *
from_thread(void *arg)
{
    struct try_thread *t = arg;

    t->rc = api->call_method_async(t->call, "ping", NULL, never, NULL);
    return NULL;
}

static int
probe(rpchost_call *call, const cJSON *params, void *state)
{
    struct try_thread t = {call, 1};
    pthread_t tid;
    cJSON *o = cJSON_CreateObject();

    (void)params;
    (void)state;
    if (pthread_create(&tid, NULL, from_thread, &t) == 0)
        pthread_join(tid, NULL);
    cJSON_AddNumberToObject(
        o, "null_method",
        api->call_method_async(call, NULL, NULL, never, NULL));
    cJSON_AddNumberToObject(o, "bad_params",
                            api->call_method_async(call, "ping",
                                                   cJSON_CreateString("x"),
                                                   never, NULL));
    cJSON_AddNumberToObject(o, "from_thread", t.rc);
    return api->result(call, o);
}

static int
last(rpchost_call *call, const cJSON *params, void *state)
{
    cJSON *o = cJSON_CreateObject();

    (void)params;
    (void)state;
    cJSON_AddNumberToObject(o, "rc", atomic_load(&last_rc));
    cJSON_AddNumberToObject(o, "dones", (double)atomic_load(&dones));
    cJSON_AddNumberToObject(o, "hooked", (double)atomic_load(&hooked));
    return api->result(call, o);
}

/* guarded's on_call hook got whoami's answer: resume if it came from a
 * plugin, else refuse. */
static void
checked(rpchost_call *call, const cJSON *result, int code, const char *message,
        const cJSON *data, void *arg)
{
    const cJSON *peer = cJSON_GetObjectItemCaseSensitive(result, "peer");

    (void)message;
    (void)data;
    (void)arg;
    if (code == 0 && cJSON_IsString(peer) &&
        strcmp(peer->valuestring, "plugin:relay") == 0)
        api->call_resume(call);
    else
        api->error(call, 4003, "guard refused", NULL);
}

static int
on_call(rpchost_call *call, const cJSON *params, void *state)
{
    int rc;

    (void)params;
    (void)state;
    if (api->call_transport(call) == RPCHOST_TRANSPORT_PLUGIN)
        atomic_fetch_add(&hooked, 1);
    if (strcmp(api->call_method(call), "guarded") != 0)
        return RPCHOST_OK;
    rc = api->call_suspend(call);
    if (rc != RPCHOST_OK)
        return rc;
    return api->call_method_async(call, "whoami", NULL, checked, NULL);
}

static int
guarded(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->result(call, cJSON_CreateString("through"));
}

static int
relay_init(rpchost_plugin *plugin, const rpchost_api *host, void **state)
{
    static const int yes = 1;
    const rpchost_method methods[] = {
        {.name = "relay", .handler = relay},
        {.name = "relay_now", .handler = relay_now},
        {.name = "notify", .handler = relay_now, .udata = (void *)&yes},
        {.name = "recurse", .handler = hop, .udata = "recurse"},
        {.name = "bounce.a", .handler = hop, .udata = "bounce.b"},
        {.name = "bounce.b", .handler = hop, .udata = "bounce.a"},
        {.name = "whoami", .handler = whoami},
        {.name = "probe", .handler = probe},
        {.name = "last", .handler = last},
        {.name = "guarded", .handler = guarded},
    };

    (void)state;
    api = host;
    self = plugin;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        int rc = api->register_method(plugin, &methods[i]);
        if (rc != RPCHOST_OK)
            return rc;
    }
    return api->add_hooks(plugin, on_call, NULL);
}

/* Runs after the generation's last call: the tests count it. */
static void
relay_fini(void *state)
{
    (void)state;
    api->log(self, RPCHOST_LOG_INFO, "relay fini");
}

RPCHOST_PLUGIN_DEFINE("relay", "1.0.0", relay_init, relay_fini);
