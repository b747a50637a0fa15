/* SPDX-License-Identifier: MIT */
/*
 * dup.so - test fixture: registers `ping`, which clashes with plugins/ping.so
 * when both are loaded.
 */
#include <rpchost/plugin.h>

static const rpchost_api *api;

static int
dup_ping(rpchost_call *c, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->result(c, cJSON_CreateString("dup"));
}

static int
dup_init(rpchost_plugin *p, const rpchost_api *a, void **state)
{
    rpchost_method m = {0};
    int rc;

    api = a;
    *state = NULL;
    m.name = "ping";
    m.handler = dup_ping;
    rc = api->register_method(p, &m);
    if (rc != RPCHOST_OK) {
        api->set_error(p, "cannot register ping: %s", api->strerror(rc));
        return rc;
    }
    return RPCHOST_OK;
}

RPCHOST_PLUGIN_DEFINE("dup", "1.0.0", dup_init, NULL);
