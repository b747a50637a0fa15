/* SPDX-License-Identifier: MIT */
/*
 * test_evfmt.c - unit tests for host/evfmt.c: its evbuffer_add_printf()
 * and evutil_ascii_strcasecmp() give what libevent's own give, byte for
 * byte and result for result.  libevent's are found with
 * dlsym(RTLD_NEXT): the definitions after this executable's.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/util.h>

#include "evfmt.h"

typedef int (*printf_fn)(struct evbuffer *, const char *, ...);
typedef int (*cmp_fn)(const char *, const char *);
static printf_fn theirs_printf;
static cmp_fn theirs_cmp;
/* A NULL the compiler cannot see through (its format checks warn). */
static const char *volatile null_text;

static int
setup(void **state)
{
    (void)state;
    theirs_printf = (printf_fn)dlsym(RTLD_NEXT, "evbuffer_add_printf");
    theirs_cmp = (cmp_fn)dlsym(RTLD_NEXT, "evutil_ascii_strcasecmp");
    /* Two definitions each: this executable's (ours) and libevent's. */
    return theirs_printf == NULL || theirs_cmp == NULL ||
           (void *)theirs_printf == (void *)evbuffer_add_printf ||
           (void *)theirs_cmp == (void *)evutil_ascii_strcasecmp;
}

/* The bytes and the result of ours and theirs, for one call each. */
#define SAME(fmt, ...)                                                         \
    do {                                                                       \
        struct evbuffer *a = evbuffer_new(), *b = evbuffer_new();              \
        int ra, rb;                                                            \
                                                                               \
        assert_non_null(a);                                                    \
        assert_non_null(b);                                                    \
        evbuffer_add(a, "x", 1); /* after what is there already */             \
        evbuffer_add(b, "x", 1);                                               \
        ra = evbuffer_add_printf(a, fmt, __VA_ARGS__);                         \
        rb = theirs_printf(b, fmt, __VA_ARGS__);                               \
        assert_int_equal(ra, rb);                                              \
        assert_int_equal(evbuffer_get_length(a), evbuffer_get_length(b));      \
        assert_memory_equal(evbuffer_pullup(a, -1), evbuffer_pullup(b, -1),    \
                            evbuffer_get_length(a));                           \
        evbuffer_free(a);                                                      \
        evbuffer_free(b);                                                      \
    } while (0)

static void
test_header_lines(void **state)
{
    static char big[20000];

    (void)state;
    memset(big, 'v', sizeof(big) - 1);
    SAME("%s: %s\r\n", "Content-Type", "application/json");
    SAME("%s: %s\r\n", "Content-Length", "123");
    SAME("%s: %s\r\n", "", "");
    SAME("%s: %s\r\n", "X-Odd", "50% of %s and %d\t\x01\xff");
    SAME("%s: %s\r\n", "X-Big", big); /* beyond one chain */
    SAME("%s: %s\r\n", big, "k");
    SAME("%s: %s\r\n", null_text, "v"); /* "(null)" */
    SAME("%s: %s\r\n", "k", null_text);
}

static void
test_status_lines(void **state)
{
    (void)state;
    SAME("HTTP/%d.%d %d %s\r\n", 1, 1, 200, "OK");
    SAME("HTTP/%d.%d %d %s\r\n", 1, 0, 404, "Not Found");
    SAME("HTTP/%d.%d %d %s\r\n", 0, 9, 0, "");
    SAME("HTTP/%d.%d %d %s\r\n", 99999, 10, 99999, "max");
    SAME("HTTP/%d.%d %d %s\r\n", 100000, 1, 200, "over");
    SAME("HTTP/%d.%d %d %s\r\n", -1, 1, -200, "negative");
    SAME("HTTP/%d.%d %d %s\r\n", 1, 1, 503, "Service Unavailable");
    SAME("HTTP/%d.%d %d %s\r\n", 1, 1, 200, null_text);
}

/* Every other format is libevent's. */
static void
test_other_formats(void **state)
{
    (void)state;
    SAME("%d-%s", 42, "x");
    SAME("%s: %s", "no", "crlf");
    SAME("%s: %s\r\n%s", "a", "b", "c");
    SAME("%%%s", "p");
    SAME("%lu bytes", (unsigned long)123456789);
}

/* Every pair of one-byte strings, prefixes, and mixed case. */
static void
test_strcasecmp(void **state)
{
    static const char *words[] = {
        "",
        "a",
        "A",
        "Content-Length",
        "content-length",
        "CONTENT-LENGTH",
        "Content-Lengt",
        "Host",
        "host:",
        "\x80",
        "\xc3\xa9",
        "\xc3\x89",
        "[",
        "`",
        "{",
        "@",
        "Z",
        "z",
    };
    char s1[2] = {0, 0}, s2[2] = {0, 0};

    (void)state;
    for (int i = 0; i < 256; i++)
        for (int j = 0; j < 256; j++) {
            s1[0] = (char)i;
            s2[0] = (char)j;
            assert_int_equal(evutil_ascii_strcasecmp(s1, s2),
                             theirs_cmp(s1, s2));
        }
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        for (size_t j = 0; j < sizeof(words) / sizeof(words[0]); j++)
            assert_int_equal(evutil_ascii_strcasecmp(words[i], words[j]),
                             theirs_cmp(words[i], words[j]));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_lines),
        cmocka_unit_test(test_status_lines),
        cmocka_unit_test(test_other_formats),
        cmocka_unit_test(test_strcasecmp),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
