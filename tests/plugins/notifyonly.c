/* SPDX-License-Identifier: MIT */
/*
 * notifyonly.so - test fixture for RPCHOST_METHOD_NOTIFICATION (ABI 2):
 *   note    notification-only; counts the notifications, never answers
 *   count   answers how many `note` notifications arrived
 */
#include <stdatomic.h>

#include <rpchost/plugin.h>

static const rpchost_api *api;
static atomic_long notes;

static int
note(rpchost_call *call, const cJSON *params, void *state)
{
    (void)call;
    (void)params;
    (void)state;
    atomic_fetch_add(&notes, 1);
    return RPCHOST_OK; /* no answer: none is due */
}

static int
count(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->result(call, cJSON_CreateNumber((double)atomic_load(&notes)));
}

static int
notifyonly_init(rpchost_plugin *p, const rpchost_api *a, void **state)
{
    rpchost_method m = {0};
    int rc;

    (void)state;
    api = a;
    m.name = "note";
    m.handler = note;
    m.flags = RPCHOST_METHOD_NOTIFICATION;
    rc = api->register_method(p, &m);
    if (rc == RPCHOST_OK) {
        m.name = "count";
        m.handler = count;
        m.flags = 0;
        rc = api->register_method(p, &m);
    }
    return rc;
}

RPCHOST_PLUGIN_DEFINE("notifyonly", "1.0.0", notifyonly_init, NULL);
