/* SPDX-License-Identifier: MIT */
/*
 * needkey.c - needs the config key `dsn` (api->config_require); without it
 * init fails with RPCHOST_ENOENT and rpchost must refuse to start with
 * "missing required key 'dsn'".  With it, `dsn` answers the value.
 */
#include <stdlib.h>
#include <string.h>

#include <rpchost/plugin.h>

static const rpchost_api *api;

static int
dsn(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    return api->result(call, cJSON_CreateString(state));
}

static int
needkey_init(rpchost_plugin *plugin, const rpchost_api *host, void **state)
{
    static const rpchost_param none[] = {{NULL, 0, 0, NULL}};
    static const rpchost_method m = {
        .name = "dsn",
        .handler = dsn,
        .summary = "Answers the configured dsn.",
        .params = none,
    };
    const char *value;
    char *copy;
    size_t n;
    int rc;

    api = host;
    value = api->config_require(plugin, "dsn");
    if (value == NULL)
        return RPCHOST_ENOENT;
    n = strlen(value);
    copy = malloc(n + 1);
    if (copy == NULL)
        return RPCHOST_ENOMEM;
    memcpy(copy, value, n + 1);
    rc = api->register_method(plugin, &m);
    if (rc != RPCHOST_OK) {
        free(copy);
        return rc;
    }
    *state = copy;
    return RPCHOST_OK;
}

static void
needkey_fini(void *state)
{
    free(state);
}

RPCHOST_PLUGIN_DEFINE("needkey", "1.0.0", needkey_init, needkey_fini);
