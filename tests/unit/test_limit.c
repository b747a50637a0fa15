/* SPDX-License-Identifier: MIT */
/*
 * test_limit.c - unit tests for host/limit.c: GCRA timing and burst with
 * an explicit clock, many threads taking from one key without losing or
 * inventing calls, the key table's bound, and the concurrency cap with
 * its queue.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "admit.h"
#include "limit.h"

#define SEC 1000000000LL
#define MS 1000000LL

static void
test_parse(void **state)
{
    double r;

    (void)state;
    assert_int_equal(limit_rate_parse("100/s", &r), 0);
    assert_true(r == 100.0);
    assert_int_equal(limit_rate_parse("60/m", &r), 0);
    assert_true(r == 1.0);
    assert_int_equal(limit_rate_parse("7200/h", &r), 0);
    assert_true(r == 2.0);
    assert_int_equal(limit_rate_parse("2.5", &r), 0);
    assert_true(r == 2.5);
    assert_int_equal(limit_rate_parse("0/s", &r), -1);
    assert_int_equal(limit_rate_parse("-1/s", &r), -1);
    assert_int_equal(limit_rate_parse("10/d", &r), -1);
    assert_int_equal(limit_rate_parse("10/sec", &r), -1);
    assert_int_equal(limit_rate_parse("", &r), -1);
    assert_int_equal(limit_rate_parse("/s", &r), -1);
    assert_int_equal(limit_rate_parse("nan", &r), -1);
    assert_int_equal(limit_rate_parse("1e12/s", &r), -1);
}

/* 10/s with a burst of 3: three at once, then one every 100 ms. */
static void
test_burst_then_rate(void **state)
{
    struct limit_rate *r = limit_rate_new(10, 3, 16);
    uint64_t k = limit_key("a", 1);
    int64_t t = 5 * SEC;

    (void)state;
    assert_non_null(r);
    for (int i = 0; i < 3; i++)
        assert_int_equal(limit_rate_take(r, k, t), 0);
    /* The fourth waits a whole interval. */
    assert_int_equal(limit_rate_take(r, k, t), 100 * MS);
    /* Refusals take nothing. */
    assert_int_equal(limit_rate_take(r, k, t + 40 * MS), 60 * MS);
    assert_int_equal(limit_rate_take(r, k, t + 100 * MS), 0);
    assert_int_equal(limit_rate_take(r, k, t + 100 * MS), 100 * MS);
    /* Idle long enough: the whole burst again, no more. */
    t += 10 * SEC;
    for (int i = 0; i < 3; i++)
        assert_int_equal(limit_rate_take(r, k, t), 0);
    assert_true(limit_rate_take(r, k, t) > 0);
    /* Another key has its own bucket. */
    assert_int_equal(limit_rate_take(r, limit_key("b", 1), t), 0);
    limit_rate_free(r);
}

/* Over a long stretch at a steady pace above the rate, what is admitted
 * is the rate's share plus the burst. */
static void
test_steady_rate(void **state)
{
    struct limit_rate *r = limit_rate_new(50, 5, 16);
    uint64_t k = limit_key("x", 1);
    int ok = 0;

    (void)state;
    for (int64_t t = 0; t < 2 * SEC; t += MS) /* 1000/s offered */
        ok += limit_rate_take(r, k, SEC + t) == 0;
    assert_in_range(ok, 100 + 5 - 1, 100 + 5 + 1);
    limit_rate_free(r);
}

struct taker {
    struct limit_rate *r;
    uint64_t key;
    int64_t now;
    int n;
    int ok;
};

static void *
take_many(void *arg)
{
    struct taker *t = arg;

    for (int i = 0; i < t->n; i++)
        t->ok += limit_rate_take(t->r, t->key, t->now) == 0;
    return NULL;
}

/* Eight threads race on one key at one instant: exactly the burst gets
 * through (a lost CAS update would let more through). */
static void
test_threads_exact(void **state)
{
    enum { NT = 8, N = 20000, BURST = 1000 };
    struct limit_rate *r = limit_rate_new(1, BURST, 64);
    pthread_t th[NT];
    struct taker tk[NT];
    int total = 0;

    (void)state;
    for (int i = 0; i < NT; i++) {
        tk[i] = (struct taker){r, limit_key("k", 1), 7 * SEC, N, 0};
        assert_int_equal(pthread_create(&th[i], NULL, take_many, &tk[i]), 0);
    }
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        total += tk[i].ok;
    }
    assert_int_equal(total, BURST);
    limit_rate_free(r);
}

/* A table of 16 slots holds at most 16 keys; more busy keys share the
 * overflow bucket; idle slots are reused. */
static void
test_table_bound(void **state)
{
    struct limit_rate *r = limit_rate_new(1, 1, 16);
    char name[32];
    int64_t t = SEC;
    int over = 0;

    (void)state;
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(name, sizeof(name), "peer-%d", i);
        if (limit_rate_take(r, limit_key(name, (size_t)n), t) != 0)
            over++;
    }
    assert_true(limit_rate_used(r) <= 16);
    assert_true(limit_rate_overflowed(r) > 0);
    /* The overflow bucket (burst 1) admitted one of them at most. */
    assert_true(over >= 1000 - 16 - 1);
    /* Much later every key is idle: new keys take slots again. */
    t += 100 * SEC;
    for (int i = 0; i < 8; i++) {
        int n = snprintf(name, sizeof(name), "later-%d", i);
        assert_int_equal(limit_rate_take(r, limit_key(name, (size_t)n), t), 0);
    }
    assert_true(limit_rate_used(r) <= 16);
    assert_true(limit_rate_same(r, 1, 1, 16));
    assert_false(limit_rate_same(r, 2, 1, 16));
    limit_rate_free(r);
}

static void
test_cap_queue(void **state)
{
    struct limit_cap c;
    int a, b, d, e;

    (void)state;
    assert_int_equal(limit_cap_init(&c, 1, 2), 0);
    assert_int_equal(limit_cap_enter(&c, &a), LIMIT_RUN);
    assert_int_equal(limit_cap_enter(&c, &b), LIMIT_QUEUED);
    assert_int_equal(limit_cap_enter(&c, &d), LIMIT_QUEUED);
    assert_int_equal(limit_cap_enter(&c, &e), LIMIT_FULL);
    /* FIFO: each leaving call hands its slot on. */
    assert_ptr_equal(limit_cap_leave(&c), &b);
    assert_int_equal(limit_cap_enter(&c, &e), LIMIT_QUEUED);
    assert_ptr_equal(limit_cap_leave(&c), &d);
    assert_ptr_equal(limit_cap_leave(&c), &e);
    assert_null(limit_cap_leave(&c));
    assert_int_equal(c.running, 0);
    assert_int_equal(limit_cap_enter(&c, &a), LIMIT_RUN);
    limit_cap_destroy(&c);

    /* No queue: refuse at once. */
    assert_int_equal(limit_cap_init(&c, 2, 0), 0);
    assert_int_equal(limit_cap_enter(&c, &a), LIMIT_RUN);
    assert_int_equal(limit_cap_enter(&c, &b), LIMIT_RUN);
    assert_int_equal(limit_cap_enter(&c, &d), LIMIT_FULL);
    assert_null(limit_cap_leave(&c));
    assert_int_equal(limit_cap_enter(&c, &d), LIMIT_RUN);
    limit_cap_destroy(&c);
}

/* A peer's rate key: its address without the port, but the whole text
 * of a peer that has no address ("unix:uid=N", "plugin:NAME"). */
static void
test_peer_key(void **state)
{
    (void)state;
    assert_true(admit_peer_key("10.0.0.1:5000") ==
                admit_peer_key("10.0.0.1:6000"));
    assert_true(admit_peer_key("10.0.0.1:5000") == admit_peer_key("10.0.0.1"));
    assert_true(admit_peer_key("[::1]:5000") == admit_peer_key("[::1]:6000"));
    assert_true(admit_peer_key("[::1]:5000") == admit_peer_key("::1"));
    assert_true(admit_peer_key("unix:uid=1") != admit_peer_key("unix:uid=2"));
    /* Two plugins' calls are two peers, and none is the peer "plugin". */
    assert_true(admit_peer_key("plugin:relay") !=
                admit_peer_key("plugin:other"));
    assert_true(admit_peer_key("plugin:relay") != admit_peer_key("plugin"));
}

/* method_concurrency items split at their last ':': names may hold ':'. */
static void
test_methodn(void **state)
{
    const char *p = "ns:sum:4, ping:2,bad", *name, *num;
    size_t nlen, numlen;

    (void)state;
    assert_non_null(limit_methodn_next(&p, &name, &nlen, &num, &numlen));
    assert_int_equal(nlen, 6);
    assert_memory_equal(name, "ns:sum", 6);
    assert_int_equal(numlen, 1);
    assert_memory_equal(num, "4", 1);
    assert_non_null(limit_methodn_next(&p, &name, &nlen, &num, &numlen));
    assert_memory_equal(name, "ping", nlen);
    assert_int_equal(nlen, 4);
    assert_memory_equal(num, "2", numlen);
    assert_non_null(limit_methodn_next(&p, &name, &nlen, &num, &numlen));
    assert_memory_equal(name, "bad", nlen);
    assert_int_equal(numlen, 0);
    assert_null(limit_methodn_next(&p, &name, &nlen, &num, &numlen));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_steady_rate),
        cmocka_unit_test(test_threads_exact),
        cmocka_unit_test(test_table_bound),
        cmocka_unit_test(test_cap_queue),
        cmocka_unit_test(test_peer_key),
        cmocka_unit_test(test_methodn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
