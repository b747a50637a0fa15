/* SPDX-License-Identifier: MIT */
/*
 * badname.so - test fixture: registers one method whose name is the config
 * key `name`, so tests can try names the host must refuse.
 */
#include <rpchost/plugin.h>

static const rpchost_api *api;

static int
badname_call(rpchost_call *c, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->result(c, cJSON_CreateString("registered"));
}

static int
badname_init(rpchost_plugin *p, const rpchost_api *a, void **state)
{
    rpchost_method m = {0};
    const char *name;
    int rc;

    api = a;
    *state = NULL;
    name = api->config_string(p, "name", "");
    m.name = name;
    m.handler = badname_call;
    rc = api->register_method(p, &m);
    if (rc != RPCHOST_OK) {
        api->set_error(p, "cannot register method '%s': %s", name,
                       api->strerror(rc));
        return rc;
    }
    return RPCHOST_OK;
}

RPCHOST_PLUGIN_DEFINE("badname", "1.0.0", badname_init, NULL);
