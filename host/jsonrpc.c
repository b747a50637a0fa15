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

/* Check one request object; fill r.  `raw` is its id's raw text. */
static void
check_request(const cJSON *obj, const char *raw_id, size_t raw_len,
              struct rpc_req *r)
{
    const cJSON *v, *method, *id;

    memset(r, 0, sizeof(*r));
    if (!cJSON_IsObject(obj)) {
        r->invalid = "a request must be a JSON object";
        return;
    }
    id = cJSON_GetObjectItemCaseSensitive(obj, "id");
    if (id != NULL) {
        if (cJSON_IsString(id) || cJSON_IsNumber(id) || cJSON_IsNull(id)) {
            r->id = raw_id;
            r->id_len = raw_len;
        } else {
            /* An id of the wrong type cannot be echoed: answer with null
             * (and answer at all: this is no notification). */
            r->invalid = "\"id\" must be a string, a number or null";
            return;
        }
    }
    v = cJSON_GetObjectItemCaseSensitive(obj, "jsonrpc");
    if (v == NULL || !cJSON_IsString(v) || strcmp(v->valuestring, "2.0") != 0) {
        r->invalid = "\"jsonrpc\" must be exactly \"2.0\"";
        if (r->id == NULL) {
            r->id = "null";
            r->id_len = 4;
        }
        return;
    }
    method = cJSON_GetObjectItemCaseSensitive(obj, "method");
    if (method == NULL || !cJSON_IsString(method)) {
        r->invalid = "\"method\" must be a string";
        if (r->id == NULL) {
            r->id = "null";
            r->id_len = 4;
        }
        return;
    }
    v = cJSON_GetObjectItemCaseSensitive(obj, "params");
    if (v != NULL && !cJSON_IsArray(v) && !cJSON_IsObject(v)) {
        r->invalid = "\"params\" must be an array or an object";
        if (r->id == NULL) {
            r->id = "null";
            r->id_len = 4;
        }
        return;
    }
    r->params = v;
    r->method = method->valuestring;
}

int
rpc_parse(const char *body, size_t len, const struct rpc_limits *lim,
          struct rpc_envelope *env)
{
    const char *end = NULL;
    int err;

    memset(env, 0, sizeof(*env));
    err = jscan_run(body, len, lim->max_depth, lim->max_batch, &env->scan);
    if (err == JSCAN_BATCH) {
        env->err = RPCHOST_INVALID_REQUEST;
        snprintf(env->detail, sizeof(env->detail),
                 "batch too large: more than %zu calls (max_batch)",
                 lim->max_batch);
        return env->err;
    }
    if (err == JSCAN_NOMEM) {
        env->err = RPCHOST_INTERNAL_ERROR;
        snprintf(env->detail, sizeof(env->detail), "out of memory");
        return env->err;
    }
    if (err != JSCAN_OK) {
        env->err = RPCHOST_PARSE_ERROR;
        if (err == JSCAN_DEPTH)
            snprintf(env->detail, sizeof(env->detail),
                     "nesting deeper than %d (max_depth) at byte %zu",
                     lim->max_depth, env->scan.err_off);
        else
            snprintf(env->detail, sizeof(env->detail), "%s at byte %zu",
                     jscan_strerror(err), env->scan.err_off);
        return env->err;
    }
    env->root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (env->root == NULL) {
        /* The scan accepted it, so this is cJSON's own limit or memory. */
        env->err = RPCHOST_PARSE_ERROR;
        snprintf(env->detail, sizeof(env->detail),
                 "cannot parse (out of memory or nesting over %d)",
                 CJSON_NESTING_LIMIT);
        return env->err;
    }
    if (cJSON_IsArray(env->root)) {
        const cJSON *item;
        size_t i = 0;

        env->is_batch = 1;
        env->n = env->scan.count;
        if (env->n == 0) {
            env->err = RPCHOST_INVALID_REQUEST;
            snprintf(env->detail, sizeof(env->detail), "empty batch");
            return env->err;
        }
        env->reqs = calloc(env->n, sizeof(*env->reqs));
        if (env->reqs == NULL) {
            env->err = RPCHOST_INTERNAL_ERROR;
            snprintf(env->detail, sizeof(env->detail), "out of memory");
            return env->err;
        }
        cJSON_ArrayForEach (item, env->root) {
            const struct jscan_elem *e = &env->scan.elems[i];
            if (i >= env->n)
                break;
            check_request(item, body + e->id_off, e->id_len, &env->reqs[i]);
            i++;
        }
    } else {
        env->n = 1;
        env->reqs = &env->one;
        check_request(env->root, body + env->scan.one.id_off,
                      env->scan.one.id_len, &env->one);
    }
    return 0;
}

void
rpc_envelope_free(struct rpc_envelope *env)
{
    if (env->reqs != &env->one)
        free(env->reqs);
    env->reqs = NULL;
    cJSON_Delete(env->root);
    env->root = NULL;
    jscan_free(&env->scan);
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
