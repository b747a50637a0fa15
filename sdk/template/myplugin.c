/* SPDX-License-Identifier: MIT */
/*
 * myplugin.c - a starter rpchost plugin.  It registers one method,
 * `greet(name, [times])`, reads its config keys, keeps state, logs, reads
 * the call's context (who called, the trace id) and registers a call hook
 * (on_done) that logs every call of any plugin slower than `slow_ms`.
 *
 *   [myplugin]
 *   path = /path/to/myplugin.so
 *   greeting = hello          ; optional, default "hello"
 *   slow_ms = 1000            ; optional: log calls slower than this
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rpchost/plugin.h>

#ifndef PLUGIN_NAME
#define PLUGIN_NAME "myplugin"
#endif

static const rpchost_api *api;

/* Per-plugin state, from init to every handler and to fini.  Read-only
 * after init, so concurrent handlers need no lock. */
struct state {
    char greeting[64];
    int64_t slow_ms;
    rpchost_plugin *plugin; /* for api->log from the hook */
};

/* greet(name, times = 1) -> "hello, name" repeated `times` times, joined
 * by spaces.  Params are described below, so the host has already checked
 * them; the getters find them by position or by name. */
static int
greet(rpchost_call *call, const cJSON *params, void *state)
{
    struct state *st = state;
    const char *name;
    int64_t times = 1;
    char out[1024];
    size_t off = 0;
    int rc;

    (void)params;
    /* The call's context: who sent it.  A line logged inside a handler
     * or hook ends with the call's W3C trace id (" [trace ...]"), as
     * the access log's line does: api->call_trace_id(call) gives it. */
    api->log(st->plugin, RPCHOST_LOG_DEBUG, "greet from %s",
             api->call_peer(call));
    rc = api->param_string(call, 0, "name", &name);
    if (rc != RPCHOST_OK)
        return rc;
    rc = api->param_int(call, 1, "times", 1, 10, &times);
    if (rc != RPCHOST_OK && rc != RPCHOST_ENOENT)
        return rc; /* the host answers -32602 naming the param */
    for (int64_t i = 0; i < times; i++) {
        int n = snprintf(out + off, sizeof(out) - off, "%s%s, %s", i ? " " : "",
                         st->greeting, name);
        if (n < 0 || (size_t)n >= sizeof(out) - off)
            return api->error(call, 1, "Greeting too long", NULL);
        off += (size_t)n;
    }
    return api->result(call, cJSON_CreateString(out));
}

/* A call hook: runs after every call of every plugin is answered, on
 * the call's event loop (keep it short).  code: 0 for a result, else the
 * error code. */
static void
on_done(rpchost_call *call, int code, uint64_t duration_us, void *state)
{
    struct state *st = state;

    if (duration_us / 1000 < (uint64_t)st->slow_ms)
        return;
    api->log(st->plugin, RPCHOST_LOG_WARN,
             "slow call: %s from %s took %llu ms (code %d)",
             api->call_method(call), api->call_peer(call),
             (unsigned long long)(duration_us / 1000), code);
}

static int
plugin_init(rpchost_plugin *plugin, const rpchost_api *host, void **state)
{
    static const rpchost_param params[] = {
        {"name", RPCHOST_TYPE_STRING, 1, "who to greet"},
        {"times", RPCHOST_TYPE_INTEGER, 0, "how often (1..10, default 1)"},
        {NULL, 0, 0, NULL},
    };
    static const rpchost_param result[] = {
        {"greeting", RPCHOST_TYPE_STRING, 1, NULL},
        {NULL, 0, 0, NULL},
    };
    static const rpchost_method m = {
        .name = "greet",
        .handler = greet,
        .summary = "Greets someone.",
        .params = params,
        .result = result,
    };
    const char *greeting;
    struct state *st;
    int rc;

    api = host;
    greeting = api->config_string(plugin, "greeting", "hello");
    if (strlen(greeting) >= sizeof(st->greeting)) {
        api->set_error(plugin, "greeting is longer than %zu characters",
                       sizeof(st->greeting) - 1);
        return RPCHOST_ERANGE;
    }
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return RPCHOST_ENOMEM;
    snprintf(st->greeting, sizeof(st->greeting), "%s", greeting);
    st->plugin = plugin;
    rc = api->config_int(plugin, "slow_ms", 1000, 0, 3600000, &st->slow_ms);
    if (rc == RPCHOST_OK)
        rc = api->add_hooks(plugin, NULL, on_done);
    if (rc == RPCHOST_OK)
        rc = api->register_method(plugin, &m);
    if (rc != RPCHOST_OK) {
        free(st);
        return rc;
    }
    *state = st;
    api->log(plugin, RPCHOST_LOG_INFO, "ready, greeting with \"%s\"",
             st->greeting);
    return RPCHOST_OK;
}

static void
plugin_fini(void *state)
{
    free(state);
}

RPCHOST_PLUGIN_DEFINE(PLUGIN_NAME, "0.1.0", plugin_init, plugin_fini);
