/* SPDX-License-Identifier: MIT */
/*
 * test_tcache.c - unit tests for host/tcache.c: blocks a thread freed,
 * held in glibc's per-thread cache (in use to its arena: mallinfo2),
 * are back in the arenas after tcache_drain().  Skipped where freed
 * blocks do not stay counted in use (an allocator without such a cache:
 * AddressSanitizer's, or a libc other than glibc 2.33 and later).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
#include <malloc.h>
#define HAVE_MALLINFO2 1
#endif

#include "tcache.h"

enum { SIZE = 1000 };

struct outcome {
    long long held;    /* in use after the frees, less before the mallocs */
    long long drained; /* in use before the drain, less after */
    size_t taken;      /* tcache_drain's result */
    int ok_after;      /* malloc works after the drain */
};

/* Bytes in use in malloc's arenas, or -1 when unknown. */
static long long
in_use(void)
{
#ifdef HAVE_MALLINFO2
    return (long long)mallinfo2().uordblks;
#else
    return -1;
#endif
}

/* On a fresh thread (a cache of its own, empty): free TCACHE_COUNT blocks
 * of one size, then drain. */
static void *
scenario(void *arg)
{
    struct outcome *o = arg;
    void *b[TCACHE_COUNT];
    long long u0, u1, u2;
    void *p;

    /* The first drain's thread may make glibc an arena of its own (kept
     * for the next one, and counted in use): made here, not counted. */
    tcache_drain();
    u0 = in_use();
    for (int i = 0; i < TCACHE_COUNT; i++)
        b[i] = malloc(SIZE);
    for (int i = 0; i < TCACHE_COUNT; i++)
        free(b[i]);
    u1 = in_use();
    o->taken = tcache_drain();
    u2 = in_use();
    o->held = u1 - u0;
    o->drained = u1 - u2;
    p = malloc(SIZE);
    o->ok_after = p != NULL;
    free(p);
    return NULL;
}

static void
test_drain_gives_cached_blocks_back(void **state)
{
    struct outcome o = {0};
    pthread_t t;

    (void)state;
    assert_int_equal(pthread_create(&t, NULL, scenario, &o), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(o.taken, TCACHE_BINS * TCACHE_COUNT);
    assert_true(o.ok_after);
    if (o.held < (long long)TCACHE_COUNT * SIZE)
        skip(); /* freed blocks are not held in use here: nothing to drain */
    /* Every block the frees left in the cache went back to the arena. */
    assert_true(o.drained >= (long long)TCACHE_COUNT * SIZE);
}

/* Nothing cached: a drain changes nothing the caller holds. */
static void
test_drain_keeps_live_blocks(void **state)
{
    unsigned char *b[16];

    (void)state;
    for (int i = 0; i < 16; i++) {
        b[i] = malloc(24 + 64 * i);
        assert_non_null(b[i]);
        for (int k = 0; k < 24 + 64 * i; k++)
            b[i][k] = (unsigned char)(i + k);
    }
    assert_int_equal(tcache_drain(), TCACHE_BINS * TCACHE_COUNT);
    for (int i = 0; i < 16; i++) {
        for (int k = 0; k < 24 + 64 * i; k++)
            assert_int_equal(b[i][k], (unsigned char)(i + k));
        free(b[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drain_gives_cached_blocks_back),
        cmocka_unit_test(test_drain_keeps_live_blocks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
