/* SPDX-License-Identifier: MIT */
/*
 * iniread.h - the line reader under libinih that the config file
 * (config.c) and the credentials file (auth.c) are parsed with: it counts
 * the lines it hands to inih, refuses a line longer than inih's line
 * buffer, keeps the first error its caller finds with that error's line,
 * and turns inih's result and that error into one "FILE:LINE: message"
 * text.
 *
 * (Not "ini.h": host/ is on the include path, and <ini.h> is libinih's.)
 */
#ifndef HOST_INIREAD_H
#define HOST_INIREAD_H

#include <ini.h>
#include <stddef.h>
#include <stdio.h>

/* Called with each line read, after it is counted (r->line is its
 * number) and found short enough; it may record an error. */
typedef void (*iniread_line_fn)(void *ctx, const char *line);

struct iniread {
    FILE *fp;                /* the text; the caller opens and closes it */
    int line;                /* lines handed to inih so far: the current one */
    int err_line;            /* line of the first error recorded */
    char err[512];           /* its message; empty: none recorded */
    iniread_line_fn on_line; /* or NULL */
    void *ctx;               /* on_line's first argument */
};

/* Make r a reader of fp with no line read and no error; on_line (or NULL)
 * sees each line (see iniread_line_fn). */
void iniread_init(struct iniread *r, FILE *fp, iniread_line_fn on_line,
                  void *ctx);

/* Parse r's text with inih: ini_parse_stream() with r as the reader and
 * handler(user, section, name, value) for each key.  Returns inih's
 * result (0, the line of its first syntax error or of the first key the
 * handler refused with 0, or < 0); hand it to iniread_result().  A line
 * longer than inih's buffer (INI_MAX_LINE - 2 characters and its newline)
 * records "line longer than N characters" on its line and ends the
 * reading there. */
int iniread_parse(struct iniread *r, ini_handler handler, void *user);

/* Record an error on the current line (r->line), or on `line`, unless one
 * is recorded already: the first error wins.  The message is printf's of
 * fmt; one longer than r->err is cut.  Both return 0, inih's "stop" for a
 * handler (inih goes on reading, so a handler ignores the keys after an
 * error: r->err[0] != '\0'). */
int iniread_fail(struct iniread *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int iniread_fail_at(struct iniread *r, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The outcome of a parse of `file` that returned rc: 0 when rc is 0 and no
 * error was recorded; otherwise -1 with errbuf (errlen bytes) set to the
 * first of these that applies:
 *   "FILE: read error"               rc is 0 and r->fp's error flag is set;
 *   "FILE:LINE: MESSAGE"             the recorded error, unless inih found
 *                                    a syntax error on an earlier line;
 *   "FILE:RC: SYNTAX"                inih's syntax error on line rc, with
 *                                    the caller's text for it;
 *   "FILE: cannot parse (error RC)"  rc < 0 (inih could not read). */
int iniread_result(const struct iniread *r, int rc, const char *file,
                   const char *syntax, char *errbuf, size_t errlen);

#endif
