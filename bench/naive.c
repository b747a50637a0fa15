/* SPDX-License-Identifier: MIT */
/*
 * naive.c - the benchmark baseline: the program a C programmer writes first
 * with the same stack.  One event loop, plain event_base_new(), evhttp,
 * parse the body with cJSON, answer "ping" with a cJSON-built response.
 * No plugins, no batching subtleties, no limits: only here to be compared
 * with rpchost in the same run (bench/run.sh).
 *
 *   naive PORT
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

static cJSON *
answer(const cJSON *req)
{
    const cJSON *method = cJSON_GetObjectItem(req, "method");
    const cJSON *id = cJSON_GetObjectItem(req, "id");
    cJSON *res;

    if (id == NULL)
        return NULL;
    res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "jsonrpc", "2.0");
    if (cJSON_IsString(method) && strcmp(method->valuestring, "ping") == 0) {
        cJSON_AddStringToObject(res, "result", "pong");
    } else {
        cJSON *e = cJSON_AddObjectToObject(res, "error");
        cJSON_AddNumberToObject(e, "code", -32601);
        cJSON_AddStringToObject(e, "message", "Method not found");
    }
    cJSON_AddItemToObject(res, "id", cJSON_Duplicate(id, 1));
    return res;
}

static void
on_request(struct evhttp_request *req, void *arg)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    cJSON *body =
        cJSON_ParseWithLength((const char *)evbuffer_pullup(in, -1), len);
    cJSON *res = NULL, *item;
    char *text;

    (void)arg;
    if (body == NULL) {
        evhttp_send_error(req, 400, "Bad Request");
        return;
    }
    if (cJSON_IsArray(body)) {
        res = cJSON_CreateArray();
        cJSON_ArrayForEach (item, body) {
            cJSON *r = answer(item);
            if (r != NULL)
                cJSON_AddItemToArray(res, r);
        }
    } else {
        res = answer(body);
    }
    cJSON_Delete(body);
    if (res == NULL) {
        evhttp_send_reply(req, 204, "No Content", NULL);
        return;
    }
    text = cJSON_PrintUnformatted(res);
    cJSON_Delete(res);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evbuffer_add(evhttp_request_get_output_buffer(req), text, strlen(text));
    free(text);
    evhttp_send_reply(req, 200, "OK", evhttp_request_get_output_buffer(req));
}

int
main(int argc, char **argv)
{
    struct event_base *base;
    struct evhttp *http;
    long port;

    port = argc == 2 ? strtol(argv[1], NULL, 10) : 0;
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "usage: naive PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    base = event_base_new();
    http = evhttp_new(base);
    if (base == NULL || http == NULL ||
        evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)port) != 0) {
        fprintf(stderr, "naive: cannot listen on 127.0.0.1:%s\n", argv[1]);
        return 1;
    }
    evhttp_set_gencb(http, on_request, NULL);
    event_base_dispatch(base);
    return 0;
}
