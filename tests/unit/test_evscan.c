/* SPDX-License-Identifier: MIT */
/*
 * test_evscan.c - unit tests for host/evscan.c: its __isoc99_sscanf()
 * gives what glibc's gives, result and assignments, for evhttp's
 * "HTTP/%d.%d%c" on the texts a request line can carry (every text of up
 * to 4 bytes after "HTTP/" over a set of telling bytes, and longer ones),
 * and for other formats.  glibc's is found with dlsym(RTLD_NEXT): the
 * definition after this executable's.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "evscan.h"

#if defined(__GLIBC__)
typedef int (*scan_fn)(const char *, const char *, ...);
int __isoc99_sscanf(const char *s, const char *fmt, ...);
static scan_fn theirs;

static int
setup(void **state)
{
    (void)state;
    theirs = (scan_fn)dlsym(RTLD_NEXT, "__isoc99_sscanf");
    /* Two definitions: this executable's (ours) and glibc's. */
    return theirs == NULL || (void *)theirs == (void *)__isoc99_sscanf;
}

/* evhttp's call on s, ours and glibc's: the same result, and the same
 * values where either assigned (a sentinel where neither did). */
static void
same_version(const char *s)
{
    int ma = -7, mi = -7, mb = -7, mj = -7;
    char ca = '#', cb = '#';
    int ra = __isoc99_sscanf(s, "HTTP/%d.%d%c", &ma, &mi, &ca);
    int rb = theirs(s, "HTTP/%d.%d%c", &mb, &mj, &cb);

    if (ra != rb || (ra >= 1 && ma != mb) || (ra >= 2 && mi != mj) ||
        (ra >= 3 && ca != cb))
        fail_msg("\"%s\": ours %d (%d %d %c), glibc's %d (%d %d %c)", s, ra, ma,
                 mi, ca, rb, mb, mj, cb);
}

static void
test_request_versions(void **state)
{
    static const char *const texts[] = {
        "HTTP/1.1",
        "HTTP/1.0",
        "HTTP/2.0",
        "HTTP/0.9",
        "HTTP/1.1x",
        "HTTP/1.1 ",
        "HTTP/1.1\r",
        "HTTP/10.20",
        "HTTP/123456789.1",
        "HTTP/1234567890.1",
        "HTTP/1.1234567890",
        "HTTP/2147483647.0",
        "HTTP/99999999999999999999.1",
        "HTTP/ 1.1",
        "HTTP/1. 1",
        "HTTP/+1.1",
        "HTTP/-1.1",
        "HTTP/1.-1",
        "HTTP/1.+1",
        "HTTP/1",
        "HTTP/1.",
        "HTTP/.1",
        "HTTP/",
        "HTTP",
        "HTT",
        "",
        "http/1.1",
        "HTTP/1,1",
        "HTTP/1.1.1",
        "HTTPS/1.1",
        " HTTP/1.1",
        "HTTP/01.01",
        "HTTP/0x1.1",
        "HTTP/1.0x1",
        "HTTP/\t1.1",
        "HTTP/1.\n1",
        "HTTP/1.1\xff",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        same_version(texts[i]);
}

/* Every text "HTTP/" + up to 4 bytes from a set that covers each branch
 * (digits, the dot, signs, space, letters, a high byte). */
static void
test_every_short_text(void **state)
{
    static const char set[] = "019.+- \tax\xff";
    const size_t n = sizeof(set) - 1;
    char text[16] = "HTTP/";
    size_t count = 0;

    (void)state;
    for (size_t len = 0; len <= 4; len++) {
        size_t total = 1;

        for (size_t k = 0; k < len; k++)
            total *= n;
        for (size_t v = 0; v < total; v++) {
            size_t x = v;

            for (size_t k = 0; k < len; k++) {
                text[5 + k] = set[x % n];
                x /= n;
            }
            text[5 + len] = '\0';
            same_version(text);
            count++;
        }
    }
    assert_true(count > 10000);
}

/* Other formats: glibc's, whatever the text. */
static void
test_other_formats(void **state)
{
    int a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, h = 0;
    char w[8] = "", x[8] = "";

    (void)state;
    assert_int_equal(__isoc99_sscanf("1.2.3.4", "%d.%d.%d.%d", &a, &b, &c, &d),
                     theirs("1.2.3.4", "%d.%d.%d.%d", &e, &f, &g, &h));
    assert_int_equal(a * 1000 + b * 100 + c * 10 + d,
                     e * 1000 + f * 100 + g * 10 + h);
    assert_int_equal(__isoc99_sscanf("HTTP/1.1", "HTTP/%d.%d", &a, &b),
                     theirs("HTTP/1.1", "HTTP/%d.%d", &e, &f));
    assert_int_equal(a * 10 + b, e * 10 + f);
    assert_int_equal(__isoc99_sscanf("ab cd", "%7s %7s", w, x), 2);
    assert_string_equal(w, "ab");
    assert_string_equal(x, "cd");
    assert_int_equal(__isoc99_sscanf("", "%d", &a), theirs("", "%d", &e));
}

static void
test_bound(void **state)
{
    (void)state;
    /* This test executable defines it too (evscan.o is linked for
     * evscan_bound): the global lookup finds the executable's first. */
    assert_int_equal(evscan_bound(), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_versions),
        cmocka_unit_test(test_every_short_text),
        cmocka_unit_test(test_other_formats),
        cmocka_unit_test(test_bound),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
#else
int
main(void)
{
    return 0; /* nothing is interposed without glibc */
}
#endif
