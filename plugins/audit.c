/* SPDX-License-Identifier: MIT */
/*
 * audit.c - the example of a call hook (plugin ABI 2): one line per call,
 * batch member and notification, written to the file its section names
 * once the call is answered (on_done), with the method, the peer, the
 * credential, the W3C trace id, the duration and the outcome:
 *
 *   {"time":"2026-11-29T18:40:01.123Z","method":"ping",
 *    "peer":"127.0.0.1:50412","credential":null,
 *    "trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","duration_us":41,
 *    "code":0}
 *
 * (one line; "code" 0 is a result, anything else the error code).
 * Section keys:
 *   file   the audit file (required): absolute, or relative to rpchost's
 *          working directory (`/` under systemd), not to the config
 *          file's folder as the host's own path keys are: the plugin API
 *          hands a plugin its keys' values as written and has no call
 *          that names the config file's folder.  Opened for appending,
 *          mode 0640.
 * Each line is one write(2) to a file opened O_APPEND, so lines from
 * several loops never interleave.  After logrotate moved the file, the
 * next line (at most a second later) goes to a new one at `file`: the
 * plugin compares the path's inode with the open file's once a second.
 * A failed write (a full disk) is counted and logged at the first
 * failure and every 1000th after, never more.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rpchost/plugin.h>

static const rpchost_api *api;

struct audit {
    rpchost_plugin *plugin;
    char *path;
    int fd;
    pthread_mutex_t mu;    /* fd, checked_at */
    time_t checked_at;     /* the last look for a rotation */
    atomic_ulong failures; /* writes that failed */
};

static int
open_file(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

/* Under mu: at most once a second, reopen when the path no longer names
 * the open file (moved away by a rotation, or deleted). */
static void
follow_rotation(struct audit *a, time_t now)
{
    struct stat path_st, fd_st;
    int fd;

    if (now == a->checked_at)
        return;
    a->checked_at = now;
    if (stat(a->path, &path_st) == 0 && fstat(a->fd, &fd_st) == 0 &&
        path_st.st_dev == fd_st.st_dev && path_st.st_ino == fd_st.st_ino)
        return;
    fd = open_file(a->path);
    if (fd < 0) {
        api->log(a->plugin, RPCHOST_LOG_ERROR, "cannot reopen %s: %s", a->path,
                 strerror(errno));
        return; /* keep writing to the old one */
    }
    close(a->fd);
    a->fd = fd;
}

/* Room in a line for each field's value, quotes and escapes included:
 * together with the names, the time and the numbers (under 160 bytes)
 * they fit the line's 1024 bytes whatever the values are. */
#define ROOM_METHOD 300
#define ROOM_PEER 200
#define ROOM_CREDENTIAL 200
#define ROOM_TRACE 64

/* Append s as a JSON string (quoted, escaped) to out[*n..cap), or null;
 * a string that does not fit is cut, at a character's start (the line
 * stays valid JSON).  Bytes of
 * 0x80 and above pass as they are: the host's strings are valid UTF-8
 * but for a client's method name, which it refuses before any call. */
static void
put_string(char *out, size_t *n, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t k = *n;

    if (s == NULL) {
        if (k + 4 < cap) {
            memcpy(out + k, "null", 4);
            *n = k + 4;
        }
        return;
    }
    out[k++] = '"';
    for (; *s != '\0' && k + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[k++] = '\\';
            out[k++] = (char)c;
        } else if (c < 0x20) {
            memcpy(out + k, "\\u00", 4);
            out[k + 4] = hex[c >> 4];
            out[k + 5] = hex[c & 0xf];
            k += 6;
        } else {
            out[k++] = (char)c;
        }
    }
    if (((unsigned char)*s & 0xc0) == 0x80) {
        /* Cut inside a character: not half of one in the line. */
        while (((unsigned char)out[k - 1] & 0xc0) == 0x80)
            k--;
        k--; /* its first byte */
    }
    out[k++] = '"';
    *n = k;
}

/* The UTC time of `sec` as "YYYY-MM-DDTHH:MM:SS", formatted once a second
 * per thread. */
static const char *
stamp_of(time_t sec)
{
    static _Thread_local time_t last = -1;
    static _Thread_local char text[64];
    struct tm tm;

    if (sec != last && gmtime_r(&sec, &tm) != NULL) {
        snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec);
        last = sec;
    }
    return text;
}

static void
on_done(rpchost_call *call, int code, uint64_t duration_us, void *state)
{
    struct audit *a = state;
    char line[1024];
    size_t n = 0;
    struct timespec ts;
    ssize_t w;

    clock_gettime(CLOCK_REALTIME, &ts);
    n += (size_t)snprintf(line, sizeof(line), "{\"time\":\"%s.%03ldZ\"",
                          stamp_of(ts.tv_sec),
                          (long)(ts.tv_nsec / 1000000) % 1000);
    memcpy(line + n, ",\"method\":", 10);
    n += 10;
    put_string(line, &n, n + ROOM_METHOD, api->call_method(call));
    memcpy(line + n, ",\"peer\":", 8);
    n += 8;
    put_string(line, &n, n + ROOM_PEER, api->call_peer(call));
    memcpy(line + n, ",\"credential\":", 14);
    n += 14;
    put_string(line, &n, n + ROOM_CREDENTIAL, api->call_credential(call));
    memcpy(line + n, ",\"trace_id\":", 12);
    n += 12;
    put_string(line, &n, n + ROOM_TRACE, api->call_trace_id(call));
    n += (size_t)snprintf(line + n, sizeof(line) - n,
                          ",\"duration_us\":%llu,\"code\":%d}\n",
                          (unsigned long long)duration_us, code);
    pthread_mutex_lock(&a->mu);
    follow_rotation(a, ts.tv_sec);
    w = write(a->fd, line, n);
    pthread_mutex_unlock(&a->mu);
    if (w != (ssize_t)n) {
        unsigned long k = atomic_fetch_add(&a->failures, 1);
        if (k % 1000 == 0)
            api->log(a->plugin, RPCHOST_LOG_ERROR,
                     "cannot write to %s: %s (%lu line(s) lost so far)",
                     a->path, w < 0 ? strerror(errno) : "short write", k + 1);
    }
}

static void
audit_fini(void *state)
{
    struct audit *a = state;

    if (a == NULL)
        return;
    if (a->fd >= 0)
        close(a->fd);
    pthread_mutex_destroy(&a->mu);
    free(a->path);
    free(a);
}

static int
audit_init(rpchost_plugin *p, const rpchost_api *host, void **state)
{
    struct audit *a;
    const char *file;
    int rc;

    api = host;
    file = api->config_require(p, "file");
    if (file == NULL)
        return RPCHOST_ENOENT;
    a = calloc(1, sizeof(*a));
    if (a == NULL || (a->path = strdup(file)) == NULL) {
        free(a);
        return RPCHOST_ENOMEM;
    }
    a->plugin = p;
    a->fd = open_file(a->path);
    if (a->fd < 0) {
        api->set_error(p, "file = %s: %s", a->path, strerror(errno));
        free(a->path);
        free(a);
        return RPCHOST_EFAIL;
    }
    a->checked_at = time(NULL);
    pthread_mutex_init(&a->mu, NULL);
    rc = api->add_hooks(p, NULL, on_done);
    if (rc != RPCHOST_OK) {
        api->set_error(p, "add_hooks: %s", api->strerror(rc));
        audit_fini(a);
        return rc;
    }
    *state = a;
    return RPCHOST_OK;
}

RPCHOST_PLUGIN_DEFINE("audit", "1.0.0", audit_init, audit_fini);
