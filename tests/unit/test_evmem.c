/* SPDX-License-Identifier: MIT */
/*
 * test_evmem.c - unit tests for host/evmem.c: libevent's allocator.
 * malloc/realloc/free semantics hold whether or not blocks are cached (not
 * under ASan or valgrind); reuse and the per-class bound are checked when
 * they are.
 */
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/select.h>
#include <unistd.h>

#include <event2/event.h>

#include "evmem.h"

static void
test_sizes_and_contents(void **state)
{
    static const size_t sizes[] = {0,   1,    15,   16,   17,
                                   100, 1000, 4096, 4097, 100000};
    void *p[sizeof(sizes) / sizeof(sizes[0])];

    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        p[i] = evmem_malloc(sizes[i]);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] % 16, 0);
        memset(p[i], (int)i + 1, sizes[i]);
    }
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        const unsigned char *b = p[i];
        for (size_t k = 0; k < sizes[i]; k++)
            assert_int_equal(b[k], (unsigned char)(i + 1));
        evmem_free(p[i]);
    }
    evmem_free(NULL);
}

/* Whatever block a list holds, it is never smaller than the request it
 * serves: blocks of every size up to past the largest class, made by
 * evmem and by malloc() (code freeing what libevent handed it, or a block
 * malloc made larger than asked), are freed into the lists, then every
 * size is asked for. */
static void
test_classes_serve_enough(void **state)
{
    enum { TOP = 4300 };
    static void *p[TOP];

    (void)state;
    for (size_t n = 1; n < TOP; n++)
        p[n] = n % 2 ? evmem_malloc(n) : malloc(n);
    for (size_t n = 1; n < TOP; n++)
        evmem_free(p[n]);
    for (size_t n = 1; n < TOP; n++) {
        p[n] = evmem_malloc(n);
        assert_non_null(p[n]);
        assert_true(malloc_usable_size(p[n]) >= n);
    }
    for (size_t n = 1; n < TOP; n++)
        evmem_free(p[n]);
    evmem_flush_thread();
}

static void
test_realloc_keeps_contents(void **state)
{
    char *p, *q;

    (void)state;
    p = evmem_realloc(NULL, 10);
    assert_non_null(p);
    memcpy(p, "0123456789", 10);
    q = evmem_realloc(p, 12); /* still fits its class */
    assert_ptr_equal(q, p);
    q = evmem_realloc(q, 5000); /* beyond every class */
    assert_non_null(q);
    assert_memory_equal(q, "0123456789", 10);
    memset(q + 10, 'x', 4990);
    p = evmem_realloc(q, 200000);
    assert_non_null(p);
    assert_memory_equal(p, "0123456789", 10);
    assert_int_equal(p[4999], 'x');
    q = evmem_realloc(p, 3); /* shrinking keeps the block */
    assert_ptr_equal(q, p);
    evmem_free(q);
}

static void
test_reuse_and_bound(void **state)
{
    enum { N = 300 };
    void *p[N];
    void *a, *b;
    size_t before;

    (void)state;
    if (!evmem_caching())
        skip(); /* sanitizer or valgrind build: nothing is cached */
    a = evmem_malloc(40);
    evmem_free(a);
    b = evmem_malloc(33); /* same class (40): the block just freed */
    assert_ptr_equal(a, b);
    evmem_free(b);
    /* Of 300 freed 4096-byte blocks, 64 KiB (16) stay cached, the others
     * go back to malloc; taking 300 again empties the list. */
    for (int i = 0; i < N; i++)
        p[i] = evmem_malloc(4000);
    before = evmem_cached_bytes();
    for (int i = 0; i < N; i++)
        evmem_free(p[i]);
    assert_int_equal(evmem_cached_bytes() - before, EVMEM_CACHE_BYTES);
    for (int i = 0; i < N; i++)
        p[i] = evmem_malloc(4000);
    assert_int_equal(evmem_cached_bytes(), before);
    for (int i = 0; i < N; i++)
        evmem_free(p[i]);
}

/* A flush gives the thread's cached blocks back and caching goes on. */
static void
test_flush_keeps_caching(void **state)
{
    void *p[8];

    (void)state;
    if (!evmem_caching())
        skip();
    for (int i = 0; i < 8; i++)
        p[i] = evmem_malloc(100);
    for (int i = 0; i < 8; i++)
        evmem_free(p[i]);
    assert_true(evmem_cached_bytes() >= 8 * 100);
    evmem_flush_thread();
    assert_int_equal(evmem_cached_bytes(), 0);
    p[0] = evmem_malloc(100);
    evmem_free(p[0]);
    assert_true(evmem_cached_bytes() > 0);
    evmem_flush_thread();
}

/* Lists that stood still for EVMEM_IDLE_LOOKS looks go back to malloc
 * (the bytes are returned); lists that moved start the count again. */
static void
test_flush_idle(void **state)
{
    void *p[8];
    size_t cached;

    (void)state;
    if (!evmem_caching())
        skip();
    evmem_flush_thread();
    for (int i = 0; i < 8; i++)
        p[i] = evmem_malloc(200);
    for (int i = 0; i < 8; i++)
        evmem_free(p[i]);
    cached = evmem_cached_bytes();
    assert_true(cached >= 8 * 200);
    assert_int_equal(evmem_flush_idle(), 0); /* moved since the last look */
    for (int i = 1; i < EVMEM_IDLE_LOOKS; i++)
        assert_int_equal(evmem_flush_idle(), 0);
    /* A block taken and another freed: the lists moved, count again. */
    p[0] = evmem_malloc(200);
    p[1] = evmem_malloc(1000);
    evmem_free(p[1]);
    assert_int_equal(evmem_flush_idle(), 0);
    for (int i = 1; i < EVMEM_IDLE_LOOKS; i++)
        assert_int_equal(evmem_flush_idle(), 0);
    cached = evmem_cached_bytes(); /* one block fewer, another one more */
    assert_true(cached >= 7 * 200 + 1000);
    assert_int_equal(evmem_flush_idle(), cached);
    assert_int_equal(evmem_cached_bytes(), 0);
    /* Empty lists stand still: nothing to give back, ever. */
    for (int i = 0; i < 3 * EVMEM_IDLE_LOOKS; i++)
        assert_int_equal(evmem_flush_idle(), 0);
    evmem_free(p[0]); /* caching goes on */
    assert_true(evmem_cached_bytes() >= 200);
    evmem_flush_thread();
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ++*(int *)arg;
}

/* Descriptor entries made ahead leave events already on those descriptors
 * as they were, let later ones work, and come from malloc directly (not
 * from the cache, which holds blocks from anywhere in the heap). */
static void
test_fd_slots(void **state)
{
    struct event_config *ec = event_config_new();
    struct event_base *base;
    struct event *before, *after;
    int p[2], q[2], fired_before = 0, fired_after = 0;
    void *small[16], *again[16];

    (void)state;
    assert_non_null(ec);
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(ec);
    event_config_free(ec);
    assert_non_null(base);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(pipe(q), 0);
    before = event_new(base, p[0], EV_READ, on_readable, &fired_before);
    assert_int_equal(event_add(before, NULL), 0);
    for (int i = 0; i < 16; i++)
        small[i] = evmem_malloc(20); /* the entries' size class */
    for (int i = 0; i < 16; i++)
        evmem_free(small[i]);
    evmem_fd_slots(base, 0, 512);
    if (evmem_caching()) /* the cached small blocks are all still there */
        for (int i = 0; i < 16; i++) {
            void *b = evmem_malloc(20);
            int found = 0;

            for (int k = 0; k < 16; k++)
                found |= b == small[k];
            assert_true(found);
            again[i] = b;
        }
    else
        for (int i = 0; i < 16; i++)
            again[i] = evmem_malloc(20);
    for (int i = 0; i < 16; i++)
        evmem_free(again[i]);
    assert_true(event_pending(before, EV_READ, NULL));
    after = event_new(base, q[0], EV_READ, on_readable, &fired_after);
    assert_int_equal(event_add(after, NULL), 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(write(q[1], "y", 1), 1);
    assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
    assert_int_equal(fired_before, 1);
    assert_int_equal(fired_after, 1);
    event_free(before);
    event_free(after);
    event_base_free(base);
    for (int i = 0; i < 2; i++) {
        close(p[i]);
        close(q[i]);
    }
    evmem_flush_thread();
}

/* With a backend other than epoll (EVENT_NOEPOLL=1 and EVENT_NOPOLL=1 in
 * the environment choose select), entries made ahead must not reach it:
 * select's FD_SET aborts the process (glibc's fortified check) on a
 * descriptor from FD_SETSIZE up, which connections ~256 below it reached. */
static void
test_fd_slots_select(void **state)
{
    struct event_config *ec = event_config_new();
    struct event_base *base;
    struct event *ev;
    int p[2], fired = 0;

    (void)state;
    assert_non_null(ec);
    event_config_avoid_method(ec, "epoll");
    event_config_avoid_method(ec, "poll");
    base = event_base_new_with_config(ec);
    event_config_free(ec);
    if (base == NULL || strcmp(event_base_get_method(base), "select") != 0) {
        if (base != NULL)
            event_base_free(base);
        skip();
    }
    evmem_fd_slots(base, 0, FD_SETSIZE + 256);
    assert_int_equal(pipe(p), 0);
    ev = event_new(base, p[0], EV_READ, on_readable, &fired);
    assert_int_equal(event_add(ev, NULL), 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
    assert_int_equal(fired, 1);
    event_free(ev);
    event_base_free(base);
    close(p[0]);
    close(p[1]);
}

static void *
alloc_and_exit(void *arg)
{
    void **out = arg;
    void *mine[50];

    for (int i = 0; i < 50; i++)
        mine[i] = evmem_malloc((size_t)i * 20);
    for (int i = 0; i < 50; i++)
        evmem_free(mine[i]);
    *out = evmem_malloc(64); /* freed by the main thread */
    return NULL;
}

/* Blocks cross threads, and a thread's list goes back to malloc when it
 * ends (ASan's leak check would report it otherwise, were it cached). */
static void
test_threads(void **state)
{
    pthread_t t;
    void *from_thread = NULL;

    (void)state;
    assert_int_equal(pthread_create(&t, NULL, alloc_and_exit, &from_thread), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_non_null(from_thread);
    memset(from_thread, 1, 64);
    evmem_free(from_thread);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_and_contents),
        cmocka_unit_test(test_classes_serve_enough),
        cmocka_unit_test(test_realloc_keeps_contents),
        cmocka_unit_test(test_reuse_and_bound),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_flush_keeps_caching),
        cmocka_unit_test(test_flush_idle),
        cmocka_unit_test(test_fd_slots),
        cmocka_unit_test(test_fd_slots_select),
    };

    evmem_install();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
