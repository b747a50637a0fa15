/* SPDX-License-Identifier: MIT */
/*
 * test_handle.c - unit tests for host/handle.c: handles name their object
 * until it is retired and are stale for ever after (the slot reused or
 * not), flags are set atomically, the table grows, and a stale handle used
 * from another thread never touches the slot's next object.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "handle.h"

static void
test_lifecycle(void **state)
{
    struct handle_chain ch, again;
    struct handle_slot *s[3];
    uintptr_t h[3], h2[3];
    int obj[3];
    uint32_t f;

    (void)state;
    assert_int_equal(handle_take(3, &ch), 0);
    assert_int_equal(ch.n, 3);
    for (int i = 0; i < 3; i++) {
        h[i] = handle_bind(&ch, &obj[i], &s[i]);
        assert_true(h[i] != 0);
        for (int j = 0; j < i; j++)
            assert_true(h[j] != h[i]);
    }
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(handle_get(h[i], &f), &obj[i]);
        assert_int_equal(f, 0);
    }
    /* Flags: set unless, from the handle or the owner's side. */
    assert_ptr_equal(handle_set(h[0], 0x1, 0x1, &f), &obj[0]);
    assert_int_equal(f, 0);
    assert_ptr_equal(handle_set(h[0], 0x2, 0x1, &f), &obj[0]);
    assert_int_equal(f, 0x1); /* refused: 0x1 was set */
    assert_int_equal(handle_flags(s[0]), 0x1);
    assert_int_equal(handle_slot_set(s[0], 0x4, 0), 0x1);
    assert_int_equal(handle_flags(s[0]), 0x5);
    assert_int_equal(handle_slot_set(s[1], 0x2, 0x2), 0);
    assert_int_equal(handle_slot_set(s[1], 0x4, 0x2), 0x2);
    assert_int_equal(handle_flags(s[1]), 0x2);
    /* Retired: every handle of it is stale, whatever is asked. */
    for (int i = 0; i < 3; i++)
        handle_retire(s[i]);
    for (int i = 0; i < 3; i++) {
        assert_null(handle_get(h[i], &f));
        assert_null(handle_set(h[i], 0x1, 0, &f));
    }
    handle_give_back(&ch);
    assert_int_equal(ch.n, 0);
    /* The same slots again (this thread's shard gives back what it got
     * last): new handles, no flags, and the old ones still stale. */
    assert_int_equal(handle_take(3, &again), 0);
    for (int i = 0; i < 3; i++) {
        h2[i] = handle_bind(&again, &obj[i], &s[i]);
        assert_int_equal(handle_flags(s[i]), 0);
        for (int j = 0; j < 3; j++)
            assert_true(h2[i] != h[j]);
    }
    for (int i = 0; i < 3; i++) {
        assert_null(handle_get(h[i], &f));
        assert_null(handle_set(h[i], 0x1, 0, &f));
        assert_int_equal(handle_flags(s[i]), 0);
        handle_retire(s[i]);
    }
    handle_give_back(&again);
}

static void
test_bad_handles(void **state)
{
    uint32_t f;

    (void)state;
    assert_null(handle_get(0, &f));
    assert_null(handle_set(0, 1, 0, &f));
    assert_null(handle_get(UINTPTR_MAX, &f));
    assert_null(handle_set((uintptr_t)0xffffff, 1, 0, &f));
}

/* More slots than a chunk holds, in one take and in many. */
static void
test_grow(void **state)
{
    enum { N = 5000 };
    struct handle_chain ch;
    struct handle_slot **s = calloc(N, sizeof(*s));
    uintptr_t *h = calloc(N, sizeof(*h));
    uint32_t f;

    (void)state;
    assert_non_null(s);
    assert_non_null(h);
    assert_int_equal(handle_take(N, &ch), 0);
    for (size_t i = 0; i < N; i++)
        h[i] = handle_bind(&ch, &h[i], &s[i]);
    assert_null(ch.next);
    for (size_t i = 0; i < N; i++)
        assert_ptr_equal(handle_get(h[i], &f), &h[i]);
    for (size_t i = 0; i < N; i++)
        handle_retire(s[i]);
    handle_give_back(&ch);
    for (size_t i = 0; i < N; i++)
        assert_null(handle_get(h[i], &f));
    free(s);
    free(h);
}

/* One thread binds, retires and rebinds a slot over and over, publishing
 * each handle; another sets a flag through whatever handle it last saw.
 * A slot must never carry that flag before its new handle is published:
 * the other thread's handle is stale by then.  Bounded: until the other
 * thread tried 200,000 times, or 2,000,000 rounds. */
#define TRIES 200000
#define ROUNDS 2000000
#define MARK 0x8u

static _Atomic uintptr_t published;
static atomic_int stop;
static atomic_long tries;

static void *
marker(void *arg)
{
    long hits = 0;
    uint32_t f;

    (void)arg;
    while (!atomic_load(&stop)) {
        uintptr_t h = atomic_load(&published);
        if (h != 0 && handle_set(h, MARK, 0, &f) != NULL)
            hits++;
        atomic_fetch_add(&tries, 1);
    }
    return (void *)hits;
}

static void
test_stale_from_another_thread(void **state)
{
    pthread_t t;
    void *hits;
    int obj, rounds = 0;
    long foreign = 0;

    (void)state;
    atomic_store(&published, 0);
    atomic_store(&stop, 0);
    atomic_store(&tries, 0);
    assert_int_equal(pthread_create(&t, NULL, marker, NULL), 0);
    for (; rounds < ROUNDS && atomic_load(&tries) < TRIES; rounds++) {
        struct handle_chain ch;
        struct handle_slot *s;
        uintptr_t h;

        assert_int_equal(handle_take(1, &ch), 0);
        h = handle_bind(&ch, &obj, &s);
        /* Not yet published: nothing may have marked it. */
        for (int spin = 0; spin < 20; spin++)
            if (handle_flags(s) & MARK)
                foreign++;
        atomic_store(&published, h);
        for (int spin = 0; spin < 200; spin++) /* live a moment */
            (void)handle_flags(s);
        handle_retire(s);
        handle_give_back(&ch);
    }
    atomic_store(&stop, 1);
    assert_int_equal(pthread_join(t, &hits), 0);
    assert_int_equal(foreign, 0);
    /* How often the marker reached a live slot (scheduling decides). */
    print_message("%d rounds, %ld tries, %ld of them on a live slot\n", rounds,
                  atomic_load(&tries), (long)hits);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_bad_handles),
        cmocka_unit_test(test_grow),
        cmocka_unit_test(test_stale_from_another_thread),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
