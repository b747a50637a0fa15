/* SPDX-License-Identifier: MIT */
/*
 * badparams.c - registers method `bp` with a params description chosen by
 * the config key `kind`:
 *
 *   dup     two params with one name
 *   order   a required param after an optional one
 *   type    a param of type 99
 *   name    a param named "a b"
 *   empty   a param named ""
 *   many    65 params
 *   result  a result description of type 99
 *   ok      a valid description (the control case)
 *
 * Every kind but `ok` must make registration fail, and rpchost must refuse
 * to start naming the method and the reason.  With `ignore = true` init
 * ignores the refusal and returns RPCHOST_OK: the host must refuse the
 * plugin all the same.
 */
#include <string.h>

#include <rpchost/plugin.h>

#define MANY 65

static const rpchost_api *api;

static int
bp(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->result(call, cJSON_CreateString("bp"));
}

static const rpchost_param dup_params[] = {
    {"a", RPCHOST_TYPE_NUMBER, 1, NULL},
    {"a", RPCHOST_TYPE_NUMBER, 1, NULL},
    {NULL, 0, 0, NULL},
};
static const rpchost_param order_params[] = {
    {"a", RPCHOST_TYPE_NUMBER, 0, "optional"},
    {"b", RPCHOST_TYPE_NUMBER, 1, "required after an optional one"},
    {NULL, 0, 0, NULL},
};
static const rpchost_param type_params[] = {
    {"a", 99, 1, NULL},
    {NULL, 0, 0, NULL},
};
static const rpchost_param name_params[] = {
    {"a b", RPCHOST_TYPE_STRING, 1, NULL},
    {NULL, 0, 0, NULL},
};
static const rpchost_param empty_params[] = {
    {"", RPCHOST_TYPE_STRING, 1, NULL},
    {NULL, 0, 0, NULL},
};
static const rpchost_param ok_params[] = {
    {"a", RPCHOST_TYPE_INTEGER, 1, "required"},
    {"b", RPCHOST_TYPE_STRING, 0, "optional"},
    {NULL, 0, 0, NULL},
};
static const rpchost_param bad_result[] = {
    {"r", 99, 1, NULL},
    {NULL, 0, 0, NULL},
};

/* 65 params p0..p64 (names built in init) and the terminator. */
static char many_names[MANY][8];
static rpchost_param many_params[MANY + 1];

static int
badparams_init(rpchost_plugin *plugin, const rpchost_api *host, void **state)
{
    rpchost_method m = {.name = "bp", .handler = bp, .summary = "bad params"};
    const char *kind;
    int ignore = 0;
    int rc;

    (void)state;
    api = host;
    kind = api->config_string(plugin, "kind", "ok");
    rc = api->config_bool(plugin, "ignore", 0, &ignore);
    if (rc != RPCHOST_OK)
        return rc;
    if (strcmp(kind, "dup") == 0) {
        m.params = dup_params;
    } else if (strcmp(kind, "order") == 0) {
        m.params = order_params;
    } else if (strcmp(kind, "type") == 0) {
        m.params = type_params;
    } else if (strcmp(kind, "name") == 0) {
        m.params = name_params;
    } else if (strcmp(kind, "empty") == 0) {
        m.params = empty_params;
    } else if (strcmp(kind, "many") == 0) {
        for (int i = 0; i < MANY; i++) {
            many_names[i][0] = 'p';
            many_names[i][1] = (char)('0' + i / 10);
            many_names[i][2] = (char)('0' + i % 10);
            many_names[i][3] = '\0';
            many_params[i].name = many_names[i];
            many_params[i].type = RPCHOST_TYPE_ANY;
            many_params[i].required = 0;
            many_params[i].description = NULL;
        }
        many_params[MANY].name = NULL;
        m.params = many_params;
    } else if (strcmp(kind, "result") == 0) {
        m.params = ok_params;
        m.result = bad_result;
    } else if (strcmp(kind, "ok") == 0) {
        m.params = ok_params;
    } else {
        api->set_error(plugin, "unknown kind '%s'", kind);
        return RPCHOST_EINVAL;
    }
    rc = api->register_method(plugin, &m);
    if (rc != RPCHOST_OK) {
        api->log(plugin, RPCHOST_LOG_INFO, "register_method: %s (%d)",
                 api->strerror(rc), rc);
        if (ignore)
            return RPCHOST_OK;
        api->set_error(plugin, "registering bp failed");
    }
    return rc;
}

RPCHOST_PLUGIN_DEFINE("badparams", "1.0.0", badparams_init, NULL);
