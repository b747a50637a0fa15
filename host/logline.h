/* SPDX-License-Identifier: MIT */
/*
 * logline.h - the text of one log line, as plain text or as one JSON
 * object (pure: no I/O, no globals; log.c writes what this formats).
 *
 * Every function writes at most LOGLINE_MAX bytes, the last of them the
 * '\n', and returns how many.  A line that would be longer is cut inside
 * its last free-text field, which then ends in "...": a JSON line stays
 * one valid object however it is cut.  JSON strings are escaped per
 * RFC 8259 (quotes, backslashes, every control character) and each byte
 * that is not part of valid UTF-8 becomes U+FFFD, so any input gives
 * valid JSON.  LOGLINE_MAX is PIPE_BUF: one write(2) of a line to a pipe
 * is atomic.
 */
#ifndef HOST_LOGLINE_H
#define HOST_LOGLINE_H

#include <stddef.h>
#include <time.h>

#define LOGLINE_MAX 4096

/* The levels of a line (log.h's log_msg), most severe first. */
enum log_level {
    LEVEL_ERROR = 0,
    LEVEL_WARN = 1,
    LEVEL_INFO = 2,
    LEVEL_DEBUG = 3,
};

enum log_format {
    LOG_FORMAT_TEXT = 0, /* "2026-11-29T18:40:01.123Z WARN  text" */
    LOG_FORMAT_JSON = 1, /* {"time":"...","level":"warn","msg":"text"} */
};

/* Parse "text" or "json"; -1 if neither. */
int logline_format_parse(const char *s);

/* The level of fatal.c's line on a fault (after LEVEL_DEBUG): "FATAL "
 * and no time in text, "fatal" in JSON, journal priority 2 (LOG_CRIT). */
#define LOGLINE_FATAL 4

/* "error", "warn", "info", "debug", "fatal"; "?" for another number. */
const char *logline_level_name(int level);

/* One line of the error log at `level` (enum log_level or LOGLINE_FATAL),
 * at time `ts`.  Async-signal-safe (fatal.c calls it in its handler).
 * `prefix` (NULL: none) names the plugin the line comes from: "[prefix] "
 * before the text, or a "plugin" member.  `journal`: for systemd's
 * journal, the line starts with "<N>" (N the syslog priority); a text
 * line then has no time or level (the journal records both), a JSON one
 * keeps them (the same object wherever it goes). */
size_t logline_msg(char *out, int format, int journal,
                   const struct timespec *ts, int level, const char *prefix,
                   const char *msg);

/* What the access log records of one HTTP request.  Strings are
 * borrowed; NULL means "none" ("-" in text, null in JSON). */
struct access_fields {
    const char *peer;     /* "127.0.0.1:5123", "[::1]:80", "unix:uid=0" */
    const char *method;   /* HTTP method */
    const char *uri;      /* request target; first 200 bytes kept */
    int status;           /* HTTP status sent */
    size_t in;            /* request body bytes */
    size_t out;           /* response body bytes */
    double ms;            /* from the request's start to its answer */
    const char *what;     /* the call(s) answered; first 64 bytes kept */
    const char *trace_id; /* W3C trace-id of the request */
};

/* One line of the access log.  Text:
 *   TIME PEER "METHOD URI" STATUS IN OUT 1.234ms WHAT TRACE
 * (WHAT and TRACE "-" when none); JSON: an object with members "time",
 * "peer", "method", "uri", "status", "in", "out", "ms", "call" and
 * "trace_id" (null when none). */
size_t logline_access(char *out, int format, const struct timespec *ts,
                      const struct access_fields *f);

#endif
