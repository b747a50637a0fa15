/* SPDX-License-Identifier: MIT */
/*
 * sleep.c - `sleep(ms)` answers ms after ms milliseconds, without blocking
 * its event loop: the handler defers the call and sets a timer on the
 * call's loop; the timer answers it.  The plugin's `max_ms` key (default
 * 60000) bounds ms.  A call cancelled meanwhile (its client went away, its
 * call_timeout passed) stops its timer: the host drops a call's timers
 * once its on_cancel callback ran, and the timer holds nothing to free.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <rpchost/plugin.h>

static const rpchost_api *api;

struct sleep_state {
    int64_t max_ms;
};

static void
wake(rpchost_call *call, void *arg)
{
    int64_t ms = (int64_t)(intptr_t)arg;

    api->result(call, cJSON_CreateNumber((double)ms));
}

static rpchost_plugin *self;

/* The call was cancelled: its timer is dropped after this returns. */
static void
cancelled(rpchost_call *call, void *arg)
{
    (void)call;
    api->log(self, RPCHOST_LOG_DEBUG, "sleep(%lld) cancelled: timer stopped",
             (long long)(intptr_t)arg);
}

static int
sleep_ms(rpchost_call *call, const cJSON *params, void *state)
{
    struct sleep_state *st = state;
    int64_t ms;
    int rc;

    (void)params;
    rc = api->param_int(call, 0, "ms", 0, st->max_ms, &ms);
    if (rc != RPCHOST_OK)
        return rc; /* the host answers -32602 naming "ms" */
    rc = api->defer(call);
    if (rc != RPCHOST_OK)
        return rc;
    rc = api->timer(call, (unsigned)ms, wake, (void *)(intptr_t)ms);
    if (rc != RPCHOST_OK) {
        /* The call is deferred: answer it ourselves. */
        api->error(call, RPCHOST_INTERNAL_ERROR, NULL, NULL);
        return RPCHOST_OK;
    }
    /* An ABI 2 host whose table has on_cancel (it always has, once
     * ABI 2 is released). */
    if (api->size > offsetof(rpchost_api, on_cancel))
        api->on_cancel(call, cancelled, (void *)(intptr_t)ms);
    return RPCHOST_OK;
}

static int
sleep_init(rpchost_plugin *plugin, const rpchost_api *host, void **state)
{
    static const rpchost_param params[] = {
        {"ms", RPCHOST_TYPE_INTEGER, 1, "milliseconds to wait (0..max_ms)"},
        {NULL, 0, 0, NULL},
    };
    static const rpchost_param result[] = {
        {"ms", RPCHOST_TYPE_INTEGER, 1, "the milliseconds waited"},
        {NULL, 0, 0, NULL},
    };
    static const rpchost_method m = {
        .name = "sleep",
        .handler = sleep_ms,
        .summary = "Answers after ms milliseconds, without blocking.",
        .params = params,
        .result = result,
    };
    struct sleep_state *st = malloc(sizeof(*st));
    int rc;

    api = host;
    self = plugin;
    if (st == NULL)
        return RPCHOST_ENOMEM;
    rc = api->config_int(plugin, "max_ms", 60000, 0, 3600000, &st->max_ms);
    if (rc == RPCHOST_OK)
        rc = api->register_method(plugin, &m);
    if (rc != RPCHOST_OK) {
        free(st);
        return rc;
    }
    *state = st;
    return RPCHOST_OK;
}

static void
sleep_fini(void *state)
{
    free(state);
}

RPCHOST_PLUGIN_DEFINE("sleep", "1.0.0", sleep_init, sleep_fini);
