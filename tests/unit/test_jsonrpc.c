/* SPDX-License-Identifier: MIT */
/*
 * test_jsonrpc.c - unit tests for host/jsonrpc.c: request and batch
 * envelopes, and the exact bytes of the response objects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "jsonrpc.h"
#include "rpchost/plugin.h"

static const struct rpc_limits lim = {64, 100};

/* Parse `body` into env; expect env->err == want_err. */
static void
parse(const char *body, struct rpc_envelope *env, int want_err)
{
    int rc = rpc_parse(body, strlen(body), &lim, env);

    if (rc != want_err)
        print_error("want %d, got %d (%s) for %s\n", want_err, rc, env->detail,
                    body);
    assert_int_equal(rc, want_err);
    assert_int_equal(env->err, want_err);
}

/* The raw id of r as a C string in out ("<none>" when NULL). */
static const char *
id_text(const struct rpc_req *r, char *out, size_t size)
{
    if (r->id == NULL)
        return "<none>";
    assert_true(r->id_len < size);
    memcpy(out, r->id, r->id_len);
    out[r->id_len] = '\0';
    return out;
}

static void
assert_id(const struct rpc_req *r, const char *want)
{
    char tmp[128];

    assert_string_equal(id_text(r, tmp, sizeof(tmp)), want);
}

static void
test_single_request(void **state)
{
    static const char body[] =
        "{\"jsonrpc\":\"2.0\",\"method\":\"subtract\",\"params\":[42,23],"
        "\"id\":1}";
    struct rpc_envelope env;
    const struct rpc_req *r;

    (void)state;
    parse(body, &env, 0);
    assert_false(env.is_batch);
    assert_int_equal(env.n, 1);
    r = &env.reqs[0];
    assert_null(r->invalid);
    assert_string_equal(r->method, "subtract");
    assert_non_null(r->params);
    assert_true(cJSON_IsArray(r->params));
    assert_int_equal(cJSON_GetArraySize(r->params), 2);
    assert_int_equal(cJSON_GetArrayItem(r->params, 0)->valueint, 42);
    assert_id(r, "1");
    /* The id points into the body itself. */
    assert_true(r->id >= body && r->id < body + sizeof(body));
    rpc_envelope_free(&env);
}

static void
test_named_params_and_string_id(void **state)
{
    struct rpc_envelope env;
    const struct rpc_req *r;

    (void)state;
    parse("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"a\":1},"
          "\"id\":\"abc\\u0064\"}",
          &env, 0);
    r = &env.reqs[0];
    assert_null(r->invalid);
    assert_true(cJSON_IsObject(r->params));
    assert_id(r, "\"abc\\u0064\"");
    rpc_envelope_free(&env);
}

static void
test_no_params(void **state)
{
    struct rpc_envelope env;

    (void)state;
    parse("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":2}", &env, 0);
    assert_null(env.reqs[0].invalid);
    assert_null(env.reqs[0].params);
    assert_string_equal(env.reqs[0].method, "m");
    rpc_envelope_free(&env);
}

static void
test_notification(void **state)
{
    struct rpc_envelope env;

    (void)state;
    parse("{\"jsonrpc\":\"2.0\",\"method\":\"update\",\"params\":[1,2]}", &env,
          0);
    assert_int_equal(env.n, 1);
    assert_null(env.reqs[0].invalid);
    assert_string_equal(env.reqs[0].method, "update");
    assert_null(env.reqs[0].id);
    rpc_envelope_free(&env);
}

static void
test_null_id_is_call(void **state)
{
    struct rpc_envelope env;

    (void)state;
    parse("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":null}", &env, 0);
    assert_null(env.reqs[0].invalid);
    assert_non_null(env.reqs[0].id);
    assert_id(&env.reqs[0], "null");
    rpc_envelope_free(&env);
}

static void
test_big_id_raw(void **state)
{
    struct rpc_envelope env;

    (void)state;
    parse("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":"
          "123456789012345678901234567890}",
          &env, 0);
    assert_id(&env.reqs[0], "123456789012345678901234567890");
    rpc_envelope_free(&env);
    parse("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":1.50e+3}", &env, 0);
    assert_id(&env.reqs[0], "1.50e+3");
    rpc_envelope_free(&env);
}

/* One request that must be invalid with a reason containing `why` and the
 * id `want_id` ("<none>" for NULL). */
static void
invalid_one(const char *body, const char *why, const char *want_id)
{
    struct rpc_envelope env;
    const struct rpc_req *r;

    parse(body, &env, 0);
    assert_int_equal(env.n, 1);
    r = &env.reqs[0];
    assert_null(r->method);
    assert_non_null(r->invalid);
    if (strstr(r->invalid, why) == NULL)
        print_error("reason '%s' lacks '%s'\n", r->invalid, why);
    assert_non_null(strstr(r->invalid, why));
    assert_id(r, want_id);
    rpc_envelope_free(&env);
}

/* The envelope is read from the scan's spans: escaped member names and
 * values decode as JSON says, the first of a duplicated member counts (as
 * cJSON's lookup), and long method names in a batch all survive. */
static void
test_escapes_and_duplicates(void **state)
{
    struct rpc_envelope env;
    char body[2048];
    size_t n = 0;

    (void)state;
    parse("{\"jsonr\\u0070c\":\"2\\u002e0\",\"\\u006dethod\":"
          "\"p\\u0069ng\\n\\u00e9\\ud83d\\ude00\\\"\\\\/\",\"id\":7}",
          &env, 0);
    assert_non_null(env.reqs[0].method);
    assert_string_equal(env.reqs[0].method,
                        "ping\n\xc3\xa9\xf0\x9f\x98\x80\"\\/");
    assert_id(&env.reqs[0], "7");
    rpc_envelope_free(&env);

    parse("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"method\":\"b\","
          "\"params\":[1],\"params\":{},\"id\":1,\"id\":2}",
          &env, 0);
    assert_string_equal(env.reqs[0].method, "a");
    assert_true(cJSON_IsArray(env.reqs[0].params));
    assert_id(&env.reqs[0], "1");
    rpc_envelope_free(&env);

    /* "2.0" spelled otherwise, or members only nested deeper, are not the
     * envelope's. */
    parse("{\"jsonrpc\":\"2.00\",\"method\":\"a\",\"id\":1}", &env, 0);
    assert_non_null(env.reqs[0].invalid);
    rpc_envelope_free(&env);
    parse("{\"x\":{\"jsonrpc\":\"2.0\",\"method\":\"a\"},\"id\":1}", &env, 0);
    assert_non_null(env.reqs[0].invalid);
    rpc_envelope_free(&env);

    n += (size_t)snprintf(body + n, sizeof(body) - n, "[");
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n,
                              "%s{\"jsonrpc\":\"2.0\",\"method\":"
                              "\"method_with_a_long_name_%02d\",\"id\":%d}",
                              i ? "," : "", i, i);
    snprintf(body + n, sizeof(body) - n, "]");
    parse(body, &env, 0);
    assert_int_equal(env.n, 20);
    for (int i = 0; i < 20; i++) {
        char want[64];
        snprintf(want, sizeof(want), "method_with_a_long_name_%02d", i);
        assert_string_equal(env.reqs[i].method, want);
    }
    rpc_envelope_free(&env);
}

static void
test_invalid_requests(void **state)
{
    (void)state;
    invalid_one("{\"jsonrpc\":\"1.0\",\"method\":\"m\",\"id\":7}", "jsonrpc",
                "7");
    invalid_one("{\"jsonrpc\":2.0,\"method\":\"m\",\"id\":\"s\"}", "jsonrpc",
                "\"s\"");
    invalid_one("{\"method\":\"m\",\"id\":3}", "jsonrpc", "3");
    invalid_one("{\"jsonrpc\":\"2.0 \",\"method\":\"m\",\"id\":3}", "jsonrpc",
                "3");
    invalid_one("{\"jsonrpc\":\"2.0\",\"id\":4}", "method", "4");
    invalid_one("{\"jsonrpc\":\"2.0\",\"method\":1,\"id\":5}", "method", "5");
    invalid_one("{\"jsonrpc\":\"2.0\",\"method\":null,\"id\":5}", "method",
                "5");
    invalid_one("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":3,\"id\":6}",
                "params", "6");
    invalid_one("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":\"x\","
                "\"id\":null}",
                "params", "null");
    invalid_one("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":null,"
                "\"id\":6}",
                "params", "6");
    /* Without an id the answer's id is null (never a notification). */
    invalid_one("{\"jsonrpc\":\"1.0\",\"method\":\"m\"}", "jsonrpc", "null");
    invalid_one("{\"jsonrpc\":\"2.0\"}", "method", "null");
    invalid_one("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":true}",
                "params", "null");
    invalid_one("{}", "jsonrpc", "null");
}

static void
test_invalid_id_types(void **state)
{
    (void)state;
    invalid_one("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":true}", "id",
                "<none>");
    invalid_one("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":{}}", "id",
                "<none>");
    invalid_one("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":[1]}", "id",
                "<none>");
    invalid_one("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":false}", "id",
                "<none>");
}

static void
test_not_an_object(void **state)
{
    (void)state;
    invalid_one("1", "object", "<none>");
    invalid_one("\"str\"", "object", "<none>");
    invalid_one("null", "object", "<none>");
}

static void
test_batch(void **state)
{
    static const char body[] =
        "[{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[1,2,4],"
        "\"id\":\"1\"},"
        "{\"jsonrpc\":\"2.0\",\"method\":\"notify_hello\",\"params\":[7]},"
        "{\"foo\":\"boo\"},"
        "1,"
        "{\"jsonrpc\":\"2.0\",\"method\":\"get\",\"id\":true},"
        "{\"jsonrpc\":\"2.0\",\"method\":\"get_data\",\"id\":9}]";
    struct rpc_envelope env;

    (void)state;
    parse(body, &env, 0);
    assert_true(env.is_batch);
    assert_int_equal(env.n, 6);
    assert_string_equal(env.reqs[0].method, "sum");
    assert_id(&env.reqs[0], "\"1\"");
    assert_null(env.reqs[0].invalid);
    assert_string_equal(env.reqs[1].method, "notify_hello");
    assert_null(env.reqs[1].id);
    assert_null(env.reqs[1].invalid);
    assert_non_null(env.reqs[2].invalid);
    assert_id(&env.reqs[2], "null");
    assert_non_null(env.reqs[3].invalid);
    assert_null(env.reqs[3].id);
    assert_non_null(env.reqs[4].invalid);
    assert_null(env.reqs[4].id);
    assert_string_equal(env.reqs[5].method, "get_data");
    assert_id(&env.reqs[5], "9");
    rpc_envelope_free(&env);
}

static void
test_batch_of_one(void **state)
{
    struct rpc_envelope env;

    (void)state;
    parse("[{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":1}]", &env, 0);
    assert_true(env.is_batch);
    assert_int_equal(env.n, 1);
    assert_string_equal(env.reqs[0].method, "m");
    rpc_envelope_free(&env);
}

static void
test_empty_batch(void **state)
{
    struct rpc_envelope env;

    (void)state;
    parse(" [ ] ", &env, RPCHOST_INVALID_REQUEST);
    assert_non_null(strstr(env.detail, "empty"));
    rpc_envelope_free(&env);
}

static void
test_batch_too_large(void **state)
{
    struct rpc_limits small = {64, 2};
    struct rpc_envelope env;
    const char *body = "[{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":1},2,3]";

    (void)state;
    assert_int_equal(rpc_parse(body, strlen(body), &small, &env),
                     RPCHOST_INVALID_REQUEST);
    assert_int_equal(env.err, RPCHOST_INVALID_REQUEST);
    assert_non_null(strstr(env.detail, "max_batch"));
    assert_non_null(strstr(env.detail, "2"));
    rpc_envelope_free(&env);
    body = "[1,2]";
    assert_int_equal(rpc_parse(body, strlen(body), &small, &env), 0);
    assert_int_equal(env.n, 2);
    rpc_envelope_free(&env);
}

static void
test_parse_errors(void **state)
{
    static const char *const bodies[] = {
        "",
        "   ",
        "{",
        "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":1",
        "[1,]",
        "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":01}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"\xff\"}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"a\\u0000b\"}",
        "{} {}",
        "{\"jsonrpc\":'2.0'}",
        "[{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":1}, {]",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct rpc_envelope env;

        parse(bodies[i], &env, RPCHOST_PARSE_ERROR);
        assert_true(env.detail[0] != '\0');
        rpc_envelope_free(&env);
    }
}

static void
test_depth_error(void **state)
{
    struct rpc_limits shallow = {3, 10};
    struct rpc_envelope env;
    const char *ok = "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[[1]]}";
    const char *deep =
        "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[[[1]]]}";

    (void)state;
    assert_int_equal(rpc_parse(ok, strlen(ok), &shallow, &env), 0);
    rpc_envelope_free(&env);
    assert_int_equal(rpc_parse(deep, strlen(deep), &shallow, &env),
                     RPCHOST_PARSE_ERROR);
    assert_non_null(strstr(env.detail, "max_depth"));
    rpc_envelope_free(&env);
}

static void
test_error_messages(void **state)
{
    (void)state;
    assert_string_equal(rpc_error_message(-32700), "Parse error");
    assert_string_equal(rpc_error_message(-32600), "Invalid Request");
    assert_string_equal(rpc_error_message(-32601), "Method not found");
    assert_string_equal(rpc_error_message(-32602), "Invalid params");
    assert_string_equal(rpc_error_message(-32603), "Internal error");
    assert_null(rpc_error_message(-32000));
    assert_null(rpc_error_message(0));
    assert_null(rpc_error_message(42));
}

static void
test_write_result(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    rpc_write_result(&b, "1", 1, "\"pong\"", 6);
    assert_string_equal(buf_cstr(&b),
                        "{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1}");
    buf_reset(&b);
    rpc_write_result(&b, NULL, 0, "[1,2]", 5);
    assert_string_equal(buf_cstr(&b),
                        "{\"jsonrpc\":\"2.0\",\"result\":[1,2],\"id\":null}");
    buf_reset(&b);
    /* Only id_len bytes of the id are written. */
    rpc_write_result(&b, "\"abc\"XYZ", 5, "null", 4);
    assert_string_equal(buf_cstr(&b),
                        "{\"jsonrpc\":\"2.0\",\"result\":null,\"id\":\"abc\"}");
    buf_reset(&b);
    rpc_write_result(&b, "123456789012345678901234567890", 30, "{}", 2);
    assert_string_equal(buf_cstr(&b), "{\"jsonrpc\":\"2.0\",\"result\":{},"
                                      "\"id\":123456789012345678901234567890}");
    buf_free(&b);
}

static void
test_write_error(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    rpc_write_error(&b, "1", 1, -32601, NULL, NULL);
    assert_string_equal(buf_cstr(&b),
                        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32601,"
                        "\"message\":\"Method not found\"},\"id\":1}");
    buf_reset(&b);
    rpc_write_error(&b, NULL, 0, -32700, NULL, NULL);
    assert_string_equal(buf_cstr(&b),
                        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32700,"
                        "\"message\":\"Parse error\"},\"id\":null}");
    buf_reset(&b);
    rpc_write_error(&b, "\"x\"", 3, 42, "custom \"q\"", "{\"k\":[1]}");
    assert_string_equal(
        buf_cstr(&b), "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":42,"
                      "\"message\":\"custom \\\"q\\\"\",\"data\":{\"k\":[1]}},"
                      "\"id\":\"x\"}");
    buf_reset(&b);
    rpc_write_error(&b, "7", 1, 5, NULL, NULL);
    assert_string_equal(buf_cstr(&b),
                        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":5,"
                        "\"message\":\"Server error\"},\"id\":7}");
    buf_reset(&b);
    rpc_write_error(&b, "7", 1, -32602, "bad\nthing", "\"d\"");
    assert_string_equal(
        buf_cstr(&b), "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,"
                      "\"message\":\"bad\\nthing\",\"data\":\"d\"},\"id\":7}");
    buf_free(&b);
}

static void
test_write_error_detail(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    rpc_write_error_detail(&b, "null", 4, -32600,
                           "\"jsonrpc\" must be exactly \"2.0\"");
    assert_string_equal(
        buf_cstr(&b),
        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":"
        "\"Invalid Request\",\"data\":\"\\\"jsonrpc\\\" must be exactly "
        "\\\"2.0\\\"\"},\"id\":null}");
    buf_reset(&b);
    rpc_write_error_detail(&b, "3", 1, -32601, NULL);
    assert_string_equal(buf_cstr(&b),
                        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32601,"
                        "\"message\":\"Method not found\"},\"id\":3}");
    buf_free(&b);
}

/* Responses written back to back are each complete, valid JSON. */
static void
test_written_is_json(void **state)
{
    struct buf b = BUF_INIT;
    cJSON *j;

    (void)state;
    rpc_write_error_detail(&b, "\"i\\u00e9\"", 9, -32700,
                           "ctl \x01 and \xc3\xa9");
    j = cJSON_Parse(buf_cstr(&b));
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, "i\xc3\xa9");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "data")
            ->valuestring,
        "ctl \x01 and \xc3\xa9");
    cJSON_Delete(j);
    buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_request),
        cmocka_unit_test(test_named_params_and_string_id),
        cmocka_unit_test(test_no_params),
        cmocka_unit_test(test_notification),
        cmocka_unit_test(test_null_id_is_call),
        cmocka_unit_test(test_big_id_raw),
        cmocka_unit_test(test_escapes_and_duplicates),
        cmocka_unit_test(test_invalid_requests),
        cmocka_unit_test(test_invalid_id_types),
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_batch_of_one),
        cmocka_unit_test(test_empty_batch),
        cmocka_unit_test(test_batch_too_large),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_depth_error),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_write_result),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_write_error_detail),
        cmocka_unit_test(test_written_is_json),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
