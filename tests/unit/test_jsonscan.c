/* SPDX-License-Identifier: MIT */
/*
 * test_jsonscan.c - unit tests for host/jsonscan.c: the strict RFC 8259
 * validator, its limits, and the raw "id" spans it records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "jsonscan.h"

#define DEPTH 64
#define ELEMS 1000

/* Scan `len` bytes of `text` with the default limits; return the error. */
static int
scan_n(const char *text, size_t len)
{
    struct jscan s;
    int err;

    err = jscan_run(text, len, DEPTH, ELEMS, &s);
    assert_int_equal(err, s.err);
    jscan_free(&s);
    return err;
}

static int
scan(const char *text)
{
    return scan_n(text, strlen(text));
}

/* Expect `text` to be accepted. */
static void
ok(const char *text)
{
    int err = scan(text);

    if (err != JSCAN_OK)
        print_error("rejected (%d): %s\n", err, text);
    assert_int_equal(err, JSCAN_OK);
}

/* Expect `text` to be refused with `want`. */
static void
bad(const char *text, int want)
{
    int err = scan(text);

    if (err != want)
        print_error("want %d, got %d: %s\n", want, err, text);
    assert_int_equal(err, want);
}

/* The id span of element `i` as a string ("" when none). */
static void
assert_id(const char *text, const struct jscan *s, size_t i, const char *want)
{
    const struct jscan_elem *e;

    assert_true(i < s->count);
    e = &s->elems[i];
    assert_int_equal(e->m[JSCAN_ID].len, strlen(want));
    if (e->m[JSCAN_ID].len > 0)
        assert_memory_equal(text + e->m[JSCAN_ID].off, want,
                            e->m[JSCAN_ID].len);
}

static void
test_accepts_scalars(void **state)
{
    (void)state;
    ok("0");
    ok("-0");
    ok("1");
    ok("-1");
    ok("123456789012345678901234567890");
    ok("1.5");
    ok("-0.0e0");
    ok("1e10");
    ok("1E+10");
    ok("1e-10");
    ok("2.5E-3");
    ok("true");
    ok("false");
    ok("null");
    ok("\"\"");
    ok("\"plain\"");
    ok("\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t\"");
    ok("\"\\u0041\\u00e9\\u20ac\"");
    ok("\"\\ud83d\\ude00\"");   /* surrogate pair */
    ok("\"\\uD83D\\uDE00\"");   /* upper-case hex */
    ok("\"caf\xc3\xa9\"");      /* 2-byte UTF-8 */
    ok("\"\xe2\x82\xac\"");     /* 3-byte */
    ok("\"\xf0\x9f\x98\x80\""); /* 4-byte */
    ok("\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF */
    ok("\"\xed\x9f\xbf\"");     /* U+D7FF, just below surrogates */
    ok("\"\xee\x80\x80\"");     /* U+E000, just above */
    ok("\"\x7f\"");             /* DEL is not a control in JSON */
}

static void
test_accepts_structures(void **state)
{
    (void)state;
    ok("{}");
    ok("[]");
    ok("{\"a\":1}");
    ok("{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}");
    ok("[1,\"two\",{\"three\":3},[4],null]");
    ok(" \t\r\n{ \"a\" : [ 1 , 2 ] }\n\t ");
    ok("[[[[]]]]");
    ok("{\"\":\"\"}");
}

static void
test_rejects_numbers(void **state)
{
    (void)state;
    bad("+1", JSCAN_SYNTAX);
    bad("[01]", JSCAN_SYNTAX);
    bad("[1.]", JSCAN_SYNTAX);
    bad(".5", JSCAN_SYNTAX);
    bad("-", JSCAN_EOF);
    bad("[-]", JSCAN_SYNTAX);
    bad("1e", JSCAN_EOF);
    bad("1e+", JSCAN_EOF);
    bad("1.e5", JSCAN_SYNTAX);
    bad("NaN", JSCAN_SYNTAX);
    bad("-Infinity", JSCAN_SYNTAX);
    bad("Infinity", JSCAN_SYNTAX);
    bad("0x10", JSCAN_TRAILING);
    bad("[0x10]", JSCAN_SYNTAX);
    bad("[- 1]", JSCAN_SYNTAX);
    /* At top level "01" is "0" followed by junk: refused either way. */
    assert_int_not_equal(scan("01"), JSCAN_OK);
    assert_int_not_equal(scan("1."), JSCAN_OK);
}

static void
test_rejects_syntax(void **state)
{
    (void)state;
    bad("[1,]", JSCAN_SYNTAX);
    bad("[1,,2]", JSCAN_SYNTAX);
    bad("[,1]", JSCAN_SYNTAX);
    bad("{\"a\":1,}", JSCAN_SYNTAX);
    bad("{,}", JSCAN_SYNTAX);
    bad("{\"a\"}", JSCAN_SYNTAX);
    bad("{\"a\":}", JSCAN_SYNTAX);
    bad("{\"a\" 1}", JSCAN_SYNTAX);
    bad("{a:1}", JSCAN_SYNTAX);
    bad("{1:1}", JSCAN_SYNTAX);
    bad("'single'", JSCAN_SYNTAX);
    bad("{'a':1}", JSCAN_SYNTAX);
    bad("[1 2]", JSCAN_SYNTAX);
    bad("[", JSCAN_EOF);
    bad("{", JSCAN_EOF);
    bad("[1", JSCAN_EOF);
    bad("{\"a\":1", JSCAN_EOF);
    bad("]", JSCAN_SYNTAX);
    bad("tru", JSCAN_SYNTAX);
    bad("nul", JSCAN_SYNTAX);
    bad("True", JSCAN_SYNTAX);
    bad("undefined", JSCAN_SYNTAX);
    bad("\"unterminated", JSCAN_EOF);
    bad("/* c */ 1", JSCAN_SYNTAX);
    bad("\xc3\xa9", JSCAN_SYNTAX); /* a bare valid UTF-8 char */
    bad("\f1", JSCAN_SYNTAX);      /* form feed is not JSON whitespace */
}

static void
test_rejects_string_content(void **state)
{
    (void)state;
    bad("\"a\nb\"", JSCAN_CONTROL);
    bad("\"tab\there\"", JSCAN_CONTROL);
    bad("\"\x01\"", JSCAN_CONTROL);
    bad("\"\x1f\"", JSCAN_CONTROL);
    bad("\"\\x41\"", JSCAN_SYNTAX);
    bad("\"\\a\"", JSCAN_SYNTAX);
    bad("\"\\'\"", JSCAN_SYNTAX);
    bad("\"\\u12\"", JSCAN_SYNTAX);
    bad("\"\\u12g4\"", JSCAN_SYNTAX);
    bad("\"\\", JSCAN_EOF);
    bad("\"\\u00", JSCAN_SYNTAX);
    /* A raw NUL byte inside a string is a control character. */
    assert_int_equal(scan_n("\"a\0b\"", 5), JSCAN_CONTROL);
}

static void
test_rejects_utf8(void **state)
{
    (void)state;
    bad("\"\xff\"", JSCAN_UTF8);
    bad("\"\xfe\"", JSCAN_UTF8);
    bad("\"\x80\"", JSCAN_UTF8);             /* lone continuation */
    bad("\"\xc0\xaf\"", JSCAN_UTF8);         /* overlong '/' */
    bad("\"\xc1\xbf\"", JSCAN_UTF8);         /* overlong */
    bad("\"\xe0\x80\xaf\"", JSCAN_UTF8);     /* overlong 3-byte */
    bad("\"\xf0\x80\x80\xaf\"", JSCAN_UTF8); /* overlong 4-byte */
    bad("\"\xed\xa0\x80\"", JSCAN_UTF8);     /* U+D800 encoded */
    bad("\"\xed\xbf\xbf\"", JSCAN_UTF8);     /* U+DFFF encoded */
    bad("\"\xf4\x90\x80\x80\"", JSCAN_UTF8); /* U+110000 */
    bad("\"\xf5\x80\x80\x80\"", JSCAN_UTF8);
    bad("\"\xc3\"", JSCAN_UTF8);         /* truncated 2-byte */
    bad("\"\xe2\x82\"", JSCAN_UTF8);     /* truncated 3-byte */
    bad("\"\xf0\x9f\x98\"", JSCAN_UTF8); /* truncated 4-byte */
    bad("\"\xe2\x82", JSCAN_UTF8);       /* truncated at the end */
    bad("\"\xc3\x41\"", JSCAN_UTF8);     /* bad continuation */
    bad("{\"\xff\":1}", JSCAN_UTF8);     /* in a key */
    bad("\xff", JSCAN_UTF8);             /* outside a string */
}

static void
test_rejects_surrogate_escapes(void **state)
{
    (void)state;
    bad("\"\\ud800\"", JSCAN_SURROGATE);
    bad("\"\\udc00\"", JSCAN_SURROGATE);
    bad("\"\\udfff\"", JSCAN_SURROGATE);
    bad("\"\\ud800x\"", JSCAN_SURROGATE);
    bad("\"\\ud800\\u0041\"", JSCAN_SURROGATE);
    bad("\"\\ud800\\ud800\"", JSCAN_SURROGATE);
    bad("\"\\ude00\\ud83d\"", JSCAN_SURROGATE); /* pair in the wrong order */
    bad("\"\\ud83d\"", JSCAN_SURROGATE);
}

static void
test_rejects_nul_escape(void **state)
{
    struct jscan s;

    (void)state;
    bad("\"\\u0000\"", JSCAN_NUL);
    bad("{\"k\\u0000\":1}", JSCAN_NUL);
    assert_int_equal(jscan_run("[\"ab\\u0000\"]", 12, DEPTH, ELEMS, &s),
                     JSCAN_NUL);
    /* The offset points at the backslash of the escape. */
    assert_int_equal(s.err_off, 4);
    jscan_free(&s);
    ok("\"\\u0001\"");
}

/* n nested arrays, then n closing brackets. */
static char *
nested(size_t n, char open, char close)
{
    char *t = malloc(2 * n + 1);

    assert_non_null(t);
    memset(t, open, n);
    memset(t + n, close, n);
    t[2 * n] = '\0';
    return t;
}

static void
test_depth_limit(void **state)
{
    struct jscan s;
    char *t;

    (void)state;
    t = nested(DEPTH, '[', ']');
    assert_int_equal(jscan_run(t, strlen(t), DEPTH, ELEMS, &s), JSCAN_OK);
    jscan_free(&s);
    free(t);
    t = nested(DEPTH + 1, '[', ']');
    assert_int_equal(jscan_run(t, strlen(t), DEPTH, ELEMS, &s), JSCAN_DEPTH);
    assert_int_equal(s.err_off, DEPTH);
    jscan_free(&s);
    free(t);
}

static void
test_depth_objects(void **state)
{
    /* {"a":{"a":{"a":1}}}: depth 3. */
    static const char three[] = "{\"a\":{\"a\":{\"a\":1}}}";
    static const char mixed[] = "[{\"a\":[{\"b\":[]}]}]"; /* depth 5 */
    struct jscan s;

    (void)state;
    assert_int_equal(jscan_run(three, strlen(three), 3, ELEMS, &s), JSCAN_OK);
    jscan_free(&s);
    assert_int_equal(jscan_run(three, strlen(three), 2, ELEMS, &s),
                     JSCAN_DEPTH);
    jscan_free(&s);
    assert_int_equal(jscan_run(mixed, strlen(mixed), 5, ELEMS, &s), JSCAN_OK);
    jscan_free(&s);
    assert_int_equal(jscan_run(mixed, strlen(mixed), 4, ELEMS, &s),
                     JSCAN_DEPTH);
    jscan_free(&s);
}

static void
test_depth_hostile(void **state)
{
    size_t n = 100000;
    char *t = malloc(n);
    struct jscan s;
    clock_t t0;

    (void)state;
    assert_non_null(t);
    memset(t, '[', n);
    t0 = clock();
    assert_int_equal(jscan_run(t, n, DEPTH, ELEMS, &s), JSCAN_DEPTH);
    /* Stops at the first bracket too deep, not at the end. */
    assert_int_equal(s.err_off, DEPTH);
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 0.5);
    jscan_free(&s);
    memset(t, '{', n);
    assert_int_not_equal(jscan_run(t, n, DEPTH, ELEMS, &s), JSCAN_OK);
    jscan_free(&s);
    free(t);
}

static void
test_trailing(void **state)
{
    struct jscan s;

    (void)state;
    bad("{} x", JSCAN_TRAILING);
    bad("[] []", JSCAN_TRAILING);
    bad("1 2", JSCAN_TRAILING);
    bad("truex", JSCAN_TRAILING);
    bad("{}}", JSCAN_TRAILING);
    assert_int_equal(scan_n("{}\0", 3), JSCAN_TRAILING);
    ok("{}   \r\n\t ");
    ok("  1  ");
    assert_int_equal(jscan_run("{}  ,", 5, DEPTH, ELEMS, &s), JSCAN_TRAILING);
    assert_int_equal(s.err_off, 4);
    jscan_free(&s);
}

static void
test_empty(void **state)
{
    struct jscan s;

    (void)state;
    assert_int_equal(scan_n("", 0), JSCAN_EMPTY);
    bad(" \t\r\n ", JSCAN_EMPTY);
    assert_int_equal(jscan_run("   ", 3, DEPTH, ELEMS, &s), JSCAN_EMPTY);
    assert_int_equal(s.count, 0);
    jscan_free(&s);
}

static void
test_batch_limit(void **state)
{
    struct jscan s;
    const char *t;

    (void)state;
    t = "[1,2,3]";
    assert_int_equal(jscan_run(t, strlen(t), DEPTH, 3, &s), JSCAN_OK);
    assert_int_equal(s.count, 3);
    assert_true(s.is_array);
    jscan_free(&s);
    t = "[1,2,3,4]";
    assert_int_equal(jscan_run(t, strlen(t), DEPTH, 3, &s), JSCAN_BATCH);
    jscan_free(&s);
    /* Only the top level counts: a nested array may be longer. */
    t = "[[1,2,3,4,5]]";
    assert_int_equal(jscan_run(t, strlen(t), DEPTH, 1, &s), JSCAN_OK);
    assert_int_equal(s.count, 1);
    jscan_free(&s);
    /* An object's members are not batch elements. */
    t = "{\"a\":1,\"b\":2,\"c\":3}";
    assert_int_equal(jscan_run(t, strlen(t), DEPTH, 1, &s), JSCAN_OK);
    assert_false(s.is_array);
    assert_int_equal(s.count, 1);
    jscan_free(&s);
}

static void
test_batch_large(void **state)
{
    size_t n = 5000, off = 0;
    char *t = malloc(2 * n + 2);
    struct jscan s;

    (void)state;
    assert_non_null(t);
    t[off++] = '[';
    for (size_t i = 0; i < n; i++) {
        t[off++] = '7';
        t[off++] = ',';
    }
    t[off - 1] = ']';
    assert_int_equal(jscan_run(t, off, DEPTH, n, &s), JSCAN_OK);
    assert_int_equal(s.count, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(s.elems[i].m[JSCAN_ID].len, 0);
    jscan_free(&s);
    assert_int_equal(jscan_run(t, off, DEPTH, n - 1, &s), JSCAN_BATCH);
    jscan_free(&s);
    free(t);
}

static void
test_empty_array(void **state)
{
    struct jscan s;

    (void)state;
    assert_int_equal(jscan_run(" [ ] ", 5, DEPTH, ELEMS, &s), JSCAN_OK);
    assert_true(s.is_array);
    assert_int_equal(s.count, 0);
    jscan_free(&s);
}

static void
test_id_spans(void **state)
{
    static const struct {
        const char *text;
        const char *id;
    } cases[] = {
        {"{\"jsonrpc\":\"2.0\",\"id\":1}", "1"},
        {"{\"id\":\"abc\",\"method\":\"x\"}", "\"abc\""},
        {"{\"id\" : null }", "null"},
        {"{\"id\":-12.5e3}", "-12.5e3"},
        {"{\"id\":123456789012345678901234567890}",
         "123456789012345678901234567890"},
        {"{\"id\":18446744073709551617}", "18446744073709551617"},
        {"{\"id\":\"a\\\"b\\u0063\"}", "\"a\\\"b\\u0063\""},
        {"{\"id\":true}", "true"},
        {"{\"id\":{\"x\":[1]}}", "{\"x\":[1]}"},
        {"{\"method\":\"m\"}", ""},
        {"{\"ID\":1}", ""},
        {"{\"idx\":1}", ""},
        {"{\"i\":1}", ""},
        {"{\"\\u0069d\":7}", "7"},
        {"{\"i\\u0064\":8}", "8"},
        {"{\"\\u0069\\u0064\":9}", "9"},
        {"{\"id\\u0000\":1}", NULL}, /* refused: NUL */
        {"{\"i\\nd\":1}", ""},
        {"{\"id\":1,\"id\":2}", "1"},
        {"{\"id\":\"first\",\"x\":0,\"\\u0069d\":\"second\"}", "\"first\""},
        {"{\"params\":{\"id\":5},\"method\":\"m\"}", ""},
        {"{\"params\":[{\"id\":5}],\"id\":6}", "6"},
        {"[1]", ""},
        {"\"id\"", ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct jscan s;
        const char *t = cases[i].text;
        int err = jscan_run(t, strlen(t), DEPTH, ELEMS, &s);

        if (cases[i].id == NULL) {
            assert_int_not_equal(err, JSCAN_OK);
            jscan_free(&s);
            continue;
        }
        if (err != JSCAN_OK)
            print_error("case %zu: %s\n", i, t);
        assert_int_equal(err, JSCAN_OK);
        if (t[0] == '[') {
            assert_true(s.is_array);
        } else {
            assert_false(s.is_array);
            assert_int_equal(s.count, 1);
            assert_id(t, &s, 0, cases[i].id);
        }
        jscan_free(&s);
    }
}

static void
test_batch_id_spans(void **state)
{
    static const char t[] = "[{\"id\":1,\"method\":\"a\"},"
                            " {\"method\":\"b\"},"
                            " {\"id\":\"x\",\"params\":{\"id\":99}},"
                            " 42,"
                            " [{\"id\":5}],"
                            " {\"params\":[{\"id\":3}],\"id\":null},"
                            " {\"\\u0069d\":123456789012345678901}]";
    struct jscan s;

    (void)state;
    assert_int_equal(jscan_run(t, strlen(t), DEPTH, ELEMS, &s), JSCAN_OK);
    assert_true(s.is_array);
    assert_int_equal(s.count, 7);
    assert_id(t, &s, 0, "1");
    assert_id(t, &s, 1, "");
    assert_id(t, &s, 2, "\"x\"");
    assert_id(t, &s, 3, "");
    assert_id(t, &s, 4, ""); /* an array element is no request object */
    assert_id(t, &s, 5, "null");
    assert_id(t, &s, 6, "123456789012345678901");
    jscan_free(&s);
}

static void
test_err_offsets(void **state)
{
    struct jscan s;

    (void)state;
    assert_int_equal(jscan_run("[1,2,x]", 7, DEPTH, ELEMS, &s), JSCAN_SYNTAX);
    assert_int_equal(s.err_off, 5);
    jscan_free(&s);
    assert_int_equal(jscan_run("\"ab\xff\"", 5, DEPTH, ELEMS, &s), JSCAN_UTF8);
    assert_int_equal(s.err_off, 3);
    jscan_free(&s);
}

static void
test_len_respected(void **state)
{
    struct jscan s;

    (void)state;
    /* Only the first len bytes are JSON; what follows is not read. */
    assert_int_equal(jscan_run("[1,2]garbage", 5, DEPTH, ELEMS, &s), JSCAN_OK);
    assert_int_equal(s.count, 2);
    jscan_free(&s);
    assert_int_equal(jscan_run("[1,2]", 4, DEPTH, ELEMS, &s), JSCAN_EOF);
    jscan_free(&s);
    assert_int_equal(jscan_run("true", 3, DEPTH, ELEMS, &s), JSCAN_SYNTAX);
    jscan_free(&s);
    assert_int_equal(jscan_run("\"\\u0041\"", 6, DEPTH, ELEMS, &s),
                     JSCAN_SYNTAX);
    jscan_free(&s);
}

static void
test_strerror(void **state)
{
    (void)state;
    assert_string_equal(jscan_strerror(JSCAN_OK), "ok");
    assert_string_equal(jscan_strerror(JSCAN_UTF8), "invalid UTF-8");
    for (int e = JSCAN_OK; e <= JSCAN_NUL; e++) {
        assert_non_null(jscan_strerror(e));
        assert_string_not_equal(jscan_strerror(e), "unknown error");
    }
    assert_string_equal(jscan_strerror(1000), "unknown error");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_scalars),
        cmocka_unit_test(test_accepts_structures),
        cmocka_unit_test(test_rejects_numbers),
        cmocka_unit_test(test_rejects_syntax),
        cmocka_unit_test(test_rejects_string_content),
        cmocka_unit_test(test_rejects_utf8),
        cmocka_unit_test(test_rejects_surrogate_escapes),
        cmocka_unit_test(test_rejects_nul_escape),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_depth_objects),
        cmocka_unit_test(test_depth_hostile),
        cmocka_unit_test(test_trailing),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_batch_limit),
        cmocka_unit_test(test_batch_large),
        cmocka_unit_test(test_empty_array),
        cmocka_unit_test(test_id_spans),
        cmocka_unit_test(test_batch_id_spans),
        cmocka_unit_test(test_err_offsets),
        cmocka_unit_test(test_len_respected),
        cmocka_unit_test(test_strerror),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
