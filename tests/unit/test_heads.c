/* SPDX-License-Identifier: MIT */
/*
 * test_heads.c - unit tests for host/heads.c: the headers the edge reads
 * once per request, and the framing it refuses (request smuggling).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "heads.h"

/* A request of method `cmd` with the headers of `kv` (name, value, ...,
 * NULL), read. */
static const char *
read_cmd(enum evhttp_cmd_type cmd, struct heads *h, int *status,
         const char *const *kv)
{
    static struct evhttp_request *req;
    struct evkeyvalq *in;

    if (req != NULL)
        evhttp_request_free(req);
    req = evhttp_request_new(NULL, NULL);
    assert_non_null(req);
    in = evhttp_request_get_input_headers(req);
    for (; kv[0] != NULL; kv += 2)
        assert_int_equal(evhttp_add_header(in, kv[0], kv[1]), 0);
    return heads_read(req, cmd, h, status);
}

/* The same for a POST. */
static const char *
read_with(struct heads *h, int *status, const char *const *kv)
{
    return read_cmd(EVHTTP_REQ_POST, h, status, kv);
}

static void
test_found(void **state)
{
    static const char *const kv[] = {"host",
                                     "example.org",
                                     "Content-Type",
                                     "application/json",
                                     "AUTHORIZATION",
                                     "Bearer x",
                                     "Content-Length",
                                     " 12",
                                     "X-Other",
                                     "anything goes",
                                     NULL};
    struct heads h;
    int status;

    (void)state;
    assert_null(read_with(&h, &status, kv));
    assert_string_equal(h.host, "example.org");
    assert_string_equal(h.ctype, "application/json");
    assert_string_equal(h.auth, "Bearer x");
    assert_int_equal(h.hosts + h.ctypes + h.auths, 3);
}

static void
test_framing_refused(void **state)
{
    static const struct {
        const char *kv[7];
        int status;
        const char *what;
    } cases[] = {
        {{"Content-Length", "1", "content-length", "2", NULL},
         400,
         "more than one Content-Length"},
        {{"Content-Length", "+5", NULL}, 400, "not a number"},
        {{"Transfer-Encoding", "gzip", NULL}, 501, "other than chunked"},
        {{"Transfer-Encoding", "chunked", "Transfer-Encoding", "chunked", NULL},
         400,
         "more than one Transfer-Encoding"},
        {{"Content-Length", "3", "Transfer-Encoding", "chunked", NULL},
         400,
         "both Content-Length and Transfer-Encoding"},
        {{"Content-Length ", "3", NULL}, 400, "not a token"},
        {{"Host", "a", "host", "b", NULL}, 400, "more than one Host"},
        {{"Content-Type", "a", "content-type", "b", NULL},
         400,
         "more than one Content-Type"},
    };
    struct heads h;
    int status;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = read_with(&h, &status, cases[i].kv);
        if (why == NULL || strstr(why, cases[i].what) == NULL ||
            status != cases[i].status)
            fail_msg("case %zu: %s (%d)", i, why ? why : "(accepted)", status);
    }
    /* " chunked " (any case) is chunked. */
    {
        static const char *const kv[] = {"transfer-encoding", " ChUnKeD ",
                                         NULL};
        assert_null(read_with(&h, &status, kv));
    }
}

/* A body on HEAD or TRACE (evhttp reads none for them) is refused; the
 * other methods take one; Content-Length: 0 is no body. */
static void
test_body_on_a_method_without_one(void **state)
{
    static const char *const length[] = {"Content-Length", "5", NULL};
    static const char *const chunked[] = {"Transfer-Encoding", "chunked", NULL};
    static const char *const zero[] = {"Content-Length", "000", NULL};
    static const enum evhttp_cmd_type none[] = {EVHTTP_REQ_HEAD,
                                                EVHTTP_REQ_TRACE};
    static const enum evhttp_cmd_type some[] = {
        EVHTTP_REQ_POST,   EVHTTP_REQ_PUT,    EVHTTP_REQ_PATCH,
        EVHTTP_REQ_GET,    EVHTTP_REQ_DELETE, EVHTTP_REQ_OPTIONS,
        EVHTTP_REQ_CONNECT};
    struct heads h;
    int status;

    (void)state;
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        const char *why = read_cmd(none[i], &h, &status, length);

        assert_non_null(why);
        assert_non_null(strstr(why, "HEAD or TRACE"));
        assert_int_equal(status, 400);
        assert_non_null(read_cmd(none[i], &h, &status, chunked));
        assert_null(read_cmd(none[i], &h, &status, zero));
    }
    for (size_t i = 0; i < sizeof(some) / sizeof(some[0]); i++) {
        assert_null(read_cmd(some[i], &h, &status, length));
        assert_null(read_cmd(some[i], &h, &status, chunked));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_found),
        cmocka_unit_test(test_framing_refused),
        cmocka_unit_test(test_body_on_a_method_without_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
