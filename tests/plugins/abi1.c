/* SPDX-License-Identifier: MIT */
/*
 * abi1.so - test fixture: a plugin built for ABI 1, as every plugin was
 * before ABI 2 appended members to the API table.  Its table says ABI 1
 * (written by hand, as a plugin compiled against the ABI 1 header has it)
 * and it uses only ABI 1 members.  A host of any later ABI must load it
 * and serve its method: the ABI only ever grows at its end.
 *   abi1_ping   answers "pong from ABI 1" (and the host's ABI in data)
 *   abi1_bad    refuses with -32602 through api->error, the ABI 1 way
 */
#include <rpchost/plugin.h>

static const rpchost_api *api;

static int
abi1_ping(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->result(call, cJSON_CreateString("pong from ABI 1"));
}

static int
abi1_bad(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->error(call, RPCHOST_INVALID_PARAMS, "Invalid params",
                      cJSON_CreateString("the ABI 1 way"));
}

static int
abi1_init(rpchost_plugin *p, const rpchost_api *a, void **state)
{
    rpchost_method m = {0};
    int rc;

    (void)state;
    api = a;
    if (a->abi_version < 1)
        return RPCHOST_EINVAL;
    m.name = "abi1_ping";
    m.handler = abi1_ping;
    rc = api->register_method(p, &m);
    if (rc == RPCHOST_OK) {
        m.name = "abi1_bad";
        m.handler = abi1_bad;
        rc = api->register_method(p, &m);
    }
    return rc;
}

/* The table as the ABI 1 header's RPCHOST_PLUGIN_DEFINE wrote it (the asm
 * label keeps the C identifier apart from the symbol's name). */
RPCHOST_EXPORT const
    rpchost_plugin_def abi1_table __asm__(RPCHOST_PLUGIN_SYMBOL) = {
        1,    (uint32_t)sizeof(rpchost_plugin_def), "abi1", "1.0.0", abi1_init,
        NULL,
};
