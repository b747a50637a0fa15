/* SPDX-License-Identifier: MIT */
/*
 * test_guard.c - unit tests for host/guard.c: which Content-Type values are
 * JSON, which Host values an allowed_hosts list (or the default) lets
 * through, and which lists are valid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "guard.h"

static void
test_json_types(void **state)
{
    (void)state;
    assert_true(guard_json_type("application/json"));
    assert_true(guard_json_type("APPLICATION/Json"));
    assert_true(guard_json_type(" application/json"));
    assert_true(guard_json_type("application/json; charset=utf-8"));
    assert_true(guard_json_type("application/json ;charset=utf-8"));
    assert_true(guard_json_type("application/json-rpc"));
    assert_true(guard_json_type("application/jsonrequest"));
    assert_false(guard_json_type(NULL));
    assert_false(guard_json_type(""));
    assert_false(guard_json_type("text/plain"));
    assert_false(guard_json_type("application/x-www-form-urlencoded"));
    assert_false(guard_json_type("multipart/form-data; boundary=x"));
    assert_false(guard_json_type("application/jsonx"));
    assert_false(guard_json_type("application/json x"));
    assert_false(guard_json_type("application/jso"));
    assert_false(guard_json_type("application/json,text/plain"));
}

static void
test_default_on_loopback(void **state)
{
    (void)state;
    assert_true(guard_host_allowed(NULL, 1, NULL));
    assert_true(guard_host_allowed(NULL, 1, "localhost"));
    assert_true(guard_host_allowed(NULL, 1, "LocalHost:5000"));
    assert_true(guard_host_allowed(NULL, 1, "127.0.0.1"));
    assert_true(guard_host_allowed(NULL, 1, "127.0.0.1:5000"));
    assert_true(guard_host_allowed(NULL, 1, "127.255.0.9:1"));
    assert_true(guard_host_allowed(NULL, 1, "[::1]"));
    assert_true(guard_host_allowed(NULL, 1, "[::1]:5000"));
    assert_true(guard_host_allowed(NULL, 1, "[0:0:0:0:0:0:0:1]:80"));
    assert_false(guard_host_allowed(NULL, 1, "evil.example"));
    assert_false(guard_host_allowed(NULL, 1, "localhost.evil.example"));
    assert_false(guard_host_allowed(NULL, 1, "127.0.0.1.nip.io"));
    assert_false(guard_host_allowed(NULL, 1, "128.0.0.1"));
    assert_false(guard_host_allowed(NULL, 1, "[::2]"));
    assert_false(guard_host_allowed(NULL, 1, ""));
    assert_false(guard_host_allowed(NULL, 1, "[::1"));
    assert_false(guard_host_allowed(NULL, 1,
                                    "localhost:"
                                    "5000x"));
    assert_false(guard_host_allowed(NULL, 1, "localhost:50:00"));
    assert_false(guard_host_allowed(NULL, 1, "local host"));
}

static void
test_default_beyond_loopback(void **state)
{
    (void)state;
    assert_true(guard_host_allowed(NULL, 0, "evil.example"));
    assert_true(guard_host_allowed(NULL, 0, "anything at all"));
}

static void
test_lists(void **state)
{
    const char *list = "rpc.example.com, [2001:db8::1] ,10.0.0.7";

    (void)state;
    assert_true(guard_host_allowed(list, 1, "rpc.example.com"));
    assert_true(guard_host_allowed(list, 0, "RPC.Example.COM:8545"));
    assert_true(guard_host_allowed(list, 1, "[2001:db8::1]:80"));
    assert_true(guard_host_allowed(list, 1, "10.0.0.7"));
    assert_false(guard_host_allowed(list, 1, "localhost"));
    assert_false(guard_host_allowed(list, 0, "example.com"));
    assert_false(guard_host_allowed(list, 0, "x.rpc.example.com"));
    assert_true(guard_host_allowed(list, 0, NULL));
    assert_true(guard_host_allowed("*", 1, "evil.example"));
    assert_true(guard_host_allowed("a, *", 1, "evil.example"));
    /* The root dot, on either side. */
    assert_true(guard_host_allowed("localhost.", 1, "localhost"));
    assert_true(guard_host_allowed("localhost", 1, "localhost.:5000"));
    assert_true(guard_host_allowed(NULL, 1, "localhost."));
    assert_false(guard_host_allowed(NULL, 1, "."));
    assert_false(guard_host_allowed("evil.example", 1, "evil.example.x"));
}

static void
test_valid_lists(void **state)
{
    (void)state;
    assert_true(guard_hosts_valid("*"));
    assert_true(guard_hosts_valid("localhost"));
    assert_true(guard_hosts_valid(" a.example , b-c.example,10.0.0.1 "));
    assert_true(guard_hosts_valid("[::1], ::1"));
    assert_false(guard_hosts_valid(""));
    assert_false(guard_hosts_valid("   "));
    assert_false(guard_hosts_valid("a b"));
    assert_false(guard_hosts_valid("a,,b"));
    assert_false(guard_hosts_valid("a,"));
    assert_false(guard_hosts_valid("http://a.example"));
    assert_false(guard_hosts_valid("a.example/x"));
    assert_false(guard_hosts_valid("localhost:5000"));
    assert_false(guard_hosts_valid("127.0.0.1:5301, localhost"));
    assert_false(guard_hosts_valid("[::1]:80"));
    assert_false(guard_hosts_valid("[localhost"));
    assert_false(guard_hosts_valid("::zz"));
    assert_true(guard_hosts_valid("2001:db8::1, [2001:db8::2], localhost."));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_types),
        cmocka_unit_test(test_default_on_loopback),
        cmocka_unit_test(test_default_beyond_loopback),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_valid_lists),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
