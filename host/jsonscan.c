/* SPDX-License-Identifier: MIT */
/*
 * jsonscan.c - see jsonscan.h.  A recursive-descent validator of the
 * RFC 8259 grammar whose depth is bounded by max_depth (at most 1000 by
 * config), so hostile nesting costs neither stack nor time.
 */
#include "jsonscan.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

struct scanner {
    const unsigned char *p;
    const unsigned char *start;
    const unsigned char *end;
    int depth;
    int max_depth;
    int err;
    const unsigned char *err_at;
};

static int
fail(struct scanner *s, int err)
{
    if (s->err == JSCAN_OK) {
        s->err = err;
        s->err_at = s->p;
    }
    return -1;
}

static void
skip_ws(struct scanner *s)
{
    while (s->p < s->end &&
           (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* Read 4 hex digits at s->p; -1 on error. */
static long
read_u4(struct scanner *s)
{
    long v = 0;

    if (s->end - s->p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        int h = util_hexval(s->p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    s->p += 4;
    return v;
}

/* Validate one UTF-8 sequence at s->p (first byte >= 0x80). */
static int
utf8_seq(struct scanner *s)
{
    const unsigned char *p = s->p;
    unsigned c = *p, n, min, cp;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 1;
        cp = c & 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 2;
        cp = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return fail(s, JSCAN_UTF8);
    }
    if ((size_t)(s->end - p) <= n)
        return fail(s, JSCAN_UTF8);
    for (unsigned i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return fail(s, JSCAN_UTF8);
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return fail(s, JSCAN_UTF8);
    s->p += n + 1;
    return 0;
}

/* Which member a decoded object key names, if any of enum jscan_member. */
static int
member_of(const char *dec, size_t n)
{
    switch (n) {
    case 2:
        return memcmp(dec, "id", 2) == 0 ? JSCAN_ID : -1;
    case 6:
        if (memcmp(dec, "method", 6) == 0)
            return JSCAN_METHOD;
        return memcmp(dec, "params", 6) == 0 ? JSCAN_PARAMS : -1;
    case 7:
        return memcmp(dec, "jsonrpc", 7) == 0 ? JSCAN_JSONRPC : -1;
    }
    return -1;
}

/* A string; s->p at the opening quote.  When `key` is given, *key is set
 * to the member (enum jscan_member) the decoded string names, or -1. */
static int
scan_string(struct scanner *s, int *key)
{
    char dec[8];
    size_t ndec = 0;
    int overflow = 0;

    s->p++; /* opening quote */
    for (;;) {
        unsigned char c;

        if (s->p >= s->end)
            return fail(s, JSCAN_SYNTAX);
        c = *s->p;
        if (c == '"') {
            s->p++;
            break;
        }
        if (c < 0x20)
            return fail(s, JSCAN_CONTROL);
        if (c >= 0x80) {
            if (utf8_seq(s) != 0)
                return -1;
            overflow = 1;
            continue;
        }
        if (c != '\\') {
            if (ndec < sizeof(dec))
                dec[ndec++] = (char)c;
            else
                overflow = 1;
            s->p++;
            continue;
        }
        s->p++;
        if (s->p >= s->end)
            return fail(s, JSCAN_SYNTAX);
        c = *s->p++;
        switch (c) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            /* Only the member names matter here: none of these is in
             * any of them, so any of them makes the key something else. */
            overflow = 1;
            break;
        case 'u': {
            long u = read_u4(s);
            if (u < 0)
                return fail(s, JSCAN_SYNTAX);
            if (u == 0) {
                s->p -= 6;
                return fail(s, JSCAN_NUL);
            }
            if (u >= 0xdc00 && u <= 0xdfff)
                return fail(s, JSCAN_SURROGATE);
            if (u >= 0xd800 && u <= 0xdbff) {
                long lo;
                if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u')
                    return fail(s, JSCAN_SURROGATE);
                s->p += 2;
                lo = read_u4(s);
                if (lo < 0xdc00 || lo > 0xdfff)
                    return fail(s, JSCAN_SURROGATE);
                overflow = 1;
            } else if (u > 0 && u < 0x80 && ndec < sizeof(dec)) {
                dec[ndec++] = (char)u;
            } else {
                overflow = 1;
            }
            break;
        }
        default:
            s->p--;
            return fail(s, JSCAN_SYNTAX);
        }
    }
    if (key)
        *key = overflow ? -1 : member_of(dec, ndec);
    return 0;
}

static int
digits(struct scanner *s)
{
    const unsigned char *b = s->p;

    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > b ? 0 : fail(s, JSCAN_SYNTAX);
}

static int
scan_number(struct scanner *s)
{
    if (*s->p == '-')
        s->p++;
    if (s->p >= s->end)
        return fail(s, JSCAN_SYNTAX);
    if (*s->p == '0')
        s->p++;
    else if (digits(s) != 0)
        return -1;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (digits(s) != 0)
            return -1;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (digits(s) != 0)
            return -1;
    }
    return 0;
}

static int
scan_literal(struct scanner *s, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return fail(s, JSCAN_SYNTAX);
    s->p += n;
    return 0;
}

static int scan_value(struct scanner *s, struct jscan_elem *e);

/* An object; when `e` is given (a top-level request), record the span of
 * the first value of each member the envelope reads. */
static int
scan_object(struct scanner *s, struct jscan_elem *e)
{
    if (++s->depth > s->max_depth)
        return fail(s, JSCAN_DEPTH);
    if (e != NULL)
        e->is_object = 1;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        s->depth--;
        return 0;
    }
    for (;;) {
        int key = -1;
        const unsigned char *vstart;

        skip_ws(s);
        if (s->p >= s->end || *s->p != '"')
            return fail(s, JSCAN_SYNTAX);
        if (scan_string(s, e ? &key : NULL) != 0)
            return -1;
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return fail(s, JSCAN_SYNTAX);
        s->p++;
        skip_ws(s);
        vstart = s->p;
        if (scan_value(s, NULL) != 0)
            return -1;
        if (key >= 0 && e->m[key].len == 0) {
            e->m[key].off = (size_t)(vstart - s->start);
            e->m[key].len = (size_t)(s->p - vstart);
        }
        skip_ws(s);
        if (s->p >= s->end)
            return fail(s, JSCAN_SYNTAX);
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p == '}') {
            s->p++;
            s->depth--;
            return 0;
        }
        return fail(s, JSCAN_SYNTAX);
    }
}

/* An array.  With `out`, its elements are the batch: record each one's
 * members, up to max_elems of them. */
static int
scan_array(struct scanner *s, struct jscan *out, size_t max_elems)
{
    size_t cap = 0;

    if (++s->depth > s->max_depth)
        return fail(s, JSCAN_DEPTH);
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        s->depth--;
        return 0;
    }
    for (;;) {
        struct jscan_elem *e = NULL;

        skip_ws(s);
        if (out != NULL) {
            if (out->count >= max_elems)
                return fail(s, JSCAN_BATCH);
            if (out->count == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                struct jscan_elem *ne;
                if (ncap > max_elems)
                    ncap = max_elems;
                ne = realloc(out->elems, ncap * sizeof(*ne));
                if (ne == NULL)
                    return fail(s, JSCAN_NOMEM);
                out->elems = ne;
                cap = ncap;
            }
            e = &out->elems[out->count++];
            memset(e, 0, sizeof(*e));
        }
        if (scan_value(s, e) != 0)
            return -1;
        skip_ws(s);
        if (s->p >= s->end)
            return fail(s, JSCAN_SYNTAX);
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p == ']') {
            s->p++;
            s->depth--;
            return 0;
        }
        return fail(s, JSCAN_SYNTAX);
    }
}

static int
scan_value(struct scanner *s, struct jscan_elem *e)
{
    if (s->p >= s->end)
        return fail(s, JSCAN_SYNTAX);
    switch (*s->p) {
    case '{':
        return scan_object(s, e);
    case '[':
        return scan_array(s, NULL, 0);
    case '"':
        return scan_string(s, NULL);
    case 't':
        return scan_literal(s, "true");
    case 'f':
        return scan_literal(s, "false");
    case 'n':
        return scan_literal(s, "null");
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return scan_number(s);
        if (*s->p >= 0x80) {
            /* Valid UTF-8 or not, no value starts so: say which. */
            const unsigned char *at = s->p;
            if (utf8_seq(s) != 0)
                return -1;
            s->p = at;
        }
        return fail(s, JSCAN_SYNTAX);
    }
}

int
jscan_run(const char *text, size_t len, int max_depth, size_t max_elems,
          struct jscan *out)
{
    struct scanner s;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&s, 0, sizeof(s));
    s.start = s.p = (const unsigned char *)text;
    s.end = s.start + len;
    s.max_depth = max_depth;
    skip_ws(&s);
    if (s.p >= s.end) {
        out->err = JSCAN_EMPTY;
        out->err_off = len;
        return out->err;
    }
    if (*s.p == '[') {
        out->is_array = 1;
        rc = scan_array(&s, out, max_elems);
    } else {
        out->count = 1;
        out->elems = &out->one;
        rc = scan_value(&s, &out->one);
    }
    if (rc == 0) {
        skip_ws(&s);
        if (s.p < s.end)
            fail(&s, JSCAN_TRAILING);
    }
    if (s.err == JSCAN_SYNTAX && s.err_at >= s.end)
        s.err = JSCAN_EOF; /* truncated, rather than wrong */
    out->err = s.err;
    out->err_off = s.err ? (size_t)(s.err_at - s.start) : 0;
    return out->err;
}

void
jscan_free(struct jscan *s)
{
    if (s->elems != &s->one)
        free(s->elems);
    s->elems = NULL;
    s->count = 0;
}

const char *
jscan_strerror(int err)
{
    switch (err) {
    case JSCAN_OK:
        return "ok";
    case JSCAN_SYNTAX:
        return "invalid JSON";
    case JSCAN_UTF8:
        return "invalid UTF-8";
    case JSCAN_DEPTH:
        return "nesting too deep";
    case JSCAN_TRAILING:
        return "unexpected data after the JSON value";
    case JSCAN_EMPTY:
        return "empty body";
    case JSCAN_BATCH:
        return "batch too large";
    case JSCAN_NOMEM:
        return "out of memory";
    case JSCAN_SURROGATE:
        return "unpaired UTF-16 surrogate escape";
    case JSCAN_NUL:
        return "\\u0000 in a string is not supported";
    case JSCAN_CONTROL:
        return "raw control character in a string (escape it)";
    case JSCAN_EOF:
        return "unexpected end of input";
    }
    return "unknown error";
}

/* Append code point cp as UTF-8; returns the bytes written. */
static size_t
put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static unsigned long
hex4(const char *p)
{
    unsigned long v = 0;

    for (int i = 0; i < 4; i++)
        v = v * 16 + (unsigned long)util_hexval((unsigned char)p[i]);
    return v;
}

/* The input was validated by jscan_run(): every escape is complete, every
 * high surrogate is followed by a low one, and there is no \u0000.  No
 * escape decodes to more bytes than its text, so len bytes are room
 * enough (the quotes pay for the NUL). */
size_t
jscan_unescape(const char *raw, size_t len, char *out)
{
    const char *p = raw + 1, *end = raw + len - 1;
    size_t n = 0;

    while (p < end) {
        unsigned long cp;

        if (*p != '\\') {
            out[n++] = *p++;
            continue;
        }
        p++;
        switch (*p++) {
        case 'b':
            out[n++] = '\b';
            break;
        case 'f':
            out[n++] = '\f';
            break;
        case 'n':
            out[n++] = '\n';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'u':
            cp = hex4(p);
            p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(p + 2) - 0xdc00);
                p += 6;
            }
            n += put_utf8(out + n, cp);
            break;
        default: /* '"', '\\', '/' */
            out[n++] = p[-1];
            break;
        }
    }
    out[n] = '\0';
    return n;
}
