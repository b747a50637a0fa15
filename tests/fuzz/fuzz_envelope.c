/* SPDX-License-Identifier: MIT */
/*
 * fuzz_envelope.c - fuzzes the JSON-RPC envelope and the dispatcher.
 *
 * Each input is one request body.  It goes to rpc_parse() (host/jsonrpc.h),
 * whose result is checked against cJSON's own reading of the same bytes,
 * and then to dispatch_body() (host/dispatch.h) with a generation of the
 * shipped ping, calc and echo plugins (and the built-in rpc.discover), no
 * dispatch_env (no event loop, no stats, no user); the answer must come
 * synchronously, exactly once, and be valid JSON.  The plugins are found in
 * $RPCHOST_PLUGINS, else in the build's plugins folder (RPCHOST_FUZZ_PLUGINS,
 * set by CMake).
 */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "dispatch.h"
#include "fuzz.h"
#include "generation.h"
#include "jsonrpc.h"
#include "log.h"

#ifndef RPCHOST_FUZZ_PLUGINS
#define RPCHOST_FUZZ_PLUGINS "build/plugins"
#endif

static struct generation *gen;

/* What the done callback received. */
struct answer {
    int calls;
    int status;
    char *body;
    size_t len;
};

static void
on_done(void *arg, int status, char *body, size_t len, const char *what,
        const char *trace, unsigned retry_after)
{
    (void)trace;
    (void)retry_after;
    struct answer *a = arg;

    FUZZ_CHECK(what != NULL);
    a->calls++;
    a->status = status;
    a->body = body;
    a->len = len;
}

static void
drop_generation(void)
{
    if (gen != NULL)
        generation_unref(gen);
    gen = NULL;
}

/* Build the generation once: a config naming ping, calc and echo. */
static void
init_once(void)
{
    const char *plugins = getenv("RPCHOST_PLUGINS");
    char path[] = "/tmp/rpchost-fuzz-envelope-XXXXXX";
    char err[1024] = "";
    struct config *cfg = NULL;
    FILE *fp;
    int fd, rc;

    if (gen != NULL)
        return;
    if (plugins == NULL || plugins[0] == '\0')
        plugins = RPCHOST_FUZZ_PLUGINS;
    log_set_level(LEVEL_ERROR);
    fd = mkstemp(path);
    if (fd < 0 || (fp = fdopen(fd, "w")) == NULL) {
        perror("fuzz_envelope: temporary config");
        exit(2);
    }
    fprintf(fp,
            "[server]\n"
            "max_batch = 50\n"
            "max_depth = 32\n"
            "[ping]\n"
            "path = %s/ping.so\n"
            "[calc]\n"
            "path = %s/calc.so\n"
            "[echo]\n"
            "path = %s/echo.so\n",
            plugins, plugins, plugins);
    rc = fclose(fp);
    if (rc == 0)
        rc = config_load(path, &cfg, err, sizeof(err));
    else
        snprintf(err, sizeof(err), "cannot write %s", path);
    unlink(path);
    if (rc != 0) {
        fprintf(stderr, "fuzz_envelope: config: %s\n", err);
        exit(2);
    }
    gen = generation_build(cfg, 1, err, sizeof(err));
    if (gen == NULL) {
        fprintf(stderr,
                "fuzz_envelope: %s (set RPCHOST_PLUGINS to the folder "
                "holding ping.so, calc.so and echo.so)\n",
                err);
        exit(2);
    }
    atexit(drop_generation);
}

/* Two JSON-RPC ids are the same value (cJSON_Compare's tolerance would
 * call inf and inf different). */
static int
id_equal(const cJSON *a, const cJSON *b)
{
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return a->valuedouble == b->valuedouble ||
               (isnan(a->valuedouble) && isnan(b->valuedouble));
    if (cJSON_IsString(a) && cJSON_IsString(b))
        return strcmp(a->valuestring, b->valuestring) == 0;
    return cJSON_IsNull(a) && cJSON_IsNull(b);
}

/* One request of an envelope that parsed: consistent with `obj`, the
 * cJSON value it came from, and with the body's bounds. */
static void
check_request(const struct rpc_req *r, const cJSON *obj, const char *body,
              size_t len)
{
    const cJSON *id = cJSON_IsObject(obj)
                          ? cJSON_GetObjectItemCaseSensitive(obj, "id")
                          : NULL;

    FUZZ_CHECK((r->method == NULL) != (r->invalid == NULL));
    if (cJSON_IsObject(obj)) {
        /* What the envelope read from the scan's spans is what cJSON reads
         * from the same object. */
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "jsonrpc");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "method");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, "params");
        int valid = (id == NULL || cJSON_IsString(id) || cJSON_IsNumber(id) ||
                     cJSON_IsNull(id)) &&
                    cJSON_IsString(v) && strcmp(v->valuestring, "2.0") == 0 &&
                    cJSON_IsString(m) &&
                    (p == NULL || cJSON_IsArray(p) || cJSON_IsObject(p));

        FUZZ_CHECK(valid == (r->method != NULL));
        if (valid) {
            FUZZ_CHECK(strcmp(r->method, m->valuestring) == 0);
            FUZZ_CHECK((p == NULL) == (r->params == NULL));
            if (p != NULL) {
                /* Compared as printed: cJSON_Compare calls inf and inf
                 * different. */
                char *a = cJSON_PrintUnformatted(p);
                char *b = cJSON_PrintUnformatted(r->params);
                FUZZ_CHECK(a != NULL && b != NULL && strcmp(a, b) == 0);
                cJSON_free(a);
                cJSON_free(b);
            }
        }
    } else {
        FUZZ_CHECK(r->invalid != NULL);
    }
    if (r->id == NULL) {
        /* A notification, or an id that cannot be echoed. */
        FUZZ_CHECK(id == NULL || r->invalid != NULL);
        return;
    }
    FUZZ_CHECK(r->id_len > 0);
    if (r->id >= body && r->id < body + len) {
        cJSON *raw;

        FUZZ_CHECK(r->id_len <= (size_t)(body + len - r->id));
        FUZZ_CHECK(id != NULL);
        /* The raw text echoed is the id cJSON read. */
        raw = cJSON_ParseWithLength(r->id, r->id_len);
        FUZZ_CHECK(raw != NULL);
        FUZZ_CHECK(id_equal(raw, id));
        cJSON_Delete(raw);
    } else {
        /* The host's own null for an invalid request without an id. */
        FUZZ_CHECK(r->invalid != NULL);
        FUZZ_CHECK(r->id_len == 4 && memcmp(r->id, "null", 4) == 0);
        FUZZ_CHECK(id == NULL);
    }
}

static void
check_envelope(const char *body, size_t len, int *is_batch, int *err)
{
    struct rpc_envelope env;
    int rc = rpc_parse(body, len, &gen->limits, &env);

    FUZZ_CHECK(rc == env.err);
    *err = rc;
    *is_batch = env.is_batch;
    if (rc != 0) {
        FUZZ_CHECK(rc == RPCHOST_PARSE_ERROR || rc == RPCHOST_INVALID_REQUEST ||
                   rc == RPCHOST_INTERNAL_ERROR);
        FUZZ_CHECK(memchr(env.detail, '\0', sizeof(env.detail)) != NULL);
    } else {
        /* cJSON's reading of the whole body is the oracle. */
        cJSON *root = cJSON_ParseWithLength(body, len);

        FUZZ_CHECK(root != NULL && env.n > 0 && env.reqs != NULL);
        if (env.is_batch) {
            const cJSON *item;
            size_t i = 0;

            FUZZ_CHECK(cJSON_IsArray(root));
            FUZZ_CHECK(env.n == (size_t)cJSON_GetArraySize(root));
            FUZZ_CHECK(env.n <= gen->limits.max_batch);
            cJSON_ArrayForEach (item, root)
                check_request(&env.reqs[i++], item, body, len);
        } else {
            FUZZ_CHECK(env.n == 1);
            check_request(&env.reqs[0], root, body, len);
        }
        cJSON_Delete(root);
    }
    rpc_envelope_free(&env);
}

/* The dispatcher's answer: exactly once, now, valid JSON of the right
 * shape. */
static void
check_dispatch(const char *body, size_t len, int is_batch, int err)
{
    struct answer a = {0, 0, NULL, 0};
    cJSON *json;

    dispatch_body(gen, NULL, body, len, on_done, &a);
    FUZZ_CHECK(a.calls == 1);
    FUZZ_CHECK(atomic_load(&gen->refs) == 1);
    FUZZ_CHECK(a.status == 200 || a.status == 204);
    if (a.status == 204) {
        FUZZ_CHECK(a.body == NULL && a.len == 0);
        FUZZ_CHECK(err == 0);
        return;
    }
    FUZZ_CHECK(a.body != NULL && a.len > 0);
    json = cJSON_ParseWithLength(a.body, a.len);
    if (json == NULL)
        fprintf(stderr, "answer is not JSON: %.*s\n", (int)a.len, a.body);
    FUZZ_CHECK(json != NULL);
    if (err != 0) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(json, "error");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");

        FUZZ_CHECK(cJSON_IsObject(json) && cJSON_IsNumber(code));
        FUZZ_CHECK(code->valueint == err);
    } else {
        FUZZ_CHECK(cJSON_IsObject(json) || cJSON_IsArray(json));
        if (!is_batch)
            FUZZ_CHECK(cJSON_IsObject(json));
    }
    cJSON_Delete(json);
    free(a.body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exactly sized copy, so an over-read is caught. */
    char *body = malloc(size ? size : 1);
    int is_batch = 0, err = 0;

    init_once();
    if (body == NULL)
        return 0;
    if (size > 0)
        memcpy(body, data, size);
    check_envelope(body, size, &is_batch, &err);
    check_dispatch(body, size, is_batch, err);
    free(body);
    return 0;
}
