/* SPDX-License-Identifier: MIT */
/*
 * test_framing.c - unit tests for host/framing.c: the headers' end and a
 * Transfer-Encoding header found however the bytes are cut; a chunk-size
 * line read as evhttp reads it (strtoll base 16 and its checks, done here
 * with the C library's strtoll) for every line of up to four telling
 * bytes and for long ones, fed whole and a byte at a time; and the bound
 * on framing: an endless size line, endless empty lines and long
 * extensions go over it, one-byte chunks and long extensions on large
 * chunks never do.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "framing.h"

#define MAX 16384

static const char head_te[] = "POST / HTTP/1.1\r\nHost: x\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n";

/* A framing past head_te's headers: its chunked body next. */
static void
at_body(struct framing *f)
{
    size_t used = 0;

    framing_start(f);
    assert_int_equal(framing_feed(f, head_te, strlen(head_te), MAX, &used),
                     FRAMING_HEAD_END);
    assert_int_equal(used, strlen(head_te));
    assert_int_equal(f->part, FRAMING_LINE);
}

/* Feed n bytes, whole or a byte at a time; FRAMING_OVER or FRAMING_MORE,
 * with *fed the bytes taken up to the one that went over. */
static enum framing_found
feed(struct framing *f, const char *p, size_t n, int bytewise, uint32_t max,
     size_t *fed)
{
    size_t used;

    if (!bytewise) {
        *fed = n;
        return framing_feed(f, p, n, max, &used);
    }
    for (size_t i = 0; i < n; i++) {
        enum framing_found r = framing_feed(f, p + i, 1, max, &used);

        if (r != FRAMING_MORE) {
            *fed = i + 1;
            return r;
        }
    }
    *fed = n;
    return FRAMING_MORE;
}

/* What evhttp 2.1's evhttp_handle_chunked_read() makes of a line (its
 * text: readln's copy, up to a NUL as C reads it). */
enum verdict { V_EMPTY, V_BAD, V_LAST, V_HUGE, V_SIZE };

static enum verdict
evhttp_line(const char *p, long long *size)
{
    char *endp;
    long long n;

    if (strlen(p) == 0)
        return V_EMPTY;
    errno = 0;
    n = strtoll(p, &endp, 16);
    if (*p == '\0' || (*endp != '\0' && *endp != ' ') || n < 0)
        return V_BAD;
    if (n == 0)
        return V_LAST;
    if (n == LLONG_MAX && errno == ERANGE)
        return V_HUGE; /* over any max_body_size: evhttp refuses it */
    *size = n;
    return V_SIZE;
}

/* The line's text is t[0..n) (NULs and CRs included); it is sent with
 * `end` ("\n" or "\r\n") after it. */
static void
check_line(const char *t, size_t n, const char *end, int bytewise)
{
    char text[64], wire[80];
    struct framing f;
    long long size = 0;
    enum verdict v;
    size_t fed, w;

    assert_true(n + 2 < sizeof(text));
    memcpy(text, t, n);
    text[n] = '\0';
    /* readln takes off one CR before the LF (CRLF), no more. */
    if (strcmp(end, "\n") == 0 && n > 0 && text[n - 1] == '\r')
        text[n - 1] = '\0';
    v = evhttp_line(text, &size);
    memcpy(wire, t, n);
    w = n + strlen(end);
    memcpy(wire + n, end, strlen(end));
    at_body(&f);
    assert_int_equal(feed(&f, wire, w, bytewise, MAX, &fed), FRAMING_MORE);
    switch (v) {
    case V_EMPTY:
        assert_int_equal(f.part, FRAMING_LINE);
        assert_int_equal(f.line_len, 0);
        break;
    case V_BAD:
    case V_LAST:
    case V_HUGE:
        assert_int_equal(f.part, FRAMING_DONE);
        break;
    case V_SIZE:
        assert_int_equal(f.part, FRAMING_DATA);
        assert_true(f.left == (uint64_t)size);
        break;
    }
}

/* Every line of up to four bytes from a set that tells strtoll's and
 * evhttp's cases apart, with LF and CRLF ends, whole and bytewise. */
static void
test_short_lines_read_as_evhttp(void **state)
{
    static const char set[] = {'0', '1',  'a', 'F', 'g',  'x',  'X',
                               ' ', '\t', '-', '+', '\r', '\0', ';'};
    const size_t k = sizeof(set);
    char t[4];
    long count = 0;

    (void)state;
    for (size_t len = 0; len <= 4; len++) {
        size_t total = 1;

        for (size_t i = 0; i < len; i++)
            total *= k;
        for (size_t code = 0; code < total; code++) {
            size_t c = code;

            for (size_t i = 0; i < len; i++, c /= k)
                t[i] = set[c % k];
            check_line(t, len, "\r\n", 0);
            check_line(t, len, "\n", 0);
            check_line(t, len, "\r\n", 1);
            count += 3;
        }
    }
    print_message("%ld lines read as evhttp reads them\n", count);
}

static void
test_long_lines_read_as_evhttp(void **state)
{
    static const char *const lines[] = {
        "0000000000000000000000000000000001f", /* leading zeros */
        "7fffffffffffffff",                    /* LLONG_MAX */
        "8000000000000000",                    /* one past */
        "ffffffffffffffffffff",                /* far past */
        "-8000000000000000",
        "0x0000000000000000010",
        "   \t +0X1a this is ignored after a space",
        "1a;name=value", /* an extension: evhttp refuses ';' */
        "1a ;name=value",
        "\v\f 10",
        "0x",
        "0xg",
        " 0x 5",
        "10\r\r", /* a CR of the line's own, then CRLF */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        check_line(lines[i], strlen(lines[i]), "\r\n", 0);
        check_line(lines[i], strlen(lines[i]), "\n", 1);
    }
}

/* The headers' end and a Transfer-Encoding, however the bytes are cut. */
static void
check_head_n(const char *req, size_t n, int chunked)
{
    size_t at = 0;

    for (size_t cut = 0; cut <= n; cut++) {
        struct framing f;
        size_t used = 0, end = 0;

        framing_start(&f);
        if (framing_feed(&f, req, cut, MAX, &used) == FRAMING_HEAD_END) {
            end = used;
        } else if (framing_feed(&f, req + cut, n - cut, MAX, &used) ==
                   FRAMING_HEAD_END) {
            end = cut + used;
        }
        assert_true(end > 0);
        if (cut == 0)
            at = end;
        assert_int_equal(end, at);
        assert_int_equal(f.te, chunked);
        assert_int_equal(framing_in_head(&f), 0);
        assert_int_equal(f.part, chunked ? FRAMING_LINE : FRAMING_DONE);
    }
}

static void
check_head(const char *req, int chunked)
{
    check_head_n(req, strlen(req), chunked);
}

/* A literal with NULs in it. */
#define CHECK_HEAD_N(lit, chunked) check_head_n(lit, sizeof(lit) - 1, chunked)

static void
test_headers(void **state)
{
    (void)state;
    check_head(head_te, 1);
    check_head("POST / HTTP/1.1\r\ntRANSFER-eNCODING:x\r\n\r\nbody", 1);
    check_head("POST / HTTP/1.1\ntransfer-encoding:\n\nbody", 1);
    check_head("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody", 0);
    check_head("POST / HTTP/1.1\r\nX-Transfer-Encoding: chunked\r\n\r\n", 0);
    check_head("POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n", 0);
    check_head("POST / HTTP/1.1\r\nTransfer-Encodings: chunked\r\n\r\n", 0);
    check_head("POST / HTTP/1.1\r\nA: b\r\n Transfer-Encoding: chunked"
               "\r\n\r\n",
               0);
    /* A line whose first byte is a NUL ends them, as evhttp reads it. */
    CHECK_HEAD_N("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                 "\0 anything\r\n1\r\nx",
                 1);
    CHECK_HEAD_N("POST / HTTP/1.1\r\nA: b\n\0\n", 0);
    /* A line of CRs only counts as empty. */
    check_head("POST / HTTP/1.1\r\nA: b\r\n\r\r\nc: d\r\n\r\n", 0);
}

static void
test_endless_size_line_goes_over(void **state)
{
    static char zeros[4 * MAX];
    struct framing f;
    size_t fed;

    (void)state;
    memset(zeros, '0', sizeof(zeros));
    zeros[0] = '1';
    for (int bytewise = 0; bytewise <= 1; bytewise++) {
        at_body(&f);
        assert_int_equal(feed(&f, zeros, sizeof(zeros), bytewise, MAX, &fed),
                         FRAMING_OVER);
        if (bytewise)
            assert_int_equal(fed, MAX + 1);
    }
    /* A configured bound. */
    at_body(&f);
    assert_int_equal(feed(&f, zeros, sizeof(zeros), 1, 1024, &fed),
                     FRAMING_OVER);
    assert_int_equal(fed, 1025);
}

static void
test_endless_empty_lines_go_over(void **state)
{
    static char lines[4 * MAX];
    struct framing f;
    size_t fed;

    (void)state;
    for (size_t i = 0; i < sizeof(lines); i += 2)
        memcpy(lines + i, "\r\n", 2);
    at_body(&f);
    assert_int_equal(feed(&f, lines, sizeof(lines), 1, MAX, &fed),
                     FRAMING_OVER);
    assert_int_equal(fed, MAX + 1);
}

/* n chunks of `size` bytes, each with a size line padded to `line`
 * bytes (an extension after a space), then the last chunk. */
static enum framing_found
chunks(struct framing *f, int n, size_t size, size_t line)
{
    static char wire[8192];
    size_t len, fed;

    assert_true(line + size + 8 < sizeof(wire));
    len = (size_t)snprintf(wire, sizeof(wire), "%zx", size);
    memset(wire + len, ' ', line - len);
    memcpy(wire + line, "\r\n", 2);
    memset(wire + line + 2, 'd', size);
    memcpy(wire + line + 2 + size, "\r\n", 2);
    len = line + size + 4;
    for (int i = 0; i < n; i++)
        if (feed(f, wire, len, 0, MAX, &fed) != FRAMING_MORE)
            return FRAMING_OVER;
    return feed(f, "0\r\n\r\n", 5, 0, MAX, &fed);
}

static void
test_chunks_within_the_bound(void **state)
{
    struct framing f;

    (void)state;
    at_body(&f);
    assert_int_equal(chunks(&f, 200000, 1, 1), FRAMING_MORE);
    assert_int_equal(f.part, FRAMING_DONE);
    /* Extensions of 4,000 bytes on 2 KiB chunks. */
    at_body(&f);
    assert_int_equal(chunks(&f, 1000, 2048, 4000), FRAMING_MORE);
    assert_int_equal(f.part, FRAMING_DONE);
    /* ...but not on one-byte chunks: over after a few. */
    at_body(&f);
    assert_int_equal(chunks(&f, 1000, 1, 4000), FRAMING_OVER);
}

static void
test_nothing_followed_after_the_end(void **state)
{
    static const char after[] = "0\r\nTrailer: x\r\n\r\nPOST / HTTP/1.1\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n";
    static char zeros[4 * MAX];
    struct framing f;
    size_t fed;

    (void)state;
    at_body(&f);
    assert_int_equal(feed(&f, after, strlen(after), 0, MAX, &fed),
                     FRAMING_MORE);
    assert_int_equal(f.part, FRAMING_DONE);
    memset(zeros, '0', sizeof(zeros));
    assert_int_equal(feed(&f, zeros, sizeof(zeros), 0, MAX, &fed),
                     FRAMING_MORE);
    /* A line evhttp refuses: evhttp ends the body. */
    at_body(&f);
    assert_int_equal(feed(&f, "zz\r\n", 4, 0, MAX, &fed), FRAMING_MORE);
    assert_int_equal(f.part, FRAMING_DONE);
}

/* A large chunk's data is skipped without being looked at. */
static void
test_skip_data(void **state)
{
    struct framing f;
    size_t fed, total = 0;

    (void)state;
    at_body(&f);
    assert_int_equal(framing_skip(&f, 100), 0); /* LINE: nothing skipped */
    assert_int_equal(feed(&f, "100000\r\n", 8, 0, MAX, &fed), FRAMING_MORE);
    assert_int_equal(f.part, FRAMING_DATA);
    while (f.part == FRAMING_DATA)
        total += framing_skip(&f, 4096);
    assert_int_equal(total, 0x100000);
    assert_int_equal(f.part, FRAMING_LINE);
    assert_int_equal(feed(&f, "\r\n0\r\n", 5, 0, MAX, &fed), FRAMING_MORE);
    assert_int_equal(f.part, FRAMING_DONE);
    assert_int_equal(framing_skip(&f, 100), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_lines_read_as_evhttp),
        cmocka_unit_test(test_long_lines_read_as_evhttp),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_endless_size_line_goes_over),
        cmocka_unit_test(test_endless_empty_lines_go_over),
        cmocka_unit_test(test_chunks_within_the_bound),
        cmocka_unit_test(test_nothing_followed_after_the_end),
        cmocka_unit_test(test_skip_data),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
