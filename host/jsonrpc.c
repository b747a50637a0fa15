/* SPDX-License-Identifier: MIT */
/*
 * jsonrpc.c - see jsonrpc.h.
 */
#include "jsonrpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpchost/plugin.h"

const char *
rpc_error_message(int code)
{
    switch (code) {
    case RPCHOST_PARSE_ERROR:
        return "Parse error";
    case RPCHOST_INVALID_REQUEST:
        return "Invalid Request";
    case RPCHOST_METHOD_NOT_FOUND:
        return "Method not found";
    case RPCHOST_INVALID_PARAMS:
        return "Invalid params";
    case RPCHOST_INTERNAL_ERROR:
        return "Internal error";
    }
    return NULL;
}

/* The raw text of member `m` of e, or NULL when it is absent. */
static const char *
member(const char *body, const struct jscan_elem *e, int m, size_t *len)
{
    *len = e->m[m].len;
    return *len ? body + e->m[m].off : NULL;
}

/* Whether the raw JSON value v[0..len) is the string "2.0". */
static int
is_v2(const char *v, size_t len)
{
    char dec[24];

    if (len == 5 && memcmp(v, "\"2.0\"", 5) == 0)
        return 1;
    /* An escaped spelling ("2\u002e0") is decoded to compare; none takes
     * more than 20 bytes (three \uXXXX and the quotes). */
    if (v[0] != '"' || len > sizeof(dec))
        return 0;
    return jscan_unescape(v, len, dec) == 3 && memcmp(dec, "2.0", 3) == 0;
}

/* Check the request the scan recorded as e; fill r.  The method name is
 * decoded into *names (advanced past it).  -1 only when the params could
 * not be parsed (out of memory): that answers the whole body. */
static int
check_request(const char *body, const struct jscan_elem *e, char **names,
              struct rpc_req *r)
{
    const char *id, *v, *method, *params;
    size_t id_len, len, method_len, params_len;

    memset(r, 0, sizeof(*r));
    if (!e->is_object) {
        r->invalid = "a request must be a JSON object";
        return 0;
    }
    id = member(body, e, JSCAN_ID, &id_len);
    if (id != NULL) {
        if (id[0] == '"' || id[0] == '-' || (id[0] >= '0' && id[0] <= '9') ||
            id[0] == 'n') {
            r->id = id;
            r->id_len = id_len;
        } else {
            /* An id of the wrong type cannot be echoed: answer with null
             * (and answer at all: this is no notification). */
            r->invalid = "\"id\" must be a string, a number or null";
            return 0;
        }
    }
    v = member(body, e, JSCAN_JSONRPC, &len);
    method = member(body, e, JSCAN_METHOD, &method_len);
    params = member(body, e, JSCAN_PARAMS, &params_len);
    if (v == NULL || !is_v2(v, len))
        r->invalid = "\"jsonrpc\" must be exactly \"2.0\"";
    else if (method == NULL || method[0] != '"')
        r->invalid = "\"method\" must be a string";
    else if (params != NULL && params[0] != '[' && params[0] != '{')
        r->invalid = "\"params\" must be an array or an object";
    if (r->invalid != NULL) {
        if (r->id == NULL) {
            r->id = "null";
            r->id_len = 4;
        }
        return 0;
    }
    if (params != NULL) {
        /* The one part handed to cJSON: plugins read params as a tree. */
        r->tree = cJSON_ParseWithLength(params, params_len);
        if (r->tree == NULL)
            return -1;
        r->params = r->tree;
    }
    r->method = *names;
    *names += jscan_unescape(method, method_len, *names) + 1;
    return 0;
}

int
rpc_parse(const char *body, size_t len, const struct rpc_limits *lim,
          struct rpc_envelope *env)
{
    size_t names_len = 0;
    struct jscan scan;
    char *names;
    int err;

    /* Only what is read before it is written: zeroing the whole envelope
     * (the detail's 160 bytes, the inline names) was a tenth of a single
     * request's parse. */
    env->err = 0;
    env->detail[0] = '\0';
    env->is_batch = 0;
    env->n = 0;
    env->reqs = NULL;
    env->names = NULL;
    err = jscan_run(body, len, lim->max_depth, lim->max_batch, &scan);
    if (err == JSCAN_BATCH) {
        env->err = RPCHOST_INVALID_REQUEST;
        snprintf(env->detail, sizeof(env->detail),
                 "batch too large: more than %zu calls (max_batch)",
                 lim->max_batch);
        goto out;
    }
    if (err == JSCAN_NOMEM) {
        env->err = RPCHOST_INTERNAL_ERROR;
        snprintf(env->detail, sizeof(env->detail), "out of memory");
        goto out;
    }
    if (err != JSCAN_OK) {
        env->err = RPCHOST_PARSE_ERROR;
        if (err == JSCAN_DEPTH)
            snprintf(env->detail, sizeof(env->detail),
                     "nesting deeper than %d (max_depth) at byte %zu",
                     lim->max_depth, scan.err_off);
        else
            snprintf(env->detail, sizeof(env->detail), "%s at byte %zu",
                     jscan_strerror(err), scan.err_off);
        goto out;
    }
    env->is_batch = scan.is_array;
    if (env->is_batch && scan.count == 0) {
        env->err = RPCHOST_INVALID_REQUEST;
        snprintf(env->detail, sizeof(env->detail), "empty batch");
        goto out;
    }
    /* Room for every method name, decoded: never longer than its raw
     * text, whose quotes pay for the NUL. */
    for (size_t i = 0; i < scan.count; i++)
        names_len += scan.elems[i].m[JSCAN_METHOD].len;
    env->reqs =
        scan.count == 1 ? &env->one : calloc(scan.count, sizeof(*env->reqs));
    env->names = names_len <= sizeof(env->names_inline) ? env->names_inline
                                                        : malloc(names_len);
    if (env->reqs == NULL || env->names == NULL) {
        env->err = RPCHOST_INTERNAL_ERROR;
        snprintf(env->detail, sizeof(env->detail), "out of memory");
        goto out;
    }
    env->one.tree = NULL; /* what rpc_envelope_free() reads of it */
    env->n = scan.count;
    names = env->names;
    for (size_t i = 0; i < env->n; i++) {
        if (check_request(body, &scan.elems[i], &names, &env->reqs[i]) != 0) {
            /* The scan accepted it, so this is cJSON's own limit or
             * memory. */
            env->err = RPCHOST_PARSE_ERROR;
            snprintf(env->detail, sizeof(env->detail),
                     "cannot parse (out of memory or nesting over %d)",
                     CJSON_NESTING_LIMIT);
            goto out;
        }
    }
out:
    jscan_free(&scan); /* only the parse reads it */
    return env->err;
}

void
rpc_envelope_free(struct rpc_envelope *env)
{
    if (env->reqs != NULL) {
        for (size_t i = 0; i < env->n; i++)
            cJSON_Delete(env->reqs[i].tree);
        if (env->reqs != &env->one)
            free(env->reqs);
    }
    env->reqs = NULL;
    if (env->names != env->names_inline)
        free(env->names);
    env->names = NULL;
}

static void
write_id(struct buf *b, const char *id, size_t id_len)
{
    buf_puts(b, ",\"id\":");
    if (id == NULL)
        buf_puts(b, "null");
    else
        buf_append(b, id, id_len);
    buf_putc(b, '}');
}

void
rpc_write_result(struct buf *b, const char *id, size_t id_len, const char *json,
                 size_t json_len)
{
    buf_puts(b, "{\"jsonrpc\":\"2.0\",\"result\":");
    buf_append(b, json, json_len);
    write_id(b, id, id_len);
}

void
rpc_write_result_string(struct buf *b, const char *id, size_t id_len,
                        const char *s)
{
    buf_puts(b, "{\"jsonrpc\":\"2.0\",\"result\":");
    buf_json_string(b, s);
    write_id(b, id, id_len);
}

void
rpc_write_error(struct buf *b, const char *id, size_t id_len, int code,
                const char *message, const char *data_json)
{
    if (message == NULL)
        message = rpc_error_message(code);
    if (message == NULL)
        message = "Server error";
    buf_printf(
        b, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":%d,\"message\":", code);
    buf_json_string(b, message);
    if (data_json != NULL) {
        buf_puts(b, ",\"data\":");
        buf_puts(b, data_json);
    }
    buf_putc(b, '}');
    write_id(b, id, id_len);
}

void
rpc_write_error_detail(struct buf *b, const char *id, size_t id_len, int code,
                       const char *detail)
{
    struct buf d = BUF_INIT;

    if (detail == NULL) {
        rpc_write_error(b, id, id_len, code, NULL, NULL);
        return;
    }
    buf_json_string(&d, detail);
    if (!buf_ok(&d)) {
        b->failed = 1;
        return;
    }
    rpc_write_error(b, id, id_len, code, NULL, buf_cstr(&d));
    buf_free(&d);
}
