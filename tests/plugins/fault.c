/* SPDX-License-Identifier: MIT */
/*
 * fault.so - test fixture: methods that kill the process the way a buggy
 * plugin would, for the fatal-signal report (host/fatal.h).
 *   segfault()  writes through a null pointer
 *   abort()     calls abort()
 * With `crash_in_init = true` in its section, init itself segfaults (for a
 * fault on the reload thread); with `crash_after_ms = N`, a thread it
 * starts segfaults N ms after init (a worker that keeps dying soon after
 * it starts: the supervisor's backoff).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <rpchost/plugin.h>

static const rpchost_api *api;
static int *volatile nowhere; /* volatile: the write is not optimised away */

static int
fault_segfault(rpchost_call *c, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    *nowhere = 1;
    return api->result(c, cJSON_CreateNull());
}

static int
fault_abort(rpchost_call *c, const cJSON *params, void *state)
{
    (void)c;
    (void)params;
    (void)state;
    abort();
}

static void *
crash_later(void *arg)
{
    long ms = (long)(intptr_t)arg;
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&t, NULL);
    *nowhere = 1;
    return NULL;
}

static int
fault_init(rpchost_plugin *p, const rpchost_api *a, void **state)
{
    rpchost_method m = {0};
    int rc;
    int crash = 0;

    (void)state;
    api = a;
    int64_t after = 0;
    pthread_t t;

    if (api->config_bool(p, "crash_in_init", 0, &crash) == RPCHOST_OK && crash)
        *nowhere = 1;
    if (api->config_int(p, "crash_after_ms", 0, 0, 3600000, &after) ==
            RPCHOST_OK &&
        after > 0 &&
        pthread_create(&t, NULL, crash_later, (void *)(intptr_t)after) == 0)
        pthread_detach(t);
    m.name = "segfault";
    m.handler = fault_segfault;
    rc = api->register_method(p, &m);
    if (rc == RPCHOST_OK) {
        m.name = "abort";
        m.handler = fault_abort;
        rc = api->register_method(p, &m);
    }
    return rc;
}

RPCHOST_PLUGIN_DEFINE("fault", "1.0.0", fault_init, NULL);
