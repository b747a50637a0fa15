/* SPDX-License-Identifier: MIT */
/*
 * test_auth.c - unit tests for host/auth.c: Basic and Bearer checks, the
 * work a check does (the same for known and unknown user names), and the
 * warning for a credentials file others may read.
 *
 * The test links with -Wl,--wrap for crypto_hmac_sha256 and crypto_equal
 * (tests/CMakeLists.txt): every call auth.c makes is counted here, then
 * passed on to the real function.  So "a lookup does the same work
 * whether the user exists" is asserted by counting, never by timing.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "crypto.h"

/* ---- counting wrappers (-Wl,--wrap) ---- */

int __real_crypto_hmac_sha256(const void *key, size_t keylen, const void *msg,
                              size_t len, unsigned char out[CRYPTO_SHA256_LEN]);
int __wrap_crypto_hmac_sha256(const void *key, size_t keylen, const void *msg,
                              size_t len, unsigned char out[CRYPTO_SHA256_LEN]);
int __real_crypto_equal(const void *a, const void *b, size_t n);
int __wrap_crypto_equal(const void *a, const void *b, size_t n);

static unsigned long n_hmac, n_equal;

int
__wrap_crypto_hmac_sha256(const void *key, size_t keylen, const void *msg,
                          size_t len, unsigned char out[CRYPTO_SHA256_LEN])
{
    n_hmac++;
    return __real_crypto_hmac_sha256(key, keylen, msg, len, out);
}

int
__wrap_crypto_equal(const void *a, const void *b, size_t n)
{
    n_equal++;
    return __real_crypto_equal(a, b, n);
}

/* ---- fixtures ---- */

#define SALT "00112233445566778899aabbccddeeff"

static char dir[] = "/tmp/rpchost-test-auth-XXXXXX";
static char file[256];
static struct auth *a;

/* "kind = SALT$HMAC(SALT, secret)\n" */
static void
secret_line(FILE *f, const char *kind, const char *secret)
{
    unsigned char mac[CRYPTO_SHA256_LEN];

    assert_int_equal(__real_crypto_hmac_sha256(SALT, strlen(SALT), secret,
                                               strlen(secret), mac),
                     0);
    fprintf(f, "%s = %s$", kind, SALT);
    for (int i = 0; i < CRYPTO_SHA256_LEN; i++)
        fprintf(f, "%02x", mac[i]);
    fprintf(f, "\n");
}

/* Write the credentials file with `mode`; its path is `file`. */
static void
write_file(mode_t mode)
{
    FILE *f = fopen(file, "w");

    assert_non_null(f);
    fprintf(f, "[alice]\n");
    secret_line(f, "rpcauth", "alice-pw");
    fprintf(f, "[bob]\n");
    secret_line(f, "rpcauth", "bob-pw");
    fprintf(f, "[bot]\n"); /* a token only: no Basic secret */
    secret_line(f, "token", "bot-token");
    fprintf(f, "[carol]\n");
    secret_line(f, "rpcauth", "carol-pw");
    secret_line(f, "token", "carol-token");
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(file, mode), 0);
}

static int
setup(void **state)
{
    char err[512];

    (void)state;
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(file, sizeof(file), "%s/auth.ini", dir);
    if (crypto_load(err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    write_file(0600);
    a = auth_load(file, err, sizeof(err));
    if (a == NULL) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    auth_free(a);
    unlink(file);
    rmdir(dir);
    return 0;
}

/* "Basic base64(user:password)" */
static void
basic(char *out, size_t outlen, const char *user, const char *pw)
{
    char raw[256], b64[400];
    int n = snprintf(raw, sizeof(raw), "%s:%s", user, pw);

    assert_true(n > 0 && (size_t)n < sizeof(raw));
    assert_true(crypto_b64_encode(b64, (const unsigned char *)raw, n) > 0);
    snprintf(out, outlen, "Basic %s", b64);
}

static const char *
who(const char *header)
{
    const struct auth_user *u = auth_check(a, header);

    return u ? u->name : NULL;
}

/* ---- tests ---- */

static void
test_basic(void **state)
{
    char h[512];

    (void)state;
    basic(h, sizeof(h), "alice", "alice-pw");
    assert_string_equal(who(h), "alice");
    basic(h, sizeof(h), "carol", "carol-pw");
    assert_string_equal(who(h), "carol");
    basic(h, sizeof(h), "alice", "bob-pw");
    assert_null(who(h));
    basic(h, sizeof(h), "mallory", "alice-pw");
    assert_null(who(h));
    basic(h, sizeof(h), "bot", "bot-token"); /* a token is not a password */
    assert_null(who(h));
    basic(h, sizeof(h), "alic", "alice-pw");
    assert_null(who(h));
    basic(h, sizeof(h), "alice ", "alice-pw");
    assert_null(who(h));
}

static void
test_bearer(void **state)
{
    (void)state;
    assert_string_equal(who("Bearer bot-token"), "bot");
    assert_string_equal(who("bearer  carol-token"), "carol");
    assert_string_equal(who("Bearer bot-token \t "), "bot");
    /* Anything after the token: refused, as Basic with junk is. */
    assert_null(who("Bearer bot-token junk"));
    assert_null(who("Bearer bot-token\tjunk"));
    assert_null(who("Bearer bot-token bot-token"));
    assert_null(who("Bearer bot-tokenx"));
    assert_null(who("Bearer alice-pw"));
    assert_null(who("Bearer "));
}

/* The work of one check: HMACs computed and constant-time compares. */
struct work {
    unsigned long hmac, equal;
};

static struct work
work_of(const char *header)
{
    struct work w;

    n_hmac = n_equal = 0;
    (void)auth_check(a, header);
    w.hmac = n_hmac;
    w.equal = n_equal;
    return w;
}

static void
test_user_lookup_same_work(void **state)
{
    /* A user who exists (right or wrong password), one with no Basic
     * secret, and names that do not exist, of several lengths. */
    static const char *const cases[][2] = {
        {"alice", "alice-pw"},
        {"alice", "wrong"},
        {"carol", "x"},
        {"bot", "bot-token"},
        {"mallory", "x"},
        {"a", "alice-pw"},
        {"alicealicealicealicealice", "alice-pw"},
        {"", "alice-pw"},
    };
    struct work first, w;
    char h[512];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        basic(h, sizeof(h), cases[i][0], cases[i][1]);
        w = work_of(h);
        if (i == 0)
            first = w;
        print_message("basic %-28s %lu HMAC(s), %lu compare(s)\n", cases[i][0],
                      w.hmac, w.equal);
        assert_int_equal(w.hmac, first.hmac);
        assert_int_equal(w.equal, first.equal);
    }
    /* Every user name compared, then one password check. */
    assert_int_equal(first.hmac, 2);
    assert_int_equal(first.equal, 4 + 1);
}

static void
test_bearer_same_work(void **state)
{
    struct work first = work_of("Bearer bot-token");
    struct work w;

    (void)state;
    w = work_of("Bearer carol-token");
    assert_int_equal(w.hmac, first.hmac);
    assert_int_equal(w.equal, first.equal);
    w = work_of("Bearer nobody-has-this");
    assert_int_equal(w.hmac, first.hmac);
    assert_int_equal(w.equal, first.equal);
}

/* Run `load` with stderr going to a file; return what it wrote there. */
static char *
stderr_of_load(void)
{
    char path[300], err[512], *text;
    struct auth *b;
    int saved, fd;
    FILE *f;
    long n;

    snprintf(path, sizeof(path), "%s/stderr", dir);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    f = fopen(path, "w+");
    assert_non_null(f);
    fd = fileno(f);
    assert_true(saved >= 0 && dup2(fd, STDERR_FILENO) >= 0);
    b = auth_load(file, err, sizeof(err));
    dup2(saved, STDERR_FILENO);
    close(saved);
    assert_non_null(b);
    auth_free(b);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    unlink(path);
    return text;
}

static void
test_mode_warning(void **state)
{
    static const mode_t warn[] = {0644, 0640, 0604, 0660};
    static const mode_t quiet[] = {0600, 0400};
    char mode[16];
    char *text;

    (void)state;
    for (size_t i = 0; i < sizeof(warn) / sizeof(warn[0]); i++) {
        write_file(warn[i]);
        text = stderr_of_load();
        snprintf(mode, sizeof(mode), "mode %04o", (unsigned)warn[i]);
        /* One line, naming the file and its mode. */
        assert_non_null(strstr(text, file));
        assert_non_null(strstr(text, mode));
        assert_non_null(strstr(text, "WARN"));
        assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
        free(text);
    }
    for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
        write_file(quiet[i]);
        text = stderr_of_load();
        assert_string_equal(text, "");
        free(text);
    }
    write_file(0600);
}

static double
ns_per_check(const char *header, int n)
{
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++)
        (void)auth_check(a, header);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
            (double)(t1.tv_nsec - t0.tv_nsec)) /
           n;
}

/* A bounded microbenchmark (about 0.1 s), printed, never asserted:
 * timing depends on the machine; the counts above are the contract.  The
 * best of 20 alternating rounds of 250 checks each. */
static void
test_timing_printed(void **state)
{
    char known[512], unknown[512];
    double k = 1e12, u = 1e12, t;

    (void)state;
    basic(known, sizeof(known), "alice", "wrong-password");
    basic(unknown, sizeof(unknown), "malic", "wrong-password");
    for (int round = 0; round < 20; round++) {
        t = ns_per_check(round % 2 ? known : unknown, 250);
        if (round % 2)
            k = t < k ? t : k;
        else
            u = t < u ? t : u;
        t = ns_per_check(round % 2 ? unknown : known, 250);
        if (round % 2)
            u = t < u ? t : u;
        else
            k = t < k ? t : k;
    }
    print_message("Basic check, best of 20: existing user %.0f ns, unknown "
                  "user %.0f ns (difference %.0f ns)\n",
                  k, u, k - u);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_user_lookup_same_work),
        cmocka_unit_test(test_bearer_same_work),
        cmocka_unit_test(test_mode_warning),
        cmocka_unit_test(test_timing_printed),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
