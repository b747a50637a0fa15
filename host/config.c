/* SPDX-License-Identifier: MIT */
/*
 * config.c - see config.h.  Parsing is libinih's, through iniread.h's
 * reader, which counts lines so every message names the line of the
 * offending key; this file reads the files (and their includes) and
 * stores the plugin sections; each [server] key is serverkey.c's.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "address.h"
#include "iniread.h"
#include "log.h"
#include "serverkey.h"
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
    c->max_chunk_overhead = CONFIG_DEFAULT_MAX_CHUNK_OVERHEAD;
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
char *
config_path(const struct config *c, const char *value)
{
    char *out;

    if (value[0] == '/' || c->dir == NULL)
        return strdup(value);
    if (asprintf(&out, "%s/%s", c->dir, value) < 0)
        return NULL;
    return out;
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
        p->path = config_path(c, value);
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
        return serverkey_set(st->c, &st->rd, st->seen, &st->listen_given, name,
                             value);
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
        char *pattern = config_path(c, patterns[i]), **paths = NULL;
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
    char seen[SERVERKEY_MAX] = {0};
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
        serverkey_listen(c, listen, &replaced, msg, sizeof(msg)) != 0) {
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
