/* SPDX-License-Identifier: MIT */
/*
 * config.c - see config.h.  Parsing is libinih's, through iniread.h's
 * reader, which counts lines so every message names the line of the
 * offending key; this file only checks and stores what it hands over.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "address.h"
#include "guard.h"
#include "forwarded.h"
#include "iniread.h"
#include "limit.h"
#include "log.h"
#include "util.h"

struct parse_state {
    struct config *c;
    struct iniread rd;  /* the line inih is at, and the first error */
    char *seen;         /* bitmap of [server] keys already set */
    char empty_sec[64]; /* plugin section header with no key yet */
    int empty_line;
    int section_line; /* line of the current section's `[name]` header */
    int listen_given; /* a `listen` key replaced the default address */
    /* Includes: the current file and its `include` keys (with lines). */
    const char *file;
    char *patterns[CONFIG_MAX_PATTERNS];
    int pattern_line[CONFIG_MAX_PATTERNS];
    int npatterns;
    int nincluded;
    const char *saved; /* a saved text's included files, or NULL */
    size_t saved_len;
};

void
config_defaults(struct config *c)
{
    memset(c, 0, sizeof(*c));
    c->listen_mode = CONFIG_DEFAULT_LISTEN_MODE;
    c->threads = 0;
    c->log_level = LEVEL_INFO;
    c->log_format = LOG_FORMAT_TEXT;
    c->max_body_size = CONFIG_DEFAULT_MAX_BODY;
    c->max_header_size = CONFIG_DEFAULT_MAX_HEADER;
    c->max_response_size = CONFIG_DEFAULT_MAX_RESPONSE;
    c->max_batch = CONFIG_DEFAULT_MAX_BATCH;
    c->max_depth = CONFIG_DEFAULT_MAX_DEPTH;
    c->timeout_ms = CONFIG_DEFAULT_TIMEOUT_MS;
    c->header_timeout_ms = CONFIG_DEFAULT_HEADER_TIMEOUT_MS;
    c->request_timeout_ms = CONFIG_DEFAULT_REQUEST_TIMEOUT_MS;
    c->response_timeout_ms = CONFIG_DEFAULT_RESPONSE_TIMEOUT_MS;
    c->backlog = CONFIG_DEFAULT_BACKLOG;
    c->shutdown_timeout_ms = CONFIG_DEFAULT_SHUTDOWN_MS;
    c->call_timeout_ms = CONFIG_DEFAULT_CALL_TIMEOUT_MS;
    c->max_call_depth = CONFIG_DEFAULT_MAX_CALL_DEPTH;
    c->stall_timeout_ms = CONFIG_DEFAULT_STALL_TIMEOUT_MS;
    c->stall_restart_ms = CONFIG_DEFAULT_STALL_RESTART_MS;
    c->max_connections = CONFIG_DEFAULT_MAX_CONNECTIONS;
    c->rate_keys = CONFIG_DEFAULT_RATE_KEYS;
    c->concurrency_queue = CONFIG_DEFAULT_CONCURRENCY_QUEUE;
    c->notification_status = CONFIG_DEFAULT_NOTIFICATION_STATUS;
}

/* Parse a whole decimal integer in [min, max]. */
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
static int
add_listen(struct config *c, const char *value, int *replaced, char *errbuf,
           size_t errlen)
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

/* Resolve `value` against the config file's folder. */
static char *
resolve_path(const struct config *c, const char *value)
{
    char *out;

    if (value[0] == '/' || c->dir == NULL)
        return strdup(value);
    if (asprintf(&out, "%s/%s", c->dir, value) < 0)
        return NULL;
    return out;
}

/* Whether `value` is "name:N, name:N" with N in [min, max] and no name
 * twice; else -1 with why.  The names are checked against the methods
 * when the generation is built (admit.c). */
static int
check_method_ns(const char *value, long long min, long long max, char *why,
                size_t len)
{
    const char *p = value, *item, *other;
    size_t n, m;
    long long v;
    char num[16];

    if (util_list_next(&p, &n) == NULL) {
        snprintf(why, len, "empty (give name:N, ...)");
        return -1;
    }
    p = value;
    while ((item = util_list_next(&p, &n)) != NULL) {
        const char *colon = memchr(item, ':', n);
        const char *q = value;
        size_t nlen = colon ? (size_t)(colon - item) : 0;
        size_t dlen = colon ? n - nlen - 1 : 0;

        memcpy(num, colon ? colon + 1 : "", dlen < sizeof(num) ? dlen : 0);
        num[dlen < sizeof(num) ? dlen : 0] = '\0';
        if (nlen == 0 || dlen == 0 || dlen >= sizeof(num) ||
            parse_int(num, min, max, &v) != 0) {
            snprintf(why, len, "'%.*s' is not METHOD:N with N in %lld..%lld",
                     (int)(n > 80 ? 80 : n), item, min, max);
            return -1;
        }
        while ((other = util_list_next(&q, &m)) != item) {
            if (m > nlen && other[nlen] == ':' &&
                memcmp(other, item, nlen) == 0) {
                snprintf(why, len, "method '%.*s' is given twice",
                         (int)(nlen > 80 ? 80 : nlen), item);
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

/* Replace a string field with `v` (malloc()ed, or NULL to clear it when
 * `clear`; otherwise NULL means the allocation failed).  1, or 0 with the
 * error set, for inih. */
static int
set_field(struct parse_state *st, char **field, char *v, int clear)
{
    if (v == NULL && !clear) {
        iniread_fail(&st->rd, "out of memory");
        return 0;
    }
    free(*field);
    *field = v;
    return 1;
}

static int
server_key(struct parse_state *st, const char *name, const char *value)
{
    struct config *c = st->c;
    char *cbase = (char *)c;
    char msg[256];
    long long v;
    size_t i;

    for (i = 0; i < N_SERVER_KEYS; i++)
        if (strcmp(server_keys[i].name, name) == 0)
            break;
    if (i == N_SERVER_KEYS) {
        iniread_fail(&st->rd, "unknown key '%s' in [server]", name);
        return 0;
    }
    if (st->seen[i] && server_keys[i].kind != K_LISTEN) {
        iniread_fail(&st->rd, "key '%s' set twice in [server]", name);
        return 0;
    }
    st->seen[i] = 1;
    const struct server_key *k = &server_keys[i];
    switch (k->kind) {
    case K_LISTEN:
        if (add_listen(c, value, &st->listen_given, msg, sizeof(msg)) != 0) {
            iniread_fail(&st->rd, "%s", msg);
            return 0;
        }
        return 1;
    case K_ENDPOINT:
        if (value[0] != '/' || strpbrk(value, " ?#\t") != NULL) {
            iniread_fail(&st->rd,
                         "endpoint: '%s' must be a path starting with '/' "
                         "(no spaces, '?' or '#')",
                         value);
            return 0;
        }
        return set_field(st, &c->endpoint, strdup(value), 0);
    case K_PATH:
        if (value[0] == '\0') {
            iniread_fail(&st->rd, "%s: empty path", name);
            return 0;
        }
        return set_field(st, (char **)(cbase + k->off), resolve_path(c, value),
                         0);
    case K_URLPATH:
        if (value[0] == '\0')
            return set_field(st, (char **)(cbase + k->off), NULL, 1); /* off */
        if (value[0] != '/' || strpbrk(value, " ?#\t") != NULL) {
            iniread_fail(&st->rd,
                         "%s: '%s' must be empty or a path starting with '/'",
                         name, value);
            return 0;
        }
        return set_field(st, (char **)(cbase + k->off), strdup(value), 0);
    case K_STRING:
        return set_field(st, (char **)(cbase + k->off), strdup(value), 0);
    case K_HOSTS:
        if (!guard_hosts_valid(value)) {
            iniread_fail(
                &st->rd,
                "%s: '%s' is not '*' or a comma-separated list of host "
                "names and addresses (without a port: the request's port "
                "is not compared)",
                name, value);
            return 0;
        }
        return set_field(st, (char **)(cbase + k->off), strdup(value), 0);
    case K_RATE:
        if (limit_rate_parse(value, (double *)(cbase + k->off)) != 0) {
            iniread_fail(&st->rd,
                         "%s: '%s' is not a rate N/s, N/m or N/h (N > 0, "
                         "at most 1e9/s)",
                         name, value);
            return 0;
        }
        return 1;
    case K_NETS: {
        struct netlist *l = netlist_parse(value, msg, sizeof(msg));

        if (l == NULL) {
            iniread_fail(&st->rd, "%s: %s", name, msg);
            return 0;
        }
        netlist_free(l);
        return set_field(st, (char **)(cbase + k->off), strdup(value), 0);
    }
    case K_METHODNS:
        if (check_method_ns(value, k->min, k->max, msg, sizeof(msg)) != 0) {
            iniread_fail(&st->rd, "%s: %s", name, msg);
            return 0;
        }
        c->method_concurrency_line = st->rd.line;
        return set_field(st, (char **)(cbase + k->off), strdup(value), 0);
    case K_LEVEL:
        v = log_level_parse(value);
        if (v < 0) {
            iniread_fail(&st->rd,
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
            iniread_fail(&st->rd, "log_format: '%s' is not one of text, json",
                         value);
            return 0;
        }
        c->log_format = (int)v;
        return 1;
    case K_GROUP:
        if (config_group_id(value, NULL) != 0) {
            iniread_fail(&st->rd, "%s: no group '%s' on this system", name,
                         value);
            return 0;
        }
        return set_field(st, (char **)(cbase + k->off), strdup(value), 0);
    case K_MODE: {
        char *end;
        long m = strtol(value, &end, 8);

        if (value[0] == '\0' || *end != '\0' || m < 0 || m > k->max ||
            value[0] == '-') {
            iniread_fail(&st->rd,
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
            iniread_fail(&st->rd, "%s: '%s' is not 200 or 204", name, value);
            return 0;
        }
        *(int *)(cbase + k->off) = value[2] == '4' ? 204 : 200;
        return 1;
    case K_INT:
        if (parse_int(value, k->min, k->max, &v) != 0) {
            iniread_fail(&st->rd, "%s: '%s' is not an integer in %lld..%lld",
                         name, value, k->min, k->max);
            return 0;
        }
        *(int *)(cbase + k->off) = (int)v;
        return 1;
    case K_SIZE:
        if (parse_size(value, k->min, k->max, &v) != 0) {
            iniread_fail(&st->rd,
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
            iniread_fail(&st->rd,
                         "%s: '%s' is not a number of seconds in %g..%g", name,
                         value, (double)k->min / 1000, (double)k->max / 1000);
            return 0;
        }
        return 1;
    }
    return 0;
}

static struct plugin_conf *
find_plugin(struct config *c, const char *name)
{
    for (size_t i = 0; i < c->nplugins; i++)
        if (strcmp(c->plugins[i].name, name) == 0)
            return &c->plugins[i];
    return NULL;
}

static int
plugin_key(struct parse_state *st, const char *section, const char *name,
           const char *value)
{
    struct config *c = st->c;
    struct plugin_conf *p = find_plugin(c, section);

    if (p != NULL && strcmp(p->file, st->file) != 0) {
        iniread_fail_at(&st->rd, st->section_line,
                        "section [%s] is already in %s (line %d)", section,
                        p->file, p->section_line);
        return 0;
    }
    if (p == NULL) {
        struct plugin_conf *np;

        if (strlen(section) == 0 || strlen(section) > CONFIG_MAX_SECTION ||
            strspn(section, "abcdefghijklmnopqrstuvwxyz"
                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
                strlen(section)) {
            iniread_fail(&st->rd,
                         "section [%s]: a plugin section's name must be 1..49 "
                         "characters of A-Z a-z 0-9 _ - .",
                         section);
            return 0;
        }
        np = realloc(c->plugins, (c->nplugins + 1) * sizeof(*np));
        if (np == NULL) {
            iniread_fail(&st->rd, "out of memory");
            return 0;
        }
        c->plugins = np;
        p = &c->plugins[c->nplugins];
        memset(p, 0, sizeof(*p));
        p->name = strdup(section);
        p->file = strdup(st->file);
        p->line = st->rd.line;
        p->section_line = st->section_line;
        c->nplugins++;
        if (p->name == NULL || p->file == NULL) {
            iniread_fail(&st->rd, "out of memory");
            return 0;
        }
    }
    if (strcmp(name, "path") == 0) {
        if (p->path != NULL) {
            iniread_fail(&st->rd, "key 'path' set twice in [%s]", section);
            return 0;
        }
        if (value[0] == '\0') {
            iniread_fail(&st->rd, "[%s] path: empty", section);
            return 0;
        }
        p->line = st->rd.line;
        p->path = resolve_path(c, value);
        if (p->path == NULL) {
            iniread_fail(&st->rd, "out of memory");
            return 0;
        }
        return 1;
    }
    if (plugin_conf_get(p, name) != NULL) {
        iniread_fail(&st->rd, "key '%s' set twice in [%s]", name, section);
        return 0;
    }
    struct config_kv *nkv = realloc(p->kv, (p->nkv + 1) * sizeof(*nkv));
    if (nkv == NULL) {
        iniread_fail(&st->rd, "out of memory");
        return 0;
    }
    p->kv = nkv;
    nkv[p->nkv].key = strdup(name);
    nkv[p->nkv].value = strdup(value);
    nkv[p->nkv].line = st->rd.line;
    p->nkv++;
    if (nkv[p->nkv - 1].key == NULL || nkv[p->nkv - 1].value == NULL) {
        iniread_fail(&st->rd, "out of memory");
        return 0;
    }
    return 1;
}

static int
on_key(void *user, const char *section, const char *name, const char *value)
{
    struct parse_state *st = user;

    st->empty_sec[0] = '\0';

    if (st->rd.err[0] != '\0')
        return 1; /* report only the first error; inih keeps going */
    if (section[0] == '\0') {
        if (strcmp(name, "include") != 0) {
            iniread_fail(&st->rd, "key '%s' before any [section]", name);
            return 0;
        }
        if (value[0] == '\0') {
            iniread_fail(&st->rd, "include: empty");
            return 0;
        }
        if (st->npatterns == CONFIG_MAX_PATTERNS) {
            iniread_fail(&st->rd, "include: more than %d in one file",
                         CONFIG_MAX_PATTERNS);
            return 0;
        }
        st->pattern_line[st->npatterns] = st->rd.line;
        st->patterns[st->npatterns] = strdup(value);
        if (st->patterns[st->npatterns++] == NULL) {
            iniread_fail(&st->rd, "out of memory");
            return 0;
        }
        return 1;
    }
    if (strcmp(section, "server") == 0)
        return server_key(st, name, value);
    return plugin_key(st, section, name, value);
}

/* Record that the section header on st->empty_line had no key. */
static void
fail_empty_section(struct parse_state *st)
{
    iniread_fail_at(&st->rd, st->empty_line,
                    "section [%s] is empty (every section but [server] "
                    "names a plugin with a 'path' key)",
                    st->empty_sec);
}

/* inih keeps section names in a 50-byte buffer and never reports a
 * section without keys; look at section header lines here (the reader's
 * iniread_line_fn, ctx the parse_state) so neither passes silently. */
static void
check_section_line(void *ctx, const char *line)
{
    struct parse_state *st = ctx;
    const char *p = line + strspn(line, " \t");
    const char *end;
    size_t n;

    if (*p != '[')
        return;
    end = strchr(p, ']');
    if (end == NULL)
        return; /* inih reports the syntax error */
    n = (size_t)(end - p - 1);
    if (n > CONFIG_MAX_SECTION) {
        iniread_fail(&st->rd, "section name longer than %d characters",
                     CONFIG_MAX_SECTION);
        return;
    }
    if (st->empty_sec[0] != '\0' && st->rd.err[0] == '\0') {
        fail_empty_section(st);
        return;
    }
    memcpy(st->empty_sec, p + 1, n);
    st->empty_sec[n] = '\0';
    st->empty_line = st->rd.line;
    st->section_line = st->rd.line;
    if (strcmp(st->empty_sec, "server") == 0)
        st->empty_sec[0] = '\0';
}

/* Timeouts that work against each other: allowed, but said. */
static void
warn_timeouts(const struct config *c)
{
    if (c->call_timeout_ms >= c->timeout_ms)
        log_warn("%s: call_timeout (%.3g s) is not below timeout (%.3g s): "
                 "a slow deferred call's connection may be dropped before "
                 "its -32001 answer",
                 c->file, c->call_timeout_ms / 1000.0, c->timeout_ms / 1000.0);
    if (c->header_timeout_ms > c->request_timeout_ms)
        log_warn("%s: header_timeout (%.3g s) is above request_timeout "
                 "(%.3g s), which then bounds the headers too",
                 c->file, c->header_timeout_ms / 1000.0,
                 c->request_timeout_ms / 1000.0);
    if (c->stall_restart_ms > 0 && c->stall_restart_ms < c->stall_timeout_ms)
        log_warn("%s: stall_restart (%.3g s) is below stall_timeout (%.3g "
                 "s): a stalled loop's worker is replaced once it is "
                 "reported",
                 c->file, c->stall_restart_ms / 1000.0,
                 c->stall_timeout_ms / 1000.0);
}

/* The whole file into a new NUL-terminated buffer (*len its length). */
static char *
read_text(const char *file, size_t *len, char *errbuf, size_t errlen)
{
    FILE *f = fopen(file, "r");
    char *text = NULL;
    size_t n = 0, cap = 0;

    if (f == NULL) {
        snprintf(errbuf, errlen, "%s: cannot open: %s", file, strerror(errno));
        return NULL;
    }
    for (;;) {
        char *more;
        size_t got;

        if (n == cap) {
            /* Room for one byte past the limit: reading it means over. */
            if (cap > CONFIG_MAX_TEXT) {
                snprintf(errbuf, errlen, "%s: larger than %d bytes", file,
                         CONFIG_MAX_TEXT);
                break;
            }
            cap = cap ? cap * 2 : 8192;
            if (cap > (size_t)CONFIG_MAX_TEXT + 1)
                cap = (size_t)CONFIG_MAX_TEXT + 1;
            more = realloc(text, cap + 1);
            if (more == NULL) {
                snprintf(errbuf, errlen, "%s: out of memory", file);
                break;
            }
            text = more;
        }
        got = fread(text + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                snprintf(errbuf, errlen, "%s: read error: %s", file,
                         strerror(errno));
                break;
            }
            fclose(f);
            text[n] = '\0';
            *len = n;
            return text;
        }
    }
    fclose(f);
    free(text);
    return NULL;
}

/* Append "\0" (once, after the main file's text) and "PATH\0TEXT" for an
 * included file to c->text: what a restart parses again (config.h). */
static int
save_included(struct config *c, const char *path, const char *text, size_t len)
{
    size_t plen = strlen(path);
    size_t need = c->text_len + 1 + plen + 1 + len + 1;
    char *t;

    if (need > (size_t)CONFIG_MAX_TEXT + 1)
        return -1;
    t = realloc(c->text, need);
    if (t == NULL)
        return -1;
    c->text = t;
    t += c->text_len;
    *t++ = '\0';
    memcpy(t, path, plen + 1);
    t += plen + 1;
    memcpy(t, text, len);
    t[len] = '\0';
    c->text_len = need - 1;
    return 0;
}

static int
compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files `pattern` (with the including file's folder before a
 * relative one) matches, sorted by name: from disk (glob), or from the
 * saved config's included files.  No match is an empty list.  0, or -1
 * (out of memory). */
static int
match_includes(const struct parse_state *st, const char *pattern, char ***out,
               size_t *n)
{
    *out = NULL;
    *n = 0;
    if (st->saved == NULL) {
        glob_t g;
        int rc = glob(pattern, GLOB_NOSORT, NULL, &g);

        if (rc == GLOB_NOMATCH || rc == GLOB_ABORTED)
            return 0;
        if (rc != 0)
            return -1;
        *out = calloc(g.gl_pathc ? g.gl_pathc : 1, sizeof(char *));
        for (size_t i = 0; *out != NULL && i < g.gl_pathc; i++) {
            (*out)[i] = strdup(g.gl_pathv[i]);
            if ((*out)[i] == NULL)
                break;
            (*n)++;
        }
        globfree(&g);
        if (*out == NULL || *n < g.gl_pathc)
            return -1;
    } else {
        const char *p = st->saved, *end = st->saved + st->saved_len;

        while (p < end) {
            const char *path = p, *text = p + strnlen(p, (size_t)(end - p));
            char **more;

            if (text >= end)
                break;
            text++;
            p = text + strnlen(text, (size_t)(end - text)) + 1;
            if (fnmatch(pattern, path, FNM_PATHNAME | FNM_PERIOD) != 0)
                continue;
            more = realloc(*out, (*n + 1) * sizeof(char *));
            if (more == NULL)
                return -1;
            *out = more;
            (*out)[*n] = strdup(path);
            if ((*out)[*n] == NULL)
                return -1;
            (*n)++;
        }
    }
    if (*n > 1)
        qsort(*out, *n, sizeof(char *), compare_paths);
    return 0;
}

/* An included file's text: the saved one, or read from disk (NULL and
 * errbuf set when it cannot be read). */
static char *
included_text(const struct parse_state *st, const char *path, size_t *len,
              char *errbuf, size_t errlen)
{
    const char *p, *end;
    char *text;

    if (st->saved == NULL) {
        struct stat sb;

        /* A FIFO or a device (conf.d/x.ini -> /dev/stdin) would block or
         * never end; only regular files are configs. */
        if (stat(path, &sb) != 0) {
            snprintf(errbuf, errlen, "%s: cannot open: %s", path,
                     strerror(errno));
            return NULL;
        }
        if (!S_ISREG(sb.st_mode)) {
            snprintf(errbuf, errlen, "%s: not a regular file", path);
            return NULL;
        }
        text = read_text(path, len, errbuf, errlen);
        if (text != NULL && memchr(text, '\0', *len) != NULL) {
            snprintf(errbuf, errlen, "%s: holds a NUL byte", path);
            free(text);
            return NULL;
        }
        return text;
    }
    p = st->saved;
    end = st->saved + st->saved_len;
    while (p < end) {
        const char *name = p, *t = p + strnlen(p, (size_t)(end - p));
        size_t n;

        if (t >= end)
            break;
        t++;
        n = strnlen(t, (size_t)(end - t));
        p = t + n + 1;
        if (strcmp(name, path) == 0) {
            text = malloc(n + 1);
            if (text == NULL)
                break;
            memcpy(text, t, n);
            text[n] = '\0';
            *len = n;
            return text;
        }
    }
    snprintf(errbuf, errlen, "%s: not in the saved config", path);
    return NULL;
}

static int parse_file(struct parse_state *st, const char *file, int depth,
                      char *errbuf, size_t errlen);

/* Parse the files that the include keys `patterns` (lines `lines`, in
 * `file`, whose folder is c->dir) name, in order, each pattern's matches
 * sorted; c->dir is each included file's folder while it is parsed. */
static int
parse_includes(struct parse_state *st, const char *file, char **patterns,
               const int *lines, int n, int depth, char *errbuf, size_t errlen)
{
    struct config *c = st->c;
    int rc = 0;

    for (int i = 0; i < n && rc == 0; i++) {
        char *pattern = resolve_path(c, patterns[i]), **paths = NULL;
        size_t npaths = 0;

        if (pattern == NULL || match_includes(st, pattern, &paths, &npaths)) {
            snprintf(errbuf, errlen, "%s:%d: include = %s: out of memory", file,
                     lines[i], patterns[i]);
            rc = -1;
        }
        if (rc == 0 && npaths > 0 && depth + 1 > CONFIG_MAX_INCLUDE_DEPTH) {
            snprintf(errbuf, errlen,
                     "%s:%d: include = %s: includes nested deeper than %d "
                     "files (does a file include itself?)",
                     file, lines[i], patterns[i], CONFIG_MAX_INCLUDE_DEPTH);
            rc = -1;
        }
        for (size_t j = 0; rc == 0 && j < npaths; j++) {
            char *saved_dir = c->dir;
            const char *slash = strrchr(paths[j], '/');

            if (++st->nincluded > CONFIG_MAX_INCLUDED) {
                snprintf(errbuf, errlen,
                         "%s:%d: include = %s: more than %d files included",
                         file, lines[i], patterns[i], CONFIG_MAX_INCLUDED);
                rc = -1;
                break;
            }
            c->dir = slash ? strndup(paths[j], (size_t)(slash - paths[j] +
                                                        (slash == paths[j])))
                           : strdup(".");
            if (c->dir == NULL) {
                snprintf(errbuf, errlen, "%s: out of memory", paths[j]);
                rc = -1;
            } else {
                rc = parse_file(st, paths[j], depth + 1, errbuf, errlen);
            }
            free(c->dir);
            c->dir = saved_dir;
        }
        for (size_t j = 0; j < npaths; j++)
            free(paths[j]);
        free(paths);
        free(pattern);
    }
    return rc;
}

/* Parse `file`: the main one (depth 0, its text in c->text) or an
 * included one (read, and saved into c->text); then its includes. */
static int
parse_file(struct parse_state *st, const char *file, int depth, char *errbuf,
           size_t errlen)
{
    struct config *c = st->c;
    char *patterns[CONFIG_MAX_PATTERNS];
    int lines[CONFIG_MAX_PATTERNS], n, rc;
    char *text = NULL;
    size_t len;
    FILE *fp;

    if (depth == 0) {
        len = c->text_len;
        fp = fmemopen(len > 0 ? c->text : "\n", len > 0 ? len : 1, "r");
    } else {
        text = included_text(st, file, &len, errbuf, errlen);
        if (text == NULL)
            return -1;
        if (save_included(c, file, text, len) != 0) {
            snprintf(errbuf, errlen,
                     "%s: the config with its includes is larger than %d "
                     "bytes",
                     file, CONFIG_MAX_TEXT);
            free(text);
            return -1;
        }
        /* An empty buffer is not fmemopen()'s to read: an empty line is
         * the same config. */
        fp = fmemopen(len > 0 ? text : "\n", len > 0 ? len : 1, "r");
    }
    if (fp == NULL) {
        snprintf(errbuf, errlen, "%s: %s", file, strerror(errno));
        free(text);
        return -1;
    }
    st->file = file;
    st->npatterns = 0;
    st->empty_sec[0] = '\0';
    iniread_init(&st->rd, fp, check_section_line, st);
    rc = iniread_parse(&st->rd, on_key, st);
    if (st->empty_sec[0] != '\0')
        fail_empty_section(st);
    rc = iniread_result(&st->rd, rc, file,
                        "syntax error (expected [section], key = value, or "
                        "a ';' or '#' comment)",
                        errbuf, errlen);
    fclose(fp);
    free(text);
    n = st->npatterns;
    memcpy(patterns, st->patterns, sizeof(patterns[0]) * (size_t)n);
    memcpy(lines, st->pattern_line, sizeof(lines[0]) * (size_t)n);
    st->npatterns = 0;
    /* The marker that makes the saved text a saved config (config.h),
     * even when the patterns match nothing. */
    if (rc == 0 && depth == 0 && n > 0 && save_included(c, "", "", 0) != 0) {
        snprintf(errbuf, errlen, "%s: out of memory", file);
        rc = -1;
    }
    if (rc == 0)
        rc =
            parse_includes(st, file, patterns, lines, n, depth, errbuf, errlen);
    for (int i = 0; i < n; i++)
        free(patterns[i]);
    return rc;
}

int
config_load(const char *file, struct config **out, char *errbuf, size_t errlen)
{
    size_t len = 0;
    char *text = read_text(file, &len, errbuf, errlen);
    int rc;

    *out = NULL;
    if (text == NULL)
        return -1;
    if (memchr(text, '\0', len) != NULL) {
        snprintf(errbuf, errlen, "%s: holds a NUL byte (not a text file)",
                 file);
        free(text);
        return -1;
    }
    rc = config_parse(file, text, len, out, errbuf, errlen);
    free(text);
    return rc;
}

int
config_parse(const char *file, const char *text, size_t len,
             struct config **out, char *errbuf, size_t errlen)
{
    struct parse_state st;
    struct config *c;
    char seen[N_SERVER_KEYS] = {0};
    const char *slash;
    size_t main_len;
    int rc;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(errbuf, errlen, "%s: out of memory", file);
        return -1;
    }
    config_defaults(c);
    c->file = strdup(file);
    c->text = malloc(len + 1);
    if (c->text != NULL) {
        memcpy(c->text, text, len);
        c->text[len] = '\0';
        c->text_len = len;
    }
    slash = strrchr(file, '/');
    c->dir = slash ? strndup(file, (size_t)(slash - file + (slash == file)))
                   : strdup(".");
    c->nlistens = 1;
    c->listens[0].host = strdup("127.0.0.1");
    c->listens[0].port = 5000;
    c->endpoint = strdup("/");
    c->health_path = strdup("/healthz");
    c->metrics_path = strdup("/metrics");
    if (c->file == NULL || c->text == NULL || c->dir == NULL ||
        c->listens[0].host == NULL || c->endpoint == NULL ||
        c->health_path == NULL || c->metrics_path == NULL) {
        snprintf(errbuf, errlen, "%s: out of memory", file);
        goto fail;
    }

    memset(&st, 0, sizeof(st));
    st.c = c;
    st.seen = seen;
    main_len = strnlen(text, len);
    if (main_len < len) { /* a saved config: its includes follow */
        st.saved = text + main_len + 1;
        st.saved_len = len - main_len - 1;
    }
    c->text_len = main_len; /* parse_file appends the includes */
    rc = parse_file(&st, file, 0, errbuf, errlen);
    if (rc != 0)
        goto fail;
    if ((c->health_path && strcmp(c->health_path, c->endpoint) == 0) ||
        (c->metrics_path && strcmp(c->metrics_path, c->endpoint) == 0) ||
        (c->health_path && c->metrics_path &&
         strcmp(c->health_path, c->metrics_path) == 0)) {
        snprintf(errbuf, errlen,
                 "%s: endpoint, health_path and metrics_path must differ",
                 file);
        goto fail;
    }
    for (size_t i = 0; i < c->nplugins; i++) {
        if (c->plugins[i].path == NULL) {
            snprintf(errbuf, errlen,
                     "%s:%d: section [%s] has no 'path' (every section but "
                     "[server] names a plugin .so)",
                     c->plugins[i].file, c->plugins[i].line,
                     c->plugins[i].name);
            goto fail;
        }
    }
    warn_timeouts(c);
    *out = c;
    return 0;
fail:
    config_free(c);
    return -1;
}

const char *
plugin_conf_get(const struct plugin_conf *p, const char *key)
{
    for (size_t i = 0; i < p->nkv; i++)
        if (strcmp(p->kv[i].key, key) == 0)
            return p->kv[i].value;
    return NULL;
}

void
config_free(struct config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nplugins; i++) {
        struct plugin_conf *p = &c->plugins[i];
        for (size_t j = 0; j < p->nkv; j++) {
            free(p->kv[j].key);
            free(p->kv[j].value);
        }
        free(p->kv);
        free(p->name);
        free(p->file);
        free(p->path);
    }
    free(c->plugins);
    free(c->file);
    free(c->text);
    free(c->dir);
    for (int i = 0; i < c->nlistens; i++)
        address_free(&c->listens[i]);
    free(c->listen_group);
    free(c->endpoint);
    free(c->pidfile);
    free(c->auth_file);
    free(c->cors_origins);
    free(c->allowed_hosts);
    free(c->health_path);
    free(c->metrics_path);
    free(c->access_log);
    free(c->log_file);
    free(c->method_concurrency);
    free(c->trusted_proxies);
    free(c);
}

int
config_origin_allowed(const struct config *c, const char *origin)
{
    const char *item, *p = c->cors_origins;
    size_t len, n = strlen(origin);

    if (p == NULL || n == 0)
        return 0;
    while ((item = util_list_next(&p, &len)) != NULL)
        if ((len == 1 && item[0] == '*') ||
            (len == n && strncmp(item, origin, n) == 0))
            return 1;
    return 0;
}

int
config_group_id(const char *name, gid_t *gid)
{
    struct group *g = getgrnam(name);
    char *end;
    unsigned long n;

    if (g == NULL && name[0] >= '0' && name[0] <= '9') {
        n = strtoul(name, &end, 10);
        if (*end == '\0' && n < (unsigned long)(gid_t)-1)
            g = getgrgid((gid_t)n);
    }
    if (g == NULL)
        return -1;
    if (gid != NULL)
        *gid = g->gr_gid;
    return 0;
}

int
config_local_only(const struct config *c)
{
    for (int i = 0; i < c->nlistens; i++)
        if (!address_is_local(&c->listens[i]))
            return 0;
    return 1;
}

int
config_same_listens(const struct config *a, const struct config *b)
{
    if (a->nlistens != b->nlistens)
        return 0;
    for (int i = 0; i < a->nlistens; i++)
        if (!address_equal(&a->listens[i], &b->listens[i]))
            return 0;
    return 1;
}

int
config_copy_listens(struct config *dst, const struct config *src)
{
    struct address copy[ADDRESS_MAX];

    for (int i = 0; i < src->nlistens; i++) {
        if (address_copy(&copy[i], &src->listens[i]) != 0) {
            while (i-- > 0)
                address_free(&copy[i]);
            return -1;
        }
    }
    for (int i = 0; i < dst->nlistens; i++)
        address_free(&dst->listens[i]);
    memcpy(dst->listens, copy, sizeof(copy[0]) * (size_t)src->nlistens);
    dst->nlistens = src->nlistens;
    return 0;
}

int
config_apply_overrides(struct config *c, const char *listen,
                       const char *threads, char *errbuf, size_t errlen)
{
    char msg[256];
    int replaced = 0;

    if (listen != NULL &&
        add_listen(c, listen, &replaced, msg, sizeof(msg)) != 0) {
        snprintf(errbuf, errlen, "--listen: %s", msg);
        return -1;
    }
    if (threads != NULL) {
        char *end;
        long n;

        errno = 0;
        n = strtol(threads, &end, 10);
        if (threads[0] == '\0' || *end != '\0' || errno != 0 || n < 0 ||
            n > CONFIG_MAX_THREADS) {
            snprintf(errbuf, errlen,
                     "--threads: '%s' is not an integer in 0..%d", threads,
                     CONFIG_MAX_THREADS);
            return -1;
        }
        c->threads = (int)n;
    }
    if (c->threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->threads = n < 1                    ? 1
                     : n > CONFIG_MAX_THREADS ? CONFIG_MAX_THREADS
                                              : (int)n;
    }
    return 0;
}
