/* SPDX-License-Identifier: MIT */
/*
 * test_dispatch.c - unit tests for host/dispatch.c and host/call.c: whole
 * request bodies answered by a generation built from a real config with
 * ping.so, spec.so, cfg.so and walk.so, checked byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "config.h"
#include "dispatch.h"
#include "generation.h"
#include "log.h"

static struct generation *gen;

/* What the done callback received. */
struct capture {
    int calls;
    int status;
    char *body;
    size_t len;
};

static void
capture_done(void *arg, int status, char *body, size_t len, const char *what,
             const char *trace, unsigned retry_after)
{
    (void)trace;
    (void)retry_after;
    struct capture *c = arg;

    assert_non_null(what);
    c->calls++;
    c->status = status;
    c->body = body;
    c->len = len;
}

static int
group_setup(void **state)
{
    const char *fixtures = getenv("RPCHOST_FIXTURES");
    const char *plugins = getenv("RPCHOST_PLUGINS");
    char path[] = "/tmp/rpchost-dispatch-XXXXXX";
    char err[1024] = "";
    struct config *cfg = NULL;
    FILE *fp;
    int fd, rc;

    (void)state;
    if (fixtures == NULL || plugins == NULL) {
        fprintf(stderr, "RPCHOST_FIXTURES and RPCHOST_PLUGINS must be set\n");
        return -1;
    }
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    fp = fdopen(fd, "w");
    if (fp == NULL) {
        close(fd);
        unlink(path);
        return -1;
    }
    fprintf(fp,
            "[server]\n"
            "max_batch = 20\n"
            "max_depth = 8\n"
            "[ping]\n"
            "path = %s/ping.so\n"
            "[spec]\n"
            "path = %s/spec.so\n"
            "[cfg]\n"
            "path = %s/cfg.so\n"
            "greeting = hi \"you\"\n"
            "count = 5\n"
            "ratio = 0.25\n"
            "loud = yes\n"
            "[walk]\n"
            "path = %s/walk.so\n",
            plugins, fixtures, fixtures, fixtures);
    if (fclose(fp) != 0) {
        unlink(path);
        return -1;
    }
    rc = config_load(path, &cfg, err, sizeof(err));
    unlink(path);
    if (rc != 0) {
        fprintf(stderr, "config: %s\n", err);
        return -1;
    }
    gen = generation_build(cfg, 1, err, sizeof(err));
    if (gen == NULL) {
        fprintf(stderr, "generation: %s\n", err);
        return -1;
    }
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    generation_unref(gen);
    gen = NULL;
    return 0;
}

/* Dispatch `body`; expect one callback with `status` and exactly `want`
 * (NULL: no body). */
static void
expect(const char *body, int status, const char *want)
{
    struct capture c = {0, 0, NULL, 0};
    char *copy;
    size_t len = strlen(body);

    /* A private, unterminated copy: dispatch must honour len. */
    copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, body, len);
    dispatch_body(gen, NULL, copy, len, capture_done, &c);
    free(copy);
    assert_int_equal(c.calls, 1);
    assert_int_equal(atomic_load(&gen->refs), 1);
    if (c.status != status)
        print_error("status %d, want %d for %s\n", c.status, status, body);
    assert_int_equal(c.status, status);
    if (want == NULL) {
        assert_null(c.body);
        assert_int_equal(c.len, 0);
        return;
    }
    assert_non_null(c.body);
    if (c.len != strlen(want) || memcmp(c.body, want, c.len) != 0)
        print_error("for:  %s\ngot:  %.*s\nwant: %s\n", body, (int)c.len,
                    c.body, want);
    assert_int_equal(c.len, strlen(want));
    assert_memory_equal(c.body, want, c.len);
    free(c.body);
}

#define OK_RESULT(result, id)                                                  \
    "{\"jsonrpc\":\"2.0\",\"result\":" result ",\"id\":" id "}"
#define ERR(code, msg, id)                                                     \
    "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":" code ",\"message\":\"" msg     \
    "\"},\"id\":" id "}"
#define ERR_DATA(code, msg, data, id)                                          \
    "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":" code ",\"message\":\"" msg     \
    "\",\"data\":" data "},\"id\":" id "}"

static void
test_ping(void **state)
{
    (void)state;
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}", 200,
           OK_RESULT("\"pong\"", "1"));
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"params\":[],\"id\":2}",
           200, OK_RESULT("\"pong\"", "2"));
    expect("  {\"id\":\"a\",\"method\":\"ping\",\"jsonrpc\":\"2.0\"}\n", 200,
           OK_RESULT("\"pong\"", "\"a\""));
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"params\":[1],\"id\":3}",
           200,
           ERR_DATA("-32602", "Invalid params",
                    "\"too many params: 1 given, at most 0\"", "3"));
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"params\":{\"a\":1},"
           "\"id\":4}",
           200,
           ERR_DATA("-32602", "Invalid params", "\"unknown param 'a'\"", "4"));
}

static void
test_null_id(void **state)
{
    (void)state;
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":null}", 200,
           OK_RESULT("\"pong\"", "null"));
}

static void
test_ids_byte_exact(void **state)
{
    (void)state;
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":"
           "123456789012345678901234567890}",
           200, OK_RESULT("\"pong\"", "123456789012345678901234567890"));
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":"
           "-9007199254740993}",
           200, OK_RESULT("\"pong\"", "-9007199254740993"));
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1.50E+3}", 200,
           OK_RESULT("\"pong\"", "1.50E+3"));
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":\"x\\u0041\\n\"}",
           200, OK_RESULT("\"pong\"", "\"x\\u0041\\n\""));
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"\\u0069d\":7}", 200,
           OK_RESULT("\"pong\"", "7"));
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":\"\xc3\xa9\"}", 200,
           OK_RESULT("\"pong\"", "\"\xc3\xa9\""));
    /* Duplicate "id": the first one is the id, as cJSON also reads it. */
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1,\"id\":2}", 200,
           OK_RESULT("\"pong\"", "1"));
}

static void
test_notifications(void **state)
{
    (void)state;
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}", 204, NULL);
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"update\",\"params\":[1,2]}", 204,
           NULL);
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"no_such_method\"}", 204, NULL);
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"fail\"}", 204, NULL);
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"bad_code\"}", 204, NULL);
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"error_data\"}", 204, NULL);
    expect(
        "[{\"jsonrpc\":\"2.0\",\"method\":\"notify_sum\",\"params\":[1,2,4]},"
        "{\"jsonrpc\":\"2.0\",\"method\":\"notify_hello\",\"params\":[7]}]",
        204, NULL);
}

static void
test_spec_examples(void **state)
{
    (void)state;
    expect("{\"jsonrpc\": \"2.0\", \"method\": \"subtract\", \"params\": "
           "[42, 23], \"id\": 1}",
           200, OK_RESULT("19", "1"));
    expect("{\"jsonrpc\": \"2.0\", \"method\": \"subtract\", \"params\": "
           "[23, 42], \"id\": 2}",
           200, OK_RESULT("-19", "2"));
    expect("{\"jsonrpc\": \"2.0\", \"method\": \"subtract\", \"params\": "
           "{\"subtrahend\": 23, \"minuend\": 42}, \"id\": 3}",
           200, OK_RESULT("19", "3"));
    expect("{\"jsonrpc\": \"2.0\", \"method\": \"subtract\", \"params\": "
           "{\"minuend\": 42, \"subtrahend\": 23}, \"id\": 4}",
           200, OK_RESULT("19", "4"));
    expect("{\"jsonrpc\": \"2.0\", \"method\": \"subtract\", \"params\": "
           "[42], \"id\": 5}",
           200, ERR("-32602", "Invalid params", "5"));
    expect("{\"jsonrpc\": \"2.0\", \"method\": \"foobar\", \"id\": \"1\"}", 200,
           ERR("-32601", "Method not found", "\"1\""));
    expect("{\"jsonrpc\": \"2.0\", \"method\": \"get_data\", \"id\": \"9\"}",
           200, OK_RESULT("[\"hello\",5]", "\"9\""));
}

static void
test_params_passed(void **state)
{
    (void)state;
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":"
           "{\"a\":[1,\"x\",null,true,{\"b\":-2.5}]},\"id\":1}",
           200, OK_RESULT("{\"a\":[1,\"x\",null,true,{\"b\":-2.5}]}", "1"));
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":2}", 200,
           OK_RESULT("null", "2"));
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":"
           "[\"\\u00e9\\n\\\"\"],\"id\":3}",
           200, OK_RESULT("[\"\xc3\xa9\\n\\\"\"]", "3"));
}

static void
test_plugin_config(void **state)
{
    (void)state;
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"greet\",\"id\":1}", 200,
           OK_RESULT("{\"greeting\":\"hi \\\"you\\\"\",\"count\":5,"
                     "\"ratio\":0.25,\"loud\":true}",
                     "1"));
}

static void
test_unknown_method(void **state)
{
    (void)state;
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":1}", 200,
           ERR("-32601", "Method not found", "1"));
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"\",\"id\":1}", 200,
           ERR("-32601", "Method not found", "1"));
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"PING\",\"id\":1}", 200,
           ERR("-32601", "Method not found", "1"));
}

static void
test_plugin_errors(void **state)
{
    (void)state;
    /* Returned an error code without answering: no plugin text. */
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"fail\",\"id\":1}", 200,
           ERR("-32603", "Internal error", "1"));
    /* Tried a reserved code: refused, -32603 with the standard text. */
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"bad_code\",\"id\":2}", 200,
           ERR("-32603", "Internal error", "2"));
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"error_data\",\"id\":3}", 200,
           ERR_DATA("42", "custom", "\"details\"", "3"));
    /* -32603 is the plugin's to use, message included. */
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"internal_leak\",\"id\":4}", 200,
           ERR("-32603", "secret /etc/passwd path", "4"));
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[1,\"x\"],"
           "\"id\":5}",
           200, ERR("-32602", "Invalid params", "5"));
}

static void
test_invalid_single(void **state)
{
    (void)state;
    expect("{\"jsonrpc\":\"2.0\",\"method\":1,\"params\":\"bar\"}", 200,
           ERR_DATA("-32600", "Invalid Request",
                    "\"\\\"method\\\" must be a string\"", "null"));
    expect("{\"jsonrpc\":\"1.0\",\"method\":\"ping\",\"id\":5}", 200,
           ERR_DATA("-32600", "Invalid Request",
                    "\"\\\"jsonrpc\\\" must be exactly \\\"2.0\\\"\"", "5"));
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":true}", 200,
           ERR_DATA("-32600", "Invalid Request",
                    "\"\\\"id\\\" must be a string, a number or null\"",
                    "null"));
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"params\":7,\"id\":6}",
           200,
           ERR_DATA("-32600", "Invalid Request",
                    "\"\\\"params\\\" must be an array or an object\"", "6"));
    expect("42", 200,
           ERR_DATA("-32600", "Invalid Request",
                    "\"a request must be a JSON object\"", "null"));
}

static void
test_empty_batch(void **state)
{
    (void)state;
    expect("[]", 200,
           ERR_DATA("-32600", "Invalid Request", "\"empty batch\"", "null"));
    expect(" [ \n ] ", 200,
           ERR_DATA("-32600", "Invalid Request", "\"empty batch\"", "null"));
}

static void
test_batch_of_scalars(void **state)
{
    (void)state;
    expect("[1]", 200,
           "[" ERR_DATA("-32600", "Invalid Request",
                        "\"a request must be a JSON object\"", "null") "]");
    expect("[1,2]", 200,
           "[{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,"
           "\"message\":\"Invalid Request\","
           "\"data\":\"a request must be a JSON object\"},\"id\":null},"
           "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,"
           "\"message\":\"Invalid Request\","
           "\"data\":\"a request must be a JSON object\"},\"id\":null}]");
}

static void
test_batch_mixed(void **state)
{
    (void)state;
    expect("[\n"
           " {\"jsonrpc\": \"2.0\", \"method\": \"sum\", \"params\": [1,2,4], "
           "\"id\": \"1\"},\n"
           " {\"jsonrpc\": \"2.0\", \"method\": \"notify_hello\", \"params\": "
           "[7]},\n"
           " {\"jsonrpc\": \"2.0\", \"method\": \"subtract\", \"params\": "
           "[42,23], \"id\": \"2\"},\n"
           " {\"foo\": \"boo\"},\n"
           " {\"jsonrpc\": \"2.0\", \"method\": \"foo.get\", \"params\": "
           "{\"name\": \"myself\"}, \"id\": \"5\"},\n"
           " {\"jsonrpc\": \"2.0\", \"method\": \"get_data\", \"id\": \"9\"}\n"
           "]",
           200,
           "[{\"jsonrpc\":\"2.0\",\"result\":7,\"id\":\"1\"},"
           "{\"jsonrpc\":\"2.0\",\"result\":19,\"id\":\"2\"},"
           "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,"
           "\"message\":\"Invalid Request\","
           "\"data\":\"\\\"jsonrpc\\\" must be exactly \\\"2.0\\\"\"},"
           "\"id\":null},"
           "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32601,"
           "\"message\":\"Method not found\"},\"id\":\"5\"},"
           "{\"jsonrpc\":\"2.0\",\"result\":[\"hello\",5],\"id\":\"9\"}]");
}

static void
test_batch_one(void **state)
{
    (void)state;
    /* A batch of one is still answered with an array. */
    expect("[{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}]", 200,
           "[" OK_RESULT("\"pong\"", "1") "]");
    /* Only notifications answered: nothing to send. */
    expect("[{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}]", 204, NULL);
}

static void
test_batch_errors_and_ids(void **state)
{
    (void)state;
    expect("[{\"jsonrpc\":\"2.0\",\"method\":\"fail\",\"id\":10},"
           "{\"jsonrpc\":\"2.0\",\"method\":\"ping\"},"
           "{\"jsonrpc\":\"2.0\",\"method\":\"bad_code\",\"id\":"
           "99999999999999999999999},"
           "{\"jsonrpc\":\"2.0\",\"method\":\"error_data\",\"id\":null},"
           "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":{}}]",
           200,
           "[{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32603,"
           "\"message\":\"Internal error\"},\"id\":10},"
           "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32603,"
           "\"message\":\"Internal error\"},\"id\":99999999999999999999999},"
           "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":42,"
           "\"message\":\"custom\",\"data\":\"details\"},\"id\":null},"
           "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,"
           "\"message\":\"Invalid Request\",\"data\":"
           "\"\\\"id\\\" must be a string, a number or null\"},\"id\":null}]");
}

static void
test_batch_too_large(void **state)
{
    char body[1024];
    size_t off = 0;

    (void)state;
    body[off++] = '[';
    for (int i = 0; i < 21; i++)
        off += (size_t)snprintf(body + off, sizeof(body) - off,
                                "%s{\"jsonrpc\":\"2.0\",\"method\":"
                                "\"ping\",\"id\":%d}",
                                i ? "," : "", i);
    body[off++] = ']';
    body[off] = '\0';
    expect(body, 200,
           ERR_DATA("-32600", "Invalid Request",
                    "\"batch too large: more than 20 calls (max_batch)\"",
                    "null"));
}

static void
test_parse_errors(void **state)
{
    (void)state;
    expect("{", 200,
           ERR_DATA("-32700", "Parse error",
                    "\"unexpected end of input at byte 1\"", "null"));
    expect("{\"jsonrpc\": \"2.0\", \"method\": \"foobar, \"params\": \"bar\", "
           "\"baz]",
           200,
           ERR_DATA("-32700", "Parse error", "\"invalid JSON at byte 39\"",
                    "null"));
    expect("[{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[1,2,4],"
           "\"id\":\"1\"},{\"jsonrpc\":\"2.0\",\"method\"]",
           200,
           ERR_DATA("-32700", "Parse error", "\"invalid JSON at byte 85\"",
                    "null"));
    expect(
        "", 200,
        ERR_DATA("-32700", "Parse error", "\"empty body at byte 0\"", "null"));
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1} x", 200,
           ERR_DATA("-32700", "Parse error",
                    "\"unexpected data after the JSON value at byte 41\"",
                    "null"));
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"\xff\",\"id\":1}", 200,
           ERR_DATA("-32700", "Parse error", "\"invalid UTF-8 at byte 27\"",
                    "null"));
    expect("[[[[[[[[[1]]]]]]]]]", 200,
           ERR_DATA("-32700", "Parse error",
                    "\"nesting deeper than 8 (max_depth) at byte 8\"", "null"));
}

static void
test_depth_at_limit(void **state)
{
    (void)state;
    /* Depth 8 exactly: the object, params, and 6 more arrays. */
    expect("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":"
           "[[[[[[[1]]]]]]],\"id\":1}",
           200, OK_RESULT("[[[[[[[1]]]]]]]", "1"));
}

/* CPU seconds this thread took to answer a call of `method` with params
 * [0, 1, ..., n - 1] (the fastest of `runs`); checks the answer. */
static double
walk_seconds(const char *method, size_t n, int runs)
{
    struct buf body = BUF_INIT;
    char want[64];
    double best = 1e9;

    buf_printf(&body,
               "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"id\":1,"
               "\"params\":[",
               method);
    for (size_t i = 0; i < n; i++)
        buf_printf(&body, i ? ",%zu" : "%zu", i);
    buf_puts(&body, "]}");
    assert_true(buf_ok(&body));
    snprintf(want, sizeof(want), OK_RESULT("%.0f", "1"),
             (double)n * (double)(n - 1) / 2);
    for (int r = 0; r < runs; r++) {
        struct capture c = {0, 0, NULL, 0};
        struct timespec t0, t1;
        double s;

        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
        dispatch_body(gen, NULL, body.data, body.len, capture_done, &c);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
        assert_int_equal(c.calls, 1);
        assert_int_equal(c.status, 200);
        if (c.len != strlen(want) || memcmp(c.body, want, c.len) != 0)
            print_error("%s of %zu: got %.*s\n", method, n, (int)c.len, c.body);
        assert_memory_equal(c.body, want, strlen(want));
        free(c.body);
        s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (s < best)
            best = s;
    }
    buf_free(&body);
    return best;
}

/* A handler reading its params by position, in order or backwards
 * (walk.so), pays the same per param for 50,000 as for 5,000: ten times
 * the params take about ten times as long (a walk from the head for each
 * would take a hundred times).  The whole call is timed, parsing included. */
static void
test_positional_reads_linear(void **state)
{
    static const char *const methods[] = {"walk", "walk_back"};

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        double small = walk_seconds(methods[i], 5000, 5);
        double big = walk_seconds(methods[i], 50000, 3);

        if (big > 35 * small)
            print_error("%s: 5,000 params %.2f ms, 50,000 params %.2f ms "
                        "(%.0f times)\n",
                        methods[i], small * 1e3, big * 1e3, big / small);
        assert_true(big <= 35 * small);
    }
}

/* Many bodies in a row leave no reference behind and leak nothing. */
static void
test_repeat(void **state)
{
    (void)state;
    for (int i = 0; i < 200; i++) {
        expect("[{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1},"
               "{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":2}]",
               200,
               "[" OK_RESULT("\"pong\"", "1") "," ERR(
                   "-32601", "Method not found", "2") "]");
        expect("{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}", 204, NULL);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping),
        cmocka_unit_test(test_null_id),
        cmocka_unit_test(test_ids_byte_exact),
        cmocka_unit_test(test_notifications),
        cmocka_unit_test(test_spec_examples),
        cmocka_unit_test(test_params_passed),
        cmocka_unit_test(test_plugin_config),
        cmocka_unit_test(test_unknown_method),
        cmocka_unit_test(test_plugin_errors),
        cmocka_unit_test(test_invalid_single),
        cmocka_unit_test(test_empty_batch),
        cmocka_unit_test(test_batch_of_scalars),
        cmocka_unit_test(test_batch_mixed),
        cmocka_unit_test(test_batch_one),
        cmocka_unit_test(test_batch_errors_and_ids),
        cmocka_unit_test(test_batch_too_large),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_depth_at_limit),
        cmocka_unit_test(test_repeat),
        cmocka_unit_test(test_positional_reads_linear),
    };

    log_set_level(LEVEL_WARN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
