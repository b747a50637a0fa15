/* SPDX-License-Identifier: MIT */
/*
 * rcode.c - see rcode.h.
 */
#include "rcode.h"

#include "rpchost/plugin.h"

const char *
rcode_text(int rc)
{
    switch (rc) {
    case RPCHOST_OK:
        return "success";
    case RPCHOST_ENOMEM:
        return "out of memory";
    case RPCHOST_EINVAL:
        return "invalid argument";
    case RPCHOST_EEXIST:
        return "already registered";
    case RPCHOST_ESTATE:
        return "not allowed in this state";
    case RPCHOST_ERANGE:
        return "value out of range";
    case RPCHOST_ENOENT:
        return "not found";
    case RPCHOST_ERESERVED:
        return "error code in the reserved range";
    case RPCHOST_EFAIL:
        return "plugin failure";
    case RPCHOST_ETYPE:
        return "wrong type";
    }
    return "unknown error code";
}
