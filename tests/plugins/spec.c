/* SPDX-License-Identifier: MIT */
/*
 * spec.so - test fixture: the example methods of the JSON-RPC 2.0
 * specification plus a few helpers the integration tests use to reach the
 * host's error paths.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stddef.h>
#include <time.h>

#include <rpchost/plugin.h>

static const rpchost_api *api;

static int
invalid_params(rpchost_call *c)
{
    return api->error(c, RPCHOST_INVALID_PARAMS, "Invalid params", NULL);
}

/* subtract: [minuend, subtrahend] or {"minuend": .., "subtrahend": ..} */
static int
m_subtract(rpchost_call *c, const cJSON *params, void *state)
{
    const cJSON *a = NULL;
    const cJSON *b = NULL;

    (void)state;
    if (cJSON_IsArray(params)) {
        if (cJSON_GetArraySize(params) != 2)
            return invalid_params(c);
        a = cJSON_GetArrayItem(params, 0);
        b = cJSON_GetArrayItem(params, 1);
    } else if (cJSON_IsObject(params)) {
        a = cJSON_GetObjectItemCaseSensitive(params, "minuend");
        b = cJSON_GetObjectItemCaseSensitive(params, "subtrahend");
    }
    if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b))
        return invalid_params(c);
    return api->result(c, cJSON_CreateNumber(a->valuedouble - b->valuedouble));
}

/* sum: an array of numbers -> their sum */
static int
m_sum(rpchost_call *c, const cJSON *params, void *state)
{
    const cJSON *item;
    double total = 0.0;

    (void)state;
    if (!cJSON_IsArray(params))
        return invalid_params(c);
    cJSON_ArrayForEach (item, params) {
        if (!cJSON_IsNumber(item))
            return invalid_params(c);
        total += item->valuedouble;
    }
    return api->result(c, cJSON_CreateNumber(total));
}

/* update, notify_hello: accept anything, answer null */
static int
m_null(rpchost_call *c, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->result(c, cJSON_CreateNull());
}

/* get_data: ["hello", 5] */
static int
m_get_data(rpchost_call *c, const cJSON *params, void *state)
{
    cJSON *arr;
    cJSON *s;
    cJSON *n;

    (void)params;
    (void)state;
    arr = cJSON_CreateArray();
    if (arr == NULL)
        return api->result(c, NULL);
    s = cJSON_CreateString("hello");
    if (s == NULL || !cJSON_AddItemToArray(arr, s)) {
        cJSON_Delete(s);
        cJSON_Delete(arr);
        return api->result(c, NULL);
    }
    n = cJSON_CreateNumber(5);
    if (n == NULL || !cJSON_AddItemToArray(arr, n)) {
        cJSON_Delete(n);
        cJSON_Delete(arr);
        return api->result(c, NULL);
    }
    return api->result(c, arr);
}

/* echo: a deep copy of params, or null when there were none */
static int
m_echo(rpchost_call *c, const cJSON *params, void *state)
{
    (void)state;
    if (params == NULL)
        return api->result(c, cJSON_CreateNull());
    return api->result(c, cJSON_Duplicate(params, 1));
}

/* fail: returns an error code without answering; the host answers -32603 */
static int
m_fail(rpchost_call *c, const cJSON *params, void *state)
{
    (void)c;
    (void)params;
    (void)state;
    return RPCHOST_EFAIL;
}

/* bad_code: tries a reserved code; the host refuses it, client gets -32603 */
static int
m_bad_code(rpchost_call *c, const cJSON *params, void *state)
{
    int rc;

    (void)params;
    (void)state;
    rc = api->error(c, -32000, "plugin used a reserved code", NULL);
    /* Expected: RPCHOST_ERESERVED, and the host has answered -32603. */
    return rc == RPCHOST_ERESERVED ? RPCHOST_OK : rc;
}

/* error_data: a free error code with data */
static int
m_error_data(rpchost_call *c, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->error(c, 42, "custom", cJSON_CreateString("details"));
}

/* sleep_ms: [n] blocks this thread n milliseconds, then answers n */
static int
m_sleep_ms(rpchost_call *c, const cJSON *params, void *state)
{
    const cJSON *n;
    struct timespec ts;
    double ms;
    long long whole;

    (void)state;
    if (!cJSON_IsArray(params) || cJSON_GetArraySize(params) != 1)
        return invalid_params(c);
    n = cJSON_GetArrayItem(params, 0);
    if (!cJSON_IsNumber(n))
        return invalid_params(c);
    ms = n->valuedouble;
    if (!(ms >= 0.0 && ms <= 60000.0))
        return invalid_params(c);
    whole = (long long)ms;
    if ((double)whole != ms)
        return invalid_params(c);
    ts.tv_sec = (time_t)(whole / 1000);
    ts.tv_nsec = (long)(whole % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return api->result(c, cJSON_CreateNumber(ms));
}

/* internal_leak: a plugin-chosen -32603 message, passed through by the host */
static int
m_internal_leak(rpchost_call *c, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->error(c, RPCHOST_INTERNAL_ERROR, "secret /etc/passwd path",
                      NULL);
}

static const struct {
    const char *name;
    rpchost_handler handler;
} methods[] = {
    {"subtract", m_subtract},
    {"sum", m_sum},
    {"update", m_null},
    {"notify_hello", m_null},
    {"get_data", m_get_data},
    {"echo", m_echo},
    {"fail", m_fail},
    {"bad_code", m_bad_code},
    {"error_data", m_error_data},
    {"sleep_ms", m_sleep_ms},
    {"internal_leak", m_internal_leak},
};

static int
spec_init(rpchost_plugin *p, const rpchost_api *a, void **state)
{
    size_t i;

    api = a;
    *state = NULL;
    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        rpchost_method m = {0};
        int rc;

        m.name = methods[i].name;
        m.handler = methods[i].handler;
        rc = api->register_method(p, &m);
        if (rc != RPCHOST_OK) {
            api->set_error(p, "cannot register %s: %s", methods[i].name,
                           api->strerror(rc));
            return rc;
        }
    }
    return RPCHOST_OK;
}

RPCHOST_PLUGIN_DEFINE("spec", "1.0.0", spec_init, NULL);
