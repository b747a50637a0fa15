/* SPDX-License-Identifier: MIT */
/*
 * test_config.c - unit tests for host/config.c: defaults, every [server]
 * key, plugin sections, and the "FILE:LINE: message" of each error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"

#define TMPL "/tmp/rpchost-cfg-XXXXXX"

/* Write `text` to a new temp file; its name goes to path[sizeof(TMPL)]. */
static void
write_tmp(char *path, const char *text)
{
    size_t len = strlen(text);
    int fd;

    memcpy(path, TMPL, sizeof(TMPL));
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

/* Load `text`; expect success.  The caller frees the config. */
static struct config *
load_ok(const char *text)
{
    char path[sizeof(TMPL)];
    char err[1024] = "";
    struct config *c = NULL;
    int rc;

    write_tmp(path, text);
    rc = config_load(path, &c, err, sizeof(err));
    unlink(path);
    if (rc != 0)
        print_error("unexpected config error: %s\n", err);
    assert_int_equal(rc, 0);
    assert_non_null(c);
    return c;
}

/* Load `text`; expect failure at `line` with a message containing each of
 * the NULL-terminated fragments. */
static void
load_fail(const char *text, int line, ...)
{
    char path[sizeof(TMPL)];
    char err[1024] = "";
    char prefix[64];
    struct config *c = (struct config *)&c; /* must become NULL */
    const char *frag;
    va_list ap;
    int rc;

    write_tmp(path, text);
    rc = config_load(path, &c, err, sizeof(err));
    unlink(path);
    if (rc == 0) {
        print_error("accepted, want an error at line %d\n", line);
        config_free(c);
        fail();
    }
    assert_int_equal(rc, -1);
    assert_null(c);
    snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        print_error("want prefix '%s', got '%s'\n", prefix, err);
    assert_memory_equal(err, prefix, strlen(prefix));
    va_start(ap, line);
    while ((frag = va_arg(ap, const char *)) != NULL) {
        if (strstr(err, frag) == NULL)
            print_error("'%s' lacks '%s'\n", err, frag);
        assert_non_null(strstr(err, frag));
    }
    va_end(ap);
}

static void
test_defaults(void **state)
{
    struct config c;

    (void)state;
    config_defaults(&c);
    assert_int_equal(c.nlistens, 0); /* the parser adds 127.0.0.1:5000 */
    assert_int_equal(c.threads, 0);
    assert_int_equal(c.log_level, LEVEL_INFO);
    assert_int_equal(c.max_body_size, 1024 * 1024);
    assert_int_equal(c.max_header_size, 8192);
    assert_int_equal(c.max_batch, 1000);
    assert_int_equal(c.max_depth, 64);
    assert_int_equal(c.max_call_depth, 8);
    assert_int_equal(c.timeout_ms, 30000);
    assert_int_equal(c.shutdown_timeout_ms, 10000);
    assert_int_equal(c.nplugins, 0);
    assert_null(c.plugins);
}

static void
test_empty_file_defaults(void **state)
{
    struct config *c;

    (void)state;
    c = load_ok("; nothing but a comment\n\n# and another\n");
    assert_string_equal(c->listens[0].host, "127.0.0.1");
    assert_int_equal(c->listens[0].port, 5000);
    assert_string_equal(c->endpoint, "/");
    assert_int_equal(c->threads, 0);
    assert_int_equal(c->log_level, LEVEL_INFO);
    assert_int_equal(c->max_body_size, CONFIG_DEFAULT_MAX_BODY);
    assert_int_equal(c->max_header_size, CONFIG_DEFAULT_MAX_HEADER);
    assert_int_equal(c->max_batch, CONFIG_DEFAULT_MAX_BATCH);
    assert_int_equal(c->max_depth, CONFIG_DEFAULT_MAX_DEPTH);
    assert_int_equal(c->max_call_depth, CONFIG_DEFAULT_MAX_CALL_DEPTH);
    assert_int_equal(c->timeout_ms, CONFIG_DEFAULT_TIMEOUT_MS);
    assert_int_equal(c->shutdown_timeout_ms, CONFIG_DEFAULT_SHUTDOWN_MS);
    assert_int_equal(c->nplugins, 0);
    assert_non_null(c->file);
    assert_string_equal(c->dir, "/tmp");
    config_free(c);
}

static void
test_full_server(void **state)
{
    struct config *c;

    (void)state;
    c = load_ok("[server]\n"
                "listen = 0.0.0.0:8080\n"
                "endpoint = /rpc/v1\n"
                "threads = 8\n"
                "log_level = debug\n"
                "max_body_size = 2m\n"
                "max_header_size = 16k\n"
                "max_batch = 50\n"
                "max_depth = 10\n"
                "max_call_depth = 0\n"
                "timeout = 1.5\n"
                "shutdown_timeout = 0.25\n");
    assert_string_equal(c->listens[0].host, "0.0.0.0");
    assert_int_equal(c->listens[0].port, 8080);
    assert_string_equal(c->endpoint, "/rpc/v1");
    assert_int_equal(c->threads, 8);
    assert_int_equal(c->log_level, LEVEL_DEBUG);
    assert_int_equal(c->max_body_size, 2 * 1024 * 1024);
    assert_int_equal(c->max_header_size, 16 * 1024);
    assert_int_equal(c->max_batch, 50);
    assert_int_equal(c->max_depth, 10);
    assert_int_equal(c->max_call_depth, 0);
    assert_int_equal(c->timeout_ms, 1500);
    assert_int_equal(c->shutdown_timeout_ms, 250);
    assert_int_equal(c->nplugins, 0);
    config_free(c);
}

static void
test_size_suffixes(void **state)
{
    struct config *c;

    (void)state;
    c = load_ok("[server]\nmax_body_size = 3K\nmax_header_size = 1M\n");
    assert_int_equal(c->max_body_size, 3 * 1024);
    assert_int_equal(c->max_header_size, 1024 * 1024);
    config_free(c);
    c = load_ok("[server]\nmax_body_size = 1g\nmax_header_size = 256\n");
    assert_int_equal(c->max_body_size, 1024LL * 1024 * 1024);
    assert_int_equal(c->max_header_size, 256);
    config_free(c);
    c = load_ok("[server]\nmax_body_size = 12345\n");
    assert_int_equal(c->max_body_size, 12345);
    config_free(c);
}

static void
test_size_errors(void **state)
{
    (void)state;
    load_fail("[server]\nmax_body_size = 10x\n", 2, "max_body_size", "10x",
              NULL);
    load_fail("[server]\nmax_body_size = -1\n", 2, "max_body_size", NULL);
    load_fail("[server]\nmax_body_size = 0\n", 2, "max_body_size", NULL);
    load_fail("[server]\nmax_body_size = 5g\n", 2, "max_body_size", NULL);
    load_fail("[server]\nmax_header_size = 255\n", 2, "max_header_size", NULL);
    load_fail("[server]\nmax_header_size = 2m\n", 2, "max_header_size", NULL);
    load_fail("[server]\nmax_header_size = k\n", 2, "max_header_size", NULL);
}

static void
test_seconds(void **state)
{
    struct config *c;

    (void)state;
    c = load_ok("[server]\ntimeout = 2\nshutdown_timeout = 0\n");
    assert_int_equal(c->timeout_ms, 2000);
    assert_int_equal(c->shutdown_timeout_ms, 0);
    config_free(c);
    c = load_ok("[server]\ntimeout = 0.001\nshutdown_timeout = 3600\n");
    assert_int_equal(c->timeout_ms, 1);
    assert_int_equal(c->shutdown_timeout_ms, 3600000);
    config_free(c);
    load_fail("[server]\ntimeout = 0\n", 2, "timeout", NULL);
    load_fail("[server]\ntimeout = soon\n", 2, "timeout", "soon", NULL);
    load_fail("[server]\ntimeout = nan\n", 2, "timeout", NULL);
    load_fail("[server]\ntimeout = inf\n", 2, "timeout", NULL);
    load_fail("[server]\ntimeout = 86401\n", 2, "timeout", NULL);
    load_fail("[server]\nshutdown_timeout = -1\n", 2, "shutdown_timeout", NULL);
}

/* stall_timeout: 5 s by default, at least 1 s, fractions of a second. */
static void
test_stall_timeout(void **state)
{
    struct config *c;

    (void)state;
    c = load_ok("");
    assert_int_equal(c->stall_timeout_ms, CONFIG_DEFAULT_STALL_TIMEOUT_MS);
    assert_int_equal(c->stall_timeout_ms, 5000);
    config_free(c);
    c = load_ok("[server]\nstall_timeout = 1\n");
    assert_int_equal(c->stall_timeout_ms, 1000);
    config_free(c);
    c = load_ok("[server]\nstall_timeout = 2.5\n");
    assert_int_equal(c->stall_timeout_ms, 2500);
    config_free(c);
    c = load_ok("[server]\nstall_timeout = 3600\n");
    assert_int_equal(c->stall_timeout_ms, 3600000);
    config_free(c);
    load_fail("[server]\nstall_timeout = 0.5\n", 2, "stall_timeout", NULL);
    load_fail("[server]\nstall_timeout = 0\n", 2, "stall_timeout", NULL);
    load_fail("[server]\nstall_timeout = 3601\n", 2, "stall_timeout", NULL);
    load_fail("[server]\nstall_timeout = soon\n", 2, "stall_timeout", "soon",
              NULL);
}

/* The edge's request deadlines, backlog and allowed hosts. */
static void
test_edge_keys(void **state)
{
    struct config *c;

    (void)state;
    c = load_ok("");
    assert_int_equal(c->header_timeout_ms, 10000);
    assert_int_equal(c->request_timeout_ms, 30000);
    assert_int_equal(c->response_timeout_ms, 60000);
    assert_int_equal(c->backlog, 1024);
    assert_null(c->allowed_hosts);
    config_free(c);
    c = load_ok("[server]\nheader_timeout = 2.5\nrequest_timeout = 60\n"
                "backlog = 4096\nallowed_hosts = rpc.example.com, [::1]\n");
    assert_int_equal(c->header_timeout_ms, 2500);
    assert_int_equal(c->request_timeout_ms, 60000);
    assert_int_equal(c->backlog, 4096);
    assert_string_equal(c->allowed_hosts, "rpc.example.com, [::1]");
    config_free(c);
    load_fail("[server]\nheader_timeout = 0\n", 2, "header_timeout", NULL);
    load_fail("[server]\nrequest_timeout = 0.05\n", 2, "request_timeout", NULL);
    load_fail("[server]\nresponse_timeout = x\n", 2, "response_timeout", NULL);
    load_fail("[server]\nbacklog = 0\n", 2, "backlog", NULL);
    load_fail("[server]\nbacklog = 65536\n", 2, "backlog", NULL);
    load_fail("[server]\nallowed_hosts = a b\n", 2, "allowed_hosts", "a b",
              NULL);
    load_fail("[server]\nallowed_hosts = http://x\n", 2, "allowed_hosts", NULL);
    load_fail("[server]\nallowed_hosts =\n", 2, "allowed_hosts", NULL);
}

/* 1.005 s is 1005 ms; truncating 1.005 * 1000 (1004.99999...) is off by
 * one millisecond. */
static void
test_seconds_rounding(void **state)
{
    struct config *c;
    int timeout, shutdown;

    (void)state;
    c = load_ok("[server]\ntimeout = 1.005\nshutdown_timeout = 4.35\n");
    timeout = c->timeout_ms;
    shutdown = c->shutdown_timeout_ms;
    config_free(c);
    assert_int_equal(timeout, 1005);
    assert_int_equal(shutdown, 4350);
}

static void
test_log_levels(void **state)
{
    static const struct {
        const char *name;
        int level;
    } levels[] = {{"error", LEVEL_ERROR},
                  {"warn", LEVEL_WARN},
                  {"info", LEVEL_INFO},
                  {"debug", LEVEL_DEBUG}};
    char text[64];

    (void)state;
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        struct config *c;

        snprintf(text, sizeof(text), "[server]\nlog_level = %s\n",
                 levels[i].name);
        c = load_ok(text);
        assert_int_equal(c->log_level, levels[i].level);
        config_free(c);
    }
    load_fail("[server]\n\nlog_level = loud\n", 3, "log_level", "loud", NULL);
}

static void
test_log_format(void **state)
{
    struct config *c;

    (void)state;
    c = load_ok("[server]\nlog_level = warn\n");
    assert_int_equal(c->log_format, LOG_FORMAT_TEXT);
    config_free(c);
    c = load_ok("[server]\nlog_format = json\n");
    assert_int_equal(c->log_format, LOG_FORMAT_JSON);
    config_free(c);
    c = load_ok("[server]\nlog_format = text\n");
    assert_int_equal(c->log_format, LOG_FORMAT_TEXT);
    config_free(c);
    load_fail("[server]\n\nlog_format = yaml\n", 3, "log_format", "yaml",
              "text, json", NULL);
    load_fail("[server]\nlog_format = JSON\n", 2, "log_format", NULL);
    load_fail("[server]\nlog_format = json\nlog_format = text\n", 3,
              "log_format", "twice", NULL);
}

static void
test_notification_status(void **state)
{
    struct config *c;

    (void)state;
    c = load_ok("[server]\n");
    assert_int_equal(c->notification_status, 204);
    config_free(c);
    c = load_ok("[server]\nnotification_status = 200\n");
    assert_int_equal(c->notification_status, 200);
    config_free(c);
    c = load_ok("[server]\nnotification_status = 204\n");
    assert_int_equal(c->notification_status, 204);
    config_free(c);
    load_fail("[server]\nnotification_status = 201\n", 2, "notification_status",
              "'201'", "200 or 204", NULL);
    load_fail("[server]\nnotification_status = 2000\n", 2,
              "notification_status", NULL);
    load_fail("[server]\nnotification_status = \n", 2, "notification_status",
              NULL);
}

static void
test_unknown_server_key(void **state)
{
    (void)state;
    load_fail("[server]\nthreads = 2\nlisten_port = 80\n", 3, "listen_port",
              "unknown", NULL);
}

static void
test_duplicate_key(void **state)
{
    (void)state;
    load_fail("[server]\nthreads = 2\nmax_batch = 3\nthreads = 4\n", 4,
              "threads", "twice", NULL);
    /* Also across two [server] sections. */
    load_fail("[server]\nendpoint = /a\n[server]\nendpoint = /b\n", 4,
              "endpoint", "twice", NULL);
}

static void
test_listen(void **state)
{
    struct config *c;

    (void)state;
    c = load_ok("[server]\nlisten = [::1]:5001\n");
    assert_string_equal(c->listens[0].host, "::1");
    assert_int_equal(c->listens[0].port, 5001);
    config_free(c);
    c = load_ok("[server]\nlisten = localhost:0\n");
    assert_string_equal(c->listens[0].host, "localhost");
    assert_int_equal(c->listens[0].port, 0);
    config_free(c);
    c = load_ok("[server]\nlisten = 127.0.0.1:65535\n");
    assert_int_equal(c->listens[0].port, 65535);
    config_free(c);
}

static void
test_listen_errors(void **state)
{
    (void)state;
    load_fail("[server]\nlisten = 127.0.0.1:70000\n", 2, "listen", "70000",
              NULL);
    load_fail("[server]\n# comment\nlisten = 127.0.0.1\n", 3, "listen",
              "127.0.0.1", NULL);
    load_fail("[server]\nlisten = 127.0.0.1:\n", 2, "listen", NULL);
    load_fail("[server]\nlisten = :5000\n", 2, "listen", NULL);
    load_fail("[server]\nlisten = 127.0.0.1:-1\n", 2, "listen", NULL);
    load_fail("[server]\nlisten = 127.0.0.1:80x\n", 2, "listen", NULL);
    load_fail("[server]\nlisten = [::1]5000\n", 2, "listen", NULL);
    load_fail("[server]\nlisten = [::1\n", 2, "listen", NULL);
    load_fail("[server]\nlisten = []:5000\n", 2, "listen", NULL);
}

static void
test_listen_override(void **state)
{
    struct config *c;
    char err[256] = "";

    (void)state;
    c = load_ok("[server]\nlisten = 127.0.0.1:1\nlisten = unix:/tmp/a.sock\n");
    assert_int_equal(c->nlistens, 2);
    /* -l replaces every listen address with its one. */
    assert_int_equal(
        config_apply_overrides(c, "[2001:db8::1]:443", NULL, err, sizeof(err)),
        0);
    assert_int_equal(c->nlistens, 1);
    assert_string_equal(c->listens[0].host, "2001:db8::1");
    assert_int_equal(c->listens[0].port, 443);
    assert_int_equal(config_apply_overrides(c, "nope", NULL, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "--listen"));
    assert_non_null(strstr(err, "nope"));
    config_free(c);
}

static void
test_several_listens(void **state)
{
    struct config *c, *d;

    (void)state;
    c = load_ok("[server]\nlisten = 127.0.0.1:0\nlisten = [::1]:5001\n"
                "listen = unix:rpc.sock\nlisten_mode = 0600\n"
                "listen_group = 0\n");
    assert_int_equal(c->nlistens, 3);
    assert_string_equal(c->listens[0].host, "127.0.0.1");
    assert_string_equal(c->listens[1].host, "::1");
    assert_int_equal(c->listens[1].port, 5001);
    assert_null(c->listens[2].host);
    /* A relative unix path starts from the config's folder. */
    assert_non_null(strstr(c->listens[2].path, "/rpc.sock"));
    assert_int_equal(c->listen_mode, 0600);
    assert_string_equal(c->listen_group, "0"); /* by number: root */
    assert_true(config_local_only(c));
    /* Loopback however it is written. */
    d = load_ok("[server]\nlisten = [0:0:0:0:0:0:0:1]:1\n"
                "listen = [::ffff:127.0.0.1]:2\nlisten = 127.0.0.2:3\n");
    assert_true(config_local_only(d));
    config_free(d);
    d = load_ok("[server]\nlisten = [::ffff:10.0.0.1]:1\n");
    assert_false(config_local_only(d));
    config_free(d);
    d = load_ok("[server]\nlisten = 0.0.0.0:1\nlisten = unix:/x.sock\n");
    assert_false(config_local_only(d));
    assert_false(config_same_listens(c, d));
    assert_int_equal(config_copy_listens(d, c), 0);
    assert_true(config_same_listens(c, d));
    config_free(c);
    config_free(d);
    /* The default: 127.0.0.1:5000, with the unix socket mode 0660. */
    c = load_ok("");
    assert_int_equal(c->nlistens, 1);
    assert_int_equal(c->listens[0].port, 5000);
    assert_int_equal(c->listen_mode, 0660);
    config_free(c);
}

static void
test_bad_listens(void **state)
{
    static const char *const bad[][2] = {
        {"listen = 127.0.0.1:1\nlisten = 127.0.0.1:1\n", "given twice"},
        {"listen = unix:\n", "needs a path"},
        {"listen = unix:/a/very/long/path/"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.sock\n",
         "longer than"},
        {"listen_mode = 0999\n", "octal file mode"},
        {"listen_mode = rw\n", "octal file mode"},
        {"listen_mode = 01777\n", "octal file mode"},
        {"listen_group = no-such-group-here\n", "no group"},
        {"listen = 127.0.0.1:1\nlisten = 127.0.0.1:2\nlisten = 127.0.0.1:3\n"
         "listen = 127.0.0.1:4\nlisten = 127.0.0.1:5\nlisten = 127.0.0.1:6\n"
         "listen = 127.0.0.1:7\nlisten = 127.0.0.1:8\nlisten = 127.0.0.1:9\n"
         "listen = 127.0.0.1:10\nlisten = 127.0.0.1:11\n"
         "listen = 127.0.0.1:12\nlisten = 127.0.0.1:13\n"
         "listen = 127.0.0.1:14\nlisten = 127.0.0.1:15\n"
         "listen = 127.0.0.1:16\nlisten = 127.0.0.1:17\n",
         "more than 16"},
    };
    char text[1024], err[512];
    struct config *c;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "[server]\n%s", bad[i][0]);
        assert_int_equal(
            config_parse("t.ini", text, strlen(text), &c, err, sizeof(err)),
            -1);
        assert_non_null(strstr(err, bad[i][1]));
        assert_non_null(strstr(err, "t.ini:"));
    }
}

static void
test_threads(void **state)
{
    struct config *c;

    (void)state;
    c = load_ok("[server]\nthreads = 0\n");
    assert_int_equal(c->threads, 0);
    config_free(c);
    c = load_ok("[server]\nthreads = 256\n");
    assert_int_equal(c->threads, 256);
    config_free(c);
    load_fail("[server]\nthreads = -1\n", 2, "threads", "-1", NULL);
    load_fail("[server]\n\n\nthreads = abc\n", 4, "threads", "abc", NULL);
    load_fail("[server]\nthreads = 257\n", 2, "threads", "257", NULL);
    load_fail("[server]\nthreads = 4x\n", 2, "threads", NULL);
    load_fail("[server]\nthreads = 99999999999999999999\n", 2, "threads", NULL);
}

static void
test_int_ranges(void **state)
{
    (void)state;
    load_fail("[server]\nmax_batch = 0\n", 2, "max_batch", NULL);
    load_fail("[server]\nmax_depth = 1\n", 2, "max_depth", NULL);
    load_fail("[server]\nmax_depth = 1001\n", 2, "max_depth", NULL);
    load_fail("[server]\nmax_call_depth = -1\n", 2, "max_call_depth", NULL);
    load_fail("[server]\nmax_call_depth = 101\n", 2, "max_call_depth", NULL);
}

static void
test_endpoint_errors(void **state)
{
    (void)state;
    load_fail("[server]\nendpoint = rpc\n", 2, "endpoint", "rpc", NULL);
    load_fail("[server]\nendpoint = /a?b\n", 2, "endpoint", NULL);
    load_fail("[server]\nendpoint = /a#b\n", 2, "endpoint", NULL);
    load_fail("[server]\nendpoint = /a b\n", 2, "endpoint", NULL);
}

static void
test_key_before_section(void **state)
{
    (void)state;
    load_fail("; top\nthreads = 2\n[server]\n", 2, "threads", "section", NULL);
}

static void
test_syntax_error(void **state)
{
    (void)state;
    load_fail("[server]\nthreads = 2\nthis line has no equals sign\n", 3,
              "syntax", NULL);
    load_fail("[server\nthreads = 2\n", 1, "syntax", NULL);
}

static void
test_first_error_wins(void **state)
{
    (void)state;
    /* Our error on line 2 comes before inih's syntax error on line 3. */
    load_fail("[server]\nthreads = x\ngarbage\n", 2, "threads", NULL);
    /* inih's syntax error on line 2 comes before our error on line 3. */
    load_fail("[server]\ngarbage\nthreads = x\n", 2, "syntax", NULL);
}

static void
test_plugin_without_path(void **state)
{
    (void)state;
    load_fail("[server]\nthreads = 1\n\n[mine]\ncolor = red\nsize = 3\n", 5,
              "[mine]", "path", NULL);
}

static void
test_plugin_path_errors(void **state)
{
    (void)state;
    load_fail("[p]\npath = a.so\npath = b.so\n", 3, "path", "twice", NULL);
    load_fail("[p]\npath =\n", 2, "path", "empty", NULL);
    load_fail("[p]\npath = a.so\nk = 1\nk = 2\n", 4, "'k'", "twice", NULL);
}

static void
test_bad_section_name(void **state)
{
    (void)state;
    load_fail("[server]\n[bad name]\n\npath = x.so\n", 4, "bad name", NULL);
    load_fail("[a/b]\npath = x.so\n", 2, "a/b", NULL);
    load_fail("[p]\npath = x.so\n[caf\xc3\xa9]\npath = y.so\n", 4, "1..49",
              NULL);
}

/* "[" + n times 'n' + "]\npath = x.so\n" into text. */
static void
section_text(char *text, size_t size, size_t n)
{
    assert_true(n + 16 <= size);
    memset(text, 0, size);
    text[0] = '[';
    memset(text + 1, 'n', n);
    memcpy(text + 1 + n, "]\npath = x.so\n", 14);
}

/* Plugin section names may have up to 49 characters (libinih's limit,
 * CONFIG_MAX_SECTION), stored whole; a longer one is refused, never cut. */
static void
test_long_section_name(void **state)
{
    char text[128];
    struct config *c;
    size_t n, len;

    (void)state;
    section_text(text, sizeof(text), 49);
    c = load_ok(text);
    n = c->nplugins;
    len = strlen(c->plugins[0].name);
    config_free(c);
    assert_int_equal(n, 1);
    assert_int_equal(len, 49);
    section_text(text, sizeof(text), 50);
    load_fail(text, 1, "longer than 49", NULL);
}

/* A plugin key longer than inih's internal name buffer must not be
 * silently cut short (the plugin would never find it): either kept whole or
 * refused with an error. */
static void
test_long_plugin_key(void **state)
{
    char path[sizeof(TMPL)];
    char text[160], err[512] = "";
    struct config *c = NULL;
    int rc;

    (void)state;
    memset(text, 0, sizeof(text));
    memcpy(text, "[p]\npath = x.so\n", 16);
    memset(text + 16, 'k', 60);
    memcpy(text + 76, " = v\n", 5);
    write_tmp(path, text);
    rc = config_load(path, &c, err, sizeof(err));
    unlink(path);
    if (rc == 0) {
        assert_int_equal(c->plugins[0].nkv, 1);
        assert_int_equal(strlen(c->plugins[0].kv[0].key), 60);
        config_free(c);
    } else {
        assert_non_null(strstr(err, ":3: "));
    }
}

static void
test_plugins_stored(void **state)
{
    struct config *c;
    const struct plugin_conf *p;

    (void)state;
    c = load_ok("[server]\n"
                "threads = 1\n"
                "[first]\n"
                "greeting = hello world\n"
                "path = /opt/p/first.so\n"
                "count = 5\n"
                "[second-2.x]\n"
                "path = /abs/second.so\n");
    assert_int_equal(c->nplugins, 2);
    p = &c->plugins[0];
    assert_string_equal(p->name, "first");
    assert_string_equal(p->path, "/opt/p/first.so");
    assert_int_equal(p->line, 5);
    assert_int_equal(p->nkv, 2);
    assert_string_equal(p->kv[0].key, "greeting");
    assert_string_equal(p->kv[0].value, "hello world");
    assert_int_equal(p->kv[0].line, 4);
    assert_string_equal(p->kv[1].key, "count");
    assert_string_equal(p->kv[1].value, "5");
    assert_int_equal(p->kv[1].line, 6);
    assert_string_equal(plugin_conf_get(p, "greeting"), "hello world");
    assert_string_equal(plugin_conf_get(p, "count"), "5");
    assert_null(plugin_conf_get(p, "path"));
    assert_null(plugin_conf_get(p, "missing"));
    p = &c->plugins[1];
    assert_string_equal(p->name, "second-2.x");
    assert_string_equal(p->path, "/abs/second.so");
    assert_int_equal(p->line, 8);
    assert_int_equal(p->nkv, 0);
    config_free(c);
}

static void
test_relative_path(void **state)
{
    char top[] = "/tmp/rpchost-cfgdir-XXXXXX";
    char dir[64], file[96], cwd[4096];
    char err[512] = "";
    struct config *c = NULL;
    FILE *fp;
    int rc;

    (void)state;
    assert_non_null(mkdtemp(top));
    snprintf(dir, sizeof(dir), "%s/a", top);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(dir, sizeof(dir), "%s/a/b", top);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(file, sizeof(file), "%s/rpc.ini", dir);
    fp = fopen(file, "w");
    assert_non_null(fp);
    fputs("[rel]\npath = x.so\n[sub]\npath = lib/y.so\n[abs]\npath = "
          "/usr/lib/z.so\n",
          fp);
    assert_int_equal(fclose(fp), 0);

    /* Relative config file name: paths resolve against its folder. */
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(top), 0);
    rc = config_load("a/b/rpc.ini", &c, err, sizeof(err));
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, 0);
    assert_string_equal(c->dir, "a/b");
    assert_int_equal(c->nplugins, 3);
    assert_string_equal(c->plugins[0].path, "a/b/x.so");
    assert_string_equal(c->plugins[1].path, "a/b/lib/y.so");
    assert_string_equal(c->plugins[2].path, "/usr/lib/z.so");
    config_free(c);

    /* Absolute config file name. */
    rc = config_load(file, &c, err, sizeof(err));
    assert_int_equal(rc, 0);
    snprintf(file, sizeof(file), "%s/x.so", dir);
    assert_string_equal(c->plugins[0].path, file);
    assert_string_equal(c->plugins[2].path, "/usr/lib/z.so");
    config_free(c);

    snprintf(file, sizeof(file), "%s/rpc.ini", dir);
    assert_int_equal(unlink(file), 0);
    assert_int_equal(rmdir(dir), 0);
    snprintf(dir, sizeof(dir), "%s/a", top);
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(rmdir(top), 0);
}

static void
test_missing_file(void **state)
{
    char err[512] = "";
    struct config *c = (struct config *)&c;
    int rc;

    (void)state;
    rc = config_load("/tmp/rpchost-no-such-dir/rpc.ini", &c, err, sizeof(err));
    assert_int_equal(rc, -1);
    assert_null(c);
    assert_non_null(strstr(err, "/tmp/rpchost-no-such-dir/rpc.ini"));
    assert_non_null(strstr(err, "cannot open"));
    assert_non_null(strstr(err, "No such file"));
}

static void
test_long_line(void **state)
{
    size_t n = 5000;
    char *text = malloc(n + 64);
    size_t off;

    (void)state;
    assert_non_null(text);
    off = (size_t)snprintf(text, n + 64, "[server]\nthreads = 1\n[p]\nk = ");
    memset(text + off, 'v', n);
    memcpy(text + off + n, "\npath = x.so\n", 14);
    load_fail(text, 4, "line longer than", NULL);
    free(text);
}

static void
test_inline_comment_and_spaces(void **state)
{
    struct config *c;

    (void)state;
    c = load_ok("[server]\n"
                "  threads   =   3   ; three loops\n"
                "endpoint=/x\n");
    assert_int_equal(c->threads, 3);
    assert_string_equal(c->endpoint, "/x");
    config_free(c);
}

static void
test_error_buffer_small(void **state)
{
    char path[sizeof(TMPL)];
    char err[16];
    struct config *c;
    int rc;

    (void)state;
    write_tmp(path, "[server]\nthreads = zzz\n");
    memset(err, 'X', sizeof(err));
    rc = config_load(path, &c, err, sizeof(err));
    unlink(path);
    assert_int_equal(rc, -1);
    /* Truncated but terminated. */
    assert_int_equal(strlen(err), sizeof(err) - 1);
}

/* `include = conf.d/...ini`: the matches, sorted, parsed after the
 * including file, relative paths from their own folder; errors name the
 * included file; no folder is no match; the saved text (what a restarted
 * worker parses) holds the included files, so it parses the same config
 * once they are gone from disk. */
static void
test_include(void **state)
{
    char dir[] = "/tmp/rpchost-inc-XXXXXX", path[256], sub[128], a[256], b[256],
         err[1024] = "";
    struct config *c = NULL, *again = NULL;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/rpc.ini", dir);
    snprintf(sub, sizeof(sub), "%s/conf.d", dir);
    snprintf(a, sizeof(a), "%s/a.ini", sub);
    snprintf(b, sizeof(b), "%s/b.ini", sub);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("include = conf.d/*.ini\n[server]\nthreads = 2\n"
          "[first]\npath = /x/first.so\n",
          f);
    fclose(f);
    /* No conf.d folder: nothing included. */
    assert_int_equal(config_load(path, &c, err, sizeof(err)), 0);
    assert_int_equal(c->nplugins, 1);
    config_free(c);

    assert_int_equal(mkdir(sub, 0700), 0);
    f = fopen(b, "w");
    fputs("[bee]\npath = bee.so\nkey = 1\n", f);
    fclose(f);
    f = fopen(a, "w");
    fputs("[server]\nmax_batch = 7\n[ay]\npath = /x/ay.so\n", f);
    fclose(f);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), 0);
    assert_int_equal(c->nplugins, 3);
    assert_string_equal(c->plugins[0].name, "first");
    assert_string_equal(c->plugins[1].name, "ay");
    assert_string_equal(c->plugins[2].name, "bee");
    assert_string_equal(c->plugins[2].file, b);
    snprintf(err, sizeof(err), "%s/bee.so", sub);
    assert_string_equal(c->plugins[2].path, err);
    assert_int_equal(c->max_batch, 7);
    assert_int_equal(c->threads, 2);

    /* The saved text, parsed with the files gone. */
    unlink(a);
    unlink(b);
    assert_int_equal(
        config_parse(path, c->text, c->text_len, &again, err, sizeof(err)), 0);
    assert_int_equal(again->nplugins, 3);
    assert_string_equal(again->plugins[2].name, "bee");
    assert_int_equal(again->max_batch, 7);
    assert_int_equal(again->text_len, c->text_len);
    assert_memory_equal(again->text, c->text, c->text_len);
    config_free(again);
    config_free(c);

    /* A section given in two files; an error inside an included file. */
    f = fopen(a, "w");
    fputs("[first]\npath = /y.so\n", f);
    fclose(f);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
    /* Both places are the [first] headers: a.ini's line 1 and rpc.ini's
     * line 4, not the lines of their first keys. */
    assert_non_null(strstr(err, "a.ini:1: section [first] is already in"));
    assert_non_null(strstr(err, "rpc.ini (line 4)"));
    f = fopen(a, "w");
    fputs("; a comment\n\n[first]\n\nkey = 1\n", f);
    fclose(f);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "a.ini:3: section [first] is already in"));
    assert_non_null(strstr(err, "rpc.ini (line 4)"));
    f = fopen(a, "w");
    fputs("[server]\nthreads = 3\n", f);
    fclose(f);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "a.ini:2: "));
    /* A file that includes itself. */
    f = fopen(a, "w");
    fputs("include = a.ini\n[z]\npath = /z.so\n", f);
    fclose(f);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "a.ini:3: "));
    unlink(a);
    rmdir(sub);
    unlink(path);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty_file_defaults),
        cmocka_unit_test(test_full_server),
        cmocka_unit_test(test_size_suffixes),
        cmocka_unit_test(test_size_errors),
        cmocka_unit_test(test_seconds),
        cmocka_unit_test(test_stall_timeout),
        cmocka_unit_test(test_edge_keys),
        cmocka_unit_test(test_seconds_rounding),
        cmocka_unit_test(test_log_levels),
        cmocka_unit_test(test_log_format),
        cmocka_unit_test(test_notification_status),
        cmocka_unit_test(test_unknown_server_key),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_listen),
        cmocka_unit_test(test_listen_errors),
        cmocka_unit_test(test_listen_override),
        cmocka_unit_test(test_several_listens),
        cmocka_unit_test(test_bad_listens),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_int_ranges),
        cmocka_unit_test(test_endpoint_errors),
        cmocka_unit_test(test_key_before_section),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_plugin_without_path),
        cmocka_unit_test(test_plugin_path_errors),
        cmocka_unit_test(test_bad_section_name),
        cmocka_unit_test(test_long_section_name),
        cmocka_unit_test(test_long_plugin_key),
        cmocka_unit_test(test_plugins_stored),
        cmocka_unit_test(test_relative_path),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_inline_comment_and_spaces),
        cmocka_unit_test(test_error_buffer_small),
        cmocka_unit_test(test_include),
    };

    log_set_level(LEVEL_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
