/* SPDX-License-Identifier: MIT */
/*
 * test_logline.c - unit tests for host/logline.c: error-log and access-log
 * lines as text and as JSON.  Every JSON line is checked twice: by
 * jsonscan (strict RFC 8259: no raw control characters, valid UTF-8),
 * then parsed with cJSON to read its members.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "jsonscan.h"
#include "log.h"
#include "logline.h"

/* 2026-11-29T18:40:01.123Z */
static const struct timespec when = {1795977601, 123456789};

/* Check that out[0 .. n) is one line (one '\n', at its end, no NUL) and
 * return it as a C string (static). */
static const char *
one_line(const char *out, size_t n)
{
    static char text[LOGLINE_MAX + 1];

    assert_true(n >= 1 && n <= LOGLINE_MAX);
    assert_int_equal(out[n - 1], '\n');
    assert_null(memchr(out, '\n', n - 1));
    assert_null(memchr(out, '\0', n));
    memcpy(text, out, n);
    text[n] = '\0';
    return text;
}

/* out[0 .. n), after `skip` bytes, as a JSON object: strictly valid, and
 * parsed (the caller deletes it). */
static cJSON *
json_line(const char *out, size_t n, size_t skip)
{
    struct jscan sc;
    cJSON *o;
    int err;

    one_line(out, n);
    err = jscan_run(out + skip, n - 1 - skip, 8, 1, &sc);
    if (err != 0)
        print_error("%s at %zu: %.*s\n", jscan_strerror(err), sc.err_off,
                    (int)(n - skip), out + skip);
    jscan_free(&sc);
    assert_int_equal(err, 0);
    o = cJSON_ParseWithLength(out + skip, n - 1 - skip);
    assert_non_null(o);
    assert_true(cJSON_IsObject(o));
    return o;
}

static const char *
member(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    assert_non_null(v);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static double
number(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    assert_non_null(v);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static void
test_format_parse(void **state)
{
    (void)state;
    assert_int_equal(logline_format_parse("text"), LOG_FORMAT_TEXT);
    assert_int_equal(logline_format_parse("json"), LOG_FORMAT_JSON);
    assert_int_equal(logline_format_parse("JSON"), -1);
    assert_int_equal(logline_format_parse(""), -1);
}

static void
test_text_msg(void **state)
{
    char out[LOGLINE_MAX];
    size_t n;

    (void)state;
    n = logline_msg(out, LOG_FORMAT_TEXT, 0, &when, LEVEL_WARN, NULL, "hi");
    assert_string_equal(one_line(out, n),
                        "2026-11-29T18:40:01.123Z WARN  hi\n");
    n = logline_msg(out, LOG_FORMAT_TEXT, 0, &when, LEVEL_ERROR, "calc",
                    "oops");
    assert_string_equal(one_line(out, n),
                        "2026-11-29T18:40:01.123Z ERROR [calc] oops\n");
    n = logline_msg(out, LOG_FORMAT_TEXT, 1, &when, LEVEL_DEBUG, "calc", "x");
    assert_string_equal(one_line(out, n), "<7>[calc] x\n");
}

/* The date computed without gmtime_r agrees with it, around leap days,
 * centuries and the epoch, and at every hour of several years. */
static void
test_time(void **state)
{
    static const time_t days[] = {0,     59,    60,    68 * 365 + 17, 11016,
                                  11017, 19782, 20000, 47541,         2932896};
    char out[LOGLINE_MAX], want[64];
    struct timespec ts = {0, 7000000};
    struct tm tm;

    (void)state;
    for (size_t i = 0; i < sizeof(days) / sizeof(days[0]) + 40000; i++) {
        ts.tv_sec = i < sizeof(days) / sizeof(days[0]) ? days[i] * 86400 + 86399
                                                       : (time_t)(i * 3607 * 3);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S.007Z", &tm);
        logline_msg(out, LOG_FORMAT_TEXT, 0, &ts, LEVEL_INFO, NULL, "x");
        if (strncmp(out, want, strlen(want)) != 0)
            print_error("%lld: %.24s, want %s\n", (long long)ts.tv_sec, out,
                        want);
        assert_memory_equal(out, want, strlen(want));
    }
}

/* fatal.c's line: "FATAL text" (no time) or "<2>text", or an object. */
static void
test_fatal(void **state)
{
    char out[LOGLINE_MAX];
    cJSON *o;
    size_t n;

    (void)state;
    n = logline_msg(out, LOG_FORMAT_TEXT, 0, &when, LOGLINE_FATAL, NULL,
                    "killed by signal 11 (SIGSEGV) in loop 0");
    assert_string_equal(one_line(out, n),
                        "FATAL killed by signal 11 (SIGSEGV) in loop 0\n");
    n = logline_msg(out, LOG_FORMAT_TEXT, 1, &when, LOGLINE_FATAL, NULL, "k");
    assert_string_equal(one_line(out, n), "<2>k\n");
    n = logline_msg(out, LOG_FORMAT_JSON, 1, &when, LOGLINE_FATAL, NULL,
                    "method \"x\"");
    assert_memory_equal(out, "<2>{", 4);
    o = json_line(out, n, 3);
    assert_string_equal(member(o, "level"), "fatal");
    assert_string_equal(member(o, "msg"), "method \"x\"");
    cJSON_Delete(o);
}

static void
test_json_msg(void **state)
{
    char out[LOGLINE_MAX];
    cJSON *o;
    size_t n;

    (void)state;
    n = logline_msg(out, LOG_FORMAT_JSON, 0, &when, LEVEL_WARN, NULL, "hi");
    assert_string_equal(one_line(out, n),
                        "{\"time\":\"2026-11-29T18:40:01.123Z\","
                        "\"level\":\"warn\",\"msg\":\"hi\"}\n");
    n = logline_msg(out, LOG_FORMAT_JSON, 0, &when, LEVEL_INFO, "calc", "up");
    o = json_line(out, n, 0);
    assert_string_equal(member(o, "time"), "2026-11-29T18:40:01.123Z");
    assert_string_equal(member(o, "level"), "info");
    assert_string_equal(member(o, "plugin"), "calc");
    assert_string_equal(member(o, "msg"), "up");
    cJSON_Delete(o);
    /* For the journal: its priority first, then the same object. */
    n = logline_msg(out, LOG_FORMAT_JSON, 1, &when, LEVEL_ERROR, NULL, "bad");
    assert_memory_equal(out, "<3>{", 4);
    o = json_line(out, n, 3);
    assert_string_equal(member(o, "level"), "error");
    assert_string_equal(member(o, "msg"), "bad");
    cJSON_Delete(o);
}

/* Quotes, backslashes, newlines, every control character, DEL, valid
 * UTF-8 kept, and invalid UTF-8 (a stray continuation byte, 0xff, an
 * overlong NUL, a UTF-16 surrogate, a code point past U+10FFFF, a
 * sequence cut short by the string's end) each byte one U+FFFD. */
static void
test_json_escaping(void **state)
{
    static const char hostile[] =
        "q\"b\\n\nr\rt\t\x01\x1f\x7f|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|"
        "\x80|\xff|\xc0\x80|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82";
    static const char want[] =
        "q\"b\\n\nr\rt\t\x01\x1f\x7f|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|"
        "\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
        "\xef\xbf\xbd\xef\xbf\xbd";
    char out[LOGLINE_MAX], ctl[40];
    cJSON *o;
    size_t n;

    (void)state;
    n = logline_msg(out, LOG_FORMAT_JSON, 0, &when, LEVEL_INFO, "p\"\n\xff",
                    hostile);
    o = json_line(out, n, 0);
    assert_string_equal(member(o, "msg"), want);
    assert_string_equal(member(o, "plugin"), "p\"\n\xef\xbf\xbd");
    cJSON_Delete(o);
    /* Every control character, alone. */
    for (int c = 1; c < 0x20; c++) {
        snprintf(ctl, sizeof(ctl), "<%c>", c);
        n = logline_msg(out, LOG_FORMAT_JSON, 0, &when, LEVEL_INFO, NULL, ctl);
        o = json_line(out, n, 0);
        assert_string_equal(member(o, "msg"), ctl);
        cJSON_Delete(o);
    }
}

/* A message longer than a line: cut with "..." inside the string, the
 * object still whole, at most LOGLINE_MAX bytes, for every kind of
 * character at the cut (plain, escaped to 2 or 6 bytes, multi-byte). */
static void
test_json_truncation(void **state)
{
    static const char *const fills[] = {"a", "\"", "\x01", "\xe2\x82\xac",
                                        "\xff"};
    char out[LOGLINE_MAX];
    char *big = malloc(3 * LOGLINE_MAX);
    cJSON *o;
    size_t n, len;

    (void)state;
    assert_non_null(big);
    for (size_t f = 0; f < sizeof(fills) / sizeof(fills[0]); f++) {
        for (size_t shift = 0; shift < 4; shift++) {
            size_t k = strlen(fills[f]);

            memset(big, 'x', shift);
            len = shift;
            while (len + k < 3 * LOGLINE_MAX - 1) {
                memcpy(big + len, fills[f], k);
                len += k;
            }
            big[len] = '\0';
            for (int journal = 0; journal < 2; journal++) {
                n = logline_msg(out, LOG_FORMAT_JSON, journal, &when,
                                LEVEL_INFO, "plugin", big);
                assert_true(n <= LOGLINE_MAX);
                assert_true(n > LOGLINE_MAX - 16); /* the room is used */
                o = json_line(out, n, journal ? 3 : 0);
                len = strlen(member(o, "msg"));
                assert_true(len > 3);
                assert_string_equal(member(o, "msg") + len - 3, "...");
                cJSON_Delete(o);
            }
        }
    }
    /* Text lines are cut the same way, at a character boundary. */
    memset(big, 'y', 2 * LOGLINE_MAX);
    memcpy(big + LOGLINE_MAX - 40, "\xe2\x82\xac\xe2\x82\xac", 6);
    big[2 * LOGLINE_MAX] = '\0';
    n = logline_msg(out, LOG_FORMAT_TEXT, 0, &when, LEVEL_INFO, NULL, big);
    assert_true(n <= LOGLINE_MAX && n > LOGLINE_MAX - 4);
    assert_memory_equal(out + n - 7, "\xe2\x82\xac...\n", 7);
    free(big);
}

static void
test_access_text(void **state)
{
    struct access_fields f = {"127.0.0.1:5123", "POST", "/rpc", 200, 42, 17,
                              1.2345,           "ping", NULL};
    char out[LOGLINE_MAX];
    size_t n;

    (void)state;
    n = logline_access(out, LOG_FORMAT_TEXT, &when, &f);
    assert_string_equal(one_line(out, n),
                        "2026-11-29T18:40:01.123Z 127.0.0.1:5123 "
                        "\"POST /rpc\" 200 42 17 1.234ms ping -\n");
    f.what = NULL;
    f.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    n = logline_access(out, LOG_FORMAT_TEXT, &when, &f);
    assert_string_equal(one_line(out, n),
                        "2026-11-29T18:40:01.123Z 127.0.0.1:5123 "
                        "\"POST /rpc\" 200 42 17 1.234ms - "
                        "4bf92f3577b34da6a3ce929d0e0e4736\n");
}

/* A client's text cannot forge a line or a field of the text formats:
 * control bytes (and in the access log spaces and quotes) escaped. */
static void
test_text_escaping(void **state)
{
    struct access_fields f = {"127.0.0.1:5123",
                              "POST",
                              "/rpc",
                              200,
                              42,
                              17,
                              1.2345,
                              "x\n2026-11-29T00:00:00.000Z 10.0.0.1:1 \"GET",
                              NULL};
    char out[LOGLINE_MAX];
    size_t n;

    (void)state;
    n = logline_access(out, LOG_FORMAT_TEXT, &when, &f);
    assert_string_equal(one_line(out, n),
                        "2026-11-29T18:40:01.123Z 127.0.0.1:5123 "
                        "\"POST /rpc\" 200 42 17 1.234ms "
                        "x\\x0a2026-11-29T00:00:00.000Z\\x2010.0.0.1:1\\x20"
                        "\\x22GET -\n");
    n = logline_msg(out, LOG_FORMAT_TEXT, 0, &when, LEVEL_WARN, "p",
                    "a b\nFAKE\r\x7f\xc3\xa9");
    assert_string_equal(one_line(out, n),
                        "2026-11-29T18:40:01.123Z WARN  [p] a "
                        "b\\x0aFAKE\\x0d\\x7f\xc3\xa9\n");
}

static void
test_access_json(void **state)
{
    struct access_fields f = {"[::1]:80", "GET", "/health", 503, 0,
                              9,          0.5,   NULL,      NULL};
    char out[LOGLINE_MAX], uri[600];
    cJSON *o;
    size_t n;

    (void)state;
    n = logline_access(out, LOG_FORMAT_JSON, &when, &f);
    o = json_line(out, n, 0);
    assert_string_equal(member(o, "time"), "2026-11-29T18:40:01.123Z");
    assert_string_equal(member(o, "peer"), "[::1]:80");
    assert_string_equal(member(o, "method"), "GET");
    assert_string_equal(member(o, "uri"), "/health");
    assert_true(number(o, "status") == 503);
    assert_true(number(o, "in") == 0);
    assert_true(number(o, "out") == 9);
    assert_true(number(o, "ms") == 0.5);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "call")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "trace_id")));
    cJSON_Delete(o);
    /* Hostile uri, call and trace id; the uri capped at 200 bytes. */
    memset(uri, '"', sizeof(uri) - 1);
    uri[sizeof(uri) - 1] = '\0';
    uri[0] = '\xff';
    f.uri = uri;
    f.what = "a\nb\x01\xc3";
    f.trace_id = "\\\"";
    n = logline_access(out, LOG_FORMAT_JSON, &when, &f);
    o = json_line(out, n, 0);
    assert_int_equal(strlen(member(o, "uri")), 3 + 199);
    assert_string_equal(member(o, "call"), "a\nb\x01\xef\xbf\xbd");
    assert_string_equal(member(o, "trace_id"), "\\\"");
    cJSON_Delete(o);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_parse),
        cmocka_unit_test(test_text_msg),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_fatal),
        cmocka_unit_test(test_json_msg),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_json_truncation),
        cmocka_unit_test(test_access_text),
        cmocka_unit_test(test_text_escaping),
        cmocka_unit_test(test_access_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
