/* SPDX-License-Identifier: MIT */
/*
 * log.h - the host's logger: one line per event on stderr, with UTC time
 * and level, written with a single write(2) so lines from several threads
 * never interleave.  Thread-safe.
 *
 * When stderr is systemd's journal (see log_detect_journal), a line is
 * "<N>text" instead, N its syslog priority (error 3, warn 4, info 6,
 * debug 7), without time or level: the journal records both, and
 * `journalctl -p err` then finds the errors.
 *
 * With log_set_format(LOG_FORMAT_JSON) every line of the log and of the
 * access log is one JSON object instead (logline.h says which members);
 * for the journal still after "<N>".  Lines are at most LOGLINE_MAX
 * bytes, longer messages cut with "...".
 */
#ifndef HOST_LOG_H
#define HOST_LOG_H

#include <stdarg.h>

#include "logline.h"

/* enum log_level (LEVEL_ERROR .. LEVEL_DEBUG) is logline.h's. */

/* Set the most verbose level that is written (default LEVEL_INFO). */
void log_set_level(int level);
int log_get_level(void);
/* Parse "error", "warn", "info", "debug"; -1 if none of them. */
int log_level_parse(const char *s);
const char *log_level_name(int level);
/* Set the format of both logs' lines (enum log_format; default text),
 * for every thread from its next line. */
void log_set_format(int format);
int log_get_format(void);

void log_msg(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Like log_msg with a "[prefix] " before the text. */
void log_vmsgp(int level, const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* log_vmsgp's variadic form. */
void log_msgp(int level, const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Whether stderr is the journal: $JOURNAL_STREAM (DEV:INODE, read at the
 * first call) names the device and inode fstat(2) gives for fd 2.  Main
 * thread: at startup, before other threads log; log_open_file() checks
 * again, since the file it puts on fd 2 is not the journal. */
void log_detect_journal(void);
/* Whether lines go to the journal as "<N>text" (any thread;
 * async-signal-safe). */
int log_to_journal(void);

/* Send the log to `path` (appending) instead of stderr; NULL: stderr.
 * 0 or -1 with errno.  Main thread, before other threads. */
int log_open_file(const char *path);

/* rpchost -t's check of a log file (`key`, "log_file" or "access_log",
 * of the config file `config`): an existing file must open for appending,
 * a new one needs a folder it can be created in.  Nothing is created
 * (-t often runs as root, and a root-owned file would keep the service's
 * user out of it).  0, or -1 after one error line naming config, key,
 * path and why. */
int log_check_file(const char *config, const char *key, const char *path);

/* The access log: one line per HTTP request.  log_access_open(NULL)
 * turns it off.  Main thread. */
int log_access_open(const char *path);
int log_access_enabled(void);
/* Write the line of one request (`f` is borrowed).  Any thread. */
void log_access(const struct access_fields *f);

/* SIGUSR1: reopen both files at their paths (after rotation), atomically
 * for every thread.  Main thread.  0 or -1 (logged). */
int log_reopen(void);

/* Close the files (at exit). */
void log_close(void);

#define log_error(...) log_msg(LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LEVEL_DEBUG, __VA_ARGS__)

#endif
