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
    text = discover_build(r, "9.9.9", &len);
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
    /* ANY: an empty schema. */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
                         cJSON_GetArrayItem(p, 1), "schema")),
                     0);
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
