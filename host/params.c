/* SPDX-License-Identifier: MIT */
/*
 * params.c - see params.h.
 */
#include "params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define EXACT_INT_MAX 9007199254740991.0 /* 2^53 - 1 */
#define NO_INDEX ((size_t)-1)            /* params_cursor.count: no memory */

const char *
params_type_name(int type)
{
    switch (type) {
    case RPCHOST_TYPE_STRING:
        return "string";
    case RPCHOST_TYPE_INTEGER:
        return "integer";
    case RPCHOST_TYPE_NUMBER:
        return "number";
    case RPCHOST_TYPE_BOOLEAN:
        return "boolean";
    case RPCHOST_TYPE_OBJECT:
        return "object";
    case RPCHOST_TYPE_ARRAY:
        return "array";
    case RPCHOST_TYPE_NULL:
        return "null";
    default:
        return "any";
    }
}

int
params_type_ok(int type, const cJSON *v)
{
    switch (type) {
    case RPCHOST_TYPE_ANY:
        return v != NULL;
    case RPCHOST_TYPE_STRING:
        return cJSON_IsString(v);
    case RPCHOST_TYPE_INTEGER:
        return cJSON_IsNumber(v) && floor(v->valuedouble) == v->valuedouble &&
               fabs(v->valuedouble) <= EXACT_INT_MAX;
    case RPCHOST_TYPE_NUMBER:
        return cJSON_IsNumber(v);
    case RPCHOST_TYPE_BOOLEAN:
        return cJSON_IsBool(v);
    case RPCHOST_TYPE_OBJECT:
        return cJSON_IsObject(v);
    case RPCHOST_TYPE_ARRAY:
        return cJSON_IsArray(v);
    case RPCHOST_TYPE_NULL:
        return cJSON_IsNull(v);
    }
    return 0;
}

static int
name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > PARAM_NAME_MAX)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_") == n;
}

static int
type_ok(int type)
{
    return type >= RPCHOST_TYPE_ANY && type <= RPCHOST_TYPE_NULL;
}

/* The doc form of an rpchost_param array, in out[0..PARAMS_MAX + 2): at
 * most PARAMS_MAX + 1 entries are taken, so a longer one stays too long. */
static void
from_v1(const rpchost_param *p, rpchost_param_doc *out)
{
    size_t i;

    for (i = 0; p[i].name != NULL && i <= PARAMS_MAX; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].name = p[i].name;
        out[i].type = p[i].type;
        out[i].required = p[i].required;
        out[i].description = p[i].description;
    }
    memset(&out[i], 0, sizeof(out[i]));
}

/* What is wrong with p[n] alone, or NULL. */
static const char *
entry_problem(const rpchost_param_doc *p, size_t n)
{
    if (!name_ok(p[n].name))
        return "a param name must be 1..64 characters of A-Z a-z 0-9 _";
    if (!type_ok(p[n].type) || !type_ok(p[n].item_type))
        return "a param has an unknown type";
    if (p[n].item_type != RPCHOST_TYPE_ANY && p[n].type != RPCHOST_TYPE_ARRAY)
        return "a param has an item type but is not an array";
    if (p[n].title != NULL && !name_ok(p[n].title))
        return "a schema title must be 1..64 characters of A-Z a-z 0-9 _";
    if (p[n].flags & ~RPCHOST_PARAM_VARIADIC)
        return "a param has unknown flags";
    if ((p[n].flags & RPCHOST_PARAM_VARIADIC) && p[n + 1].name != NULL)
        return "only the last param may be variadic";
    return NULL;
}

int
params_check_doc(const rpchost_param_doc *p, const char **why)
{
    size_t n = 0;
    int optional_seen = 0;

    for (; p[n].name != NULL; n++) {
        if (n >= PARAMS_MAX) {
            *why = "more than 64 params described";
            return -1;
        }
        *why = entry_problem(p, n);
        if (*why != NULL)
            return -1;
        if (p[n].required && optional_seen) {
            *why = "a required param follows an optional one (positional "
                   "calls could not supply it)";
            return -1;
        }
        if (!p[n].required)
            optional_seen = 1;
        for (size_t j = 0; j < n; j++) {
            if (strcmp(p[j].name, p[n].name) == 0) {
                *why = "two params have the same name";
                return -1;
            }
        }
    }
    return 0;
}

int
params_check_desc(const rpchost_param *p, const char **why)
{
    rpchost_param_doc doc[PARAMS_MAX + 2];

    from_v1(p, doc);
    return params_check_doc(doc, why);
}

void
params_free(struct param_desc *d, size_t n)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(d[i].name);
        free(d[i].description);
        free(d[i].title);
    }
    free(d);
}

/* strdup(s), or NULL for NULL; *failed set when memory ran out. */
static char *
dup_or_null(const char *s, int *failed)
{
    char *d = s ? strdup(s) : NULL;

    if (s != NULL && d == NULL)
        *failed = 1;
    return d;
}

struct param_desc *
params_copy_doc(const rpchost_param_doc *p, size_t *n)
{
    struct param_desc *d;
    size_t count = 0;
    int failed = 0;

    while (p[count].name != NULL)
        count++;
    *n = count;
    d = calloc(count ? count : 1, sizeof(*d));
    if (d == NULL)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        d[i].name = dup_or_null(p[i].name, &failed);
        d[i].type = p[i].type;
        d[i].required = p[i].required != 0;
        d[i].description = dup_or_null(p[i].description, &failed);
        d[i].item_type = p[i].item_type;
        d[i].flags = p[i].flags;
        d[i].title = dup_or_null(p[i].title, &failed);
    }
    if (failed) {
        params_free(d, count);
        return NULL;
    }
    return d;
}

struct param_desc *
params_copy(const rpchost_param *p, size_t *n)
{
    rpchost_param_doc doc[PARAMS_MAX + 2];

    from_v1(p, doc);
    return params_copy_doc(doc, n);
}

int
params_variadic(const struct param_desc *d, size_t n)
{
    return n > 0 && (d[n - 1].flags & RPCHOST_PARAM_VARIADIC) != 0;
}

/* Index every item of `params` by position; 0, or -1 without memory. */
static int
build_index(const cJSON *params, struct params_cursor *cur)
{
    const cJSON *it;
    size_t n = 0;

    for (it = params->child; it != NULL; it = it->next)
        n++;
    cur->index = malloc((n ? n : 1) * sizeof(*cur->index));
    if (cur->index == NULL) {
        cur->count = NO_INDEX; /* walk from now on; do not count again */
        return -1;
    }
    n = 0;
    for (it = params->child; it != NULL; it = it->next)
        cur->index[n++] = it;
    cur->count = n;
    cur->steps += n;
    return 0;
}

/* The item at `pos` of an array: at most PARAMS_WALK_MAX steps from the
 * last item found (when pos is past it) or from the head, else through the
 * index.  So a lookup costs O(1) but for the one that builds the index,
 * which costs the array's length once. */
static const cJSON *
item_at(const cJSON *params, struct params_cursor *cur, size_t pos)
{
    const cJSON *it = params->child;
    size_t i = 0, walked = 0;

    if (cur->index != NULL)
        return pos < cur->count ? cur->index[pos] : NULL;
    if (cur->item != NULL && pos >= cur->pos) {
        it = cur->item;
        i = cur->pos;
    }
    while (it != NULL && i < pos) {
        if (walked == PARAMS_WALK_MAX && cur->count != NO_INDEX &&
            build_index(params, cur) == 0) {
            cur->steps += walked;
            return pos < cur->count ? cur->index[pos] : NULL;
        }
        it = it->next;
        i++;
        walked++;
    }
    cur->steps += walked;
    if (it != NULL) {
        cur->item = it;
        cur->pos = i;
    }
    return it;
}

const cJSON *
params_find(const cJSON *params, struct params_cursor *cur, size_t pos,
            const char *name)
{
    if (cJSON_IsArray(params))
        return pos == RPCHOST_NOPOS ? NULL : item_at(params, cur, pos);
    if (cJSON_IsObject(params) && name != NULL)
        return cJSON_GetObjectItemCaseSensitive(params, name);
    return NULL;
}

void
params_cursor_free(struct params_cursor *cur)
{
    free(cur->index);
    memset(cur, 0, sizeof(*cur));
}

/* "a number", "an integer", ... */
static const char *
article(int type)
{
    return type == RPCHOST_TYPE_INTEGER ? "an " : "a ";
}

static int
check_one(const struct param_desc *d, size_t i, const cJSON *v, char *why,
          size_t len)
{
    const cJSON *item;
    size_t k = 0;

    if (v == NULL) {
        if (!d->required)
            return 0;
        snprintf(why, len, "missing required param '%s' (%zu)", d->name, i);
        return -1;
    }
    if (!params_type_ok(d->type, v)) {
        snprintf(why, len, "param '%s' (%zu): expected %s%s", d->name, i,
                 article(d->type), params_type_name(d->type));
        return -1;
    }
    if (d->type != RPCHOST_TYPE_ARRAY || d->item_type == RPCHOST_TYPE_ANY)
        return 0;
    cJSON_ArrayForEach (item, v) {
        if (!params_type_ok(d->item_type, item)) {
            snprintf(why, len, "param '%s' (%zu): item %zu: expected %s%s",
                     d->name, i, k, article(d->item_type),
                     params_type_name(d->item_type));
            return -1;
        }
        k++;
    }
    return 0;
}

/* By position: d[i] for the i-th value; a variadic last param for every
 * value past it too.  Too many values is said before a wrong one. */
static int
validate_array(const struct param_desc *d, size_t n, const cJSON *params,
               char *why, size_t len)
{
    const cJSON *item = params ? params->child : NULL;
    size_t count = params ? (size_t)cJSON_GetArraySize(params) : 0;
    size_t i;

    if (count > n && !params_variadic(d, n)) {
        snprintf(why, len, "too many params: %zu given, at most %zu", count, n);
        return -1;
    }
    for (i = 0; i < n || item != NULL; i++) {
        if (check_one(&d[i < n ? i : n - 1], i, item, why, len) != 0)
            return -1;
        if (item != NULL)
            item = item->next;
    }
    return 0;
}

int
params_validate(const struct param_desc *d, size_t n, int structure,
                const cJSON *params, char *why, size_t len)
{
    const cJSON *item, *found[PARAMS_MAX];

    if (structure == RPCHOST_PARAMS_BY_NAME && cJSON_IsArray(params)) {
        snprintf(why, len, "params must be given by name (an object)");
        return -1;
    }
    if (structure == RPCHOST_PARAMS_BY_POSITION && cJSON_IsObject(params)) {
        snprintf(why, len, "params must be given by position (an array)");
        return -1;
    }
    if (params == NULL || cJSON_IsArray(params))
        return validate_array(d, n, params, why, len);
    /* One pass over the members (a name may come many times: the first
     * counts, as with cJSON's lookup); at most n compares each.  A
     * variadic last param takes the members no other param names (as
     * Python's **kwargs), each of its type. */
    memset(found, 0, n * sizeof(found[0]));
    cJSON_ArrayForEach (item, params) {
        size_t i;
        for (i = 0; i < n; i++)
            if (strcmp(d[i].name, item->string) == 0)
                break;
        if (i == n && params_variadic(d, n)) {
            if (!params_type_ok(d[n - 1].type, item)) {
                snprintf(why, len, "param '%.*s' (for '%s'): expected %s%s",
                         (int)util_utf8_prefix(item->string, 64), item->string,
                         d[n - 1].name, article(d[n - 1].type),
                         params_type_name(d[n - 1].type));
                return -1;
            }
            if (found[n - 1] == NULL)
                found[n - 1] = item; /* a required one is there */
            continue;
        }
        if (i == n) {
            snprintf(why, len, "unknown param '%.*s'",
                     (int)util_utf8_prefix(item->string, 64), item->string);
            return -1;
        }
        if (found[i] == NULL)
            found[i] = item;
    }
    for (size_t i = 0; i < n; i++)
        if (check_one(&d[i], i, found[i], why, len) != 0)
            return -1;
    return 0;
}
