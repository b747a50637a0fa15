/* SPDX-License-Identifier: MIT */
/*
 * echo.c - `echo` answers with its params, unchanged (null without any).
 */
#include <rpchost/plugin.h>

static const rpchost_api *api;

static int
echo(rpchost_call *call, const cJSON *params, void *state)
{
    (void)state;
    if (params == NULL)
        return api->result(call, cJSON_CreateNull());
    return api->result(call, cJSON_Duplicate(params, 1));
}

static int
echo_init(rpchost_plugin *plugin, const rpchost_api *host, void **state)
{
    static const rpchost_method m = {
        .name = "echo",
        .handler = echo,
        .summary = "Answers with its params (an array or an object).",
    };

    /* Any params at all: a variadic param of any type takes every
     * positional value, and every member of an object, so rpc.discover
     * shows a real param (echo(value...)) and the host checks nothing
     * more than that. */
    static const rpchost_param_doc params[] = {
        {"value", RPCHOST_TYPE_ANY, 0,
         "any values, by position or by name (any names)", 0,
         RPCHOST_PARAM_VARIADIC, NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL},
    };
    static const rpchost_param_doc value[] = {
        {"value", RPCHOST_TYPE_ANY, 0, "the params, as given (null without)", 0,
         0, "echoResult"},
        {NULL, 0, 0, NULL, 0, 0, NULL},
    };
    static const rpchost_method_doc doc = {
        .description = "Answers with its params, unchanged: an array, an "
                       "object, or null when there are none.",
        .param_structure = RPCHOST_PARAMS_EITHER,
        .params = params,
        .result = value,
    };
    int rc;

    (void)state;
    api = host;
    rc = api->register_method(plugin, &m);
    return rc ? rc : api->describe_method(plugin, "echo", &doc);
}

RPCHOST_PLUGIN_DEFINE("echo", "1.0.0", echo_init, NULL);
