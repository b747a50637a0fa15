/* SPDX-License-Identifier: MIT */
/*
 * test_evmove.c - unit tests for host/evmove.c: its
 * evbuffer_remove_buffer() leaves both buffers holding what libevent's
 * leaves, with the same result and the same callback counts, for sources
 * of one or several chains (drained in part or not), destinations empty
 * or not, every length asked from none to more than the source holds, a
 * buffer moved to itself, and frozen ends; and a body moved on a byte at
 * a time, as evhttp moves a chunked body sent a chunk a packet, holds
 * about its size where libevent's held a chain a byte (counted through
 * libevent's allocator hooks).  libevent's is found with dlsym(RTLD_NEXT).
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "evcount.h"
#include "evmove.h"

typedef int (*move_fn)(struct evbuffer *, struct evbuffer *, size_t);
static move_fn theirs;

static int
setup(void **state)
{
    (void)state;
    theirs = (move_fn)dlsym(RTLD_NEXT, "evbuffer_remove_buffer");
    return theirs == NULL || (void *)theirs == (void *)evbuffer_remove_buffer;
}

/* A buffer holding `parts` added one after another (each its own
 * evbuffer_add, so that large ones make chains of their own), `drained`
 * taken off its start, then watched by `seen`. */
static struct evbuffer *
make(const size_t *parts, size_t nparts, size_t drained,
     struct evcount_seen *seen)
{
    static unsigned char bytes[150000];
    struct evbuffer *b = evbuffer_new();
    size_t off = 0;

    assert_non_null(b);
    if (bytes[1] == 0)
        for (size_t i = 0; i < sizeof(bytes); i++)
            bytes[i] = (unsigned char)(i * 7 + i / 251);
    for (size_t i = 0; i < nparts; i++) {
        assert_true(off + parts[i] <= sizeof(bytes));
        assert_int_equal(evbuffer_add(b, bytes + off, parts[i]), 0);
        off += parts[i];
    }
    assert_int_equal(evbuffer_drain(b, drained), 0);
    assert_int_equal(evcount_watch(b, seen), 0);
    return b;
}

/* A buffer's bytes, in a malloc'd copy (*n long). */
static unsigned char *
bytes_of(struct evbuffer *b, size_t *n)
{
    unsigned char *p;

    *n = evbuffer_get_length(b);
    p = malloc(*n + 1);
    assert_non_null(p);
    assert_int_equal(evbuffer_copyout(b, p, *n), (ev_ssize_t)*n);
    return p;
}

/* One state and length, moved by `fn`: its result, and what each buffer
 * then holds and its callback saw. */
struct outcome {
    int rc;
    unsigned char *src, *dst;
    size_t nsrc, ndst;
    struct evcount_seen ssrc, sdst;
};

struct state {
    const size_t *sparts, *dparts;
    size_t nsparts, ndparts, sdrained, datlen;
    int freeze; /* 1: the source's start, 2: the destination's end */
    int self;   /* moved to itself */
};

static void
run(move_fn fn, const struct state *st, struct outcome *o)
{
    struct evbuffer *src =
        make(st->sparts, st->nsparts, st->sdrained, &o->ssrc);
    struct evbuffer *dst =
        st->self ? src : make(st->dparts, st->ndparts, 0, &o->sdst);

    if (st->self)
        memset(&o->sdst, 0, sizeof(o->sdst));
    if (st->freeze == 1)
        evbuffer_freeze(src, 1);
    if (st->freeze == 2)
        evbuffer_freeze(dst, 0);
    o->rc = fn(src, dst, st->datlen);
    if (st->freeze == 1)
        evbuffer_unfreeze(src, 1);
    if (st->freeze == 2)
        evbuffer_unfreeze(dst, 0);
    o->src = bytes_of(src, &o->nsrc);
    o->dst = bytes_of(dst, &o->ndst);
    evbuffer_free(src);
    if (!st->self)
        evbuffer_free(dst);
}

static void
compare(const struct state *st)
{
    struct outcome a, b;

    run(evbuffer_remove_buffer, st, &a);
    run(theirs, st, &b);
    assert_int_equal(a.rc, b.rc);
    assert_int_equal(a.nsrc, b.nsrc);
    assert_int_equal(a.ndst, b.ndst);
    assert_memory_equal(a.src, b.src, a.nsrc);
    assert_memory_equal(a.dst, b.dst, a.ndst);
    assert_int_equal(a.ssrc.added, b.ssrc.added);
    assert_int_equal(a.ssrc.deleted, b.ssrc.deleted);
    assert_int_equal(a.ssrc.calls, b.ssrc.calls);
    assert_int_equal(a.sdst.added, b.sdst.added);
    assert_int_equal(a.sdst.deleted, b.sdst.deleted);
    assert_int_equal(a.sdst.calls, b.sdst.calls);
    free(a.src);
    free(a.dst);
    free(b.src);
    free(b.dst);
}

static void
test_moves_as_libevent(void **state)
{
    /* Sources of one chain, of several (a large part takes a chain of its
     * own), drained in part; destinations empty or not. */
    static const size_t s1[] = {1}, s2[] = {700}, s3[] = {2048}, s4[] = {3000},
                        s5[] = {100, 5000, 30}, s6[] = {1000, 1000, 1000},
                        s7[] = {30000, 40000, 3000}, d1[] = {10}, d2[] = {1020},
                        d3[] = {9000};
    static const struct {
        const size_t *p;
        size_t n, drained;
    } srcs[] = {{NULL, 0, 0}, {s1, 1, 0},  {s2, 1, 0},    {s2, 1, 650},
                {s3, 1, 0},   {s4, 1, 0},  {s4, 1, 2000}, {s5, 1, 0},
                {s5, 3, 0},   {s5, 3, 90}, {s5, 3, 5080}, {s6, 3, 0},
                {s6, 3, 999}, {s7, 3, 0},  {s7, 3, 5000}};
    static const struct {
        const size_t *p;
        size_t n;
    } dsts[] = {{NULL, 0}, {d1, 1}, {d2, 1}, {d3, 1}};
    static const size_t lens[] = {
        0,    1,    2,    49,   50,    1000,  1999,  2000,  2047,    2048,
        2049, 3000, 5129, 6000, 65535, 65536, 65537, 70000, 1u << 30};
    int n = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++)
        for (size_t j = 0; j < sizeof(dsts) / sizeof(dsts[0]); j++)
            for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
                for (int fz = 0; fz <= 2; fz++) {
                    struct state st = {
                        srcs[i].p,       dsts[j].p, srcs[i].n, dsts[j].n,
                        srcs[i].drained, lens[k],   fz,        0};

                    compare(&st);
                    n++;
                }
    print_message("%d states moved alike\n", n);
}

/* A source of more pieces than are looked at (a chain a reference). */
static void
test_many_pieces(void **state)
{
    static const char text[] = "0123456789";
    move_fn fns[2] = {evbuffer_remove_buffer, theirs};
    unsigned char *got[2];
    size_t len[2], left[2];

    (void)state;
    for (int f = 0; f < 2; f++) {
        struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();

        assert_int_equal(evbuffer_add(dst, "x", 1), 0);
        for (int i = 0; i < 100; i++)
            assert_int_equal(evbuffer_add_reference(src, text, 10, NULL, NULL),
                             0);
        assert_int_equal(fns[f](src, dst, 995), 995);
        got[f] = bytes_of(dst, &len[f]);
        left[f] = evbuffer_get_length(src);
        evbuffer_free(src);
        evbuffer_free(dst);
    }
    assert_int_equal(len[0], len[1]);
    assert_int_equal(left[0], left[1]);
    assert_memory_equal(got[0], got[1], len[0]);
    free(got[0]);
    free(got[1]);
}

static void
test_to_itself(void **state)
{
    static const size_t s[] = {100, 5000};
    struct state st = {s, NULL, 2, 0, 0, 50, 0, 1};

    (void)state;
    compare(&st);
    st.datlen = 1u << 20;
    compare(&st);
}

/* Bytes the body holds after `rounds` chunks of `size` bytes, each the
 * only thing in the input when it is moved on (a chunk a packet).  With
 * `line`, each chunk's size line fills a read of 4096 bytes that ends
 * with the chunk's first bytes (the line drained, as evhttp reads it),
 * and the rest of the chunk comes in a read of its own. */
static size_t
held_by_body(move_fn fn, int rounds, size_t size, int line)
{
    static char data[4096];
    struct evbuffer *in = evbuffer_new(), *body = evbuffer_new();
    size_t before, held;

    assert_non_null(in);
    assert_non_null(body);
    assert_true(size <= sizeof(data));
    memset(data, 'd', sizeof(data));
    before = evcount_live;
    for (int i = 0; i < rounds; i++) {
        if (line) {
            size_t first = 6;

            assert_int_equal(evbuffer_add(in, data, 4096), 0);
            assert_int_equal(evbuffer_drain(in, 4096 - first), 0);
            assert_int_equal(evbuffer_add(in, data, size - first), 0);
        } else {
            assert_int_equal(evbuffer_add(in, data, size), 0);
        }
        assert_int_equal(fn(in, body, size), (int)size);
    }
    assert_int_equal(evbuffer_get_length(body), (size_t)rounds * size);
    held = evcount_live - before;
    evbuffer_free(body);
    evbuffer_free(in);
    return held;
}

static void
test_chunk_a_packet(void **state)
{
    size_t ours, libevents;

    (void)state;
    ours = held_by_body(evbuffer_remove_buffer, 3000, 1, 0);
    libevents = held_by_body(theirs, 3000, 1, 0);
    print_message("3,000 one-byte chunks: %zu bytes held, %zu by "
                  "libevent's\n",
                  ours, libevents);
    /* About the body's 3,000 bytes (a buffer grows by doubling), where
     * libevent's held a 1 KiB chain a chunk. */
    assert_true(ours <= 3000 * 3);
    assert_true(libevents >= 3000 * 512);
    ours = held_by_body(evbuffer_remove_buffer, 3000, 60, 0);
    assert_true(ours <= 3000 * 60 * 3);
    /* A size line filling most of an 8 KiB chain, the chunk's 2,049
     * bytes after it: libevent's moved the chain (4x the bytes). */
    ours = held_by_body(evbuffer_remove_buffer, 300, 2049, 1);
    libevents = held_by_body(theirs, 300, 2049, 1);
    print_message("300 chunks of 2,049 bytes after long size lines: %zu "
                  "bytes held, %zu by libevent's\n",
                  ours, libevents);
    assert_true(ours <= 300 * 2049 * 2 + 8192);
    assert_true(libevents >= 300 * 8000);
}

static void
test_bound(void **state)
{
    (void)state;
    assert_int_equal(evmove_bound(), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moves_as_libevent),
        cmocka_unit_test(test_to_itself),
        cmocka_unit_test(test_many_pieces),
        cmocka_unit_test(test_chunk_a_packet),
        cmocka_unit_test(test_bound),
    };

    /* Before any other libevent call. */
    evcount_install();
    return cmocka_run_group_tests(tests, setup, NULL);
}
