/* SPDX-License-Identifier: MIT */
/*
 * test_ptrindex.c - unit tests for host/ptrindex.c: the set of objects
 * found by a pointer they hold (conns.c: connections by bufferevent).
 * Checked against a plain array after each change: adds, lookups,
 * removals anywhere in a run (keys chosen to collide), growth, and the
 * shrink after a burst.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ptrindex.h"

struct item {
    int value;
    const void *key;
};

enum { N = 5000 };
static struct item items[N];
static char keys[N]; /* each item's key is &keys[i] */

/* Every item in [0, n) marked `in` is found, every other one is not. */
static void
check(const struct ptrindex *ix, const unsigned char *in, size_t n)
{
    size_t count = 0;

    for (size_t i = 0; i < n; i++) {
        struct item *got = ptrindex_get(ix, &keys[i]);

        if (in[i]) {
            assert_ptr_equal(got, &items[i]);
            count++;
        } else {
            assert_null(got);
        }
    }
    assert_int_equal(ix->n, count);
    assert_true(ix->cap == 0 || ix->cap >= 2 * (ix->n + 1) ||
                ix->cap >= 2 * ix->n);
}

static void
test_empty(void **state)
{
    struct ptrindex ix;

    (void)state;
    ptrindex_init(&ix, offsetof(struct item, key));
    assert_null(ptrindex_get(&ix, &keys[0]));
    ptrindex_fit(&ix);
    assert_int_equal(ix.cap, 0);
    ptrindex_free(&ix);
}

/* A burst of N, every other one removed, then all: each step checked;
 * the table shrinks once the burst is gone and still works after. */
static void
test_burst_and_shrink(void **state)
{
    static unsigned char in[N];
    struct ptrindex ix;
    size_t big;

    (void)state;
    ptrindex_init(&ix, offsetof(struct item, key));
    for (size_t i = 0; i < N; i++) {
        items[i] = (struct item){.value = (int)i, .key = &keys[i]};
        assert_int_equal(ptrindex_reserve(&ix), 0);
        ptrindex_put(&ix, &items[i]);
        in[i] = 1;
        assert_true(ix.cap >= 2 * ix.n);
    }
    check(&ix, in, N);
    big = ix.cap;
    assert_true(big >= 2 * N);
    ptrindex_fit(&ix); /* full: nothing to give back */
    assert_int_equal(ix.cap, big);
    for (size_t i = 0; i < N; i += 2) {
        ptrindex_del(&ix, &items[i]);
        in[i] = 0;
    }
    check(&ix, in, N);
    for (size_t i = 1; i < N; i += 2) {
        ptrindex_del(&ix, &items[i]);
        in[i] = 0;
        if (i % 997 == 1)
            check(&ix, in, N);
    }
    check(&ix, in, N);
    ptrindex_fit(&ix);
    assert_int_equal(ix.cap, 2 * PTRINDEX_MIN);
    /* Still an index: a few in, one out, after the shrink. */
    for (size_t i = 0; i < 100; i++) {
        assert_int_equal(ptrindex_reserve(&ix), 0);
        ptrindex_put(&ix, &items[i]);
        in[i] = 1;
    }
    ptrindex_del(&ix, &items[50]);
    in[50] = 0;
    check(&ix, in, N);
    ptrindex_free(&ix);
    assert_null(ptrindex_get(&ix, &keys[1]));
}

/* A table 8 times larger than needed shrinks; 7 times does not. */
static void
test_fit_threshold(void **state)
{
    static unsigned char in[N];
    struct ptrindex ix;
    size_t cap;

    (void)state;
    ptrindex_init(&ix, offsetof(struct item, key));
    for (size_t i = 0; i < 1000; i++) {
        items[i] = (struct item){.value = (int)i, .key = &keys[i]};
        assert_int_equal(ptrindex_reserve(&ix), 0);
        ptrindex_put(&ix, &items[i]);
        in[i] = 1;
    }
    cap = ix.cap; /* 2048: 1000 entries need 2 * 1001 */
    assert_int_equal(cap, 2048);
    for (size_t i = 200; i < 1000; i++) {
        ptrindex_del(&ix, &items[i]);
        in[i] = 0;
    }
    ptrindex_fit(&ix); /* 200 need 512: 2048 is 4 times that */
    assert_int_equal(ix.cap, cap);
    for (size_t i = 60; i < 200; i++) {
        ptrindex_del(&ix, &items[i]);
        in[i] = 0;
    }
    ptrindex_fit(&ix); /* 60 need 128: 2048 is 16 times, down to 256 */
    assert_int_equal(ix.cap, 256);
    check(&ix, in, 1000);
    ptrindex_free(&ix);
}

/* Keys whose homes collide (same slot in a 128 table): removals from the
 * start, the middle and the end of one long run keep every other entry
 * reachable. */
static void
test_runs(void **state)
{
    static unsigned char in[N];
    struct ptrindex ix;
    size_t same[40], k = 0;
    uint64_t first = 0;

    (void)state;
    for (size_t i = 0; i < N && k < 40; i++) {
        uint64_t h = (uint64_t)(uintptr_t)&keys[i] * 0x9e3779b97f4a7c15u;
        size_t home = (size_t)(h >> 32) & (PTRINDEX_MIN - 1);

        items[i] = (struct item){.value = (int)i, .key = &keys[i]};
        if (k == 0)
            first = home;
        if (home == first || home == ((first + 1) & (PTRINDEX_MIN - 1)))
            same[k++] = i;
    }
    assert_true(k >= 20);
    ptrindex_init(&ix, offsetof(struct item, key));
    for (size_t j = 0; j < 20; j++) {
        assert_int_equal(ptrindex_reserve(&ix), 0);
        ptrindex_put(&ix, &items[same[j]]);
        in[same[j]] = 1;
    }
    assert_int_equal(ix.cap, PTRINDEX_MIN);
    check(&ix, in, N);
    static const size_t order[] = {0, 10, 19, 5, 1, 18, 9, 2};
    for (size_t j = 0; j < sizeof(order) / sizeof(order[0]); j++) {
        ptrindex_del(&ix, &items[same[order[j]]]);
        in[same[order[j]]] = 0;
        check(&ix, in, N);
    }
    ptrindex_free(&ix);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_burst_and_shrink),
        cmocka_unit_test(test_fit_threshold),
        cmocka_unit_test(test_runs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
