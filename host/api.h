/* SPDX-License-Identifier: MIT */
/*
 * api.h - the host API table handed to plugins, and the plugin-side half
 * of its functions (logging, registration, config getters).  The call-side
 * half (result, error, ...) is call.h's.
 */
#ifndef HOST_API_H
#define HOST_API_H

#include "rpchost/plugin.h"

/* The one table; static storage, valid for the life of the process. */
const rpchost_api *host_api(void);

#endif
