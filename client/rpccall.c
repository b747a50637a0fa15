/* SPDX-License-Identifier: MIT */
/*
 * rpccall.c - call a JSON-RPC 2.0 method over HTTP from the command line.
 *
 *   rpccall [options] URL METHOD [PARAM...]
 *   rpccall [options] --batch FILE URL
 *
 * Prints the result as JSON on stdout (a string result as the bare string)
 * and exits 0; a JSON-RPC error in an HTTP 2xx answer exits 1 with its
 * code and message on stderr; a usage error exits 2; a transport failure
 * (refused, timeout, bad HTTP, an HTTP error status even with a JSON-RPC
 * error as its body, an answer that is not JSON-RPC) exits 3.  Built on
 * the client library (rpchost/client.h), blocking calls only.
 *
 * Credentials (-u, --user-file, --token-file) become one Authorization
 * header; from a file, they never appear in ps(1).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <rpchost/client.h>

#include "version.h"

#define EXIT_RPC 1
#define EXIT_USAGE 2
#define EXIT_TRANSPORT 3

static const char usage_text[] =
    "usage: rpccall [options] URL METHOD [PARAM...]\n"
    "       rpccall [options] --batch FILE URL\n"
    "\n"
    "Calls METHOD at URL (http://HOST:PORT/PATH) and prints the result as\n"
    "JSON (a string result as the bare string).\n"
    "\n"
    "PARAMs are positional params, or name=value pairs for named params\n"
    "(not both).  Each value is parsed as JSON, else taken as a string:\n"
    "  rpccall http://127.0.0.1:5000/ subtract 42 23\n"
    "  rpccall http://127.0.0.1:5000/ subtract minuend=42 subtrahend=23\n"
    "\n"
    "options:\n"
    "  -v, --verbose          show the request (-->) and answer (<--) on "
    "stderr\n"
    "  -n, --notify           send a notification (no id; prints nothing)\n"
    "  -i, --id ID            request id (JSON number or string; default 1)\n"
    "  -p, --params JSON      the whole params (array or object) instead of "
    "PARAMs\n"
    "  -b, --batch FILE       send the JSON array of requests in FILE ('-': "
    "stdin);\n"
    "                         prints the array of answers to its calls\n"
    "  -t, --timeout SECONDS  give up after SECONDS (default 30)\n"
    "  -H, --header 'Name: value'  extra HTTP header (repeatable)\n"
    "  -u, --user USER:PASSWORD\n"
    "                         HTTP Basic authentication (visible in ps until\n"
    "                         rpccall blanks it: prefer --user-file)\n"
    "      --user-file FILE   HTTP Basic, USER:PASSWORD from FILE's first "
    "line\n"
    "                         ('-': stdin)\n"
    "      --token-file FILE  Bearer token from FILE's first line ('-': "
    "stdin)\n"
    "      --unix-socket PATH\n"
    "                         connect to the unix-domain socket PATH instead "
    "of\n"
    "                         HOST:PORT; the URL still gives the Host header\n"
    "                         and the path (as with curl's --unix-socket)\n"
    "  -h, --help             this text\n"
    "      --version          version\n"
    "\n"
    "exit status: 0 result, 1 JSON-RPC error (in an HTTP 2xx answer), 2 "
    "usage,\n"
    "3 transport failure or HTTP error status (4xx, 5xx: 401, 404, ...)\n";

struct opts {
    int verbose;
    int notify;
    const char *id;
    const char *params;
    const char *batch;
    int timeout_ms;
    const char **headers;
    size_t nheaders;
    const char *unix_socket;
    char *user;             /* -u USER:PASSWORD (a copy; argv blanked) */
    const char *user_file;  /* --user-file */
    const char *token_file; /* --token-file */
};

static int usage_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Print "rpccall: <message>" and a hint; returns the usage exit status. */
static int
usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("rpccall: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'rpccall --help'.\n", stderr);
    return EXIT_USAGE;
}

/* Parse text as one whole JSON value; NULL when it is not JSON. */
static cJSON *
parse_json(const char *text)
{
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithOpts(text, &end, 1);

    return v;
}

/* A command-line value: JSON when it parses, else the text as a string. */
static cJSON *
value_of(const char *text)
{
    cJSON *v = parse_json(text);

    return v != NULL ? v : cJSON_CreateString(text);
}

/* Is arg a name=value pair (name: a letter or _, then letters, digits,
 * _ . -)?  Sets *eq to the '='. */
static int
is_named(const char *arg, const char **eq)
{
    const char *s = arg;

    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return 0;
    for (s++; *s != '\0' && *s != '='; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
            return 0;
    if (*s != '=')
        return 0;
    *eq = s;
    return 1;
}

/* The params from the command line: NULL for none; *bad set on errors. */
static cJSON *
build_params(const struct opts *o, char **args, int nargs, int *bad)
{
    cJSON *params = NULL, *v;
    const char *eq;
    char *name;
    int i, named = 0, positional = 0;

    *bad = 0;
    if (o->params != NULL) {
        if (nargs > 0) {
            *bad = usage_error("%s", "give params either with --params or "
                                     "as PARAMs, not both");
            return NULL;
        }
        params = parse_json(o->params);
        if (!cJSON_IsArray(params) && !cJSON_IsObject(params)) {
            cJSON_Delete(params);
            *bad = usage_error("--params: '%s' is not a JSON array or object",
                               o->params);
            return NULL;
        }
        return params;
    }
    if (nargs == 0)
        return NULL;
    for (i = 0; i < nargs; i++) {
        if (is_named(args[i], &eq))
            named++;
        else
            positional++;
    }
    if (named > 0 && positional > 0) {
        *bad = usage_error("%s", "cannot mix positional and name=value "
                                 "params");
        return NULL;
    }
    params = named ? cJSON_CreateObject() : cJSON_CreateArray();
    if (params == NULL)
        goto nomem;
    for (i = 0; i < nargs; i++) {
        if (named) {
            is_named(args[i], &eq);
            name = malloc((size_t)(eq - args[i]) + 1);
            if (name == NULL)
                goto nomem;
            memcpy(name, args[i], (size_t)(eq - args[i]));
            name[eq - args[i]] = '\0';
            if (cJSON_HasObjectItem(params, name)) {
                *bad = usage_error("param '%s' given twice", name);
                free(name);
                cJSON_Delete(params);
                return NULL;
            }
            v = value_of(eq + 1);
            if (v == NULL || !cJSON_AddItemToObject(params, name, v)) {
                free(name);
                cJSON_Delete(v);
                goto nomem;
            }
            free(name);
        } else {
            v = value_of(args[i]);
            if (v == NULL || !cJSON_AddItemToArray(params, v)) {
                cJSON_Delete(v);
                goto nomem;
            }
        }
    }
    return params;
nomem:
    cJSON_Delete(params);
    fputs("rpccall: out of memory\n", stderr);
    *bad = EXIT_TRANSPORT;
    return NULL;
}

/* -v: show the wire the way the tutorial does. */
static void
trace(int dir, const char *text, size_t len, int status, const char *reason,
      void *arg)
{
    (void)arg;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    if (dir == RPCHOST_CLIENT_TRACE_OUT) {
        fprintf(stderr, "--> %.*s\n", (int)len, text);
    } else {
        fprintf(stderr, "<-- %.*s%s(%d%s%s)\n", (int)len, text,
                len > 0 ? " " : "", status, reason != NULL ? " " : "",
                reason != NULL ? reason : "");
    }
    fflush(stderr);
}

static int
print_value(const cJSON *v)
{
    char *text;

    if (cJSON_IsString(v)) {
        fputs(v->valuestring, stdout);
        fputs("\n", stdout);
        return 0;
    }
    text = cJSON_PrintUnformatted(v);
    if (text == NULL) {
        fputs("rpccall: out of memory\n", stderr);
        return EXIT_TRANSPORT;
    }
    fputs(text, stdout);
    fputs("\n", stdout);
    free(text);
    return 0;
}

static int
transport_failure(const rpchost_client_result *res)
{
    fprintf(stderr, "rpccall: %s: %s\n", rpchost_client_strerror(res->rc),
            res->message != NULL ? res->message : "(no details)");
    return EXIT_TRANSPORT;
}

/* A JSON-RPC error: exit 1 when the server answered the call with it
 * (HTTP 2xx); 3 when it came as the body of an HTTP error status (4xx,
 * 5xx: 401, 403, 404, 415, 429, ...): the request was refused before any
 * method ran, like an HTTP error without a body. */
static int
rpc_failure(const rpchost_client_result *res)
{
    char *data = res->data != NULL ? cJSON_PrintUnformatted(res->data) : NULL;

    if (res->http_status != 200 && res->http_status != 0)
        fprintf(stderr, "rpccall: error %d: %s (HTTP %d)\n", res->code,
                res->message != NULL ? res->message : "", res->http_status);
    else
        fprintf(stderr, "rpccall: error %d: %s\n", res->code,
                res->message != NULL ? res->message : "");
    if (data != NULL)
        fprintf(stderr, "rpccall: data: %s\n", data);
    free(data);
    return res->http_status >= 300 ? EXIT_TRANSPORT : EXIT_RPC;
}

/* The exit status for a finished call, after printing its outcome. */
static int
report(const rpchost_client_result *res)
{
    if (res->rc == RPCHOST_CLIENT_OK)
        return print_value(res->result);
    if (res->rc == RPCHOST_CLIENT_ERPC)
        return rpc_failure(res);
    return transport_failure(res);
}

/* Read all of FILE ('-': stdin) into a NUL-terminated string. */
static char *
read_all(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf = NULL, *nb;
    size_t len = 0, cap = 0, got;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                free(buf);
                buf = NULL;
            } else {
                buf[len] = '\0';
            }
            break;
        }
    }
    if (f != stdin)
        fclose(f);
    return buf;
}

/* Build a batch from the requests in the file; NULL after a message. */
static rpchost_client_batch *
load_batch(const char *path, int *status)
{
    char *text = read_all(path);
    cJSON *arr, *item, *params;
    const cJSON *method, *id;
    rpchost_client_batch *b = NULL;
    char where[64];
    int i = 0, rc;

    *status = EXIT_USAGE;
    if (text == NULL) {
        fprintf(stderr, "rpccall: --batch: cannot read %s: %s\n",
                strcmp(path, "-") == 0 ? "stdin" : path, strerror(errno));
        return NULL;
    }
    arr = parse_json(text);
    free(text);
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0) {
        fprintf(stderr,
                "rpccall: --batch: %s does not hold a non-empty JSON "
                "array of requests\n",
                path);
        cJSON_Delete(arr);
        return NULL;
    }
    b = rpchost_client_batch_new();
    if (b == NULL)
        goto nomem;
    cJSON_ArrayForEach (item, arr) {
        snprintf(where, sizeof(where), "request %d", i++);
        method = cJSON_GetObjectItemCaseSensitive(item, "method");
        params = cJSON_GetObjectItemCaseSensitive(item, "params");
        id = cJSON_GetObjectItemCaseSensitive(item, "id");
        if (!cJSON_IsObject(item) || !cJSON_IsString(method) ||
            (params != NULL && !cJSON_IsArray(params) &&
             !cJSON_IsObject(params)) ||
            (id != NULL && !cJSON_IsString(id) && !cJSON_IsNumber(id))) {
            fprintf(stderr,
                    "rpccall: --batch: %s: expected an object with a string "
                    "\"method\", optional array/object \"params\" and an "
                    "optional string or number \"id\" (none: a "
                    "notification)\n",
                    where);
            goto err;
        }
        if (params != NULL) {
            params = cJSON_Duplicate(params, 1);
            if (params == NULL)
                goto nomem;
        }
        if (id != NULL)
            rc = rpchost_client_batch_add(b, method->valuestring, params, id);
        else
            rc = rpchost_client_batch_notify(b, method->valuestring, params);
        if (rc == RPCHOST_CLIENT_ENOMEM)
            goto nomem;
        if (rc < 0) {
            fprintf(stderr,
                    "rpccall: --batch: %s: %s (an empty method or a "
                    "duplicate id)\n",
                    where, rpchost_client_strerror(rc));
            goto err;
        }
    }
    cJSON_Delete(arr);
    *status = 0;
    return b;
nomem:
    fputs("rpccall: out of memory\n", stderr);
    *status = EXIT_TRANSPORT;
err:
    cJSON_Delete(arr);
    rpchost_client_batch_free(b);
    return NULL;
}

/* One answer object rebuilt from a batch result. */
static cJSON *
answer_of(rpchost_client_result *r)
{
    cJSON *ans = cJSON_CreateObject(), *err;

    if (ans == NULL || cJSON_AddStringToObject(ans, "jsonrpc", "2.0") == NULL)
        goto nomem;
    if (r->rc == RPCHOST_CLIENT_OK) {
        cJSON_AddItemToObject(ans, "result", r->result);
        r->result = NULL;
    } else {
        err = cJSON_AddObjectToObject(ans, "error");
        if (err == NULL ||
            cJSON_AddNumberToObject(err, "code", r->code) == NULL ||
            cJSON_AddStringToObject(
                err, "message", r->message != NULL ? r->message : "") == NULL)
            goto nomem;
        if (r->data != NULL) {
            cJSON_AddItemToObject(err, "data", r->data);
            r->data = NULL;
        }
    }
    cJSON_AddItemToObject(ans, "id", r->id);
    r->id = NULL;
    return ans;
nomem:
    cJSON_Delete(ans);
    return NULL;
}

static int
run_batch(rpchost_client *c, const struct opts *o)
{
    rpchost_client_opts copts = {o->timeout_ms, NULL};
    rpchost_client_batch *b;
    rpchost_client_result *r;
    cJSON *out = NULL, *ans;
    size_t i, n, failed = 0;
    int status, rc;

    b = load_batch(o->batch, &status);
    if (b == NULL)
        return status;
    rc = rpchost_client_batch_send(c, b, &copts);
    n = rpchost_client_batch_count(b);
    if (rc != RPCHOST_CLIENT_OK) {
        fprintf(stderr, "rpccall: %s: %s\n", rpchost_client_strerror(rc),
                rpchost_client_batch_error(b) != NULL
                    ? rpchost_client_batch_error(b)
                    : "(no details)");
        status = EXIT_TRANSPORT;
        goto out;
    }
    for (i = 0; i < n; i++) {
        r = rpchost_client_batch_result(b, i);
        if (RPCHOST_CLIENT_IS_TRANSPORT(r->rc)) {
            status = transport_failure(r);
            goto out;
        }
        if (r->http_status >= 300) { /* the batch refused as a whole */
            status = rpc_failure(r);
            goto out;
        }
    }
    status = 0;
    if (n == 0)
        goto out; /* only notifications */
    out = cJSON_CreateArray();
    for (i = 0; out != NULL && i < n; i++) {
        r = rpchost_client_batch_result(b, i);
        if (r->rc != RPCHOST_CLIENT_OK)
            failed++;
        ans = answer_of(r);
        if (ans == NULL || !cJSON_AddItemToArray(out, ans)) {
            cJSON_Delete(ans);
            cJSON_Delete(out);
            out = NULL;
        }
    }
    if (out == NULL) {
        fputs("rpccall: out of memory\n", stderr);
        status = EXIT_TRANSPORT;
        goto out;
    }
    status = print_value(out);
    if (status == 0 && failed > 0) {
        fprintf(stderr, "rpccall: %zu of %zu calls answered with an error\n",
                failed, n);
        status = EXIT_RPC;
    }
out:
    cJSON_Delete(out);
    rpchost_client_batch_free(b);
    return status;
}

static int
parse_timeout(const char *text, int *ms)
{
    char *end = NULL;
    double s;

    errno = 0;
    s = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(s) || s <= 0 ||
        s > 2000000.0)
        return -1;
    *ms = (int)(s * 1000.0 + 0.5);
    if (*ms < 1)
        *ms = 1;
    return 0;
}

/* Add "Name: value" as a header. */
static int
add_header(rpchost_client *c, const char *text)
{
    const char *colon = strchr(text, ':');
    const char *value;
    char *name;
    int rc;

    if (colon == NULL || colon == text)
        return usage_error("-H: '%s' is not 'Name: value'", text);
    name = malloc((size_t)(colon - text) + 1);
    if (name == NULL)
        return EXIT_TRANSPORT;
    memcpy(name, text, (size_t)(colon - text));
    name[colon - text] = '\0';
    value = colon + 1;
    while (*value == ' ' || *value == '\t')
        value++;
    rc = rpchost_client_add_header(c, name, value);
    free(name);
    if (rc != RPCHOST_CLIENT_OK)
        return usage_error("-H: '%s' is not a valid header", text);
    return 0;
}

/* Overwrite a secret in memory (not optimised away). */
static void
wipe(char *s, size_t n)
{
    volatile char *v = s;

    while (n-- > 0)
        *v++ = '\0';
}

/* Base64 (RFC 4648, padded) of len bytes of `in` into `out`, which has
 * room for 4 * ((len + 2) / 3) + 1 bytes. */
static void
base64(const unsigned char *in, size_t len, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        "0123456789+/";
    size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        *out++ = tab[in[i] >> 2];
        *out++ = tab[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
        *out++ = tab[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
        *out++ = tab[in[i + 2] & 63];
    }
    if (i < len) {
        *out++ = tab[in[i] >> 2];
        if (i + 1 < len) {
            *out++ = tab[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
            *out++ = tab[(in[i + 1] & 15) << 2];
        } else {
            *out++ = tab[(in[i] & 3) << 4];
            *out++ = '=';
        }
        *out++ = '=';
    }
    *out = '\0';
}

/* The first line of FILE ('-': stdin), its line end cut, into a malloc()ed
 * string; NULL after a message (exit status in *status).  A file that
 * group or others may read is used, with a warning: the secret is not
 * private there. */
static char *
read_secret(const char *opt, const char *path, int *status)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    struct stat st;

    *status = EXIT_USAGE;
    if (f == NULL) {
        fprintf(stderr, "rpccall: %s: cannot read %s: %s\n", opt, path,
                strerror(errno));
        return NULL;
    }
    if (f != stdin && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
        (st.st_mode & (S_IRGRP | S_IROTH)) != 0)
        fprintf(stderr,
                "rpccall: warning: %s: %s can be read by group or others "
                "(chmod 600 it)\n",
                opt, path);
    n = getline(&line, &cap, f);
    if (f != stdin)
        fclose(f);
    if (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    if (n > 0 && line[n - 1] == '\r')
        line[--n] = '\0';
    if (n <= 0) {
        fprintf(stderr, "rpccall: %s: %s has no secret on its first line\n",
                opt, strcmp(path, "-") == 0 ? "stdin" : path);
        if (line != NULL)
            wipe(line, cap);
        free(line);
        return NULL;
    }
    *status = 0;
    return line;
}

/* The Authorization header from -u, --user-file or --token-file, if one
 * was given; 0 or an exit status after a message. */
static int
add_credentials(rpchost_client *c, const struct opts *o)
{
    const char *opt = o->user != NULL        ? "--user"
                      : o->user_file != NULL ? "--user-file"
                                             : "--token-file";
    char *secret, *value;
    size_t len, vlen;
    int status, rc;

    if (o->user != NULL) {
        secret = strdup(o->user);
        status = secret == NULL ? EXIT_TRANSPORT : 0;
    } else if (o->user_file != NULL || o->token_file != NULL) {
        secret = read_secret(opt, o->user_file ? o->user_file : o->token_file,
                             &status);
    } else {
        return 0;
    }
    if (secret == NULL)
        return status;
    len = strlen(secret);
    if (o->token_file == NULL && strchr(secret, ':') == NULL) {
        wipe(secret, len);
        free(secret);
        return usage_error("%s: expected USER:PASSWORD (rpccall does not "
                           "prompt)",
                           opt);
    }
    vlen = o->token_file ? len + 8 : 4 * ((len + 2) / 3) + 7;
    value = malloc(vlen);
    if (value == NULL) {
        wipe(secret, len);
        free(secret);
        return EXIT_TRANSPORT;
    }
    if (o->token_file != NULL) {
        memcpy(value, "Bearer ", 7);
        memcpy(value + 7, secret, len + 1);
    } else {
        memcpy(value, "Basic ", 6);
        base64((const unsigned char *)secret, len, value + 6);
    }
    rc = rpchost_client_add_header(c, "Authorization", value);
    wipe(secret, len);
    free(secret);
    wipe(value, strlen(value));
    free(value);
    if (rc != RPCHOST_CLIENT_OK)
        return usage_error("%s: the secret holds a character a header "
                           "cannot",
                           opt);
    return 0;
}

static int
run(const struct opts *o, const char *url, const char *method, char **args,
    int nargs)
{
    rpchost_client *c = NULL;
    rpchost_client_result res = {0};
    rpchost_client_opts copts = {o->timeout_ms, NULL};
    cJSON *params = NULL, *id = NULL;
    size_t i;
    int rc, status = 0;

    rc = rpchost_client_new(&c, url, NULL);
    if (rc != RPCHOST_CLIENT_OK)
        return usage_error("'%s' is not an http://HOST[:PORT][/PATH] URL", url);
    if (o->unix_socket != NULL)
        rc = rpchost_client_set_unix_socket(c, o->unix_socket);
    if (rc != RPCHOST_CLIENT_OK) {
        status = usage_error("--unix-socket: '%s' is not a socket path (empty "
                             "or too long)",
                             o->unix_socket);
        goto out;
    }
    if (o->verbose)
        rpchost_client_set_trace(c, trace, NULL);
    for (i = 0; i < o->nheaders && status == 0; i++)
        status = add_header(c, o->headers[i]);
    if (status == 0)
        status = add_credentials(c, o);
    if (status != 0)
        goto out;
    if (o->batch != NULL) {
        status = run_batch(c, o);
        goto out;
    }
    params = build_params(o, args, nargs, &status);
    if (status != 0)
        goto out;
    if (o->id != NULL) {
        id = value_of(o->id);
        if (!cJSON_IsString(id) && !cJSON_IsNumber(id)) {
            status =
                usage_error("--id: '%s' is not a number or a string", o->id);
            goto out;
        }
        copts.id = id;
    }
    if (o->notify) {
        rc = rpchost_client_notify(c, method, params, &copts, &res);
        params = NULL;
        if (rc != RPCHOST_CLIENT_OK)
            status = transport_failure(&res);
        goto out;
    }
    rpchost_client_call(c, method, params, &copts, &res);
    params = NULL;
    status = report(&res);
out:
    cJSON_Delete(params);
    cJSON_Delete(id);
    rpchost_client_result_clear(&res);
    rpchost_client_free(c);
    return status;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"verbose", no_argument, NULL, 'v'},
        {"notify", no_argument, NULL, 'n'},
        {"id", required_argument, NULL, 'i'},
        {"params", required_argument, NULL, 'p'},
        {"batch", required_argument, NULL, 'b'},
        {"timeout", required_argument, NULL, 't'},
        {"header", required_argument, NULL, 'H'},
        {"unix-socket", required_argument, NULL, 'U'},
        {"user", required_argument, NULL, 'u'},
        {"user-file", required_argument, NULL, 'F'},
        {"token-file", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct opts o = {0};
    int ch, status, need, ncred = 0;
    size_t i;

    /* A server closing the connection as a request goes out is a transport
     * failure (exit 3), not a kill: on a unix socket the write raises
     * SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    o.timeout_ms = 30000;
    o.headers = calloc((size_t)argc + 1, sizeof(*o.headers));
    if (o.headers == NULL)
        return EXIT_TRANSPORT;
    opterr = 0;
    for (;;) {
        ch = getopt_long(argc, argv, "+vni:p:b:t:H:u:h", longopts, NULL);
        if (ch == -1)
            break;
        switch (ch) {
        case 'v':
            o.verbose = 1;
            break;
        case 'n':
            o.notify = 1;
            break;
        case 'i':
            o.id = optarg;
            break;
        case 'p':
            o.params = optarg;
            break;
        case 'b':
            o.batch = optarg;
            break;
        case 't':
            if (parse_timeout(optarg, &o.timeout_ms) != 0) {
                free(o.headers);
                return usage_error("--timeout: '%s' is not a number of "
                                   "seconds > 0",
                                   optarg);
            }
            break;
        case 'H':
            o.headers[o.nheaders++] = optarg;
            break;
        case 'U':
            o.unix_socket = optarg;
            break;
        case 'u':
            /* A copy, then the argument blanked, as curl does: ps shows
             * it only until here (--user-file never). */
            free(o.user);
            o.user = strdup(optarg);
            if (o.user == NULL) {
                free(o.headers);
                return EXIT_TRANSPORT;
            }
            memset(optarg, ' ', strlen(optarg));
            ncred++;
            break;
        case 'F':
            o.user_file = optarg;
            ncred++;
            break;
        case 'K':
            o.token_file = optarg;
            ncred++;
            break;
        case 'h':
            fputs(usage_text, stdout);
            free(o.headers);
            return 0;
        case 'V':
            printf("rpccall (rpchost) %s\n", RPCHOST_VERSION);
            free(o.headers);
            return 0;
        default:
            free(o.headers);
            if (optopt != 0)
                fprintf(stderr, "rpccall: bad option '-%c'\n", optopt);
            else
                fprintf(stderr, "rpccall: bad option '%s'\n", argv[optind - 1]);
            fputs(usage_text, stderr);
            return EXIT_USAGE;
        }
    }
    need = o.batch != NULL ? 1 : 2;
    if (argc - optind < need || (o.batch != NULL && argc - optind > need)) {
        free(o.headers);
        fputs(o.batch != NULL ? "rpccall: --batch takes just a URL\n"
                              : "rpccall: missing URL or METHOD\n",
              stderr);
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    status = 0;
    if (o.batch != NULL && (o.notify || o.id != NULL || o.params != NULL))
        status = usage_error("%s", "--batch cannot be combined with --notify, "
                                   "--id or --params");
    else if (ncred > 1)
        status = usage_error("%s", "give one of -u, --user-file and "
                                   "--token-file");
    for (i = 0; status == 0 && ncred > 0 && i < o.nheaders; i++)
        if (strncasecmp(o.headers[i], "Authorization:", 14) == 0)
            status = usage_error("%s", "-H 'Authorization: ...' and -u, "
                                       "--user-file or --token-file do not "
                                       "go together");
    if (status == 0 && o.batch != NULL && strcmp(o.batch, "-") == 0 &&
        ((o.user_file && strcmp(o.user_file, "-") == 0) ||
         (o.token_file && strcmp(o.token_file, "-") == 0)))
        status = usage_error("%s", "stdin cannot hold both the batch and "
                                   "the secret");
    if (status == 0)
        status =
            run(&o, argv[optind], o.batch != NULL ? NULL : argv[optind + 1],
                argv + optind + need, argc - optind - need);
    if (o.user != NULL)
        wipe(o.user, strlen(o.user));
    free(o.user);
    free(o.headers);
    return status;
}
