/* SPDX-License-Identifier: MIT */
/*
 * walk.so - test fixture: handlers that read every param by position
 * through the host's getter, for the test that a positional read costs the
 * same however many params there are (tests/unit/test_dispatch.c).
 *
 *   walk([numbers...])        their sum, read first to last
 *   walk_back([numbers...])   their sum, read last to first
 */
#include <stddef.h>

#include <rpchost/plugin.h>

static const rpchost_api *api;

static int
walk(rpchost_call *c, const cJSON *params, int back)
{
    size_t n = (size_t)cJSON_GetArraySize(params);
    double total = 0.0;

    for (size_t i = 0; i < n; i++) {
        double v;
        int rc = api->param_double(c, back ? n - 1 - i : i, NULL, &v);
        if (rc != RPCHOST_OK)
            return rc;
        total += v;
    }
    return api->result(c, cJSON_CreateNumber(total));
}

static int
m_walk(rpchost_call *c, const cJSON *params, void *state)
{
    (void)state;
    return walk(c, params, 0);
}

static int
m_walk_back(rpchost_call *c, const cJSON *params, void *state)
{
    (void)state;
    return walk(c, params, 1);
}

static const rpchost_method methods[] = {
    {"walk", m_walk, NULL, 0, "Sums its params, read first to last.", NULL,
     NULL},
    {"walk_back", m_walk_back, NULL, 0, "Sums its params, last to first.", NULL,
     NULL},
};

static int
walk_init(rpchost_plugin *p, const rpchost_api *a, void **state)
{
    (void)state;
    api = a;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        int rc = api->register_method(p, &methods[i]);
        if (rc != RPCHOST_OK)
            return rc;
    }
    return RPCHOST_OK;
}

RPCHOST_PLUGIN_DEFINE("walk", "1.0.0", walk_init, NULL);
