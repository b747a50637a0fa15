/* SPDX-License-Identifier: MIT */
/*
 * test_stats.c - the counters and their Prometheus rendering
 * (host/stats.c), and what a supervisor shares with its worker
 * (host/shared.c): the interning arena, restart counts, the config text
 * and the description of what each loop runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "activity.h"
#include "buf.h"
#include "shared.h"
#include "stats.h"

/* The value of the line `series VALUE` in text, or -1. */
static double
value_of(const char *text, const char *series)
{
    size_t n = strlen(series);

    for (const char *p = text; (p = strstr(p, series)) != NULL; p += n)
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

static void
test_calls_errors_and_buckets_sum_over_loops(void **state)
{
    struct stats *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    struct stats *loops[2] = {a, b};
    struct stats_global g = {.generation = 3, .restarts = {2, 0, 1, 0, 0}};
    struct buf out = BUF_INIT;
    const char *ping = stats_intern("ping");

    (void)state;
    assert_ptr_equal(stats_intern("ping"), ping); /* one copy */
    stats_call(a, ping, 40, 0);                   /* first bucket: <= 50 us */
    stats_call(b, ping, 2000000, -5);             /* 2 s, an error */
    stats_call(b, NULL, 10, -32601);              /* an unknown method */
    stats_http(a, 200);
    stats_http(b, 404);
    stats_render(&out, loops, 2, &g);
    assert_true(buf_ok(&out));
    const char *t = buf_cstr(&out);
    assert_int_equal(value_of(t, "rpchost_rpc_calls_total{method=\"ping\"}"),
                     2);
    assert_int_equal(
        value_of(t, "rpchost_rpc_calls_total{method=\"_unknown\"}"), 1);
    assert_int_equal(
        value_of(t, "rpchost_rpc_call_duration_seconds_bucket{method=\"ping\","
                    "le=\"5e-05\"}"),
        1);
    assert_int_equal(
        value_of(t, "rpchost_rpc_call_duration_seconds_count{method=\"ping\"}"),
        2);
    assert_int_equal(value_of(t, "rpchost_http_requests_total{status=\"2xx\"}"),
                     1);
    assert_int_equal(value_of(t, "rpchost_http_requests_total{status=\"4xx\"}"),
                     1);
    assert_int_equal(value_of(t, "rpchost_generation"), 3);
    assert_int_equal(
        value_of(t, "rpchost_worker_restarts_total{reason=\"crash\"}"), 2);
    assert_int_equal(
        value_of(t, "rpchost_worker_restarts_total{reason=\"stall\"}"), 1);
    assert_int_equal(
        value_of(t, "rpchost_worker_restarts_total{reason=\"upgrade\"}"), 0);
    buf_free(&out);
    free(a);
    free(b);
}

static void
test_restart_reason_names(void **state)
{
    (void)state;
    assert_string_equal(stats_restart_reason(RESTART_CRASH), "crash");
    assert_string_equal(stats_restart_reason(RESTART_RELOAD), "reload");
    assert_string_equal(stats_restart_reason(RESTART_NREASONS), "?");
    assert_string_equal(stats_restart_reason(-1), "?");
}

static void
test_shared_config_restarts_and_description(void **state)
{
    struct shared *sh = shared_new(2);
    unsigned long in[RESTART_NREASONS] = {1, 2, 3, 4, 5};
    unsigned long out[RESTART_NREASONS];
    char what[512], *text;
    size_t len = 0;

    (void)state;
    assert_non_null(sh);
    assert_null(shared_config(sh, &len)); /* none saved yet */
    shared_save_config(sh, "[server]\nthreads = 2\n", 21);
    text = shared_config(sh, &len);
    assert_non_null(text);
    assert_int_equal(len, 21);
    assert_string_equal(text, "[server]\nthreads = 2\n");
    free(text);
    shared_set_restarts(sh, in);
    shared_restarts(sh, out);
    assert_memory_equal(in, out, sizeof(in));

    /* Names interned in the arena are readable; others are not trusted. */
    shared_use_arena(sh);
    activity_enter(&shared_stats(sh, 1)->now, stats_intern("spin"),
                   stats_intern("slow"), 4, 1);
    shared_describe(sh, what, sizeof(what));
    assert_non_null(strstr(what, "loop 0 not in plugin code"));
    assert_non_null(
        strstr(what, "loop 1 in method spin (plugin [slow], generation 4)"));
    activity_enter(&shared_stats(sh, 0)->now, "not in the arena", NULL, 1, 1);
    shared_describe(sh, what, sizeof(what));
    assert_non_null(strstr(what, "loop 0 in method ? (plugin [?]"));
    shared_describe(sh, what, 8); /* cut, terminated */
    assert_int_equal(strlen(what), 7);
    stats_intern_arena(NULL, 0);
    shared_free(sh);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calls_errors_and_buckets_sum_over_loops),
        cmocka_unit_test(test_restart_reason_names),
        cmocka_unit_test(test_shared_config_restarts_and_description),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    stats_intern_free_all();
    return rc;
}
