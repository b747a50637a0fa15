/* SPDX-License-Identifier: MIT */
/*
 * iniread.c - see iniread.h.  The INI syntax is libinih's; this file only
 * feeds it lines, counting them, and keeps the first error.
 */
#include "iniread.h"

#include <stdarg.h>
#include <string.h>

void
iniread_init(struct iniread *r, FILE *fp, iniread_line_fn on_line, void *ctx)
{
    memset(r, 0, sizeof(*r));
    r->fp = fp;
    r->on_line = on_line;
    r->ctx = ctx;
}

static void
vfail(struct iniread *r, int line, const char *fmt, va_list ap)
{
    if (r->err[0] != '\0')
        return;
    r->err_line = line;
    vsnprintf(r->err, sizeof(r->err), fmt, ap);
}

int
iniread_fail(struct iniread *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(r, r->line, fmt, ap);
    va_end(ap);
    return 0;
}

int
iniread_fail_at(struct iniread *r, int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(r, line, fmt, ap);
    va_end(ap);
    return 0;
}

/* inih's reader: one line of at most num - 1 bytes at a time, counted.  A
 * line that does not fit (no newline, and more text follows) ends the
 * reading. */
static char *
read_line(char *str, int num, void *stream)
{
    struct iniread *r = stream;
    char *got = fgets(str, num, r->fp);
    size_t n;

    if (got == NULL)
        return NULL;
    r->line++;
    n = strlen(str);
    if (n > 0 && str[n - 1] != '\n' && !feof(r->fp)) {
        iniread_fail(r, "line longer than %d characters", num - 2);
        return NULL;
    }
    if (r->on_line != NULL)
        r->on_line(r->ctx, str);
    return got;
}

int
iniread_parse(struct iniread *r, ini_handler handler, void *user)
{
    return ini_parse_stream(read_line, r, handler, user);
}

int
iniread_result(const struct iniread *r, int rc, const char *file,
               const char *syntax, char *errbuf, size_t errlen)
{
    if (rc == 0 && ferror(r->fp)) {
        snprintf(errbuf, errlen, "%s: read error", file);
        return -1;
    }
    if (r->err[0] != '\0' && (rc <= 0 || r->err_line <= rc)) {
        snprintf(errbuf, errlen, "%s:%d: %s", file, r->err_line, r->err);
        return -1;
    }
    if (rc > 0) {
        snprintf(errbuf, errlen, "%s:%d: %s", file, rc, syntax);
        return -1;
    }
    if (rc < 0) {
        snprintf(errbuf, errlen, "%s: cannot parse (error %d)", file, rc);
        return -1;
    }
    return 0;
}
