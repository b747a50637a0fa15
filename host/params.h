/*
 * params.h - method params descriptions: checking a description at
 * registration, validating a call's params against it, and finding one
 * param by position or name (pure; no libevent).
 */
#ifndef HOST_PARAMS_H
#define HOST_PARAMS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "rpchost/plugin.h"

#define PARAMS_MAX 64     /* params one method may describe */
#define PARAM_NAME_MAX 64 /* bytes in a param name */

/* The host's copy of one rpchost_param. */
struct param_desc {
    char *name;
    int type; /* enum rpchost_type */
    int required;
    char *description; /* may be NULL */
};

/* Check a plugin's description (an array ending with name NULL): names
 * 1..64 characters of [A-Za-z0-9_], unique, known types, required params
 * before optional ones, at most PARAMS_MAX.  0, or -1 with *why set. */
int params_check_desc(const rpchost_param *p, const char **why);

/* Copy a checked description; *n receives the count.  NULL on ENOMEM
 * (or for an empty description, with *n = 0). */
struct param_desc *params_copy(const rpchost_param *p, size_t *n);
void params_free(struct param_desc *d, size_t n);

/* Validate `params` (array, object or NULL) against d[0..n).  0, or -1
 * with a message naming the offending param in why. */
int params_validate(const struct param_desc *d, size_t n, const cJSON *params,
                    char *why, size_t len);

/* The param at `pos` of an array, or called `name` in an object (see the
 * getters in plugin.h); NULL when absent. */
const cJSON *params_find(const cJSON *params, size_t pos, const char *name);

/* Whether v has JSON type `type` (RPCHOST_TYPE_INTEGER: a number with an
 * integral value within +-(2^53 - 1)). */
int params_type_ok(int type, const cJSON *v);

/* "string", "integer", ... ; "any" for RPCHOST_TYPE_ANY. */
const char *params_type_name(int type);

#endif
