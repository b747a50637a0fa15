/* SPDX-License-Identifier: MIT */
/*
 * serverkey.c - see serverkey.h: the [server] keys, each value checked
 * and stored into struct config (config.c reads the files and hands each
 * [server] key here).
 */
#define _GNU_SOURCE
#include "serverkey.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "forwarded.h"
#include "guard.h"
#include "limit.h"
#include "log.h"
#include "logline.h"
#include "util.h"

static int
parse_int(const char *s, long long min, long long max, long long *out)
{
    char *end;
    long long v;

    errno = 0;
    if (*s == '\0')
        return -1;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Bytes with an optional k/m/g suffix (powers of 1024). */
static int
parse_size(const char *s, long long min, long long max, long long *out)
{
    char *end;
    long long v, mul = 1;

    errno = 0;
    if (*s < '0' || *s > '9')
        return -1;
    v = strtoll(s, &end, 10);
    if (errno != 0)
        return -1;
    if (*end == 'k' || *end == 'K')
        mul = 1024;
    else if (*end == 'm' || *end == 'M')
        mul = 1024 * 1024;
    else if (*end == 'g' || *end == 'G')
        mul = 1024LL * 1024 * 1024;
    if (mul != 1)
        end++;
    if (*end != '\0' || v > LLONG_MAX / mul)
        return -1;
    v *= mul;
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Seconds (fractions allowed) into milliseconds in [min_ms, max_ms]. */
static int
parse_seconds(const char *s, long long min_ms, long long max_ms, int *out)
{
    char *end;
    double v;

    errno = 0;
    if (*s == '\0')
        return -1;
    v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v))
        return -1;
    v *= 1000.0;
    if (v < (double)min_ms || v > (double)max_ms)
        return -1;
    *out = (int)llround(v);
    return 0;
}

/* Append the listen address `value` (the first one given replaces the
 * default).  -1 with errbuf on a bad value, a duplicate, or one too many. */
int
serverkey_listen(struct config *c, const char *value, int *replaced,
                 char *errbuf, size_t errlen)
{
    struct address a;

    if (!*replaced) {
        for (int i = 0; i < c->nlistens; i++)
            address_free(&c->listens[i]);
        c->nlistens = 0;
        *replaced = 1;
    }
    if (address_parse(&a, value, c->dir, errbuf, errlen) != 0)
        return -1;
    for (int i = 0; i < c->nlistens; i++) {
        if (address_equal(&c->listens[i], &a)) {
            snprintf(errbuf, errlen, "listen: '%s' is given twice", value);
            address_free(&a);
            return -1;
        }
    }
    if (c->nlistens == ADDRESS_MAX) {
        snprintf(errbuf, errlen, "listen: more than %d addresses", ADDRESS_MAX);
        address_free(&a);
        return -1;
    }
    c->listens[c->nlistens++] = a;
    return 0;
}

/* Whether `value` is "name:N, name:N" with N in [min, max] and no name
 * twice; else -1 with why.  The names are checked against the methods
 * when the generation is built (admit.c). */
static int
check_method_ns(const char *value, long long min, long long max, char *why,
                size_t len)
{
    const char *p = value, *item, *name, *d, *q, *oname, *od;
    size_t nlen, dlen, onlen, odlen;
    long long v;
    char num[16];

    if (util_list_next(&p, &nlen) == NULL) {
        snprintf(why, len, "empty (give name:N, ...)");
        return -1;
    }
    p = value;
    while ((item = limit_methodn_next(&p, &name, &nlen, &d, &dlen)) != NULL) {
        memcpy(num, d, dlen < sizeof(num) ? dlen : 0);
        num[dlen < sizeof(num) ? dlen : 0] = '\0';
        if (nlen == 0 || dlen == 0 || dlen >= sizeof(num) ||
            parse_int(num, min, max, &v) != 0) {
            size_t n = (size_t)(d + dlen - item);
            snprintf(why, len, "'%.*s' is not METHOD:N with N in %lld..%lld",
                     (int)(n > 80 ? 80 : n), item, min, max);
            return -1;
        }
        q = value;
        while (limit_methodn_next(&q, &oname, &onlen, &od, &odlen) != item) {
            if (onlen == nlen && memcmp(oname, name, nlen) == 0) {
                snprintf(why, len, "method '%.*s' is given twice",
                         (int)(nlen > 80 ? 80 : nlen), name);
                return -1;
            }
        }
    }
    return 0;
}

enum key_kind {
    K_LISTEN,
    K_MODE,  /* octal file permissions */
    K_GROUP, /* a group that exists, by name or number */
    K_ENDPOINT,
    K_INT,
    K_SIZE,
    K_SECONDS,
    K_LEVEL,
    K_LOGFMT,
    K_PATH,
    K_URLPATH,
    K_STRING,
    K_HOSTS,
    K_RATE,     /* "N/s" (limit.h) */
    K_NETS,     /* addresses and CIDR ranges (forwarded.h) */
    K_METHODNS, /* "method:N, ..." */
    K_NOTIFY    /* 200 or 204 */
};

struct server_key {
    const char *name;
    enum key_kind kind;
    long long min, max;
    size_t off;
    int is_size_t;
};

#define OFF(f) offsetof(struct config, f)
static const struct server_key server_keys[] = {
    {"listen", K_LISTEN, 0, 0, 0, 0},
    {"listen_mode", K_MODE, 0, 0777, OFF(listen_mode), 0},
    {"listen_group", K_GROUP, 0, 0, OFF(listen_group), 0},
    {"endpoint", K_ENDPOINT, 0, 0, 0, 0},
    {"threads", K_INT, 0, CONFIG_MAX_THREADS, OFF(threads), 0},
    {"log_level", K_LEVEL, 0, 0, OFF(log_level), 0},
    {"log_format", K_LOGFMT, 0, 0, OFF(log_format), 0},
    {"max_body_size", K_SIZE, 1, 1LL << 32, OFF(max_body_size), 1},
    {"max_header_size", K_SIZE, 256, 1 << 20, OFF(max_header_size), 1},
    {"max_chunk_overhead", K_SIZE, 256, 1 << 24, OFF(max_chunk_overhead), 1},
    {"max_response_size", K_SIZE, 64, 1LL << 32, OFF(max_response_size), 1},
    {"max_batch", K_INT, 1, 1000000, OFF(max_batch), 0},
    {"max_depth", K_INT, 2, 1000, OFF(max_depth), 0},
    {"timeout", K_SECONDS, 1, 86400000, OFF(timeout_ms), 0},
    {"header_timeout", K_SECONDS, 100, 3600000, OFF(header_timeout_ms), 0},
    {"request_timeout", K_SECONDS, 100, 86400000, OFF(request_timeout_ms), 0},
    {"response_timeout", K_SECONDS, 100, 86400000, OFF(response_timeout_ms), 0},
    {"backlog", K_INT, 1, 65535, OFF(backlog), 0},
    {"shutdown_timeout", K_SECONDS, 0, 3600000, OFF(shutdown_timeout_ms), 0},
    {"call_timeout", K_SECONDS, 1, 3600000, OFF(call_timeout_ms), 0},
    /* 0: plugins may not call methods (subcall.c). */
    {"max_call_depth", K_INT, 0, 100, OFF(max_call_depth), 0},
    /* At least 1 s: a busy loop's sweep (every 100 ms) is never that
     * late without plugin code keeping it. */
    {"stall_timeout", K_SECONDS, 1000, 3600000, OFF(stall_timeout_ms), 0},
    /* 0: never replace the worker of a stalled loop. */
    {"stall_restart", K_SECONDS, 0, 86400000, OFF(stall_restart_ms), 0},
    {"pidfile", K_PATH, 0, 0, OFF(pidfile), 0},
    {"auth_file", K_PATH, 0, 0, OFF(auth_file), 0},
    {"cors_origins", K_STRING, 0, 0, OFF(cors_origins), 0},
    {"allowed_hosts", K_HOSTS, 0, 0, OFF(allowed_hosts), 0},
    {"health_path", K_URLPATH, 0, 0, OFF(health_path), 0},
    {"metrics_path", K_URLPATH, 0, 0, OFF(metrics_path), 0},
    {"access_log", K_PATH, 0, 0, OFF(access_log), 0},
    {"log_file", K_PATH, 0, 0, OFF(log_file), 0},
    {"notification_status", K_NOTIFY, 0, 0, OFF(notification_status), 0},
    {"max_connections", K_INT, 0, 1000000, OFF(max_connections), 0},
    {"rate_per_peer", K_RATE, 0, 0, OFF(rate_per_peer), 0},
    {"rate_per_peer_burst", K_INT, 1, 1000000, OFF(rate_per_peer_burst), 0},
    {"rate_per_credential", K_RATE, 0, 0, OFF(rate_per_credential), 0},
    {"rate_per_credential_burst", K_INT, 1, 1000000,
     OFF(rate_per_credential_burst), 0},
    {"rate_keys", K_INT, 16, LIMIT_MAX_KEYS, OFF(rate_keys), 0},
    {"method_concurrency", K_METHODNS, 1, 1000000, OFF(method_concurrency), 0},
    {"concurrency_queue", K_INT, 0, 100000, OFF(concurrency_queue), 0},
    {"trusted_proxies", K_NETS, 0, 0, OFF(trusted_proxies), 0},
};
#define N_SERVER_KEYS (sizeof(server_keys) / sizeof(server_keys[0]))
_Static_assert(N_SERVER_KEYS <= SERVERKEY_MAX, "serverkey.h's SERVERKEY_MAX");

/* Replace a string field with `v` (malloc()ed, or NULL to clear it when
 * `clear`; otherwise NULL means the allocation failed).  1, or 0 with the
 * error set, for inih. */
static int
set_field(struct iniread *rd, char **field, char *v, int clear)
{
    if (v == NULL && !clear) {
        iniread_fail(rd, "out of memory");
        return 0;
    }
    free(*field);
    *field = v;
    return 1;
}

int
serverkey_set(struct config *c, struct iniread *rd, char *seen,
              int *listen_given, const char *name, const char *value)
{
    char *cbase = (char *)c;
    char msg[256];
    long long v;
    size_t i;

    for (i = 0; i < N_SERVER_KEYS; i++)
        if (strcmp(server_keys[i].name, name) == 0)
            break;
    if (i == N_SERVER_KEYS) {
        iniread_fail(rd, "unknown key '%s' in [server]", name);
        return 0;
    }
    if (seen[i] && server_keys[i].kind != K_LISTEN) {
        iniread_fail(rd, "key '%s' set twice in [server]", name);
        return 0;
    }
    seen[i] = 1;
    const struct server_key *k = &server_keys[i];
    switch (k->kind) {
    case K_LISTEN:
        if (serverkey_listen(c, value, listen_given, msg, sizeof(msg)) != 0) {
            iniread_fail(rd, "%s", msg);
            return 0;
        }
        return 1;
    case K_ENDPOINT:
        if (value[0] != '/' || strpbrk(value, " ?#\t") != NULL) {
            iniread_fail(rd,
                         "endpoint: '%s' must be a path starting with '/' "
                         "(no spaces, '?' or '#')",
                         value);
            return 0;
        }
        return set_field(rd, &c->endpoint, strdup(value), 0);
    case K_PATH:
        if (value[0] == '\0') {
            iniread_fail(rd, "%s: empty path", name);
            return 0;
        }
        return set_field(rd, (char **)(cbase + k->off), config_path(c, value),
                         0);
    case K_URLPATH:
        if (value[0] == '\0')
            return set_field(rd, (char **)(cbase + k->off), NULL, 1); /* off */
        if (value[0] != '/' || strpbrk(value, " ?#\t") != NULL) {
            iniread_fail(rd,
                         "%s: '%s' must be empty or a path starting with '/'",
                         name, value);
            return 0;
        }
        return set_field(rd, (char **)(cbase + k->off), strdup(value), 0);
    case K_STRING:
        return set_field(rd, (char **)(cbase + k->off), strdup(value), 0);
    case K_HOSTS:
        if (!guard_hosts_valid(value)) {
            iniread_fail(
                rd,
                "%s: '%s' is not '*' or a comma-separated list of host "
                "names and addresses (without a port: the request's port "
                "is not compared)",
                name, value);
            return 0;
        }
        return set_field(rd, (char **)(cbase + k->off), strdup(value), 0);
    case K_RATE:
        if (limit_rate_parse(value, (double *)(cbase + k->off)) != 0) {
            iniread_fail(rd,
                         "%s: '%s' is not a rate N/s, N/m or N/h (N > 0, "
                         "at most 1e9/s)",
                         name, value);
            return 0;
        }
        return 1;
    case K_NETS: {
        struct netlist *l = netlist_parse(value, msg, sizeof(msg));

        if (l == NULL) {
            iniread_fail(rd, "%s: %s", name, msg);
            return 0;
        }
        netlist_free(l);
        return set_field(rd, (char **)(cbase + k->off), strdup(value), 0);
    }
    case K_METHODNS:
        if (check_method_ns(value, k->min, k->max, msg, sizeof(msg)) != 0) {
            iniread_fail(rd, "%s: %s", name, msg);
            return 0;
        }
        c->method_concurrency_line = rd->line;
        return set_field(rd, (char **)(cbase + k->off), strdup(value), 0);
    case K_LEVEL:
        v = log_level_parse(value);
        if (v < 0) {
            iniread_fail(rd,
                         "log_level: '%s' is not one of error, warn, info, "
                         "debug",
                         value);
            return 0;
        }
        c->log_level = (int)v;
        return 1;
    case K_LOGFMT:
        v = logline_format_parse(value);
        if (v < 0) {
            iniread_fail(rd, "log_format: '%s' is not one of text, json",
                         value);
            return 0;
        }
        c->log_format = (int)v;
        return 1;
    case K_GROUP:
        if (config_group_id(value, NULL) != 0) {
            iniread_fail(rd, "%s: no group '%s' on this system", name, value);
            return 0;
        }
        return set_field(rd, (char **)(cbase + k->off), strdup(value), 0);
    case K_MODE: {
        char *end;
        long m = strtol(value, &end, 8);

        if (value[0] == '\0' || *end != '\0' || m < 0 || m > k->max ||
            value[0] == '-') {
            iniread_fail(rd,
                         "%s: '%s' is not an octal file mode in 0..0777 "
                         "(e.g. 0660)",
                         name, value);
            return 0;
        }
        *(int *)(cbase + k->off) = (int)m;
        return 1;
    }
    case K_NOTIFY:
        if (strcmp(value, "200") != 0 && strcmp(value, "204") != 0) {
            iniread_fail(rd, "%s: '%s' is not 200 or 204", name, value);
            return 0;
        }
        *(int *)(cbase + k->off) = value[2] == '4' ? 204 : 200;
        return 1;
    case K_INT:
        if (parse_int(value, k->min, k->max, &v) != 0) {
            iniread_fail(rd, "%s: '%s' is not an integer in %lld..%lld", name,
                         value, k->min, k->max);
            return 0;
        }
        *(int *)(cbase + k->off) = (int)v;
        return 1;
    case K_SIZE:
        if (parse_size(value, k->min, k->max, &v) != 0) {
            iniread_fail(rd,
                         "%s: '%s' is not a size in %lld..%lld bytes "
                         "(suffix k, m or g allowed)",
                         name, value, k->min, k->max);
            return 0;
        }
        *(size_t *)(cbase + k->off) = (size_t)v;
        return 1;
    case K_SECONDS:
        if (parse_seconds(value, k->min, k->max, (int *)(cbase + k->off)) !=
            0) {
            iniread_fail(rd, "%s: '%s' is not a number of seconds in %g..%g",
                         name, value, (double)k->min / 1000,
                         (double)k->max / 1000);
            return 0;
        }
        return 1;
    }
    return 0;
}
