/* SPDX-License-Identifier: MIT */
/*
 * test_util.c - unit tests for host/util.c: UTF-8 prefixes cut at a
 * character boundary, hex digits, list items.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

/* "\xc3\xa9" is U+00E9 (2 bytes), "\xe2\x82\xac" U+20AC (3 bytes),
 * "\xf0\x9f\x98\x80" U+1F600 (4 bytes). */
static void
test_utf8_prefix_valid(void **state)
{
    (void)state;
    assert_int_equal(util_utf8_prefix("", 5), 0);
    assert_int_equal(util_utf8_prefix("abc", 0), 0);
    assert_int_equal(util_utf8_prefix("abc", 2), 2);
    assert_int_equal(util_utf8_prefix("abc", 3), 3);
    assert_int_equal(util_utf8_prefix("abc", 100), 3);
    /* A character at the cut goes whole or not at all. */
    assert_int_equal(util_utf8_prefix("a\xc3\xa9", 2), 1);
    assert_int_equal(util_utf8_prefix("a\xc3\xa9", 3), 3);
    assert_int_equal(util_utf8_prefix("a\xc3\xa9z", 3), 3);
    assert_int_equal(util_utf8_prefix("\xe2\x82\xac", 1), 0);
    assert_int_equal(util_utf8_prefix("\xe2\x82\xac", 2), 0);
    assert_int_equal(util_utf8_prefix("\xe2\x82\xac", 3), 3);
    assert_int_equal(util_utf8_prefix("x\xe2\x82\xacy", 3), 1);
    assert_int_equal(util_utf8_prefix("x\xe2\x82\xacy", 4), 4);
    for (size_t max = 1; max < 4; max++)
        assert_int_equal(util_utf8_prefix("a\xf0\x9f\x98\x80", max + 1), 1);
    assert_int_equal(util_utf8_prefix("a\xf0\x9f\x98\x80", 5), 5);
    assert_int_equal(util_utf8_prefix("a\xf0\x9f\x98\x80"
                                      "b",
                                      5),
                     5);
}

/* Every cut of a string of mixed widths ends at a character start. */
static void
test_utf8_prefix_every_cut(void **state)
{
    static const char s[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";
    static const size_t starts[] = {0, 1, 3, 6, 10, 11};
    size_t want = 0;

    (void)state;
    for (size_t max = 0; max <= sizeof(s) - 1; max++) {
        for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
            if (starts[i] <= max)
                want = starts[i];
        assert_int_equal(util_utf8_prefix(s, max), want);
    }
}

/* Invalid input: the prefix still does not end inside a sequence its
 * lead byte announces. */
static void
test_utf8_prefix_invalid(void **state)
{
    (void)state;
    /* A sequence missing its last byte, then ASCII. */
    assert_int_equal(util_utf8_prefix("a\xe2\x82"
                                      "b",
                                      3),
                     1);
    assert_int_equal(util_utf8_prefix("a\xe2\x82"
                                      "b",
                                      4),
                     4);
    /* The string itself ends inside a sequence. */
    assert_int_equal(util_utf8_prefix("ab\xc3", 10), 2);
    assert_int_equal(util_utf8_prefix("ab\xf0\x9f\x98", 10), 2);
    /* Stray continuation bytes at the cut are not split off a character:
     * the cut moves before them. */
    assert_int_equal(util_utf8_prefix("ab\x80\x80\x80z", 3), 2);
    assert_int_equal(util_utf8_prefix("\x80\x80", 1), 0);
}

static void
test_hexval(void **state)
{
    (void)state;
    assert_int_equal(util_hexval('0'), 0);
    assert_int_equal(util_hexval('a'), 10);
    assert_int_equal(util_hexval('F'), 15);
    assert_int_equal(util_hexval('g'), -1);
}

/* The items util_list_next() finds in `list`, joined with '|'. */
static const char *
items(const char *list)
{
    static char out[256];
    const char *item, *p = list;
    size_t len, n = 0;

    out[0] = '\0';
    while ((item = util_list_next(&p, &len)) != NULL) {
        assert_true(len > 0);
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%.*s",
                              n > 0 ? "|" : "", (int)len, item);
    }
    assert_int_equal(len, 0);
    assert_int_equal(*p, '\0'); /* at the end once NULL */
    return out;
}

static void
test_list_next(void **state)
{
    (void)state;
    assert_string_equal(items("a,b,c"), "a|b|c");
    assert_string_equal(items("ping, add"), "ping|add");
    /* Spaces and tabs separate as commas do. */
    assert_string_equal(items("a b\tc"), "a|b|c");
    /* Empty items, leading, trailing and repeated separators: none. */
    assert_string_equal(items(",a,,b,"), "a|b");
    assert_string_equal(items(" \t, a ,\t b , "), "a|b");
    assert_string_equal(items(""), "");
    assert_string_equal(items(" , ,\t"), "");
    /* Anything else is part of an item. */
    assert_string_equal(items("*"), "*");
    assert_string_equal(items("http://a:8080;x=1\n"), "http://a:8080;x=1\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_prefix_valid),
        cmocka_unit_test(test_utf8_prefix_every_cut),
        cmocka_unit_test(test_utf8_prefix_invalid),
        cmocka_unit_test(test_hexval),
        cmocka_unit_test(test_list_next),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
