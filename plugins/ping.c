/* SPDX-License-Identifier: MIT */
/*
 * ping.c - the smallest useful plugin: `ping` answers "pong".
 *
 * Built exactly as an outside author builds a plugin: against the SDK
 * header alone (see sdk/README.md).
 */
#include <rpchost/plugin.h>

static const rpchost_api *api;

/* ping takes no params: absent, [] and {} are fine; anything else is
 * -32602. */
static int
ping(rpchost_call *call, const cJSON *params, void *state)
{
    (void)state;
    if (params != NULL && cJSON_GetArraySize(params) > 0)
        return api->error(call, RPCHOST_INVALID_PARAMS, "Invalid params",
                          cJSON_CreateString("ping takes no params"));
    return api->result(call, cJSON_CreateString("pong"));
}

static int
ping_init(rpchost_plugin *plugin, const rpchost_api *host, void **state)
{
    static const rpchost_param none[] = {{NULL, 0, 0, NULL}};
    static const rpchost_param result[] = {
        {"pong", RPCHOST_TYPE_STRING, 1, "always \"pong\""},
        {NULL, 0, 0, NULL},
    };
    static const rpchost_method m = {
        .name = "ping",
        .handler = ping,
        .summary = "Answers \"pong\"; a liveness check.",
        .params = none, /* no params: the host refuses any with -32602 */
        .result = result,
    };

    (void)state;
    api = host;
    return api->register_method(plugin, &m);
}

RPCHOST_PLUGIN_DEFINE("ping", "1.0.0", ping_init, NULL);
