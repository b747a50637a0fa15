/* SPDX-License-Identifier: MIT */
/*
 * test_loop.c - the loop runtime (host/loop.c): posts from other threads
 * run on the loop in order, timers run after their delay, teardown runs
 * what is pending (deadlines first) and then refuses posts.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "loop.h"
#include "util.h"

struct record {
    int order[16];
    int n;
    struct loop *loop;
    int on_loop; /* every callback ran on the loop's thread */
};

static void
note(struct record *r, int v)
{
    if (r->n < 16)
        r->order[r->n++] = v;
    if (!loop_is_current(r->loop))
        r->on_loop = 0;
}

struct tagged {
    struct record *r;
    int v;
};

static void
run_tagged(void *arg)
{
    struct tagged *t = arg;

    note(t->r, t->v);
}

static void
stop_loop(void *arg)
{
    event_base_loopbreak(loop_base(arg));
}

struct poster {
    struct loop *loop;
    struct tagged tags[3];
};

static void *
post_from_thread(void *arg)
{
    struct poster *p = arg;

    for (int i = 0; i < 3; i++)
        assert_int_equal(loop_post(p->loop, run_tagged, &p->tags[i]), 0);
    assert_int_equal(loop_post(p->loop, stop_loop, p->loop), 0);
    return NULL;
}

static void
test_posts_run_in_order_on_the_loop(void **state)
{
    struct record r = {.on_loop = 1};
    struct poster p;
    pthread_t t;

    (void)state;
    r.loop = loop_new();
    assert_non_null(r.loop);
    loop_enter(r.loop);
    p.loop = r.loop;
    for (int i = 0; i < 3; i++)
        p.tags[i] = (struct tagged){&r, i + 1};
    assert_int_equal(pthread_create(&t, NULL, post_from_thread, &p), 0);
    pthread_join(t, NULL);
    assert_false(loop_is_current(NULL));
    event_base_dispatch(loop_base(r.loop));
    assert_int_equal(r.n, 3);
    assert_int_equal(r.order[0], 1);
    assert_int_equal(r.order[2], 3);
    assert_true(r.on_loop);
    loop_finish(r.loop);
    loop_free(r.loop);
}

static void
test_timers_after_their_delay_and_cancel(void **state)
{
    struct record r = {.on_loop = 1};
    struct tagged late, early, never;
    struct loop_timer *t;
    long long t0;

    (void)state;
    r.loop = loop_new();
    assert_non_null(r.loop);
    late = (struct tagged){&r, 30};
    early = (struct tagged){&r, 10};
    never = (struct tagged){&r, 99};
    t0 = util_mono_ms();
    assert_non_null(loop_timer_add(r.loop, 30, run_tagged, &late));
    assert_non_null(loop_timer_add(r.loop, 10, run_tagged, &early));
    t = loop_timer_add(r.loop, 20, run_tagged, &never);
    assert_non_null(t);
    loop_timer_cancel(t);
    assert_non_null(loop_timer_add(r.loop, 40, stop_loop, r.loop));
    event_base_dispatch(loop_base(r.loop));
    assert_true(util_mono_ms() - t0 >= 40);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.order[0], 10);
    assert_int_equal(r.order[1], 30);
    loop_finish(r.loop);
    loop_free(r.loop);
}

static void
test_teardown_runs_pending_deadlines_first_then_refuses(void **state)
{
    struct record r = {.on_loop = 1};
    struct tagged a, b, deadline, posted;
    struct loop_timer *t;

    (void)state;
    r.loop = loop_new();
    assert_non_null(r.loop);
    a = (struct tagged){&r, 1};
    b = (struct tagged){&r, 2};
    deadline = (struct tagged){&r, 3};
    posted = (struct tagged){&r, 4};
    assert_non_null(loop_timer_add(r.loop, 60000, run_tagged, &a));
    assert_non_null(loop_timer_add(r.loop, 60000, run_tagged, &b));
    t = loop_timer_add(r.loop, 60000, run_tagged, &deadline);
    assert_non_null(t);
    loop_timer_first(t);
    assert_int_equal(loop_post(r.loop, run_tagged, &posted), 0);
    loop_finish(r.loop); /* timers at once, deadline first, then posts */
    assert_int_equal(r.n, 4);
    assert_int_equal(r.order[0], 3);
    assert_int_equal(r.order[1], 1);
    assert_int_equal(r.order[2], 2);
    assert_int_equal(r.order[3], 4);
    assert_int_equal(loop_post(r.loop, run_tagged, &posted), -1);
    loop_free(r.loop);
}

static void
test_expire_runs_every_timer_now(void **state)
{
    struct record r = {.on_loop = 1};
    struct tagged a = {&r, 1}, b = {&r, 2};

    (void)state;
    r.loop = loop_new();
    assert_non_null(r.loop);
    assert_non_null(loop_timer_add(r.loop, 60000, run_tagged, &a));
    assert_non_null(loop_timer_add(r.loop, 60000, run_tagged, &b));
    loop_expire_timers(r.loop);
    assert_int_equal(r.n, 2);
    loop_expire_timers(r.loop); /* nothing left */
    assert_int_equal(r.n, 2);
    loop_finish(r.loop);
    loop_free(r.loop);
    loop_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_posts_run_in_order_on_the_loop),
        cmocka_unit_test(test_timers_after_their_delay_and_cancel),
        cmocka_unit_test(
            test_teardown_runs_pending_deadlines_first_then_refuses),
        cmocka_unit_test(test_expire_runs_every_timer_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
