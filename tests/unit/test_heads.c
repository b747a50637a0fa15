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

/* A request with the headers of `kv` (name, value, ..., NULL), read. */
static const char *
read_with(struct heads *h, int *status, const char *const *kv)
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
    return heads_read(req, h, status);
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_found),
        cmocka_unit_test(test_framing_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
