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
 *          working directory; opened for appending, mode 0640.
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

static void
on_done(rpchost_call *call, int code, uint64_t duration_us, void *state)
{
    struct audit *a = state;
    const char *cred = api->call_credential(call);
    struct timespec ts;
    struct tm tm;
    char stamp[64];
    cJSON *o = cJSON_CreateObject();
    char *text;
    size_t len;
    ssize_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000000) % 1000);
    cJSON_AddStringToObject(o, "time", stamp);
    cJSON_AddStringToObject(o, "method", api->call_method(call));
    cJSON_AddStringToObject(o, "peer", api->call_peer(call));
    if (cred != NULL)
        cJSON_AddStringToObject(o, "credential", cred);
    else
        cJSON_AddNullToObject(o, "credential");
    cJSON_AddStringToObject(o, "trace_id", api->call_trace_id(call));
    cJSON_AddNumberToObject(o, "duration_us", (double)duration_us);
    cJSON_AddNumberToObject(o, "code", code);
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text == NULL) {
        atomic_fetch_add(&a->failures, 1);
        return;
    }
    len = strlen(text);
    text[len++] = '\n'; /* over the NUL: written by length */
    pthread_mutex_lock(&a->mu);
    follow_rotation(a, ts.tv_sec);
    n = write(a->fd, text, len);
    pthread_mutex_unlock(&a->mu);
    if (n != (ssize_t)len) {
        unsigned long k = atomic_fetch_add(&a->failures, 1);
        if (k % 1000 == 0)
            api->log(a->plugin, RPCHOST_LOG_ERROR,
                     "cannot write to %s: %s (%lu line(s) lost so far)",
                     a->path, n < 0 ? strerror(errno) : "short write", k + 1);
    }
    cJSON_free(text);
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
