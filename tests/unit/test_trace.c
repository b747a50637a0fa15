/* SPDX-License-Identifier: MIT */
/*
 * test_trace.c - unit tests for host/trace.c: which traceparent headers
 * are taken, and what the host's own looks like.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "trace.h"

static const char good[] =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

static int
is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static void
test_valid(void **state)
{
    (void)state;
    assert_true(trace_valid(good));
    /* A later version may carry more, after a dash. */
    assert_true(trace_valid(
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
    assert_true(
        trace_valid("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
}

static void
test_invalid(void **state)
{
    static const char *bad[] = {
        "",
        "00",
        /* upper case */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        /* all-zero trace id, all-zero parent id */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        /* version ff */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        /* version 00 with anything after it */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
        /* a later version with more, not after a dash */
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        /* short fields, wrong separators, non-hex */
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
        "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (trace_valid(bad[i]))
            fail_msg("taken: '%s'", bad[i]);
    }
}

static void
test_continue(void **state)
{
    char out[TRACE_LEN + 1];

    (void)state;
    assert_int_equal(trace_make(good, out), 1);
    assert_int_equal(strlen(out), TRACE_LEN);
    assert_true(trace_valid(out));
    /* The caller's trace id and flags, this host's span. */
    assert_memory_equal(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36);
    assert_memory_not_equal(out + 36, "00f067aa0ba902b7", 16);
    assert_string_equal(out + 52, "-01");
    /* A later version is answered as 00, its flags kept. */
    assert_int_equal(
        trace_make(
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-x=y", out),
        1);
    assert_memory_equal(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36);
    assert_string_equal(out + 52, "-03");
}

static void
test_start(void **state)
{
    char a[TRACE_LEN + 1], b[TRACE_LEN + 1];

    (void)state;
    assert_int_equal(trace_make(NULL, a), 0);
    assert_int_equal(trace_make("garbage", b), 0);
    assert_true(trace_valid(a));
    assert_true(trace_valid(b));
    assert_true(is_lower_hex(a + 3, 32));
    assert_string_equal(a + 52, "-00");
    /* New ids each time. */
    assert_memory_not_equal(a + 3, b + 3, 32);
    assert_memory_not_equal(a + 36, b + 36, 16);
}

static void
test_many_distinct(void **state)
{
    char seen[256][TRACE_LEN + 1];

    (void)state;
    for (int i = 0; i < 256; i++) {
        trace_make(NULL, seen[i]);
        for (int j = 0; j < i; j++)
            assert_memory_not_equal(seen[i] + 3, seen[j] + 3, 32);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),         cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_continue),      cmocka_unit_test(test_start),
        cmocka_unit_test(test_many_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
