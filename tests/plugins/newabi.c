/* SPDX-License-Identifier: MIT */
/*
 * newabi.so - test fixture: a plugin table written by hand (not with
 * RPCHOST_PLUGIN_DEFINE) that claims an ABI one newer than the header's.
 * The host must refuse it before running any of its code, with a message
 * naming both ABI versions.
 */
#include <stdio.h>
#include <stdlib.h>

#include <rpchost/plugin.h>

static const rpchost_api *api;

static int
newabi_init(rpchost_plugin *p, const rpchost_api *a, void **state)
{
    (void)p;
    (void)state;
    api = a;
    /* Must never run: the host checks abi_version first. */
    fputs("newabi: init ran although the ABI is too new\n", stderr);
    abort();
}

/* Exported under the symbol name the host looks up.  The asm label keeps
 * the C identifier distinct from the handle typedef of the same name. */
RPCHOST_EXPORT const
    rpchost_plugin_def newabi_table __asm__(RPCHOST_PLUGIN_SYMBOL) = {
        RPCHOST_ABI_VERSION + 1,
        (uint32_t)sizeof(rpchost_plugin_def),
        "newabi",
        "1.0.0",
        newabi_init,
        NULL,
};
