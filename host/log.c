/*
 * log.c - see log.h.
 */
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const level_tags[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};

void
log_set_level(int level)
{
    if (level < LOG_ERROR)
        level = LOG_ERROR;
    if (level > LOG_DEBUG)
        level = LOG_DEBUG;
    atomic_store(&log_level, level);
}

int
log_get_level(void)
{
    return atomic_load(&log_level);
}

int
log_level_parse(const char *s)
{
    for (int i = 0; i <= LOG_DEBUG; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

const char *
log_level_name(int level)
{
    if (level < LOG_ERROR || level > LOG_DEBUG)
        return "?";
    return level_names[level];
}

void
log_vmsgp(int level, const char *prefix, const char *fmt, va_list ap)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t n;
    int r;

    if (level > LOG_DEBUG)
        level = LOG_DEBUG;
    if (level < LOG_ERROR)
        level = LOG_ERROR;
    if (level > atomic_load(&log_level))
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s ",
                 ts.tv_nsec / 1000000, level_tags[level]);
    if (r > 0)
        n += (size_t)r;
    if (prefix != NULL) {
        r = snprintf(line + n, sizeof(line) - n, "[%s] ", prefix);
        if (r > 0)
            n += (size_t)r;
    }
    if (n < sizeof(line)) {
        r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        if (r > 0)
            n += (size_t)r;
    }
    if (n > sizeof(line) - 2) {
        n = sizeof(line) - 5;
        memcpy(line + n, "...", 3);
        n += 3;
    }
    line[n++] = '\n';
    /* Best effort: a logger has nowhere to report its own failure. */
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, line, n);
        if (w <= 0)
            break;
        n -= (size_t)w;
    }
}

void
log_msg(int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsgp(level, NULL, fmt, ap);
    va_end(ap);
}
