/* SPDX-License-Identifier: MIT */
/*
 * test_forwarded.c - unit tests for host/forwarded.c: trusted_proxies
 * lists, and which address a request from a proxy is taken to come from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "forwarded.h"

static void
test_parse(void **state)
{
    char err[128];
    struct netlist *l;

    (void)state;
    l = netlist_parse("127.0.0.1, 10.0.0.0/8 ::1 fd00::/8,192.168.1.128/25",
                      err, sizeof(err));
    assert_non_null(l);
    assert_true(netlist_has(l, "127.0.0.1"));
    assert_false(netlist_has(l, "127.0.0.2"));
    assert_true(netlist_has(l, "10.200.3.4"));
    assert_false(netlist_has(l, "11.0.0.1"));
    assert_true(netlist_has(l, "::1"));
    assert_true(netlist_has(l, "fd12:3456::1"));
    assert_false(netlist_has(l, "fe80::1"));
    assert_true(netlist_has(l, "192.168.1.200"));
    assert_false(netlist_has(l, "192.168.1.100"));
    assert_false(netlist_has(l, "not-an-address"));
    netlist_free(l);
    assert_null(netlist_parse("10.0.0.0/33", err, sizeof(err)));
    assert_non_null(strstr(err, "10.0.0.0/33"));
    assert_null(netlist_parse("localhost", err, sizeof(err)));
    assert_null(netlist_parse("10.0.0.0/", err, sizeof(err)));
    assert_null(netlist_parse("::/129", err, sizeof(err)));
}

static void
test_client(void **state)
{
    char err[128], out[FORWARDED_ADDR_MAX];
    struct netlist *l =
        netlist_parse("127.0.0.1, 10.0.0.0/8", err, sizeof(err));

    (void)state;
    assert_non_null(l);
    /* An untrusted peer's headers are ignored. */
    assert_int_equal(
        forwarded_client(l, "192.0.2.1", "198.51.100.7", NULL, out, 46), 0);
    /* The right-most untrusted entry. */
    assert_int_equal(forwarded_client(l, "127.0.0.1",
                                      "6.6.6.6, 198.51.100.7 , 10.1.1.1", NULL,
                                      out, sizeof(out)),
                     1);
    assert_string_equal(out, "198.51.100.7");
    assert_int_equal(
        forwarded_client(l, "127.0.0.1", "2001:db8::5", NULL, out, sizeof(out)),
        1);
    assert_string_equal(out, "2001:db8::5");
    /* All trusted: the left-most. */
    assert_int_equal(forwarded_client(l, "127.0.0.1", "10.0.0.9,10.0.0.8", NULL,
                                      out, sizeof(out)),
                     1);
    assert_string_equal(out, "10.0.0.9");
    /* Garbage stops the walk at the last trusted hop. */
    assert_int_equal(forwarded_client(l, "127.0.0.1", "evil, 10.0.0.8", NULL,
                                      out, sizeof(out)),
                     1);
    assert_string_equal(out, "10.0.0.8");
    assert_int_equal(
        forwarded_client(l, "127.0.0.1", "evil", NULL, out, sizeof(out)), 0);
    /* X-Real-IP without X-Forwarded-For. */
    assert_int_equal(forwarded_client(l, "127.0.0.1", NULL, " 203.0.113.9", out,
                                      sizeof(out)),
                     1);
    assert_string_equal(out, "203.0.113.9");
    assert_int_equal(
        forwarded_client(l, "127.0.0.1", NULL, "x", out, sizeof(out)), 0);
    assert_int_equal(
        forwarded_client(l, "127.0.0.1", NULL, NULL, out, sizeof(out)), 0);
    netlist_free(l);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
