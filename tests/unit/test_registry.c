/* SPDX-License-Identifier: MIT */
/*
 * test_registry.c - unit tests for host/registry.c: name rules, add/find,
 * duplicates, growth and registration order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loader.h"
#include "registry.h"

static int
h1(rpchost_call *c, const cJSON *params, void *state)
{
    (void)c;
    (void)params;
    (void)state;
    return 1;
}

static int
h2(rpchost_call *c, const cJSON *params, void *state)
{
    (void)c;
    (void)params;
    (void)state;
    return 2;
}

static int
setup(void **state)
{
    struct registry *r = registry_new();

    if (r == NULL)
        return -1;
    *state = r;
    return 0;
}

static int
teardown(void **state)
{
    registry_free(*state);
    return 0;
}

/* Add `name` with handler h1 for owner; return the rc. */
static int
add(struct registry *r, const char *name, struct plugin *owner)
{
    rpchost_method m = {0};

    m.name = name;
    m.handler = h1;
    return registry_add(r, &m, owner, NULL, NULL);
}

static const struct method *
find(const struct registry *r, const char *name)
{
    return registry_find(r, name, strlen(name));
}

static void
test_empty(void **state)
{
    struct registry *r = *state;

    assert_int_equal(registry_count(r), 0);
    assert_null(find(r, "ping"));
    assert_null(find(r, ""));
    assert_null(registry_at(r, 0));
}

static void
test_add_find(void **state)
{
    struct registry *r = *state;
    struct plugin owner;
    const struct method *m;
    rpchost_method def = {0};
    char summary[32];
    char name[16];
    int udata;

    memset(&owner, 0, sizeof(owner));
    snprintf(summary, sizeof(summary), "answers pong");
    snprintf(name, sizeof(name), "ping");
    def.name = name;
    def.handler = h2;
    def.udata = &udata;
    def.flags = RPCHOST_METHOD_SERIAL;
    def.summary = summary;
    assert_int_equal(registry_add(r, &def, &owner, NULL, NULL), RPCHOST_OK);
    /* The registry keeps copies: the caller's strings may change. */
    snprintf(summary, sizeof(summary), "changed");
    snprintf(name, sizeof(name), "gone");
    m = find(r, "ping");
    assert_non_null(m);
    assert_string_equal(m->name, "ping");
    assert_ptr_not_equal(m->name, name);
    assert_string_equal(m->summary, "answers pong");
    assert_ptr_equal(m->handler, h2);
    assert_ptr_equal(m->udata, &udata);
    assert_int_equal(m->flags, RPCHOST_METHOD_SERIAL);
    assert_ptr_equal(m->plugin, &owner);
    assert_int_equal(m->handler(NULL, NULL, NULL), 2);
    assert_null(find(r, "gone"));
    assert_null(find(r, "pin"));
    assert_null(find(r, "pingg"));
    assert_null(find(r, "Ping"));
    assert_int_equal(registry_count(r), 1);
    assert_ptr_equal(registry_at(r, 0), m);
}

static void
test_null_summary(void **state)
{
    struct registry *r = *state;

    assert_int_equal(add(r, "s", NULL), RPCHOST_OK);
    assert_null(find(r, "s")->summary);
    assert_null(find(r, "s")->plugin);
}

static void
test_find_not_terminated(void **state)
{
    struct registry *r = *state;
    static const char text[] = "pingpong.extra";

    assert_int_equal(add(r, "ping", NULL), RPCHOST_OK);
    assert_int_equal(add(r, "pingpong", NULL), RPCHOST_OK);
    assert_string_equal(registry_find(r, text, 4)->name, "ping");
    assert_string_equal(registry_find(r, text, 8)->name, "pingpong");
    assert_null(registry_find(r, text, 3));
    assert_null(registry_find(r, text, 5));
    assert_null(registry_find(r, text, 9));
    assert_null(registry_find(r, text, 0));
}

static void
test_name_rules(void **state)
{
    struct registry *r = *state;
    char longname[200];
    const char *why = NULL;

    (void)state;
    assert_int_equal(registry_check_name("", &why), RPCHOST_EINVAL);
    assert_non_null(why);
    assert_int_equal(registry_check_name(NULL, NULL), RPCHOST_EINVAL);
    assert_int_equal(registry_check_name("has space", NULL), RPCHOST_EINVAL);
    assert_int_equal(registry_check_name("tab\there", NULL), RPCHOST_EINVAL);
    assert_int_equal(registry_check_name("nl\n", NULL), RPCHOST_EINVAL);
    assert_int_equal(registry_check_name("\x01", NULL), RPCHOST_EINVAL);
    assert_int_equal(registry_check_name("del\x7f", NULL), RPCHOST_EINVAL);
    assert_int_equal(registry_check_name("caf\xc3\xa9", NULL), RPCHOST_EINVAL);
    assert_int_equal(registry_check_name("\xff", NULL), RPCHOST_EINVAL);
    why = NULL;
    assert_int_equal(registry_check_name("rpc.x", &why), RPCHOST_EINVAL);
    assert_non_null(why);
    assert_non_null(strstr(why, "rpc."));
    assert_int_equal(registry_check_name("rpc.", NULL), RPCHOST_EINVAL);
    assert_int_equal(registry_check_name("rpc", NULL), RPCHOST_OK);
    assert_int_equal(registry_check_name("rpcx", NULL), RPCHOST_OK);
    assert_int_equal(registry_check_name("rpc_x", NULL), RPCHOST_OK);
    assert_int_equal(registry_check_name("x.rpc.y", NULL), RPCHOST_OK);
    assert_int_equal(registry_check_name("a", NULL), RPCHOST_OK);
    assert_int_equal(registry_check_name("!~\"{}[]", NULL), RPCHOST_OK);

    memset(longname, 'n', sizeof(longname));
    longname[128] = '\0';
    assert_int_equal(registry_check_name(longname, NULL), RPCHOST_OK);
    assert_int_equal(add(r, longname, NULL), RPCHOST_OK);
    assert_non_null(find(r, longname));
    longname[128] = 'n';
    longname[129] = '\0';
    why = NULL;
    assert_int_equal(registry_check_name(longname, &why), RPCHOST_EINVAL);
    assert_non_null(why);
    assert_int_equal(add(r, longname, NULL), RPCHOST_EINVAL);
    assert_null(find(r, longname));

    /* registry_add applies the same rules. */
    assert_int_equal(add(r, "", NULL), RPCHOST_EINVAL);
    assert_int_equal(add(r, "has space", NULL), RPCHOST_EINVAL);
    assert_int_equal(add(r, "ctl\x1f", NULL), RPCHOST_EINVAL);
    assert_int_equal(add(r, "caf\xc3\xa9", NULL), RPCHOST_EINVAL);
    assert_int_equal(add(r, "rpc.x", NULL), RPCHOST_EINVAL);
    assert_int_equal(add(r, "rpc", NULL), RPCHOST_OK);
    assert_int_equal(add(r, "rpcx", NULL), RPCHOST_OK);
    assert_int_equal(registry_count(r), 3);
    assert_null(find(r, "rpc.x"));
}

static void
test_bad_args(void **state)
{
    struct registry *r = *state;
    rpchost_method m = {0};

    m.name = "x";
    m.handler = NULL;
    assert_int_equal(registry_add(r, &m, NULL, NULL, NULL), RPCHOST_EINVAL);
    assert_int_equal(registry_add(r, NULL, NULL, NULL, NULL), RPCHOST_EINVAL);
    m.name = NULL;
    m.handler = h1;
    assert_int_equal(registry_add(r, &m, NULL, NULL, NULL), RPCHOST_EINVAL);
    assert_int_equal(registry_count(r), 0);
}

static void
test_duplicate(void **state)
{
    struct registry *r = *state;
    struct plugin a, b;
    struct plugin *holder = NULL;
    rpchost_method m = {0};

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    m.name = "dup";
    m.handler = h1;
    assert_int_equal(registry_add(r, &m, &a, &holder, NULL), RPCHOST_OK);
    m.handler = h2;
    assert_int_equal(registry_add(r, &m, &b, &holder, NULL), RPCHOST_EEXIST);
    assert_ptr_equal(holder, &a);
    /* The same owner again is refused too. */
    holder = NULL;
    assert_int_equal(registry_add(r, &m, &a, &holder, NULL), RPCHOST_EEXIST);
    assert_ptr_equal(holder, &a);
    /* A NULL holder pointer is fine. */
    assert_int_equal(registry_add(r, &m, &b, NULL, NULL), RPCHOST_EEXIST);
    /* The first registration is unchanged. */
    assert_int_equal(registry_count(r), 1);
    assert_ptr_equal(find(r, "dup")->handler, h1);
    assert_ptr_equal(find(r, "dup")->plugin, &a);
}

static void
test_growth(void **state)
{
    struct registry *r = *state;
    struct plugin owners[3];
    char name[32];
    size_t n = 1000;

    memset(owners, 0, sizeof(owners));
    for (size_t i = 0; i < n; i++) {
        rpchost_method m = {0};

        snprintf(name, sizeof(name), "method.%zu", i);
        m.name = name;
        m.handler = (i % 2) ? h2 : h1;
        m.udata = (void *)(uintptr_t)(i + 1);
        assert_int_equal(registry_add(r, &m, &owners[i % 3], NULL, NULL),
                         RPCHOST_OK);
        assert_int_equal(registry_count(r), i + 1);
    }
    for (size_t i = 0; i < n; i++) {
        const struct method *m;

        snprintf(name, sizeof(name), "method.%zu", i);
        m = find(r, name);
        assert_non_null(m);
        assert_string_equal(m->name, name);
        assert_ptr_equal(m->udata, (void *)(uintptr_t)(i + 1));
        assert_ptr_equal(m->plugin, &owners[i % 3]);
        assert_ptr_equal(m->handler, (i % 2) ? h2 : h1);
        /* Registration order. */
        assert_ptr_equal(registry_at(r, i), m);
    }
    assert_null(registry_at(r, n));
    assert_null(find(r, "method.1000"));
    assert_null(find(r, "method."));
    /* Every duplicate is still detected after growth. */
    for (size_t i = 0; i < n; i += 37) {
        struct plugin *holder = NULL;
        rpchost_method m = {0};

        snprintf(name, sizeof(name), "method.%zu", i);
        m.name = name;
        m.handler = h1;
        assert_int_equal(registry_add(r, &m, NULL, &holder, NULL),
                         RPCHOST_EEXIST);
        assert_ptr_equal(holder, &owners[i % 3]);
    }
    assert_int_equal(registry_count(r), n);
}

static void
test_order(void **state)
{
    struct registry *r = *state;
    static const char *const names[] = {"zeta", "alpha", "mid", "beta",
                                        "omega"};

    for (size_t i = 0; i < 5; i++)
        assert_int_equal(add(r, names[i], NULL), RPCHOST_OK);
    assert_int_equal(add(r, "alpha", NULL), RPCHOST_EEXIST);
    assert_int_equal(registry_count(r), 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(registry_at(r, i)->name, names[i]);
    assert_null(registry_at(r, 5));
    assert_null(registry_at(r, (size_t)-1));
}

/* A lookup of len bytes that hold a NUL must not match a shorter stored
 * name, nor read past the end of it (ASan reports a heap overflow when it
 * does: slot_for() compares with strncmp, which stops at the NUL, and then
 * reads m->name[len]). */
static void
test_find_embedded_nul(void **state)
{
    struct registry *r = *state;
    static const char text[] = "ping\0xxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

    assert_int_equal(add(r, "ping", NULL), RPCHOST_OK);
    assert_null(registry_find(r, text, sizeof(text) - 1));
    assert_null(registry_find(r, text, 5));
}

static void
test_free_null(void **state)
{
    (void)state;
    registry_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_summary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_not_terminated, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_name_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order, setup, teardown),
        cmocka_unit_test(test_free_null),
        /* Last: under ASan a failure here aborts the program. */
        cmocka_unit_test_setup_teardown(test_find_embedded_nul, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
