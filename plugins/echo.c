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

    (void)state;
    api = host;
    return api->register_method(plugin, &m);
}

RPCHOST_PLUGIN_DEFINE("echo", "1.0.0", echo_init, NULL);
