/* SPDX-License-Identifier: MIT */
/*
 * methoddoc.h - what a plugin's rpchost_method_doc adds to a registered
 * method (api->describe_method): checking it, and copying it into the
 * method (pure; no libevent).  Params entries are params.c's; the error
 * codes, the params structure and the description are here.
 */
#ifndef HOST_METHODDOC_H
#define HOST_METHODDOC_H

#include <stddef.h>

#include "rpchost/plugin.h"

#define METHOD_ERRORS_MAX 64 /* error codes one method may describe */

struct method;

/* The host's copy of one rpchost_error_doc. */
struct error_desc {
    int code;
    char *message;
    char *description; /* may be NULL */
};

/* Check a doc: its params and result as params_check_doc() does, a known
 * param_structure, a variadic param only last (by position and by name),
 * no params with RPCHOST_PARAMS_ANY, a result that is not variadic, and
 * at most METHOD_ERRORS_MAX errors with distinct codes outside the
 * reserved range (but for -32602 and -32603).  RPCHOST_OK, or
 * RPCHOST_EINVAL / RPCHOST_ERESERVED with *why set. */
int methoddoc_check(const rpchost_method_doc *doc, const char **why);

/* Copy a checked doc into m: what doc gives replaces what m had (a NULL
 * params or result keeps m's; RPCHOST_PARAMS_ANY drops m's params, so
 * calls are not checked).  All or nothing: RPCHOST_OK or RPCHOST_ENOMEM
 * with m unchanged.  Only while m's registry is not yet served. */
int methoddoc_apply(struct method *m, const rpchost_method_doc *doc);

void methoddoc_free_errors(struct error_desc *e, size_t n);

#endif
