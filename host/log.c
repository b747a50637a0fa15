/* SPDX-License-Identifier: MIT */
/*
 * log.c - see log.h.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = LEVEL_INFO;
static atomic_int log_format = LOG_FORMAT_TEXT;

/* The error log is always fd 2 (a file is dup2()ed over it), and the
 * access log one fd that reopening dup2()s over: writers never see a
 * closed descriptor. */
static char *log_path;
static char *access_path;
static atomic_int access_fd = -1;
static int retired_fd = -1; /* a turned-off access log, now /dev/null */

/* Whether fd 2 is the journal's stream: lines are then "<N>text", the
 * journal adding time and priority itself.  Written by the main thread
 * only (log_detect_journal, log_open_file), read by every writer. */
static atomic_int to_journal;
static int journal_parsed; /* $JOURNAL_STREAM read (once) */
static int journal_valid;  /* ... and of the form DEV:INODE */
static unsigned long long journal_dev, journal_ino;

int
log_to_journal(void)
{
    return atomic_load(&to_journal);
}

void
log_detect_journal(void)
{
    struct stat st;
    const char *v;
    char *end;

    if (!journal_parsed) {
        journal_parsed = 1;
        v = getenv("JOURNAL_STREAM");
        if (v != NULL && *v >= '0' && *v <= '9') {
            errno = 0;
            journal_dev = strtoull(v, &end, 10);
            if (errno == 0 && *end == ':' && end[1] >= '0' && end[1] <= '9') {
                journal_ino = strtoull(end + 1, &end, 10);
                journal_valid = errno == 0 && *end == '\0';
            }
        }
    }
    atomic_store(&to_journal,
                 journal_valid && fstat(STDERR_FILENO, &st) == 0 &&
                     (unsigned long long)st.st_dev == journal_dev &&
                     (unsigned long long)st.st_ino == journal_ino);
}

void
log_set_level(int level)
{
    if (level < LEVEL_ERROR)
        level = LEVEL_ERROR;
    if (level > LEVEL_DEBUG)
        level = LEVEL_DEBUG;
    atomic_store(&log_level, level);
}

int
log_get_level(void)
{
    return atomic_load(&log_level);
}

void
log_set_format(int format)
{
    atomic_store(&log_format,
                 format == LOG_FORMAT_JSON ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT);
}

int
log_get_format(void)
{
    return atomic_load(&log_format);
}

int
log_level_parse(const char *s)
{
    for (int i = 0; i <= LEVEL_DEBUG; i++)
        if (strcmp(s, logline_level_name(i)) == 0)
            return i;
    return -1;
}

const char *
log_level_name(int level)
{
    if (level < LEVEL_ERROR || level > LEVEL_DEBUG)
        return "?";
    return logline_level_name(level);
}

/* Best effort: a logger has nowhere to report its own failure. */
static void
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            break;
        p += w;
        n -= (size_t)w;
    }
}

static int
open_append(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

int
log_open_file(const char *path)
{
    int fd;

    free(log_path);
    log_path = NULL;
    if (path == NULL)
        return 0;
    fd = open_append(path);
    if (fd < 0)
        return -1;
    if (dup2(fd, STDERR_FILENO) < 0) {
        close(fd);
        return -1;
    }
    close(fd);
    log_path = strdup(path);
    log_detect_journal(); /* no longer, since fd 2 is now the file */
    return 0;
}

int
log_check_file(const char *config, const char *key, const char *path)
{
    char dir[4096];
    const char *slash;
    size_t n;
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);

    if (fd >= 0) {
        close(fd);
        return 0;
    }
    if (errno != ENOENT) {
        log_error("%s: %s %s: cannot open it for appending: %s", config, key,
                  path, strerror(errno));
        return -1;
    }
    /* Not there yet: startup creates it, if its folder lets it. */
    slash = strrchr(path, '/');
    n = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
    if (n >= sizeof(dir))
        n = sizeof(dir) - 1;
    memcpy(dir, slash == NULL ? "." : path, n);
    dir[n] = '\0';
    if (access(dir, W_OK | X_OK) == 0)
        return 0;
    log_error("%s: %s %s: cannot create it in %s: %s", config, key, path, dir,
              strerror(errno));
    return -1;
}

int
log_access_open(const char *path)
{
    int fd, old;

    if (path == NULL) {
        /* A loop may be writing to it right now: point the descriptor at
         * /dev/null instead of closing it (a closed number could be reused
         * by a client socket).  It stays open until exit. */
        old = atomic_exchange(&access_fd, -1);
        if (old >= 0) {
            int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
            if (devnull >= 0) {
                dup2(devnull, old);
                close(devnull);
            }
            retired_fd = old;
        }
        free(access_path);
        access_path = NULL;
        return 0;
    }
    fd = open_append(path);
    if (fd < 0)
        return -1;
    old = atomic_load(&access_fd);
    if (old >= 0) {
        /* Same descriptor number for the writers: replace its file. */
        if (dup2(fd, old) < 0) {
            close(fd);
            return -1;
        }
        close(fd);
    } else {
        atomic_store(&access_fd, fd);
    }
    if (access_path == NULL || strcmp(access_path, path) != 0) {
        free(access_path);
        access_path = strdup(path);
    }
    return 0;
}

int
log_access_enabled(void)
{
    return atomic_load_explicit(&access_fd, memory_order_relaxed) >= 0;
}

void
log_access(const struct access_fields *f)
{
    char line[LOGLINE_MAX];
    struct timespec ts;
    size_t n;
    int fd = atomic_load_explicit(&access_fd, memory_order_relaxed);

    if (fd < 0)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    n = logline_access(
        line, atomic_load_explicit(&log_format, memory_order_relaxed), &ts, f);
    write_all(fd, line, n);
}

int
log_reopen(void)
{
    int rc = 0;

    if (log_path != NULL) {
        char *p = strdup(log_path);
        if (p == NULL || log_open_file(p) != 0) {
            log_error("SIGUSR1: cannot reopen %s: %s", p ? p : "log",
                      strerror(errno));
            rc = -1;
        }
        free(p);
    }
    if (access_path != NULL) {
        char *p = strdup(access_path);
        if (p == NULL || log_access_open(p) != 0) {
            log_error("SIGUSR1: cannot reopen %s: %s", p ? p : "access log",
                      strerror(errno));
            rc = -1;
        }
        free(p);
    }
    return rc;
}

void
log_close(void)
{
    log_access_open(NULL);
    if (retired_fd >= 0)
        close(retired_fd); /* only this thread is left */
    retired_fd = -1;
    free(log_path);
    log_path = NULL;
}

void
log_vmsgp(int level, const char *prefix, const char *fmt, va_list ap)
{
    char msg[LOGLINE_MAX], line[LOGLINE_MAX];
    struct timespec ts;

    if (level > LEVEL_DEBUG)
        level = LEVEL_DEBUG;
    if (level < LEVEL_ERROR)
        level = LEVEL_ERROR;
    if (level > atomic_load(&log_level))
        return;
    /* A message longer than msg is cut here, and then again (with "...")
     * by logline_msg, since no line holds LOGLINE_MAX bytes of message. */
    if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
        msg[0] = '\0';
    clock_gettime(CLOCK_REALTIME, &ts);
    write_all(STDERR_FILENO, line,
              logline_msg(
                  line, atomic_load_explicit(&log_format, memory_order_relaxed),
                  atomic_load_explicit(&to_journal, memory_order_relaxed), &ts,
                  level, prefix, msg));
}

void
log_msgp(int level, const char *prefix, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsgp(level, prefix, fmt, ap);
    va_end(ap);
}

void
log_msg(int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsgp(level, NULL, fmt, ap);
    va_end(ap);
}
