/* SPDX-License-Identifier: MIT */
/*
 * hooked.so - test fixture for the call context and call hooks (ABI 2).
 *
 * Methods:
 *   ctx         answers its context: peer, transport, credential, the
 *               X-Test header, batch index and size, trace id, traceparent
 *   ctx_later   the same, deferred and answered from a thread
 *   done_stats  how many on_done calls it saw, per outcome code, and the
 *               last one's method and whether its duration was sane
 * Hooks (on_call), by the called method's name:
 *   blocked     answered -31050 "blocked by hook" (the method never runs)
 *   slowcheck   suspended; a thread resumes it 50 ms later
 *   denylater   suspended; a thread answers -31051 50 ms later
 *   hookfail    the hook returns RPCHOST_EFAIL without answering
 *   anything else goes on.
 * Its section's `name` (default "A") tags the instance; with
 * `order_file`, on_call appends the tag to that file for each `ctx` call,
 * so that two instances show the order their hooks ran in.  (Each
 * instance is a copy of its own, statics and all.)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rpchost/plugin.h>

static const rpchost_api *api;

struct inst {
    char tag[16];
    char order_file[256];
    atomic_long done_total, done_ok, done_err, done_bad_duration;
    char last_method[64];
    pthread_mutex_t mu;
};

static cJSON *
context_of(rpchost_call *call)
{
    cJSON *o = cJSON_CreateObject();
    const char *s;
    size_t index = 99, count = 99;

    s = api->call_peer(call);
    cJSON_AddStringToObject(o, "peer", s ? s : "(null)");
    cJSON_AddNumberToObject(o, "transport", api->call_transport(call));
    s = api->call_credential(call);
    if (s != NULL)
        cJSON_AddStringToObject(o, "credential", s);
    else
        cJSON_AddNullToObject(o, "credential");
    s = api->call_header(call, "x-test");
    if (s != NULL)
        cJSON_AddStringToObject(o, "x_test", s);
    if (api->call_batch(call, &index, &count) == RPCHOST_OK) {
        cJSON_AddNumberToObject(o, "index", (double)index);
        cJSON_AddNumberToObject(o, "count", (double)count);
    }
    s = api->call_trace_id(call);
    cJSON_AddStringToObject(o, "trace_id", s ? s : "(null)");
    s = api->call_traceparent(call);
    cJSON_AddStringToObject(o, "traceparent", s ? s : "(null)");
    return o;
}

static int
ctx(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->result(call, context_of(call));
}

static void *
later_thread(void *arg)
{
    rpchost_call *call = arg;

    usleep(20000);
    /* Read from another thread while deferred: filled before it left. */
    api->result(call, context_of(call));
    return NULL;
}

static int
ctx_later(rpchost_call *call, const cJSON *params, void *state)
{
    pthread_t t;

    (void)params;
    (void)state;
    if (api->defer(call) != RPCHOST_OK)
        return RPCHOST_EFAIL;
    if (pthread_create(&t, NULL, later_thread, call) != 0)
        return RPCHOST_EFAIL;
    pthread_detach(t);
    return RPCHOST_OK;
}

static int
done_stats(rpchost_call *call, const cJSON *params, void *state)
{
    struct inst *in = state;
    cJSON *o = cJSON_CreateObject();

    (void)params;
    pthread_mutex_lock(&in->mu);
    cJSON_AddStringToObject(o, "last_method", in->last_method);
    pthread_mutex_unlock(&in->mu);
    cJSON_AddNumberToObject(o, "total", (double)atomic_load(&in->done_total));
    cJSON_AddNumberToObject(o, "ok", (double)atomic_load(&in->done_ok));
    cJSON_AddNumberToObject(o, "errors", (double)atomic_load(&in->done_err));
    cJSON_AddNumberToObject(o, "bad_duration",
                            (double)atomic_load(&in->done_bad_duration));
    return api->result(call, o);
}

struct later {
    rpchost_call *call;
    int deny;
};

static void *
resume_thread(void *arg)
{
    struct later *l = arg;

    usleep(50000);
    if (l->deny)
        api->error(l->call, -31051, "denied later by hook", NULL);
    else if (api->call_resume(l->call) != RPCHOST_OK)
        fprintf(stderr, "hooked: resume refused\n");
    free(l);
    return NULL;
}

static int
on_call(rpchost_call *call, const cJSON *params, void *state)
{
    struct inst *in = state;
    const char *m = api->call_method(call);
    struct later *l;
    pthread_t t;

    (void)params;
    if (in->order_file[0] != '\0' && strcmp(m, "ctx") == 0) {
        FILE *f = fopen(in->order_file, "a");
        if (f != NULL) {
            fputs(in->tag, f);
            fclose(f);
        }
    }
    if (strcmp(m, "blocked") == 0)
        return api->error(call, -31050, "blocked by hook",
                          cJSON_CreateString(in->tag));
    if (strcmp(m, "hookfail") == 0)
        return RPCHOST_EFAIL;
    if (strcmp(m, "slowcheck") != 0 && strcmp(m, "denylater") != 0)
        return RPCHOST_OK;
    if (api->call_suspend(call) != RPCHOST_OK)
        return RPCHOST_EFAIL;
    l = malloc(sizeof(*l));
    if (l == NULL)
        return RPCHOST_ENOMEM;
    l->call = call;
    l->deny = strcmp(m, "denylater") == 0;
    if (pthread_create(&t, NULL, resume_thread, l) != 0) {
        free(l);
        return RPCHOST_EFAIL;
    }
    pthread_detach(t);
    return RPCHOST_OK;
}

static void
on_done(rpchost_call *call, int code, uint64_t duration_us, void *state)
{
    struct inst *in = state;
    const char *m = api->call_method(call);

    if (strcmp(m, "done_stats") == 0)
        return;
    atomic_fetch_add(&in->done_total, 1);
    if (code == 0)
        atomic_fetch_add(&in->done_ok, 1);
    else
        atomic_fetch_add(&in->done_err, 1);
    if (duration_us > 60u * 1000000u)
        atomic_fetch_add(&in->done_bad_duration, 1);
    pthread_mutex_lock(&in->mu);
    snprintf(in->last_method, sizeof(in->last_method), "%s", m);
    pthread_mutex_unlock(&in->mu);
}

static int
hooked_init(rpchost_plugin *p, const rpchost_api *a, void **state)
{
    static const struct {
        const char *name;
        rpchost_handler fn;
    } methods[] = {
        {"ctx", ctx}, {"ctx_later", ctx_later}, {"done_stats", done_stats}};
    const char *tag;
    struct inst *in;
    int rc;

    api = a;
    in = calloc(1, sizeof(*in));
    if (in == NULL)
        return RPCHOST_ENOMEM;
    pthread_mutex_init(&in->mu, NULL);
    tag = api->config_string(p, "name", "A");
    snprintf(in->tag, sizeof(in->tag), "%s", tag);
    snprintf(in->order_file, sizeof(in->order_file), "%s",
             api->config_string(p, "order_file", ""));
    *state = in;
    rc = api->add_hooks(p, on_call, on_done);
    if (rc != RPCHOST_OK)
        goto fail;
    if (api->add_hooks(p, on_call, on_done) != RPCHOST_EEXIST) {
        api->set_error(p, "a second add_hooks was not refused");
        rc = RPCHOST_EFAIL;
        goto fail;
    }
    /* A second instance registers no methods (the names are taken). */
    if (strcmp(in->tag, "A") != 0)
        return RPCHOST_OK;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        rpchost_method m = {0};
        m.name = methods[i].name;
        m.handler = methods[i].fn;
        rc = api->register_method(p, &m);
        if (rc != RPCHOST_OK)
            goto fail;
    }
    return RPCHOST_OK;
fail:
    free(in);
    return rc;
}

static void
hooked_fini(void *state)
{
    free(state);
}

RPCHOST_PLUGIN_DEFINE("hooked", "1.0.0", hooked_init, hooked_fini);
