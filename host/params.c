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

int
params_check_desc(const rpchost_param *p, const char **why)
{
    size_t n = 0;
    int optional_seen = 0;

    for (; p[n].name != NULL; n++) {
        if (n >= PARAMS_MAX) {
            *why = "more than 64 params described";
            return -1;
        }
        if (!name_ok(p[n].name)) {
            *why = "a param name must be 1..64 characters of A-Z a-z 0-9 _";
            return -1;
        }
        if (p[n].type < RPCHOST_TYPE_ANY || p[n].type > RPCHOST_TYPE_NULL) {
            *why = "a param has an unknown type";
            return -1;
        }
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

void
params_free(struct param_desc *d, size_t n)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(d[i].name);
        free(d[i].description);
    }
    free(d);
}

struct param_desc *
params_copy(const rpchost_param *p, size_t *n)
{
    struct param_desc *d;
    size_t count = 0;

    while (p[count].name != NULL)
        count++;
    *n = count;
    d = calloc(count ? count : 1, sizeof(*d));
    if (d == NULL)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        d[i].name = strdup(p[i].name);
        d[i].type = p[i].type;
        d[i].required = p[i].required != 0;
        d[i].description = p[i].description ? strdup(p[i].description) : NULL;
        if (d[i].name == NULL ||
            (p[i].description != NULL && d[i].description == NULL)) {
            params_free(d, i + 1);
            return NULL;
        }
    }
    return d;
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

static int
check_one(const struct param_desc *d, size_t i, const cJSON *v, char *why,
          size_t len)
{
    if (v == NULL) {
        if (!d->required)
            return 0;
        snprintf(why, len, "missing required param '%s' (%zu)", d->name, i);
        return -1;
    }
    if (!params_type_ok(d->type, v)) {
        snprintf(why, len, "param '%s' (%zu): expected %s%s", d->name, i,
                 d->type == RPCHOST_TYPE_INTEGER ? "an " : "a ",
                 params_type_name(d->type));
        return -1;
    }
    return 0;
}

int
params_validate(const struct param_desc *d, size_t n, const cJSON *params,
                char *why, size_t len)
{
    const cJSON *item, *found[PARAMS_MAX];

    if (params == NULL || cJSON_IsArray(params)) {
        size_t count = params ? (size_t)cJSON_GetArraySize(params) : 0;

        if (count > n) {
            snprintf(why, len, "too many params: %zu given, at most %zu", count,
                     n);
            return -1;
        }
        item = params ? params->child : NULL;
        for (size_t i = 0; i < n; i++) {
            if (check_one(&d[i], i, item, why, len) != 0)
                return -1;
            if (item != NULL)
                item = item->next;
        }
        return 0;
    }
    /* One pass over the members (a name may come many times: the first
     * counts, as with cJSON's lookup); at most n compares each. */
    memset(found, 0, n * sizeof(found[0]));
    cJSON_ArrayForEach (item, params) {
        size_t i;
        for (i = 0; i < n; i++)
            if (strcmp(d[i].name, item->string) == 0)
                break;
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
