/* SPDX-License-Identifier: MIT */
/*
 * cfg.so - test fixture: reads its own config keys and answers them back
 * from `greet`.
 */
#include <stdint.h>

#include <rpchost/plugin.h>

static const rpchost_api *api;

struct cfg_state {
    const char *greeting; /* host-owned, valid until fini */
    int64_t count;
    double ratio;
    int loud;
};

static struct cfg_state cfg;

static int
cfg_greet(rpchost_call *c, const cJSON *params, void *state)
{
    const struct cfg_state *st = state;
    cJSON *obj;

    (void)params;
    obj = cJSON_CreateObject();
    if (obj == NULL)
        return api->result(c, NULL);
    if (cJSON_AddStringToObject(obj, "greeting", st->greeting) == NULL ||
        cJSON_AddNumberToObject(obj, "count", (double)st->count) == NULL ||
        cJSON_AddNumberToObject(obj, "ratio", st->ratio) == NULL ||
        cJSON_AddBoolToObject(obj, "loud", st->loud) == NULL) {
        cJSON_Delete(obj);
        return api->result(c, NULL);
    }
    return api->result(c, obj);
}

static int
cfg_init(rpchost_plugin *p, const rpchost_api *a, void **state)
{
    rpchost_method m = {0};
    int rc;

    api = a;
    cfg.greeting = api->config_string(p, "greeting", "hello");
    rc = api->config_int(p, "count", 1, 1, 10, &cfg.count);
    if (rc != RPCHOST_OK) {
        api->set_error(p, "bad value for count: %s", api->strerror(rc));
        return rc;
    }
    rc = api->config_double(p, "ratio", 0.5, &cfg.ratio);
    if (rc != RPCHOST_OK) {
        api->set_error(p, "bad value for ratio: %s", api->strerror(rc));
        return rc;
    }
    rc = api->config_bool(p, "loud", 0, &cfg.loud);
    if (rc != RPCHOST_OK) {
        api->set_error(p, "bad value for loud: %s", api->strerror(rc));
        return rc;
    }
    m.name = "greet";
    m.handler = cfg_greet;
    rc = api->register_method(p, &m);
    if (rc != RPCHOST_OK) {
        api->set_error(p, "cannot register greet: %s", api->strerror(rc));
        return rc;
    }
    *state = &cfg;
    return RPCHOST_OK;
}

RPCHOST_PLUGIN_DEFINE("cfg", "1.0.0", cfg_init, NULL);
