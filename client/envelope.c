/* SPDX-License-Identifier: MIT */
/*
 * envelope.c - JSON-RPC 2.0 requests and answers for the client (see
 * envelope.h).  Answers are read leniently where the specification allows
 * servers to differ ("jsonrpc" is not required, non-2xx HTTP statuses
 * carrying a JSON-RPC answer are accepted) and strictly where a wrong
 * answer would be handed to the wrong caller (ids must match).
 */
#include "envelope.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
env_check_method(const char *method)
{
    if (method == NULL || method[0] == '\0')
        return RPCHOST_CLIENT_EINVAL;
    return RPCHOST_CLIENT_OK;
}

int
env_check_params(const cJSON *params)
{
    if (params == NULL || cJSON_IsArray(params) || cJSON_IsObject(params))
        return RPCHOST_CLIENT_OK;
    return RPCHOST_CLIENT_EINVAL;
}

int
env_check_id(const cJSON *id)
{
    if (cJSON_IsString(id) && id->valuestring != NULL)
        return RPCHOST_CLIENT_OK;
    if (cJSON_IsNumber(id) && isfinite(id->valuedouble))
        return RPCHOST_CLIENT_OK;
    return RPCHOST_CLIENT_EINVAL;
}

cJSON *
env_request(const char *method, cJSON *params, const cJSON *id)
{
    cJSON *req = cJSON_CreateObject();
    cJSON *idcopy = NULL;

    if (req == NULL)
        goto err;
    if (cJSON_AddStringToObject(req, "jsonrpc", "2.0") == NULL ||
        cJSON_AddStringToObject(req, "method", method) == NULL)
        goto err;
    if (params != NULL) {
        if (!cJSON_AddItemToObject(req, "params", params))
            goto err;
        params = NULL; /* now req's */
    }
    if (id != NULL) {
        idcopy = cJSON_Duplicate(id, 1);
        if (idcopy == NULL || !cJSON_AddItemToObject(req, "id", idcopy))
            goto err;
        idcopy = NULL;
    }
    return req;
err:
    cJSON_Delete(idcopy);
    cJSON_Delete(params);
    cJSON_Delete(req);
    return NULL;
}

void
env_fail(rpchost_client_result *res, int rc, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    cJSON_Delete(res->result);
    res->result = NULL;
    cJSON_Delete(res->data);
    res->data = NULL;
    free(res->message);
    res->message = strdup(text); /* NULL when out of memory: rc still says */
    res->code = 0;
    res->rc = rc;
}

/* A short printable form of a JSON value for messages. */
static void
brief(const cJSON *v, char *out, size_t size)
{
    char *text = v != NULL ? cJSON_PrintUnformatted(v) : NULL;

    snprintf(out, size, "%s", text != NULL ? text : "(none)");
    if (text != NULL && strlen(text) >= size && size > 4)
        memcpy(out + size - 4, "...", 4);
    free(text);
}

/* Fill res from one answer object (an element of a batch answer or the
 * whole single answer); res->id is not looked at. */
static void
fill_answer(rpchost_client_result *res, const cJSON *ans)
{
    const cJSON *err, *code, *msg, *data, *result;

    if (!cJSON_IsObject(ans)) {
        env_fail(res, RPCHOST_CLIENT_EPROTO,
                 "the answer is not a JSON-RPC response object");
        return;
    }
    err = cJSON_GetObjectItemCaseSensitive(ans, "error");
    result = cJSON_GetObjectItemCaseSensitive(ans, "result");
    if (err != NULL) {
        code = cJSON_GetObjectItemCaseSensitive(err, "code");
        msg = cJSON_GetObjectItemCaseSensitive(err, "message");
        data = cJSON_GetObjectItemCaseSensitive(err, "data");
        if (!cJSON_IsObject(err) || !cJSON_IsNumber(code) ||
            !isfinite(code->valuedouble) || code->valuedouble < -2147483648.0 ||
            code->valuedouble > 2147483647.0 ||
            (msg != NULL && !cJSON_IsString(msg))) {
            env_fail(res, RPCHOST_CLIENT_EPROTO,
                     "the answer has a malformed \"error\" member");
            return;
        }
        env_fail(res, RPCHOST_CLIENT_ERPC, "%s",
                 msg != NULL ? msg->valuestring : "");
        res->code = (int)code->valuedouble;
        if (data != NULL) {
            res->data = cJSON_Duplicate(data, 1);
            if (res->data == NULL)
                env_fail(res, RPCHOST_CLIENT_ENOMEM, "out of memory");
        }
        return;
    }
    if (result == NULL) {
        env_fail(res, RPCHOST_CLIENT_EPROTO,
                 "the answer has neither \"result\" nor \"error\"");
        return;
    }
    env_fail(res, RPCHOST_CLIENT_OK, "ok");
    free(res->message);
    res->message = NULL;
    res->result = cJSON_Duplicate(result, 1);
    if (res->result == NULL)
        env_fail(res, RPCHOST_CLIENT_ENOMEM, "out of memory");
}

static int
is_2xx(int status)
{
    return status >= 200 && status <= 299;
}

/* Parse a whole body as one JSON text; NULL when it is not JSON. */
static cJSON *
parse_body(const char *body, size_t len)
{
    const char *end = NULL;
    cJSON *v;

    if (body == NULL || len == 0)
        return NULL;
    v = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (v == NULL)
        return NULL;
    while (end != NULL && end < body + len &&
           (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    if (end != body + len) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

/* The outcome for an answer that is not usable JSON-RPC. */
static void
fail_body(rpchost_client_result *res, int status, const char *body, size_t len)
{
    char start[64];
    size_t i, n = len < sizeof(start) - 1 ? len : sizeof(start) - 1;

    if (!is_2xx(status)) {
        env_fail(res, RPCHOST_CLIENT_EHTTP, "HTTP status %d", status);
        return;
    }
    if (len == 0) {
        env_fail(res, RPCHOST_CLIENT_EPROTO,
                 "empty answer (HTTP %d) where a JSON-RPC response was "
                 "expected",
                 status);
        return;
    }
    for (i = 0; i < n; i++)
        start[i] = (body[i] >= 0x20 && body[i] < 0x7f) ? body[i] : '.';
    start[n] = '\0';
    env_fail(res, RPCHOST_CLIENT_EPROTO, "the answer is not JSON: \"%s%s\"",
             start, len > n ? "..." : "");
}

void
env_single_answer(rpchost_client_result *res, int status, const char *body,
                  size_t len)
{
    cJSON *ans = parse_body(body, len);
    const cJSON *id;
    char want[64], got[64];

    res->http_status = status;
    if (ans == NULL || !cJSON_IsObject(ans) ||
        (!cJSON_HasObjectItem(ans, "result") &&
         !cJSON_HasObjectItem(ans, "error"))) {
        if (ans != NULL && is_2xx(status)) {
            env_fail(res, RPCHOST_CLIENT_EPROTO, "%s",
                     cJSON_IsArray(ans)
                         ? "the answer to a single call is an array"
                     : cJSON_IsObject(ans)
                         ? "the answer has neither \"result\" nor \"error\""
                         : "the answer is not a JSON-RPC response object");
        } else {
            fail_body(res, status, body, len);
        }
        cJSON_Delete(ans);
        return;
    }
    fill_answer(res, ans);
    id = cJSON_GetObjectItemCaseSensitive(ans, "id");
    /* An error about the request itself (parse error, invalid request)
     * carries a null id: it still answers this call. */
    if (!(res->rc == RPCHOST_CLIENT_ERPC && (id == NULL || cJSON_IsNull(id))) &&
        (id == NULL || res->id == NULL || !cJSON_Compare(id, res->id, 1))) {
        brief(res->id, want, sizeof(want));
        brief(id, got, sizeof(got));
        env_fail(res, RPCHOST_CLIENT_EPROTO,
                 "the answer's id %s does not match the request's id %s", got,
                 want);
    }
    cJSON_Delete(ans);
}

int
env_batch_answer(rpchost_client_result *res, size_t n, int status,
                 const char *body, size_t len)
{
    cJSON *ans = parse_body(body, len);
    const cJSON *item, *id, *whole = NULL;
    unsigned char *filled = NULL;
    char idtext[64];
    size_t i;
    int rc = RPCHOST_CLIENT_OK;

    for (i = 0; i < n; i++)
        res[i].http_status = status;
    if (n == 0) { /* only notifications: any 2xx answer will do */
        if (!is_2xx(status)) {
            cJSON_Delete(ans);
            return RPCHOST_CLIENT_EHTTP;
        }
        cJSON_Delete(ans);
        return RPCHOST_CLIENT_OK;
    }
    if (cJSON_IsObject(ans) && cJSON_HasObjectItem(ans, "error")) {
        whole = ans; /* the batch as a whole was refused */
    } else if (!cJSON_IsArray(ans)) {
        rpchost_client_result tmp = {0};

        if (ans != NULL && is_2xx(status))
            env_fail(&tmp, RPCHOST_CLIENT_EPROTO,
                     "the answer to a batch is not an array");
        else
            fail_body(&tmp, status, body, len);
        for (i = 0; i < n; i++)
            env_fail(&res[i], tmp.rc, "%s",
                     tmp.message != NULL ? tmp.message : "");
        rc = tmp.rc;
        rpchost_client_result_clear(&tmp);
        cJSON_Delete(ans);
        return rc;
    }
    filled = calloc(n, 1);
    if (filled == NULL) {
        for (i = 0; i < n; i++)
            env_fail(&res[i], RPCHOST_CLIENT_ENOMEM, "out of memory");
        cJSON_Delete(ans);
        return RPCHOST_CLIENT_ENOMEM;
    }
    if (whole == NULL) {
        cJSON_ArrayForEach (item, ans) {
            id = cJSON_GetObjectItemCaseSensitive(item, "id");
            if (id == NULL || cJSON_IsNull(id)) {
                if (whole == NULL && cJSON_HasObjectItem(item, "error"))
                    whole = item; /* e.g. an invalid member: no id */
                continue;
            }
            for (i = 0; i < n; i++) {
                if (!filled[i] && res[i].id != NULL &&
                    cJSON_Compare(id, res[i].id, 1)) {
                    fill_answer(&res[i], item);
                    filled[i] = 1;
                    break;
                }
            }
        }
    }
    for (i = 0; i < n; i++) {
        if (filled[i])
            continue;
        if (whole != NULL) {
            fill_answer(&res[i], whole);
        } else {
            brief(res[i].id, idtext, sizeof(idtext));
            env_fail(&res[i], RPCHOST_CLIENT_EPROTO,
                     "the batch answer has no response for id %s", idtext);
        }
    }
    free(filled);
    cJSON_Delete(ans);
    return rc;
}
