/*
 * fault.so - test fixture: methods that kill the process the way a buggy
 * plugin would, for the fatal-signal report (host/fatal.h).
 *   segfault()  writes through a null pointer
 *   abort()     calls abort()
 * With `crash_in_init = true` in its section, init itself segfaults (for a
 * fault on the reload thread).
 */
#include <stdlib.h>

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

static int
fault_init(rpchost_plugin *p, const rpchost_api *a, void **state)
{
    rpchost_method m = {0};
    int rc;

    int crash = 0;

    (void)state;
    api = a;
    if (api->config_bool(p, "crash_in_init", 0, &crash) == RPCHOST_OK && crash)
        *nowhere = 1;
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
