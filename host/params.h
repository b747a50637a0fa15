/* SPDX-License-Identifier: MIT */
/*
 * params.h - method params descriptions: checking a description at
 * registration, validating a call's params against it, and finding one
 * param by position or name (pure; no libevent).
 *
 * Cost.  cJSON keeps an array as a linked list, so cJSON_GetArrayItem(a, i)
 * walks i items: a handler reading n params by position that way would
 * take O(n^2) steps of loop time.  Positional lookups here go through a
 * cursor (struct params_cursor) instead and cost O(1) amortised; checking
 * params against a description is one pass over them.
 */
#ifndef HOST_PARAMS_H
#define HOST_PARAMS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "rpchost/plugin.h"

#define PARAMS_MAX 64     /* params one method may describe */
#define PARAM_NAME_MAX 64 /* bytes in a param name */

/* The host's copy of one rpchost_param or rpchost_param_doc. */
struct param_desc {
    char *name;
    int type; /* enum rpchost_type */
    int required;
    char *description; /* may be NULL */
    int item_type;     /* an ARRAY's items (RPCHOST_TYPE_ANY: unchecked) */
    unsigned flags;    /* RPCHOST_PARAM_* */
    char *title;       /* its schema's title; NULL: discover makes one */
};

/* Check a plugin's description (an array ending with name NULL): names
 * 1..64 characters of [A-Za-z0-9_], unique, known types, required params
 * before optional ones, at most PARAMS_MAX; for the doc form also: an
 * item_type only for an ARRAY, titles like names, known flags, and
 * RPCHOST_PARAM_VARIADIC only on the last param.  0, or -1 with *why
 * set. */
int params_check_desc(const rpchost_param *p, const char **why);
int params_check_doc(const rpchost_param_doc *p, const char **why);

/* Copy a checked description; *n receives the count.  NULL on ENOMEM
 * (or for an empty description, with *n = 0). */
struct param_desc *params_copy(const rpchost_param *p, size_t *n);
struct param_desc *params_copy_doc(const rpchost_param_doc *p, size_t *n);
void params_free(struct param_desc *d, size_t n);

/* Whether d[0..n) ends with a variadic param. */
int params_variadic(const struct param_desc *d, size_t n);

/* Validate `params` (array, object or NULL) against d[0..n), a checked
 * description (so n <= PARAMS_MAX), given as `structure` (enum
 * rpchost_param_structure; RPCHOST_PARAMS_ANY is not checked here: the
 * caller skips the call).  A variadic last param takes every positional
 * value past n - 1, and every member no other param names; an ARRAY with an
 * item_type has each item checked. 0, or -1 with a message naming the offending
 * param in why.  One pass over params (and over an array param's items). */
int params_validate(const struct param_desc *d, size_t n, int structure,
                    const cJSON *params, char *why, size_t len);

/* Where the positional lookups of one call's params stand.  Start it
 * zeroed (PARAMS_CURSOR_INIT) for each params tree; free it with
 * params_cursor_free() before the tree goes.  One thread at a time. */
struct params_cursor {
    const cJSON *item;   /* the item last found, at `pos` (NULL: none) */
    size_t pos;          /* its position */
    const cJSON **index; /* every item by position, once built (malloc) */
    size_t count;        /* entries in index */
    size_t steps;        /* items stepped over so far (for tests) */
};

#define PARAMS_CURSOR_INIT                                                     \
    {                                                                          \
        NULL, 0, NULL, 0, 0                                                    \
    }

/* Items a lookup walks (from the head or from the last item found) before
 * it indexes the array instead. */
#define PARAMS_WALK_MAX 8

/* The param at `pos` of an array, or called `name` in an object (see the
 * getters in plugin.h); NULL when absent.  By position: the position after
 * the last one found is one step, and so is any other once the array has
 * an index, built the first time a lookup would walk more than
 * PARAMS_WALK_MAX items (one pass; without memory for it, the walk goes
 * on).  By name: a walk over the members (cJSON's lookup). */
const cJSON *params_find(const cJSON *params, struct params_cursor *cur,
                         size_t pos, const char *name);
/* Free what the cursor holds and zero it. */
void params_cursor_free(struct params_cursor *cur);

/* Whether v has JSON type `type` (RPCHOST_TYPE_INTEGER: a number with an
 * integral value within +-(2^53 - 1)). */
int params_type_ok(int type, const cJSON *v);

/* "string", "integer", ... ; "any" for RPCHOST_TYPE_ANY. */
const char *params_type_name(int type);

#endif
