/*
 * test_util.c - unit tests for host/util.c: UTF-8 prefixes cut at a
 * character boundary, hex digits.
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_prefix_valid),
        cmocka_unit_test(test_utf8_prefix_every_cut),
        cmocka_unit_test(test_utf8_prefix_invalid),
        cmocka_unit_test(test_hexval),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
