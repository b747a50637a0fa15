/* SPDX-License-Identifier: MIT */
/*
 * test_evread.c - unit tests for host/evread.c: its evbuffer_read() reads
 * what libevent's reads, with the same result, into a buffer that then
 * holds the same bytes, and runs the buffer's callbacks with the same
 * counts: for bytes waiting from none to more than one read takes, a
 * buffer empty or holding data, every size a caller asks for, the end of
 * the stream, and a buffer whose end is frozen; and the memory a buffer
 * holds after reads of a few bytes each whose chains are moved on, as
 * evhttp moves a chunked body's (counted through libevent's allocator
 * hooks), is no more than with libevent's.  libevent's is found with
 * dlsym(RTLD_NEXT): the definition after this executable's.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "evcount.h"
#include "evread.h"

typedef int (*read_fn)(struct evbuffer *, evutil_socket_t, int);
static read_fn theirs;

/* libevent's own evbuffer_remove_buffer (the executable's, evmove.c's,
 * copies small moves, which would hide what a read's chain holds). */
typedef int (*move_fn)(struct evbuffer *, struct evbuffer *, size_t);
static move_fn libevents_move;

static int
setup(void **state)
{
    (void)state;
    theirs = (read_fn)dlsym(RTLD_NEXT, "evbuffer_read");
    libevents_move = (move_fn)dlsym(RTLD_NEXT, "evbuffer_remove_buffer");
    return theirs == NULL || (void *)theirs == (void *)evbuffer_read ||
           libevents_move == NULL;
}

struct side {
    int sv[2];                /* [0] read from, [1] written to */
    struct evbuffer *buf;     /* read into */
    struct evcount_seen seen; /* by its callback, in all */
};

static void
side_open(struct side *s, size_t held, int frozen)
{
    char junk[8192];

    memset(s, 0, sizeof(*s));
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, s->sv), 0);
    assert_int_equal(fcntl(s->sv[0], F_SETFL, O_NONBLOCK), 0);
    s->buf = evbuffer_new();
    assert_non_null(s->buf);
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)('a' + i % 26);
    /* What the buffer holds already, in two pieces (two chains). */
    evbuffer_add(s->buf, junk, held / 2);
    evbuffer_add(s->buf, junk, held - held / 2);
    if (frozen)
        evbuffer_freeze(s->buf, 0);
    assert_int_equal(evcount_watch(s->buf, &s->seen), 0);
}

static void
side_close(struct side *s)
{
    evbuffer_free(s->buf);
    close(s->sv[0]);
    if (s->sv[1] >= 0)
        close(s->sv[1]);
}

/* The same bytes waiting for both (a pattern that shows order). */
static void
send_both(struct side *a, struct side *b, size_t waiting)
{
    static char data[70000];

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)(i * 7 + i / 256);
    if (waiting > 0) {
        assert_int_equal(write(a->sv[1], data, waiting), (ssize_t)waiting);
        assert_int_equal(write(b->sv[1], data, waiting), (ssize_t)waiting);
    }
}

static void
same_state(struct side *a, struct side *b, int ra, int rb, int ea, int eb)
{
    size_t la = evbuffer_get_length(a->buf), lb = evbuffer_get_length(b->buf);

    assert_int_equal(ra, rb);
    if (ra < 0)
        assert_int_equal(ea, eb);
    assert_int_equal(la, lb);
    if (la > 0)
        assert_memory_equal(evbuffer_pullup(a->buf, -1),
                            evbuffer_pullup(b->buf, -1), la);
    assert_int_equal(a->seen.added, b->seen.added);
    assert_int_equal(a->seen.deleted, b->seen.deleted);
    assert_int_equal(a->seen.calls, b->seen.calls);
}

/* One read each, then the rest until nothing waits: the same all along. */
static void
compare(size_t held, size_t waiting, int howmuch, int eof, int frozen)
{
    struct side a, b;

    side_open(&a, held, frozen);
    side_open(&b, held, frozen);
    send_both(&a, &b, waiting);
    if (eof) {
        close(a.sv[1]);
        close(b.sv[1]);
        a.sv[1] = b.sv[1] = -1;
    }
    for (int round = 0; round < 40; round++) {
        int ra, rb, ea, eb;

        errno = 0;
        ra = evbuffer_read(a.buf, a.sv[0], howmuch);
        ea = errno;
        errno = 0;
        rb = theirs(b.buf, b.sv[0], howmuch);
        eb = errno;
        same_state(&a, &b, ra, rb, ea, eb);
        if (ra <= 0)
            break;
    }
    side_close(&a);
    side_close(&b);
}

static void
test_reads_as_libevent(void **state)
{
    static const size_t helds[] = {0, 1, 100, 1000, 5000};
    static const size_t waitings[] = {0,    1,    150,  975,  976,  977,
                                      4095, 4096, 4097, 8192, 65000};
    static const int howmuchs[] = {-1, 0, 1, 100, 976, 4096, 4097, 16384};

    (void)state;
    for (size_t h = 0; h < sizeof(helds) / sizeof(helds[0]); h++)
        for (size_t w = 0; w < sizeof(waitings) / sizeof(waitings[0]); w++)
            for (size_t m = 0; m < sizeof(howmuchs) / sizeof(howmuchs[0]); m++)
                for (int eof = 0; eof < 2; eof++)
                    compare(helds[h], waitings[w], howmuchs[m], eof, 0);
}

static void
test_frozen_end(void **state)
{
    (void)state;
    compare(0, 100, -1, 0, 1);
    compare(1000, 100, 976, 0, 1);
}

/* Bytes libevent holds for `rounds` reads of one byte each, each moved on
 * to another buffer (evbuffer_remove_buffer moves a chain whole when it is
 * all the buffer holds), with reads asking for 16384 (a body's). */
static size_t
held_after_moves(read_fn reader, int rounds)
{
    struct side s;
    struct evbuffer *body = evbuffer_new();
    size_t before;

    assert_non_null(body);
    side_open(&s, 0, 0);
    before = evcount_live;
    for (int i = 0; i < rounds; i++) {
        assert_int_equal(write(s.sv[1], "x", 1), 1);
        assert_int_equal(reader(s.buf, s.sv[0], 16384), 1);
        assert_int_equal(libevents_move(s.buf, body, 1), 1);
    }
    assert_int_equal(evbuffer_get_length(body), (size_t)rounds);
    before = evcount_live - before;
    evbuffer_free(body);
    side_close(&s);
    return before;
}

static void
test_small_reads_moved_on(void **state)
{
    size_t ours, libevents;

    (void)state;
    ours = held_after_moves(evbuffer_read, 1000);
    libevents = held_after_moves(theirs, 1000);
    print_message("1,000 one-byte reads moved on: %zu bytes held, %zu with "
                  "libevent's read\n",
                  ours, libevents);
    assert_true(ours <= libevents + libevents / 4);
}

static void
test_bound(void **state)
{
    (void)state;
    assert_int_equal(evread_bound(), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_as_libevent),
        cmocka_unit_test(test_frozen_end),
        cmocka_unit_test(test_small_reads_moved_on),
        cmocka_unit_test(test_bound),
    };

    /* Before any other libevent call. */
    evcount_install();
    return cmocka_run_group_tests(tests, setup, NULL);
}
