/* SPDX-License-Identifier: MIT */
/*
 * test_discover.c - unit tests for host/discover.c: the OpenRPC document
 * has the fields OpenRPC 1.2 requires, for described and undescribed
 * methods.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "address.h"
#include "discover.h"
#include "registry.h"

static int
handler(rpchost_call *c, const cJSON *params, void *state)
{
    (void)c;
    (void)params;
    (void)state;
    return 0;
}

static void
test_document(void **state)
{
    static const rpchost_param params[] = {
        {"a", RPCHOST_TYPE_INTEGER, 1, "first"},
        {"b", RPCHOST_TYPE_ANY, 0, NULL},
        {NULL, 0, 0, NULL},
    };
    static const rpchost_param result[] = {
        {"sum", RPCHOST_TYPE_NUMBER, 1, NULL},
        {NULL, 0, 0, NULL},
    };
    rpchost_method m1 = {"add", handler, NULL, 0, "Adds.", params, result};
    rpchost_method m2 = {"raw", handler, NULL, 0, NULL, NULL, NULL};
    struct registry *r = registry_new();
    const cJSON *methods, *m, *p, *res;
    cJSON *doc;
    char *text;
    size_t len = 0;

    (void)state;
    assert_non_null(r);
    assert_int_equal(registry_add(r, &m1, NULL, NULL, NULL), 0);
    assert_int_equal(registry_add(r, &m2, NULL, NULL, NULL), 0);
    text = discover_build(r, "9.9.9", NULL, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    doc = cJSON_Parse(text);
    assert_non_null(doc);
    assert_string_equal(cJSON_GetObjectItem(doc, "openrpc")->valuestring,
                        "1.2.6");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "info"), "version")
            ->valuestring,
        "9.9.9");
    assert_non_null(
        cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "info"), "title"));
    methods = cJSON_GetObjectItem(doc, "methods");
    assert_int_equal(cJSON_GetArraySize(methods), 2);

    m = cJSON_GetArrayItem(methods, 0);
    assert_string_equal(cJSON_GetObjectItem(m, "name")->valuestring, "add");
    assert_string_equal(cJSON_GetObjectItem(m, "summary")->valuestring,
                        "Adds.");
    p = cJSON_GetObjectItem(m, "params");
    assert_int_equal(cJSON_GetArraySize(p), 2);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(p, 0), "name")->valuestring,
        "a");
    assert_true(cJSON_IsTrue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(p, 0), "required")));
    assert_string_equal(
        cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetArrayItem(p, 0), "schema"), "type")
            ->valuestring,
        "integer");
    /* ANY: no type, only its title. */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
                         cJSON_GetArrayItem(p, 1), "schema")),
                     1);
    assert_string_equal(
        cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetArrayItem(p, 1), "schema"), "title")
            ->valuestring,
        "addParamB");
    res = cJSON_GetObjectItem(m, "result");
    assert_string_equal(cJSON_GetObjectItem(res, "name")->valuestring, "sum");
    assert_non_null(cJSON_GetObjectItem(res, "schema"));

    m = cJSON_GetArrayItem(methods, 1);
    assert_string_equal(cJSON_GetObjectItem(m, "name")->valuestring, "raw");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(m, "params")), 0);
    assert_non_null(cJSON_GetObjectItem(m, "result"));
    assert_null(cJSON_GetObjectItem(m, "summary"));

    cJSON_Delete(doc);
    cJSON_free(text);
    registry_free(r);
}

/* The string at obj.key (a path of two keys when k2 is given). */
static const char *
str_at(const cJSON *o, const char *k1, const char *k2)
{
    const cJSON *v = cJSON_GetObjectItem(o, k1);

    if (k2 != NULL)
        v = cJSON_GetObjectItem(v, k2);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static const rpchost_param_doc sum_params[] = {
    {"n", RPCHOST_TYPE_NUMBER, 0, "a number", 0, RPCHOST_PARAM_VARIADIC, NULL},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};
static const rpchost_param_doc mean_params[] = {
    {"xs", RPCHOST_TYPE_ARRAY, 1, NULL, RPCHOST_TYPE_NUMBER, 0, NULL},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};
static const rpchost_param_doc mean_result[] = {
    {"mean", RPCHOST_TYPE_NUMBER, 1, NULL, 0, 0, "Mean"},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};
static const rpchost_error_doc mean_errors[] = {
    {1, "Empty list", "when xs is empty"},
    {RPCHOST_INVALID_PARAMS, "Invalid params", NULL},
    {0, NULL, NULL},
};

static void
test_described(void **state)
{
    rpchost_method sum = {"sum", handler, NULL, 0, "Sums.", NULL, NULL};
    rpchost_method mean = {"my.mean", handler, NULL, 0, NULL, NULL, NULL};
    rpchost_method upd = {"update", handler, NULL, 0, NULL, NULL, NULL};
    rpchost_method_doc sum_doc = {NULL, RPCHOST_PARAMS_BY_POSITION, sum_params,
                                  NULL, NULL};
    rpchost_method_doc mean_doc = {"The mean.", RPCHOST_PARAMS_EITHER,
                                   mean_params, mean_result, mean_errors};
    rpchost_method_doc any_doc = {NULL, RPCHOST_PARAMS_ANY, NULL, NULL, NULL};
    struct address listens[3] = {
        {(char *)"127.0.0.1", 5000, NULL},
        {(char *)"::", 0, NULL},
        {NULL, 0, (char *)"/run/rpc.sock"},
    };
    struct discover_site site = {"/rpc", listens, 3};
    struct registry *r = registry_new();
    const cJSON *methods, *m, *p, *servers, *e;
    const char *why = NULL;
    cJSON *doc;
    char *text;
    size_t len = 0;

    (void)state;
    assert_int_equal(registry_add(r, &sum, NULL, NULL, NULL), 0);
    assert_int_equal(registry_add(r, &mean, NULL, NULL, NULL), 0);
    assert_int_equal(registry_add(r, &upd, NULL, NULL, NULL), 0);
    assert_int_equal(registry_describe(r, "sum", NULL, &sum_doc, &why), 0);
    assert_int_equal(registry_describe(r, "my.mean", NULL, &mean_doc, &why), 0);
    assert_int_equal(registry_describe(r, "update", NULL, &any_doc, &why), 0);
    text = discover_build(r, "1.0.0", &site, &len);
    assert_non_null(text);
    doc = cJSON_Parse(text);
    assert_non_null(doc);

    servers = cJSON_GetObjectItem(doc, "servers");
    assert_int_equal(cJSON_GetArraySize(servers), 3);
    assert_string_equal(str_at(cJSON_GetArrayItem(servers, 0), "url", NULL),
                        "http://127.0.0.1:5000/rpc");
    assert_string_equal(str_at(cJSON_GetArrayItem(servers, 1), "url", NULL),
                        "http://{host}:{port}/rpc");
    assert_non_null(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(servers, 1), "variables"),
        "port"));
    assert_string_equal(str_at(cJSON_GetArrayItem(servers, 2), "url", NULL),
                        "http://localhost/rpc");
    assert_string_equal(str_at(cJSON_GetArrayItem(servers, 2), "name", NULL),
                        "unix:/run/rpc.sock");

    methods = cJSON_GetObjectItem(doc, "methods");
    m = cJSON_GetArrayItem(methods, 0); /* sum */
    assert_string_equal(str_at(m, "paramStructure", NULL), "by-position");
    p = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "params"), 0);
    assert_string_equal(str_at(p, "name", NULL), "n");
    assert_string_equal(str_at(p, "schema", "title"), "sumParamN");
    assert_string_equal(str_at(p, "schema", "type"), "number");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(p, "x-variadic")));
    assert_string_equal(
        str_at(cJSON_GetObjectItem(m, "result"), "schema", "title"),
        "sumResult");
    assert_null(cJSON_GetObjectItem(m, "x-params"));
    assert_null(cJSON_GetObjectItem(m, "errors"));

    m = cJSON_GetArrayItem(methods, 1); /* my.mean */
    assert_string_equal(str_at(m, "paramStructure", NULL), "either");
    assert_string_equal(str_at(m, "description", NULL),
                        "The mean.\n\n- error 1 \"Empty list\": when xs is "
                        "empty");
    p = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "params"), 0);
    assert_string_equal(str_at(p, "schema", "title"), "myMeanParamXs");
    assert_string_equal(
        str_at(cJSON_GetObjectItem(p, "schema"), "items", "title"),
        "myMeanParamXsItem");
    assert_string_equal(
        str_at(cJSON_GetObjectItem(p, "schema"), "items", "type"), "number");
    assert_string_equal(
        str_at(cJSON_GetObjectItem(m, "result"), "schema", "title"), "Mean");
    e = cJSON_GetObjectItem(m, "errors");
    assert_int_equal(cJSON_GetArraySize(e), 2);
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(e, 0), "code")->valueint, 1);
    assert_string_equal(str_at(cJSON_GetArrayItem(e, 1), "message", NULL),
                        "Invalid params");

    m = cJSON_GetArrayItem(methods, 2); /* update */
    assert_string_equal(str_at(m, "x-params", NULL), "any");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(m, "params")), 0);

    cJSON_Delete(doc);
    cJSON_free(text);
    registry_free(r);
}

static void
test_describe_refused(void **state)
{
    static const rpchost_error_doc reserved[] = {{-32000, "x", NULL},
                                                 {0, NULL, NULL}};
    static const rpchost_error_doc dup[] = {
        {7, "x", NULL}, {7, "y", NULL}, {0, NULL, NULL}};
    static const rpchost_param_doc one[] = {{"a", 0, 0, NULL, 0, 0, NULL},
                                            {NULL, 0, 0, NULL, 0, 0, NULL}};
    static const rpchost_param_doc var_result[] = {
        {"r", 0, 0, NULL, 0, RPCHOST_PARAM_VARIADIC, NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL}};
    rpchost_method m = {"m", handler, NULL, 0, NULL, NULL, NULL};
    rpchost_method_doc d;
    struct registry *r = registry_new();
    int owner;
    const char *why = NULL;

    (void)state;
    assert_int_equal(registry_add(r, &m, NULL, NULL, NULL), 0);
    memset(&d, 0, sizeof(d));
    assert_int_equal(registry_describe(r, "nope", NULL, &d, &why),
                     RPCHOST_ENOENT);
    assert_int_equal(
        registry_describe(r, "m", (struct plugin *)&owner, &d, &why),
        RPCHOST_ENOENT);
    d.errors = reserved;
    assert_int_equal(registry_describe(r, "m", NULL, &d, &why),
                     RPCHOST_ERESERVED);
    d.errors = dup;
    assert_int_equal(registry_describe(r, "m", NULL, &d, &why), RPCHOST_EINVAL);
    d.errors = NULL;
    d.params = one;
    d.param_structure = RPCHOST_PARAMS_ANY;
    assert_int_equal(registry_describe(r, "m", NULL, &d, &why), RPCHOST_EINVAL);
    d.param_structure = 9;
    assert_int_equal(registry_describe(r, "m", NULL, &d, &why), RPCHOST_EINVAL);
    d.param_structure = RPCHOST_PARAMS_EITHER;
    d.result = var_result;
    assert_int_equal(registry_describe(r, "m", NULL, &d, &why), RPCHOST_EINVAL);
    d.result = NULL;
    assert_int_equal(registry_describe(r, "m", NULL, &d, &why), 0);
    assert_int_equal(registry_find(r, "m", 1)->nparams, 1);
    registry_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document),
        cmocka_unit_test(test_described),
        cmocka_unit_test(test_describe_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
