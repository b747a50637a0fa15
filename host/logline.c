/* SPDX-License-Identifier: MIT */
/*
 * logline.c - see logline.h.
 *
 * A line is built in a bounded writer that never writes past its end;
 * fixed parts are short (input strings other than the message are capped
 * below), so only the message, the last member, is ever cut, and it is
 * cut between whole escaped characters, before the closing quote.
 */
#include "logline.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* Caps on input fields: their escaped forms (6 bytes a byte at most)
 * together stay far below LOGLINE_MAX, leaving the message its room. */
#define PREFIX_CAP 64
#define PEER_CAP 128
#define METHOD_CAP 16
#define URI_CAP 200
#define WHAT_CAP 64
#define TRACE_CAP 64

/* By enum log_level, then LOGLINE_FATAL: text tag, JSON name, syslog(3)
 * priority (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_CRIT). */
static const char *const level_tags[] = {"ERROR", "WARN ", "INFO ", "DEBUG",
                                         "FATAL"};
static const char *const level_names[] = {"error", "warn", "info", "debug",
                                          "fatal"};
static const int level_prios[] = {3, 4, 6, 7, 2};

/* A line under construction: p[0 .. n) written, at most `end` bytes (the
 * final '\n' comes on top, always room for it). */
struct lw {
    char *p;
    size_t n;
    size_t end;
};

static void
lw_init(struct lw *w, char *out)
{
    w->p = out;
    w->n = 0;
    w->end = LOGLINE_MAX - 1;
}

/* Append what fits of s[0 .. len). */
static void
lw_put(struct lw *w, const char *s, size_t len)
{
    if (len > w->end - w->n)
        len = w->end - w->n;
    memcpy(w->p + w->n, s, len);
    w->n += len;
}

static void
lw_puts(struct lw *w, const char *s)
{
    lw_put(w, s, strlen(s));
}

static void lw_printf(struct lw *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
lw_printf(struct lw *w, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (r > 0)
        lw_put(w, tmp, (size_t)r < sizeof(tmp) ? (size_t)r : sizeof(tmp) - 1);
}

/* The line's end: '\n' after what was written; the line's length. */
static size_t
lw_finish(struct lw *w)
{
    w->p[w->n++] = '\n';
    return w->n;
}

/* v in decimal, at least `width` digits (zero-padded). */
static void
put_num(struct lw *w, unsigned long long v, int width)
{
    char digits[24];
    int n = 0;

    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 || n < width);
    while (n > 0)
        lw_put(w, &digits[--n], 1);
}

/* "2026-11-29T18:40:01.123Z" (UTC, milliseconds), computed here rather
 * than by gmtime_r/strftime so that fatal.c's signal handler may call
 * logline_msg: the civil date of a day number is Howard Hinnant's
 * days_from_civil inverse (proleptic Gregorian, exact for any day). */
static void
put_time(struct lw *w, const struct timespec *ts)
{
    long long secs = ts->tv_sec, days = secs / 86400, sod = secs % 86400;
    long long z, era, doe, yoe, y, doy, mp, d, m;

    if (sod < 0) {
        sod += 86400;
        days--;
    }
    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    put_num(w, y > 0 ? (unsigned long long)y : 0, 4);
    lw_puts(w, "-");
    put_num(w, (unsigned long long)m, 2);
    lw_puts(w, "-");
    put_num(w, (unsigned long long)d, 2);
    lw_puts(w, "T");
    put_num(w, (unsigned long long)(sod / 3600), 2);
    lw_puts(w, ":");
    put_num(w, (unsigned long long)(sod / 60 % 60), 2);
    lw_puts(w, ":");
    put_num(w, (unsigned long long)(sod % 60), 2);
    lw_puts(w, ".");
    put_num(w, (unsigned long long)(ts->tv_nsec / 1000000), 3);
    lw_puts(w, "Z");
}

/* Whether byte c of client or plugin text would break a text line: a
 * control byte (a newline would start a line of its own), or one of
 * `also` (the access log's field separators). */
static int
unsafe(unsigned char c, const char *also)
{
    return c < 0x20 || c == 0x7f || (c != '\0' && strchr(also, c) != NULL);
}

/* Append s[0 .. n) with each unsafe byte as "\xNN". */
static void
put_clean_n(struct lw *w, const char *s, size_t n, const char *also)
{
    static const char hex[] = "0123456789abcdef";
    char e[4] = {'\\', 'x', 0, 0};

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!unsafe(c, also)) {
            lw_put(w, s + i, 1);
            continue;
        }
        e[2] = hex[c >> 4];
        e[3] = hex[c & 0xf];
        lw_put(w, e, 4);
    }
}

/* How many bytes of s[0 .. len) fit in `room` once escaped. */
static size_t
clean_fit(const char *s, size_t len, const char *also, size_t room)
{
    size_t i, need = 0;

    for (i = 0; i < len; i++) {
        size_t k = unsafe((unsigned char)s[i], also) ? 4 : 1;
        if (need + k > room)
            break;
        need += k;
    }
    return i;
}

/* Append text s[0 .. len), unsafe bytes escaped (so that no text can
 * forge a line or a field); when it does not fit, its longest prefix
 * that ends at a character boundary and "...". */
static void
put_clean(struct lw *w, const char *s, size_t len, const char *also)
{
    size_t room = w->end - w->n, fit;

    if (clean_fit(s, len, also, room) == len) {
        put_clean_n(w, s, len, also);
        return;
    }
    if (room < 3)
        return;
    fit = clean_fit(s, len, also, room - 3);
    put_clean_n(w, s, util_utf8_prefix(s, fit), also);
    lw_puts(w, "...");
}

static void
put_text(struct lw *w, const char *s, size_t len)
{
    put_clean(w, s, len, "");
}

/* The length of the valid UTF-8 sequence at p[0 .. n) (RFC 3629: no
 * overlong forms, surrogates or code points past U+10FFFF); 0 if none. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t need;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        need = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        need = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        need = 4;
    else
        return 0;
    if (p[0] == 0xe0)
        lo = 0xa0;
    else if (p[0] == 0xed)
        hi = 0x9f;
    else if (p[0] == 0xf0)
        lo = 0x90;
    else if (p[0] == 0xf4)
        hi = 0x8f;
    if (n < need || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t k = 2; k < need; k++)
        if ((p[k] & 0xc0) != 0x80)
            return 0;
    return need;
}

/* The escaped form of the character at p[0 .. n) in e (6 bytes at most):
 * its length, with the input bytes it stands for in *adv. */
static size_t
escape_one(const unsigned char *p, size_t n, char *e, size_t *adv)
{
    static const char hex[] = "0123456789abcdef";
    size_t k = utf8_len(p, n);

    *adv = k > 0 ? k : 1;
    if (k == 0) {
        memcpy(e, "\\ufffd", 6);
        return 6;
    }
    if (k > 1) {
        memcpy(e, p, k);
        return k;
    }
    e[0] = '\\';
    switch (p[0]) {
    case '"':
    case '\\':
        e[1] = (char)p[0];
        return 2;
    case '\n':
        e[1] = 'n';
        return 2;
    case '\r':
        e[1] = 'r';
        return 2;
    case '\t':
        e[1] = 't';
        return 2;
    default:
        break;
    }
    if (p[0] >= 0x20 && p[0] != 0x7f) {
        e[0] = (char)p[0];
        return 1;
    }
    memcpy(e, "\\u00", 4);
    e[4] = hex[p[0] >> 4];
    e[5] = hex[p[0] & 0xf];
    return 6;
}

/* Append s[0 .. len) as a JSON string, quotes included, leaving `keep`
 * bytes free after it; when it does not fit, as many whole characters as
 * do, then "...".  Callers leave room for at least the quotes and "...". */
static void
put_json(struct lw *w, const char *s, size_t len, size_t keep)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t limit = w->end - keep, total = 0, i, adv, el;
    char e[8];
    int cut;

    for (i = 0; i < len; i += adv)
        total += escape_one(p + i, len - i, e, &adv);
    cut = w->n + total + 2 > limit;
    if (cut)
        limit -= 4; /* "..." and the closing quote */
    lw_put(w, "\"", 1);
    for (i = 0; i < len; i += adv) {
        el = escape_one(p + i, len - i, e, &adv);
        if (cut && w->n + el > limit)
            break;
        lw_put(w, e, el);
    }
    if (cut)
        lw_puts(w, "...");
    lw_put(w, "\"", 1);
}

/* The length of s kept under a cap of `cap` bytes: all of a shorter
 * string, else the longest prefix ending at a character boundary. */
static size_t
capped_len(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap + 1);

    return n <= cap ? n : util_utf8_prefix(s, cap);
}

/* A capped text field of the access log, its spaces, quotes and
 * control bytes escaped (a client's method name or URI cannot make a
 * field or a line of its own); NULL: "-". */
static void
put_raw(struct lw *w, const char *s, size_t cap)
{
    if (s == NULL)
        s = "-";
    put_clean(w, s, capped_len(s, cap), " \"");
}

/* A capped string member value; NULL: null. */
static void
put_json_capped(struct lw *w, const char *s, size_t cap)
{
    if (s == NULL)
        lw_puts(w, "null");
    else
        put_json(w, s, capped_len(s, cap), 0);
}

const char *
logline_level_name(int level)
{
    if (level < LEVEL_ERROR || level > LOGLINE_FATAL)
        return "?";
    return level_names[level];
}

int
logline_format_parse(const char *s)
{
    if (strcmp(s, "text") == 0)
        return LOG_FORMAT_TEXT;
    if (strcmp(s, "json") == 0)
        return LOG_FORMAT_JSON;
    return -1;
}

size_t
logline_msg(char *out, int format, int journal, const struct timespec *ts,
            int level, const char *prefix, const char *msg)
{
    struct lw w;

    if (level < LEVEL_ERROR)
        level = LEVEL_ERROR;
    if (level > LOGLINE_FATAL)
        level = LOGLINE_FATAL;
    lw_init(&w, out);
    if (journal) {
        lw_puts(&w, "<");
        put_num(&w, (unsigned long long)level_prios[level], 1);
        lw_puts(&w, ">");
    }
    if (format == LOG_FORMAT_JSON) {
        lw_puts(&w, "{\"time\":\"");
        put_time(&w, ts);
        lw_puts(&w, "\",\"level\":\"");
        lw_puts(&w, level_names[level]);
        lw_puts(&w, "\",");
        if (prefix != NULL) {
            lw_puts(&w, "\"plugin\":");
            put_json_capped(&w, prefix, PREFIX_CAP);
            lw_puts(&w, ",");
        }
        lw_puts(&w, "\"msg\":");
        put_json(&w, msg, strlen(msg), 1);
        lw_puts(&w, "}");
        return lw_finish(&w);
    }
    if (!journal && level == LOGLINE_FATAL) {
        lw_puts(&w, "FATAL "); /* no time: as it always was */
    } else if (!journal) {
        put_time(&w, ts);
        lw_puts(&w, " ");
        lw_puts(&w, level_tags[level]);
        lw_puts(&w, " ");
    }
    if (prefix != NULL) {
        lw_puts(&w, "[");
        lw_put(&w, prefix, capped_len(prefix, PREFIX_CAP));
        lw_puts(&w, "] ");
    }
    put_text(&w, msg, strlen(msg));
    return lw_finish(&w);
}

size_t
logline_access(char *out, int format, const struct timespec *ts,
               const struct access_fields *f)
{
    double ms = f->ms >= 0 && f->ms < 1e12 ? f->ms : 0;
    struct lw w;

    lw_init(&w, out);
    if (format == LOG_FORMAT_JSON) {
        lw_puts(&w, "{\"time\":\"");
        put_time(&w, ts);
        lw_puts(&w, "\",\"peer\":");
        put_json_capped(&w, f->peer, PEER_CAP);
        lw_puts(&w, ",\"method\":");
        put_json_capped(&w, f->method, METHOD_CAP);
        lw_puts(&w, ",\"uri\":");
        put_json_capped(&w, f->uri, URI_CAP);
        lw_printf(&w, ",\"status\":%d,\"in\":%zu,\"out\":%zu,\"ms\":%.3f",
                  f->status, f->in, f->out, ms);
        lw_puts(&w, ",\"call\":");
        put_json_capped(&w, f->what, WHAT_CAP);
        lw_puts(&w, ",\"trace_id\":");
        put_json_capped(&w, f->trace_id, TRACE_CAP);
        lw_puts(&w, "}");
        return lw_finish(&w);
    }
    put_time(&w, ts);
    lw_puts(&w, " ");
    put_raw(&w, f->peer, PEER_CAP);
    lw_puts(&w, " \"");
    put_raw(&w, f->method, METHOD_CAP);
    lw_puts(&w, " ");
    put_raw(&w, f->uri, URI_CAP);
    lw_printf(&w, "\" %d %zu %zu %.3fms ", f->status, f->in, f->out, ms);
    put_raw(&w, f->what, WHAT_CAP);
    lw_puts(&w, " ");
    put_raw(&w, f->trace_id, TRACE_CAP);
    return lw_finish(&w);
}
