/* SPDX-License-Identifier: MIT */
/*
 * test_loader.c - unit tests for host/loader.c (and the plugin-side half of
 * host/api.c): loading each fixture plugin, every refusal and its message.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api.h"
#include "config.h"
#include "loader.h"
#include "registry.h"

#define CFG_FILE "test.ini"
#define CFG_LINE 7

static const char *fixtures; /* RPCHOST_FIXTURES */
static const char *plugins;  /* RPCHOST_PLUGINS */

/* One plugin instance to load: its conf and what it needs. */
struct inst {
    char path[1024];
    struct config_kv kv[8];
    struct plugin_conf pc;
    struct plugin p;
    char err[1024];
};

/* Fill `in` for instance `name` of dir/file with up to 4 key/value pairs
 * (NULL-terminated key, value list). */
static void
inst_init(struct inst *in, const char *name, const char *dir, const char *file,
          ...)
{
    va_list ap;
    const char *k;

    memset(in, 0, sizeof(*in));
    snprintf(in->path, sizeof(in->path), "%s/%s", dir, file);
    in->pc.name = (char *)name;
    in->pc.path = in->path;
    in->pc.line = CFG_LINE;
    in->pc.kv = in->kv;
    va_start(ap, file);
    while ((k = va_arg(ap, const char *)) != NULL) {
        assert_true(in->pc.nkv < 8);
        in->kv[in->pc.nkv].key = (char *)k;
        in->kv[in->pc.nkv].value = va_arg(ap, char *);
        in->kv[in->pc.nkv].line = CFG_LINE + 1 + (int)in->pc.nkv;
        in->pc.nkv++;
    }
    va_end(ap);
}

static int
inst_load(struct inst *in, struct registry *reg)
{
    return plugin_load(&in->p, CFG_FILE, &in->pc, reg, host_api(), in->err,
                       sizeof(in->err));
}

/* Expect the load to fail with the "FILE:7: [name]" prefix and every
 * NULL-terminated fragment in the message; nothing stays loaded. */
static void
expect_fail(struct inst *in, struct registry *reg, ...)
{
    char prefix[128];
    const char *frag;
    va_list ap;

    assert_int_equal(inst_load(in, reg), -1);
    snprintf(prefix, sizeof(prefix), "%s:%d: [%s]", CFG_FILE, CFG_LINE,
             in->pc.name);
    if (strncmp(in->err, prefix, strlen(prefix)) != 0)
        print_error("want prefix '%s': %s\n", prefix, in->err);
    assert_memory_equal(in->err, prefix, strlen(prefix));
    va_start(ap, reg);
    while ((frag = va_arg(ap, const char *)) != NULL) {
        if (strstr(in->err, frag) == NULL)
            print_error("'%s' lacks '%s'\n", in->err, frag);
        assert_non_null(strstr(in->err, frag));
    }
    va_end(ap);
    assert_null(in->p.handle);
    assert_null(in->p.def);
    assert_false(in->p.initialised);
    assert_false(in->p.in_init);
}

static int
group_setup(void **state)
{
    (void)state;
    fixtures = getenv("RPCHOST_FIXTURES");
    plugins = getenv("RPCHOST_PLUGINS");
    if (fixtures == NULL || plugins == NULL) {
        fprintf(stderr, "RPCHOST_FIXTURES and RPCHOST_PLUGINS must be set\n");
        return -1;
    }
    return 0;
}

/* Per test: a registry and two plugin instances. */
struct fx {
    struct registry *reg;
    struct inst in[2];
};

static int
setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));

    if (fx == NULL)
        return -1;
    fx->reg = registry_new();
    if (fx->reg == NULL) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *fx = *state;

    plugin_unload(&fx->in[1].p);
    plugin_unload(&fx->in[0].p);
    registry_free(fx->reg);
    free(fx);
    return 0;
}

/* Loading spec.so registers its methods, owned by the instance. */
static void
test_spec(void **state)
{
    struct fx *fx = *state;
    struct inst *in = &fx->in[0];
    static const char *const names[] = {
        "subtract",   "sum",      "update",       "notify_hello",
        "get_data",   "echo",     "fail",         "bad_code",
        "error_data", "sleep_ms", "internal_leak"};
    size_t n = sizeof(names) / sizeof(names[0]);
    int rc;

    inst_init(in, "spec", fixtures, "spec.so", NULL);
    rc = inst_load(in, fx->reg);
    if (rc != 0)
        print_error("%s\n", in->err);
    assert_int_equal(rc, 0);
    assert_non_null(in->p.handle);
    assert_non_null(in->p.def);
    assert_true(in->p.initialised);
    assert_false(in->p.in_init);
    assert_false(in->p.reg_failed);
    assert_string_equal(in->p.name, "spec");
    assert_ptr_equal(in->p.conf, &in->pc);
    assert_string_equal(in->p.def->name, "spec");
    assert_string_equal(in->p.def->version, "1.0.0");
    assert_int_equal(in->p.nmethods, n);
    assert_int_equal(registry_count(fx->reg), n);
    for (size_t i = 0; i < n; i++) {
        const struct method *m =
            registry_find(fx->reg, names[i], strlen(names[i]));
        assert_non_null(m);
        assert_ptr_equal(m->plugin, &in->p);
        assert_ptr_equal(registry_at(fx->reg, i), m);
    }
    plugin_unload(&in->p);
    assert_null(in->p.handle);
    assert_null(in->p.def);
    assert_false(in->p.initialised);
    plugin_unload(&in->p); /* idempotent */
    assert_null(in->p.handle);
}

static void
test_ping(void **state)
{
    struct fx *fx = *state;
    struct inst *in = &fx->in[0];

    inst_init(in, "pinger", plugins, "ping.so", NULL);
    assert_int_equal(inst_load(in, fx->reg), 0);
    assert_int_equal(registry_count(fx->reg), 1);
    assert_string_equal(registry_at(fx->reg, 0)->name, "ping");
    assert_non_null(registry_at(fx->reg, 0)->summary);
    assert_ptr_equal(registry_at(fx->reg, 0)->plugin, &in->p);
}

static void
test_nohook(void **state)
{
    struct fx *fx = *state;
    struct inst *in = &fx->in[0];

    inst_init(in, "nh", fixtures, "nohook.so", NULL);
    expect_fail(in, fx->reg, "rpchost_plugin_entry", "nohook.so", NULL);
    assert_int_equal(registry_count(fx->reg), 0);
}

static void
test_newabi(void **state)
{
    struct fx *fx = *state;
    struct inst *in = &fx->in[0];

    /* Its init aborts the program if the host ever runs it. */
    inst_init(in, "na", fixtures, "newabi.so", NULL);
    expect_fail(in, fx->reg, "ABI 3", "ABI 2", NULL);
    assert_int_equal(registry_count(fx->reg), 0);
}

static void
test_initfail(void **state)
{
    struct fx *fx = *state;
    struct inst *in = &fx->in[0];

    inst_init(in, "db", fixtures, "initfail.so", NULL);
    expect_fail(in, fx->reg, "cannot reach database at db:5432", "init failed",
                NULL);
}

/* dup.so registers "ping", which ping.so (instance [ping]) already holds:
 * the message says so and names the holder. */
static void
test_dup(void **state)
{
    struct fx *fx = *state;

    inst_init(&fx->in[0], "ping", plugins, "ping.so", NULL);
    assert_int_equal(inst_load(&fx->in[0], fx->reg), 0);
    inst_init(&fx->in[1], "dupe", fixtures, "dup.so", NULL);
    expect_fail(&fx->in[1], fx->reg, "already registered", NULL);
    if (strstr(fx->in[1].err, "[ping]") == NULL)
        print_error("holder not named: %s\n", fx->in[1].err);
    assert_non_null(strstr(fx->in[1].err, "[ping]"));
    /* The holder keeps its method. */
    assert_int_equal(registry_count(fx->reg), 1);
    assert_ptr_equal(registry_at(fx->reg, 0)->plugin, &fx->in[0].p);
}

/* Two instances of one .so: the second clashes with the first. */
static void
test_same_plugin_twice(void **state)
{
    struct fx *fx = *state;

    inst_init(&fx->in[0], "first", fixtures, "spec.so", NULL);
    assert_int_equal(inst_load(&fx->in[0], fx->reg), 0);
    inst_init(&fx->in[1], "second", fixtures, "spec.so", NULL);
    expect_fail(&fx->in[1], fx->reg, "already registered", "[first]", NULL);
    /* The first instance is still loaded and owns everything. */
    assert_non_null(fx->in[0].p.handle);
    for (size_t i = 0; i < registry_count(fx->reg); i++)
        assert_ptr_equal(registry_at(fx->reg, i)->plugin, &fx->in[0].p);
}

static void
test_badname(void **state)
{
    static const char *const bad[] = {"", "rpc.foo", "has space", "tab\tx",
                                      "caf\xc3\xa9"};
    struct fx *fx = *state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct inst *in = &fx->in[0];

        inst_init(in, "bn", fixtures, "badname.so", "name", bad[i], NULL);
        expect_fail(in, fx->reg, "init failed", NULL);
        assert_int_equal(registry_count(fx->reg), 0);
    }
    /* Absent: the fixture defaults to "", refused as well. */
    inst_init(&fx->in[0], "bn", fixtures, "badname.so", NULL);
    expect_fail(&fx->in[0], fx->reg, "init failed", NULL);
}

static void
test_badname_good(void **state)
{
    struct fx *fx = *state;
    struct inst *in = &fx->in[0];

    inst_init(in, "bn", fixtures, "badname.so", "name", "rpcx", NULL);
    assert_int_equal(inst_load(in, fx->reg), 0);
    assert_non_null(registry_find(fx->reg, "rpcx", 4));
}

static void
test_missing_file(void **state)
{
    struct fx *fx = *state;
    struct inst *in = &fx->in[0];

    inst_init(in, "gone", fixtures, "no-such-plugin.so", NULL);
    expect_fail(in, fx->reg, "cannot open", "no-such-plugin.so", "No such file",
                NULL);
}

static void
test_directory(void **state)
{
    struct fx *fx = *state;
    struct inst *in = &fx->in[0];

    inst_init(in, "dir", fixtures, ".", NULL);
    expect_fail(in, fx->reg, "not a regular file", NULL);
}

static void
test_not_elf(void **state)
{
    struct fx *fx = *state;
    struct inst *in = &fx->in[0];
    char path[] = "/tmp/rpchost-notelf-XXXXXX";
    static const char junk[] = "this is not a shared object\n";
    int fd;

    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, junk, sizeof(junk) - 1),
                     (ssize_t)(sizeof(junk) - 1));
    assert_int_equal(close(fd), 0);
    inst_init(in, "junk", "/tmp", path + 5, NULL);
    expect_fail(in, fx->reg, "not an ELF file", NULL);
    unlink(path);
}

/* How many fds this process has open. */
static int
open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    assert_non_null(d);
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* A plugin file cut short (as cp leaves it while writing) is refused
 * before it is mapped, and neither the copy nor the file stays open. */
static void
test_truncated_file(void **state)
{
    struct fx *fx = *state;
    struct inst *in = &fx->in[0];
    char src[1024], path[] = "/tmp/rpchost-cut-XXXXXX";
    static char head[8192];
    FILE *f;
    int fd, before;

    snprintf(src, sizeof(src), "%s/calc.so", plugins);
    f = fopen(src, "rb");
    assert_non_null(f);
    assert_int_equal(fread(head, 1, sizeof(head), f), sizeof(head));
    fclose(f);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, head, sizeof(head)), (ssize_t)sizeof(head));
    assert_int_equal(close(fd), 0);
    inst_init(in, "cut", "/tmp", path + 5, NULL);
    before = open_fds();
    expect_fail(in, fx->reg, "path = /tmp/rpchost-cut-", ": truncated",
                "(8192 bytes; still being written?)", NULL);
    assert_int_equal(in->p.fd, -1);
    assert_int_equal(open_fds(), before);
    unlink(path);
}

static void
test_error_truncated(void **state)
{
    struct fx *fx = *state;
    struct inst *in = &fx->in[0];
    char small[24];

    inst_init(in, "db", fixtures, "initfail.so", NULL);
    memset(small, 'X', sizeof(small));
    assert_int_equal(plugin_load(&in->p, CFG_FILE, &in->pc, fx->reg, host_api(),
                                 small, sizeof(small)),
                     -1);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_memory_equal(small, "test.ini:7: [db]", 16);
}

static void
test_cfg_good(void **state)
{
    struct fx *fx = *state;
    struct inst *in = &fx->in[0];
    int rc;

    inst_init(in, "cfg", fixtures, "cfg.so", "greeting", "hi", "count", "5",
              "ratio", "0.25", "loud", "yes", NULL);
    rc = inst_load(in, fx->reg);
    if (rc != 0)
        print_error("%s\n", in->err);
    assert_int_equal(rc, 0);
    assert_int_equal(in->err[0], '\0');
    assert_non_null(registry_find(fx->reg, "greet", 5));
    assert_non_null(in->p.state);
}

static void
test_cfg_defaults(void **state)
{
    struct fx *fx = *state;
    struct inst *in = &fx->in[0];

    inst_init(in, "cfg", fixtures, "cfg.so", NULL);
    assert_int_equal(inst_load(in, fx->reg), 0);
}

static void
test_cfg_bad(void **state)
{
    static const struct {
        const char *key, *value;
    } bad[] = {
        {"count", "50"},  {"count", "0"},     {"count", "abc"},
        {"count", ""},    {"count", "5x"},    {"count", "99999999999999999999"},
        {"ratio", "abc"}, {"ratio", "1e999"}, {"loud", "maybe"},
        {"loud", ""},
    };
    struct fx *fx = *state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct inst *in = &fx->in[0];

        inst_init(in, "cfg", fixtures, "cfg.so", bad[i].key, bad[i].value,
                  NULL);
        expect_fail(in, fx->reg, "init failed", bad[i].key, NULL);
        assert_int_equal(registry_count(fx->reg), 0);
    }
}

/* The plugin-side API functions, called directly with a fake plugin. */
static void
test_api_config(void **state)
{
    const rpchost_api *api = host_api();
    struct inst in;
    rpchost_plugin *p = (rpchost_plugin *)&in.p;
    int64_t i64 = -1;
    double d = -1;
    int b = -1;

    (void)state;
    inst_init(&in, "x", "/nowhere", "x.so", "n", "12", "neg", "-3", "d", "2.5",
              "t", "ON", "f", "No", "s", "text", "big", "9223372036854775808",
              NULL);
    in.p.name = in.pc.name;
    in.p.conf = &in.pc;

    assert_int_equal(api->abi_version, RPCHOST_ABI_VERSION);
    assert_int_equal(api->size, sizeof(rpchost_api));
    assert_string_equal(api->config_string(p, "s", "def"), "text");
    assert_string_equal(api->config_string(p, "missing", "def"), "def");
    assert_null(api->config_string(p, "missing", NULL));

    assert_int_equal(api->config_int(p, "n", 0, 0, 100, &i64), RPCHOST_OK);
    assert_int_equal(i64, 12);
    assert_int_equal(api->config_int(p, "neg", 0, -5, 5, &i64), RPCHOST_OK);
    assert_int_equal(i64, -3);
    assert_int_equal(api->config_int(p, "missing", 77, 0, 1, &i64), RPCHOST_OK);
    assert_int_equal(i64, 77);
    i64 = 1234;
    assert_int_equal(api->config_int(p, "n", 0, 0, 11, &i64), RPCHOST_ERANGE);
    assert_int_equal(i64, 1234); /* untouched on error */
    assert_int_equal(api->config_int(p, "s", 0, 0, 11, &i64), RPCHOST_ETYPE);
    assert_int_equal(api->config_int(p, "d", 0, 0, 11, &i64), RPCHOST_ETYPE);
    assert_int_equal(api->config_int(p, "big", 0, INT64_MIN, INT64_MAX, &i64),
                     RPCHOST_ERANGE);
    /* The first bad value is recorded with its line. */
    assert_non_null(strstr(in.p.host_error, "line 8"));
    assert_non_null(strstr(in.p.host_error, "n = '12'"));

    assert_int_equal(api->config_double(p, "d", 0, &d), RPCHOST_OK);
    assert_true(d == 2.5);
    assert_int_equal(api->config_double(p, "n", 0, &d), RPCHOST_OK);
    assert_true(d == 12.0);
    assert_int_equal(api->config_double(p, "missing", 0.5, &d), RPCHOST_OK);
    assert_true(d == 0.5);
    assert_int_equal(api->config_double(p, "s", 0, &d), RPCHOST_ETYPE);

    assert_int_equal(api->config_bool(p, "t", 0, &b), RPCHOST_OK);
    assert_int_equal(b, 1);
    assert_int_equal(api->config_bool(p, "f", 1, &b), RPCHOST_OK);
    assert_int_equal(b, 0);
    assert_int_equal(api->config_bool(p, "missing", 5, &b), RPCHOST_OK);
    assert_int_equal(b, 1);
    assert_int_equal(api->config_bool(p, "s", 0, &b), RPCHOST_ETYPE);
    assert_int_equal(api->config_bool(p, "n", 0, &b), RPCHOST_ETYPE);
}

static int
dummy(rpchost_call *c, const cJSON *params, void *st)
{
    (void)c;
    (void)params;
    (void)st;
    return 0;
}

static void
test_api_register(void **state)
{
    const rpchost_api *api = host_api();
    struct registry *reg = registry_new();
    struct inst in;
    rpchost_plugin *p = (rpchost_plugin *)&in.p;
    rpchost_method m = {0};

    (void)state;
    assert_non_null(reg);
    inst_init(&in, "x", "/nowhere", "x.so", NULL);
    in.p.name = in.pc.name;
    in.p.conf = &in.pc;
    in.p.reg = reg;
    m.name = "m1";
    m.handler = dummy;
    /* Outside init: refused, nothing recorded. */
    assert_int_equal(api->register_method(p, &m), RPCHOST_ESTATE);
    assert_int_equal(registry_count(reg), 0);
    in.p.in_init = 1;
    assert_int_equal(api->register_method(p, &m), RPCHOST_OK);
    assert_int_equal(in.p.nmethods, 1);
    assert_false(in.p.reg_failed);
    assert_int_equal(api->register_method(p, &m), RPCHOST_EEXIST);
    assert_true(in.p.reg_failed);
    assert_non_null(strstr(in.p.host_error, "\"m1\""));
    assert_non_null(strstr(in.p.host_error, "[x]"));
    m.name = "rpc.nope";
    assert_int_equal(api->register_method(p, &m), RPCHOST_EINVAL);
    m.name = "ok";
    m.handler = NULL;
    assert_int_equal(api->register_method(p, &m), RPCHOST_EINVAL);
    assert_int_equal(api->register_method(p, NULL), RPCHOST_EINVAL);
    assert_int_equal(registry_count(reg), 1);
    api->set_error(p, "custom %d", 42);
    assert_string_equal(in.p.error, "custom 42");
    assert_string_equal(api->strerror(RPCHOST_EEXIST), "already registered");
    assert_string_equal(api->strerror(12345), "unknown error code");
    for (int rc = RPCHOST_ETYPE; rc <= RPCHOST_OK; rc++)
        assert_string_not_equal(api->strerror(rc), "unknown error code");
    registry_free(reg);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_spec),
        T(test_ping),
        T(test_nohook),
        T(test_newabi),
        T(test_initfail),
        T(test_dup),
        T(test_same_plugin_twice),
        T(test_badname),
        T(test_badname_good),
        T(test_missing_file),
        T(test_directory),
        T(test_not_elf),
        T(test_truncated_file),
        T(test_error_truncated),
        T(test_cfg_good),
        T(test_cfg_defaults),
        T(test_cfg_bad),
        cmocka_unit_test(test_api_config),
        cmocka_unit_test(test_api_register),
    };
#undef T

    return cmocka_run_group_tests(tests, group_setup, NULL);
}
