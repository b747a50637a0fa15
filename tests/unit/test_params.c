/* SPDX-License-Identifier: MIT */
/*
 * test_params.c - unit tests for host/params.c: description rules, params
 * validation by position and by name, lookups and type checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "params.h"

static const rpchost_param sub[] = {
    {"minuend", RPCHOST_TYPE_NUMBER, 1, "from"},
    {"subtrahend", RPCHOST_TYPE_NUMBER, 1, NULL},
    {"note", RPCHOST_TYPE_STRING, 0, NULL},
    {NULL, 0, 0, NULL},
};

/* Validate JSON text against `sub`; returns 0 or -1, why in *why. */
static int
check(const char *json, char *why, size_t len)
{
    struct param_desc *d;
    size_t n;
    cJSON *p = json ? cJSON_Parse(json) : NULL;
    int rc;

    if (json != NULL)
        assert_non_null(p);
    d = params_copy(sub, &n);
    assert_non_null(d);
    assert_int_equal(n, 3);
    why[0] = '\0';
    rc = params_validate(d, n, RPCHOST_PARAMS_EITHER, p, why, len);
    params_free(d, n);
    cJSON_Delete(p);
    return rc;
}

static void
test_desc_rules(void **state)
{
    const char *why = NULL;
    rpchost_param bad_name[] = {{"a b", 0, 1, NULL}, {NULL, 0, 0, NULL}};
    rpchost_param empty_name[] = {{"", 0, 1, NULL}, {NULL, 0, 0, NULL}};
    rpchost_param bad_type[] = {{"a", 99, 1, NULL}, {NULL, 0, 0, NULL}};
    rpchost_param dup[] = {
        {"a", 0, 1, NULL}, {"a", 0, 1, NULL}, {NULL, 0, 0, NULL}};
    rpchost_param order[] = {
        {"a", 0, 0, NULL}, {"b", 0, 1, NULL}, {NULL, 0, 0, NULL}};
    rpchost_param none[] = {{NULL, 0, 0, NULL}};
    rpchost_param many[66];

    (void)state;
    assert_int_equal(params_check_desc(sub, &why), 0);
    assert_int_equal(params_check_desc(none, &why), 0);
    assert_int_equal(params_check_desc(bad_name, &why), -1);
    assert_non_null(strstr(why, "name"));
    assert_int_equal(params_check_desc(empty_name, &why), -1);
    assert_int_equal(params_check_desc(bad_type, &why), -1);
    assert_non_null(strstr(why, "type"));
    assert_int_equal(params_check_desc(dup, &why), -1);
    assert_non_null(strstr(why, "same name"));
    assert_int_equal(params_check_desc(order, &why), -1);
    assert_non_null(strstr(why, "optional"));
    for (int i = 0; i < 65; i++) {
        static char names[65][8];
        snprintf(names[i], sizeof(names[i]), "p%d", i);
        many[i] = (rpchost_param){names[i], 0, 0, NULL};
    }
    many[65] = (rpchost_param){NULL, 0, 0, NULL};
    assert_int_equal(params_check_desc(many, &why), -1);
    assert_non_null(strstr(why, "64"));
    many[64] = (rpchost_param){NULL, 0, 0, NULL};
    assert_int_equal(params_check_desc(many, &why), 0);
}

static void
test_validate_positional(void **state)
{
    char why[200];

    (void)state;
    assert_int_equal(check("[42, 23]", why, sizeof(why)), 0);
    assert_int_equal(check("[42, 23, \"x\"]", why, sizeof(why)), 0);
    assert_int_equal(check("[42]", why, sizeof(why)), -1);
    assert_string_equal(why, "missing required param 'subtrahend' (1)");
    assert_int_equal(check("[42, \"23\"]", why, sizeof(why)), -1);
    assert_string_equal(why, "param 'subtrahend' (1): expected a number");
    assert_int_equal(check("[1, 2, \"x\", 4]", why, sizeof(why)), -1);
    assert_string_equal(why, "too many params: 4 given, at most 3");
    assert_int_equal(check("[1, 2, 3]", why, sizeof(why)), -1);
    assert_string_equal(why, "param 'note' (2): expected a string");
    assert_int_equal(check(NULL, why, sizeof(why)), -1);
    assert_string_equal(why, "missing required param 'minuend' (0)");
    assert_int_equal(check("[]", why, sizeof(why)), -1);
}

static void
test_validate_named(void **state)
{
    char why[200];

    (void)state;
    assert_int_equal(
        check("{\"subtrahend\": 23, \"minuend\": 42}", why, sizeof(why)), 0);
    assert_int_equal(check("{\"minuend\": 42}", why, sizeof(why)), -1);
    assert_string_equal(why, "missing required param 'subtrahend' (1)");
    assert_int_equal(check("{\"minuend\": 1, \"subtrahend\": 2, \"x\": 3}", why,
                           sizeof(why)),
                     -1);
    assert_string_equal(why, "unknown param 'x'");
    assert_int_equal(
        check("{\"minuend\": null, \"subtrahend\": 2}", why, sizeof(why)), -1);
    assert_string_equal(why, "param 'minuend' (0): expected a number");
}

static void
test_empty_description(void **state)
{
    rpchost_param none[] = {{NULL, 0, 0, NULL}};
    struct param_desc *d;
    size_t n;
    char why[100];
    cJSON *a = cJSON_Parse("[]"), *o = cJSON_Parse("{}");
    cJSON *a1 = cJSON_Parse("[1]"), *o1 = cJSON_Parse("{\"a\":1}");

    (void)state;
    d = params_copy(none, &n);
    assert_non_null(d);
    assert_int_equal(n, 0);
    assert_int_equal(
        params_validate(d, n, RPCHOST_PARAMS_EITHER, NULL, why, sizeof(why)),
        0);
    assert_int_equal(
        params_validate(d, n, RPCHOST_PARAMS_EITHER, a, why, sizeof(why)), 0);
    assert_int_equal(
        params_validate(d, n, RPCHOST_PARAMS_EITHER, o, why, sizeof(why)), 0);
    assert_int_equal(
        params_validate(d, n, RPCHOST_PARAMS_EITHER, a1, why, sizeof(why)), -1);
    assert_int_equal(
        params_validate(d, n, RPCHOST_PARAMS_EITHER, o1, why, sizeof(why)), -1);
    params_free(d, n);
    cJSON_Delete(a);
    cJSON_Delete(o);
    cJSON_Delete(a1);
    cJSON_Delete(o1);
}

static void
test_find_and_types(void **state)
{
    cJSON *a = cJSON_Parse("[1, \"x\", true, null, {}, [], 1.5, "
                           "9007199254740993]");
    cJSON *o = cJSON_Parse("{\"n\": 2}");
    struct params_cursor cur = PARAMS_CURSOR_INIT;

    (void)state;
    assert_non_null(a);
    assert_non_null(o);
    assert_ptr_equal(params_find(a, &cur, 0, "n"), cJSON_GetArrayItem(a, 0));
    assert_null(params_find(a, &cur, 8, NULL));
    assert_null(params_find(a, &cur, RPCHOST_NOPOS, "n"));
    params_cursor_free(&cur);
    assert_ptr_equal(params_find(o, &cur, 0, "n"), cJSON_GetArrayItem(o, 0));
    assert_null(params_find(o, &cur, 0, NULL));
    assert_null(params_find(NULL, &cur, 0, "n"));
    assert_true(params_type_ok(RPCHOST_TYPE_INTEGER, cJSON_GetArrayItem(a, 0)));
    assert_false(
        params_type_ok(RPCHOST_TYPE_INTEGER, cJSON_GetArrayItem(a, 6)));
    assert_false(
        params_type_ok(RPCHOST_TYPE_INTEGER, cJSON_GetArrayItem(a, 7)));
    assert_true(params_type_ok(RPCHOST_TYPE_NUMBER, cJSON_GetArrayItem(a, 6)));
    assert_true(params_type_ok(RPCHOST_TYPE_STRING, cJSON_GetArrayItem(a, 1)));
    assert_true(params_type_ok(RPCHOST_TYPE_BOOLEAN, cJSON_GetArrayItem(a, 2)));
    assert_true(params_type_ok(RPCHOST_TYPE_NULL, cJSON_GetArrayItem(a, 3)));
    assert_true(params_type_ok(RPCHOST_TYPE_OBJECT, cJSON_GetArrayItem(a, 4)));
    assert_true(params_type_ok(RPCHOST_TYPE_ARRAY, cJSON_GetArrayItem(a, 5)));
    assert_true(params_type_ok(RPCHOST_TYPE_ANY, cJSON_GetArrayItem(a, 3)));
    assert_false(params_type_ok(RPCHOST_TYPE_STRING, cJSON_GetArrayItem(a, 0)));
    assert_string_equal(params_type_name(RPCHOST_TYPE_INTEGER), "integer");
    assert_string_equal(params_type_name(RPCHOST_TYPE_ANY), "any");
    cJSON_Delete(a);
    cJSON_Delete(o);
}

/* An array of n numbers 0..n-1. */
static cJSON *
numbers(size_t n)
{
    cJSON *a = cJSON_CreateArray();

    assert_non_null(a);
    for (size_t i = 0; i < n; i++)
        assert_true(cJSON_AddItemToArray(a, cJSON_CreateNumber((double)i)));
    return a;
}

/* Look up every position of `order` (n of them) with one cursor; each must
 * be the right item.  Returns the items stepped over. */
static size_t
lookups(const cJSON *a, const size_t *order, size_t n)
{
    struct params_cursor cur = PARAMS_CURSOR_INIT;
    size_t steps;

    for (size_t i = 0; i < n; i++) {
        const cJSON *v = params_find(a, &cur, order[i], NULL);
        assert_non_null(v);
        assert_true(v->valuedouble == (double)order[i]);
    }
    steps = cur.steps;
    params_cursor_free(&cur);
    assert_null(cur.index);
    return steps;
}

/* Positional lookups cost O(1) amortised: a walk in order steps once per
 * param, any other order indexes the array once, and nothing walks from
 * the head for each lookup (which would be n^2 / 2 steps). */
static void
test_cursor_steps(void **state)
{
    enum { N = 100000 };
    static size_t order[N];
    cJSON *a = numbers(N);
    struct params_cursor cur = PARAMS_CURSOR_INIT;

    (void)state;
    for (size_t i = 0; i < N; i++)
        order[i] = i;
    assert_int_equal(lookups(a, order, N), N - 1); /* in order */
    for (size_t i = 0; i < N; i++)
        order[i] = N - 1 - i;
    /* Backwards: 8 steps, then one pass to index the array. */
    assert_int_equal(lookups(a, order, N), PARAMS_WALK_MAX + N);
    for (size_t i = 0; i < N; i++)
        order[i] = (i * 7919) % N; /* 7919 is prime: every position once */
    assert_true(lookups(a, order, N) <= PARAMS_WALK_MAX * 2 + N);
    /* Each position twice, and a few back and forth near the head: no
     * index for a short array or for short hops. */
    for (size_t i = 0; i < 20; i++)
        order[i] = i / 2;
    assert_int_equal(lookups(a, order, 20), 9);
    order[0] = 5, order[1] = 2, order[2] = 7, order[3] = 0, order[4] = 3;
    assert_int_equal(lookups(a, order, 5), 5 + 2 + 5 + 0 + 3);
    /* Beyond the end: NULL, from a walk or from the index. */
    assert_null(params_find(a, &cur, N, NULL));
    assert_non_null(cur.index);
    assert_null(params_find(a, &cur, N + 5, NULL));
    assert_ptr_equal(params_find(a, &cur, 3, NULL), cJSON_GetArrayItem(a, 3));
    params_cursor_free(&cur);
    cJSON_Delete(a);
    a = numbers(3);
    assert_null(params_find(a, &cur, 1000, NULL));
    assert_null(cur.index); /* the walk ended first */
    assert_ptr_equal(params_find(a, &cur, 2, NULL), cJSON_GetArrayItem(a, 2));
    params_cursor_free(&cur);
    cJSON_Delete(a);
}

/* Validation is one pass: 100,000 named members (one name repeated), the
 * first one counting, and 100,000 positional params refused at once. */
static void
test_validate_many(void **state)
{
    struct param_desc *d;
    size_t n;
    cJSON *o = cJSON_CreateObject();
    cJSON *a = numbers(100000);
    char why[200];

    (void)state;
    d = params_copy(sub, &n);
    assert_non_null(d);
    assert_non_null(o);
    assert_non_null(cJSON_AddStringToObject(o, "minuend", "first"));
    for (int i = 0; i < 100000; i++)
        assert_non_null(cJSON_AddNumberToObject(o, "minuend", i));
    assert_non_null(cJSON_AddNumberToObject(o, "subtrahend", 1));
    assert_int_equal(
        params_validate(d, n, RPCHOST_PARAMS_EITHER, o, why, sizeof(why)), -1);
    assert_string_equal(why, "param 'minuend' (0): expected a number");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "minuend");
    assert_int_equal(
        params_validate(d, n, RPCHOST_PARAMS_EITHER, o, why, sizeof(why)), 0);
    assert_int_equal(
        params_validate(d, n, RPCHOST_PARAMS_EITHER, a, why, sizeof(why)), -1);
    assert_string_equal(why, "too many params: 100000 given, at most 3");
    params_free(d, n);
    cJSON_Delete(o);
    cJSON_Delete(a);
}

/* Validate JSON text against a doc-form description. */
static int
check_doc(const rpchost_param_doc *doc, int structure, const char *json,
          char *why, size_t len)
{
    const char *bad = NULL;
    struct param_desc *d;
    size_t n;
    cJSON *p = json ? cJSON_Parse(json) : NULL;
    int rc;

    assert_int_equal(params_check_doc(doc, &bad), 0);
    if (json != NULL)
        assert_non_null(p);
    d = params_copy_doc(doc, &n);
    assert_non_null(d);
    why[0] = '\0';
    rc = params_validate(d, n, structure, p, why, len);
    params_free(d, n);
    cJSON_Delete(p);
    return rc;
}

static void
test_variadic(void **state)
{
    static const rpchost_param_doc sum[] = {
        {"n", RPCHOST_TYPE_NUMBER, 0, NULL, 0, RPCHOST_PARAM_VARIADIC, NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL},
    };
    static const rpchost_param_doc tagged[] = {
        {"label", RPCHOST_TYPE_STRING, 1, NULL, 0, 0, NULL},
        {"n", RPCHOST_TYPE_INTEGER, 1, NULL, 0, RPCHOST_PARAM_VARIADIC, NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL},
    };
    const int pos = RPCHOST_PARAMS_BY_POSITION;
    char why[128];

    (void)state;
    assert_int_equal(check_doc(sum, pos, NULL, why, sizeof(why)), 0);
    assert_int_equal(check_doc(sum, pos, "[]", why, sizeof(why)), 0);
    assert_int_equal(check_doc(sum, pos, "[1, 2.5, 3, 4, 5, 6, 7, 8, 9, 10]",
                               why, sizeof(why)),
                     0);
    assert_int_equal(check_doc(sum, pos, "[1, \"2\"]", why, sizeof(why)), -1);
    assert_string_equal(why, "param 'n' (1): expected a number");
    assert_int_equal(check_doc(sum, pos, "{\"n\": 1}", why, sizeof(why)), -1);
    assert_string_equal(why, "params must be given by position (an array)");

    assert_int_equal(
        check_doc(tagged, pos, "[\"x\", 1, 2, 3]", why, sizeof(why)), 0);
    /* required variadic: at least one */
    assert_int_equal(check_doc(tagged, pos, "[\"x\"]", why, sizeof(why)), -1);
    assert_string_equal(why, "missing required param 'n' (1)");
    assert_int_equal(
        check_doc(tagged, pos, "[\"x\", 1, 2, 2.5]", why, sizeof(why)), -1);
    assert_string_equal(why, "param 'n' (3): expected an integer");

    /* By name, the variadic param takes the members no other param
     * names, each of its type (as **kwargs). */
    const int either = RPCHOST_PARAMS_EITHER;
    assert_int_equal(check_doc(tagged, either,
                               "{\"label\": \"x\", \"a\": 1, \"b\": 2}", why,
                               sizeof(why)),
                     0);
    assert_int_equal(check_doc(tagged, either, "{\"label\": \"x\", \"n\": 3}",
                               why, sizeof(why)),
                     0);
    assert_int_equal(check_doc(tagged, either,
                               "{\"label\": \"x\", \"a\": \"one\"}", why,
                               sizeof(why)),
                     -1);
    assert_string_equal(why, "param 'a' (for 'n'): expected an integer");
    /* required: at least one member for it */
    assert_int_equal(
        check_doc(tagged, either, "{\"label\": \"x\"}", why, sizeof(why)), -1);
    assert_string_equal(why, "missing required param 'n' (1)");
    /* The other params are checked as ever. */
    assert_int_equal(check_doc(tagged, either, "{\"a\": 1}", why, sizeof(why)),
                     -1);
    assert_string_equal(why, "missing required param 'label' (0)");
}

static void
test_items_and_structure(void **state)
{
    static const rpchost_param_doc xs[] = {
        {"xs", RPCHOST_TYPE_ARRAY, 1, NULL, RPCHOST_TYPE_NUMBER, 0, NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL},
    };
    char why[128];

    (void)state;
    assert_int_equal(
        check_doc(xs, RPCHOST_PARAMS_EITHER, "[[1, 2]]", why, sizeof(why)), 0);
    assert_int_equal(
        check_doc(xs, RPCHOST_PARAMS_EITHER, "{\"xs\": []}", why, sizeof(why)),
        0);
    assert_int_equal(check_doc(xs, RPCHOST_PARAMS_EITHER,
                               "{\"xs\": [1, \"a\"]}", why, sizeof(why)),
                     -1);
    assert_string_equal(why, "param 'xs' (0): item 1: expected a number");
    assert_int_equal(
        check_doc(xs, RPCHOST_PARAMS_BY_NAME, "[[1]]", why, sizeof(why)), -1);
    assert_string_equal(why, "params must be given by name (an object)");
    assert_int_equal(check_doc(xs, RPCHOST_PARAMS_BY_NAME, "{\"xs\": [1]}", why,
                               sizeof(why)),
                     0);
}

static void
test_doc_rules(void **state)
{
    const char *why = NULL;
    rpchost_param_doc not_last[] = {
        {"a", 0, 0, NULL, 0, RPCHOST_PARAM_VARIADIC, NULL},
        {"b", 0, 0, NULL, 0, 0, NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL}};
    rpchost_param_doc item_not_array[] = {
        {"a", RPCHOST_TYPE_STRING, 0, NULL, RPCHOST_TYPE_STRING, 0, NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL}};
    rpchost_param_doc bad_item[] = {
        {"a", RPCHOST_TYPE_ARRAY, 0, NULL, 42, 0, NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL}};
    rpchost_param_doc bad_title[] = {{"a", 0, 0, NULL, 0, 0, "a title"},
                                     {NULL, 0, 0, NULL, 0, 0, NULL}};
    rpchost_param_doc bad_flags[] = {{"a", 0, 0, NULL, 0, 0x80, NULL},
                                     {NULL, 0, 0, NULL, 0, 0, NULL}};
    rpchost_param_doc ok[] = {
        {"a", RPCHOST_TYPE_ARRAY, 1, "d", RPCHOST_TYPE_OBJECT, 0, "Things"},
        {"b", 0, 0, NULL, 0, RPCHOST_PARAM_VARIADIC, NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL}};

    (void)state;
    assert_int_equal(params_check_doc(not_last, &why), -1);
    assert_string_equal(why, "only the last param may be variadic");
    assert_int_equal(params_check_doc(item_not_array, &why), -1);
    assert_string_equal(why, "a param has an item type but is not an array");
    assert_int_equal(params_check_doc(bad_item, &why), -1);
    assert_string_equal(why, "a param has an unknown type");
    assert_int_equal(params_check_doc(bad_title, &why), -1);
    assert_non_null(strstr(why, "title"));
    assert_int_equal(params_check_doc(bad_flags, &why), -1);
    assert_string_equal(why, "a param has unknown flags");
    assert_int_equal(params_check_doc(ok, &why), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_desc_rules),
        cmocka_unit_test(test_validate_positional),
        cmocka_unit_test(test_validate_named),
        cmocka_unit_test(test_empty_description),
        cmocka_unit_test(test_find_and_types),
        cmocka_unit_test(test_cursor_steps),
        cmocka_unit_test(test_validate_many),
        cmocka_unit_test(test_variadic),
        cmocka_unit_test(test_items_and_structure),
        cmocka_unit_test(test_doc_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
