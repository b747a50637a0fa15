/* SPDX-License-Identifier: MIT */
/*
 * initfail.so - test fixture: init reports an error and refuses to load.
 */
#include <rpchost/plugin.h>

static const rpchost_api *api;

static int
initfail_init(rpchost_plugin *p, const rpchost_api *a, void **state)
{
    api = a;
    *state = NULL;
    api->set_error(p, "cannot reach database at %s", "db:5432");
    return RPCHOST_EFAIL;
}

RPCHOST_PLUGIN_DEFINE("initfail", "1.0.0", initfail_init, NULL);
