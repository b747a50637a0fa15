/* SPDX-License-Identifier: MIT */
/*
 * test_buf.c - unit tests for host/buf.c: growth, printf, JSON string
 * escaping and ownership hand-over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

/* Escape `s` with buf_json_string and compare with `want`. */
static void
check_escape(const char *s, const char *want)
{
    struct buf b = BUF_INIT;

    buf_json_string(&b, s);
    assert_true(buf_ok(&b));
    assert_string_equal(buf_cstr(&b), want);
    assert_int_equal(b.len, strlen(want));
    buf_free(&b);
}

static void
test_empty(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    assert_true(buf_ok(&b));
    assert_int_equal(b.len, 0);
    assert_string_equal(buf_cstr(&b), "");
    buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

static void
test_append_small(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    buf_append(&b, "abc", 3);
    buf_putc(&b, '-');
    buf_puts(&b, "def");
    buf_append(&b, "xyz", 0);
    assert_true(buf_ok(&b));
    assert_int_equal(b.len, 7);
    assert_string_equal(buf_cstr(&b), "abc-def");
    /* NUL-terminated in place, right after the data. */
    assert_int_equal(b.data[b.len], '\0');
    buf_free(&b);
}

static void
test_append_binary(void **state)
{
    struct buf b = BUF_INIT;
    static const char bin[] = {'a', '\0', 'b', '\0'};

    (void)state;
    buf_append(&b, bin, sizeof(bin));
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, bin, sizeof(bin));
    buf_free(&b);
}

static void
test_append_growth(void **state)
{
    struct buf b = BUF_INIT;
    char chunk[37];
    size_t total = 0;

    (void)state;
    /* Many appends of an odd size, crossing several reallocations. */
    for (int i = 0; i < 5000; i++) {
        memset(chunk, 'a' + (i % 26), sizeof(chunk));
        buf_append(&b, chunk, sizeof(chunk));
        total += sizeof(chunk);
    }
    assert_true(buf_ok(&b));
    assert_int_equal(b.len, total);
    assert_true(b.cap > b.len);
    for (size_t i = 0; i < total; i++)
        assert_int_equal(b.data[i], 'a' + (int)((i / sizeof(chunk)) % 26));
    assert_int_equal(b.data[total], '\0');
    assert_int_equal(strlen(buf_cstr(&b)), total);
    buf_free(&b);
}

static void
test_append_one_big(void **state)
{
    struct buf b = BUF_INIT;
    size_t n = 1000000;
    char *big = malloc(n);

    (void)state;
    assert_non_null(big);
    memset(big, 'z', n);
    buf_puts(&b, "x");
    buf_append(&b, big, n);
    assert_true(buf_ok(&b));
    assert_int_equal(b.len, n + 1);
    assert_int_equal(b.data[0], 'x');
    assert_int_equal(b.data[n], 'z');
    assert_int_equal(b.data[n + 1], '\0');
    free(big);
    buf_free(&b);
}

static void
test_printf(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    buf_printf(&b, "%d-%s-%zu", -42, "mid", (size_t)7);
    assert_string_equal(buf_cstr(&b), "-42-mid-7");
    buf_printf(&b, "|%05x", 255);
    assert_string_equal(buf_cstr(&b), "-42-mid-7|000ff");
    assert_int_equal(b.len, strlen("-42-mid-7|000ff"));
    buf_printf(&b, "%s", "");
    assert_int_equal(b.len, strlen("-42-mid-7|000ff"));
    buf_free(&b);
}

static void
test_printf_growth(void **state)
{
    struct buf b = BUF_INIT;
    char *pad = malloc(3001);
    size_t want = 0;

    (void)state;
    assert_non_null(pad);
    memset(pad, 'p', 3000);
    pad[3000] = '\0';
    for (int i = 0; i < 20; i++) {
        buf_printf(&b, "[%d:%s]", i, pad);
        want += (size_t)(i < 10 ? 3 : 4) + 3000 + 1;
    }
    assert_true(buf_ok(&b));
    assert_int_equal(b.len, want);
    assert_int_equal(strlen(b.data), want);
    assert_memory_equal(b.data, "[0:ppp", 6);
    assert_string_equal(b.data + want - 5, "pppp]");
    assert_non_null(strstr(b.data, "][19:p"));
    free(pad);
    buf_free(&b);
}

static void
test_reset_keeps_memory(void **state)
{
    struct buf b = BUF_INIT;
    char *before;

    (void)state;
    buf_puts(&b, "hello world");
    before = b.data;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(buf_cstr(&b), "");
    assert_ptr_equal(b.data, before);
    buf_puts(&b, "again");
    assert_string_equal(buf_cstr(&b), "again");
    buf_free(&b);
}

static void
test_json_plain(void **state)
{
    (void)state;
    check_escape("", "\"\"");
    check_escape("hello", "\"hello\"");
    check_escape("a/b", "\"a/b\"");
}

static void
test_json_quotes_backslash(void **state)
{
    (void)state;
    check_escape("say \"hi\"", "\"say \\\"hi\\\"\"");
    check_escape("C:\\dir\\", "\"C:\\\\dir\\\\\"");
    check_escape("\"", "\"\\\"\"");
    check_escape("\\", "\"\\\\\"");
}

static void
test_json_named_controls(void **state)
{
    (void)state;
    check_escape("a\nb", "\"a\\nb\"");
    check_escape("\r\n\t", "\"\\r\\n\\t\"");
}

static void
test_json_other_controls(void **state)
{
    (void)state;
    check_escape("\x01", "\"\\u0001\"");
    check_escape("x\x1fy", "\"x\\u001fy\"");
    check_escape("\b\f", "\"\\u0008\\u000c\"");
    check_escape("\x1b[0m", "\"\\u001b[0m\"");
    /* Every control character comes out as valid JSON: six characters. */
    for (int c = 1; c < 0x20; c++) {
        struct buf b = BUF_INIT;
        char in[2] = {(char)c, '\0'};

        buf_json_string(&b, in);
        assert_true(buf_ok(&b));
        if (c == '\n' || c == '\r' || c == '\t') {
            assert_int_equal(b.len, 4);
        } else {
            assert_int_equal(b.len, 8);
            assert_memory_equal(b.data, "\"\\u00", 5);
        }
        buf_free(&b);
    }
}

static void
test_json_utf8_passthrough(void **state)
{
    (void)state;
    /* e-acute, euro sign, U+1F600: copied byte for byte. */
    check_escape("caf\xc3\xa9", "\"caf\xc3\xa9\"");
    check_escape("\xe2\x82\xac 5", "\"\xe2\x82\xac 5\"");
    check_escape("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");
    check_escape("\xc3\xa9\n\xc3\xa9", "\"\xc3\xa9\\n\xc3\xa9\"");
}

static void
test_json_appends(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    buf_puts(&b, "{\"k\":");
    buf_json_string(&b, "v\"1");
    buf_putc(&b, '}');
    assert_string_equal(buf_cstr(&b), "{\"k\":\"v\\\"1\"}");
    buf_free(&b);
}

static void
test_json_long(void **state)
{
    struct buf b = BUF_INIT;
    size_t n = 10000;
    char *s = malloc(n + 1);

    (void)state;
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = (i % 2) ? '"' : 'a';
    s[n] = '\0';
    buf_json_string(&b, s);
    assert_true(buf_ok(&b));
    /* n/2 plain bytes, n/2 quotes doubled, two outer quotes. */
    assert_int_equal(b.len, n / 2 + n + 2);
    assert_memory_equal(b.data, "\"a\\\"a\\\"", 7);
    free(s);
    buf_free(&b);
}

static void
test_take(void **state)
{
    struct buf b = BUF_INIT;
    size_t len = 99;
    char *p;

    (void)state;
    buf_puts(&b, "owned");
    p = buf_take(&b, &len);
    assert_non_null(p);
    assert_string_equal(p, "owned");
    assert_int_equal(len, 5);
    /* b is reset and no longer refers to the memory. */
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    /* b is usable again, independently. */
    buf_puts(&b, "second");
    assert_string_equal(buf_cstr(&b), "second");
    assert_string_equal(p, "owned");
    free(p);
    buf_free(&b);
}

static void
test_take_empty(void **state)
{
    struct buf b = BUF_INIT;
    size_t len = 99;
    char *p;

    (void)state;
    p = buf_take(&b, &len);
    assert_non_null(p);
    assert_string_equal(p, "");
    assert_int_equal(len, 0);
    assert_null(b.data);
    free(p);
}

static void
test_take_null_len(void **state)
{
    struct buf b = BUF_INIT;
    char *p;

    (void)state;
    buf_printf(&b, "%d", 12345);
    p = buf_take(&b, NULL);
    assert_non_null(p);
    assert_string_equal(p, "12345");
    free(p);
}

/* A borrowed buffer writes into the caller's memory until it outgrows it,
 * then moves to its own; it never frees the caller's. */
static void
test_borrowed(void **state)
{
    char mem[16];
    struct buf b;
    size_t len = 0;
    char *p;

    (void)state;
    memset(mem, 'x', sizeof(mem));
    buf_init_borrowed(&b, mem, sizeof(mem));
    buf_puts(&b, "0123456789");
    assert_ptr_equal(b.data, mem);
    assert_string_equal(mem, "0123456789");
    /* take copies: the memory is not the buf's to give */
    p = buf_take(&b, &len);
    assert_ptr_not_equal(p, mem);
    assert_int_equal(len, 10);
    assert_string_equal(p, "0123456789");
    free(p);

    buf_init_borrowed(&b, mem, sizeof(mem));
    buf_puts(&b, "0123456789");
    buf_puts(&b, "abcdefghij"); /* 20 + NUL > 16: moves */
    assert_ptr_not_equal(b.data, mem);
    assert_string_equal(buf_cstr(&b), "0123456789abcdefghij");
    assert_string_equal(mem, "0123456789"); /* left as it was */
    buf_free(&b);                           /* frees only its own */

    buf_init_borrowed(&b, mem, sizeof(mem));
    buf_puts(&b, "short");
    buf_free(&b); /* frees nothing (ASan would catch a free of mem) */
    assert_null(b.data);
}

static void
test_failed_latches(void **state)
{
    struct buf b = BUF_INIT;
    size_t len = 7;

    (void)state;
    buf_puts(&b, "abc");
    b.failed = 1; /* as after an allocation failure */
    buf_puts(&b, "def");
    buf_printf(&b, "%d", 1);
    assert_false(buf_ok(&b));
    assert_string_equal(buf_cstr(&b), "");
    assert_null(buf_take(&b, &len));
    /* buf_take released the memory. */
    assert_null(b.data);
    buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_append_small),
        cmocka_unit_test(test_append_binary),
        cmocka_unit_test(test_append_growth),
        cmocka_unit_test(test_append_one_big),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_printf_growth),
        cmocka_unit_test(test_reset_keeps_memory),
        cmocka_unit_test(test_json_plain),
        cmocka_unit_test(test_json_quotes_backslash),
        cmocka_unit_test(test_json_named_controls),
        cmocka_unit_test(test_json_other_controls),
        cmocka_unit_test(test_json_utf8_passthrough),
        cmocka_unit_test(test_json_appends),
        cmocka_unit_test(test_json_long),
        cmocka_unit_test(test_take),
        cmocka_unit_test(test_take_empty),
        cmocka_unit_test(test_take_null_len),
        cmocka_unit_test(test_borrowed),
        cmocka_unit_test(test_failed_latches),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
