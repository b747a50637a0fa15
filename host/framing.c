/* SPDX-License-Identifier: MIT */
/*
 * framing.c - see framing.h.
 */
#include "framing.h"

#include <string.h>

static const char te_name[] = "transfer-encoding";
#define TE_LEN (sizeof(te_name) - 1)
#define TE_NONE 0xff /* this line's name is not matched */

/* A chunk's data allows this much framing, and twice its size (Go's). */
#define CHUNK_ALLOWANCE 16

/* HEAD: where the last line ended (f->eol). */
enum {
    EOL_IN_LINE, /* in a line */
    EOL_JUST,    /* the last line has just ended: a new one starts */
    EOL_LAST     /* in a line that ends the headers at its LF */
};

/* Where a chunk-size line's reading is: strtoll(line, &end, 16) as glibc
 * reads, then evhttp's checks on the value and on *end. */
enum {
    N_SPACE,  /* leading white space */
    N_SIGN,   /* after a sign, or at the first byte that is not space */
    N_ZERO,   /* a first digit 0: "0x" may follow (a prefix) */
    N_PREFIX, /* after "0x": a hex digit must follow */
    N_DIGITS, /* hex digits */
    N_ENDED   /* the byte after the number came: f->flags says if good */
};

#define F_CR 0x01   /* a CR came last: a line end if an LF follows */
#define F_ANY 0x02  /* the line (up to a NUL) has a byte */
#define F_NUL 0x04  /* a NUL came: strtoll and strlen read no further */
#define F_NEG 0x08  /* a minus sign */
#define F_HUGE 0x10 /* more than 63 bits */
#define F_GOOD 0x20 /* N_ENDED: evhttp takes the byte after the number */

/* How the size line ended, as evhttp takes it. */
enum line_is { LINE_EMPTY, LINE_BAD, LINE_SIZE };

static unsigned char
lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* isspace() in the C locale (strtoll's leading white space). */
static int
is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static int
hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

void
framing_start(struct framing *f)
{
    memset(f, 0, sizeof(*f));
    f->part = FRAMING_HEAD; /* in the request line: te_at 0, EOL_IN_LINE */
}

/* FRAMING_HEAD: whether p[0..n) ends the headers (then *used is the count
 * of bytes up to the end of the line that ends them).  Each line's start
 * is matched against "transfer-encoding:" on the way.  A line whose first
 * byte is a NUL ends them at its LF (EOL_LAST): evhttp takes any such
 * line for the end. */
static int
head(struct framing *f, const char *p, size_t n, size_t *used)
{
    const char *s = p, *end = p + n;

    while (s < end) {
        const char *nl;

        if (f->eol == EOL_JUST) {
            while (s < end && *s == '\r')
                s++;
            if (s == end)
                return 0;
            if (*s == '\n') {
                *used = (size_t)(s + 1 - p);
                return 1;
            }
            f->eol = *s == '\0' ? EOL_LAST : EOL_IN_LINE;
            f->te_at = f->eol == EOL_LAST ? TE_NONE : 0;
        }
        for (; f->te_at != TE_NONE && s < end && *s != '\n'; s++) {
            if (f->te_at == TE_LEN) {
                if (*s == ':')
                    f->te = 1;
                f->te_at = TE_NONE;
            } else if (lower((unsigned char)*s) == te_name[f->te_at]) {
                f->te_at++;
            } else {
                f->te_at = TE_NONE;
            }
        }
        nl = memchr(s, '\n', (size_t)(end - s));
        if (nl == NULL)
            return 0;
        if (f->eol == EOL_LAST) {
            *used = (size_t)(nl + 1 - p);
            return 1;
        }
        f->eol = EOL_JUST;
        s = nl + 1;
    }
    return 0;
}

static void
line_start(struct framing *f)
{
    f->part = FRAMING_LINE;
    f->size = 0;
    f->line_len = 0;
    f->size_at = N_SPACE;
    f->flags = 0;
    f->first = 0;
}

/* The number ended at byte c (strtoll's *end): evhttp takes a NUL or a
 * space there. */
static void
number_ends(struct framing *f, unsigned char c)
{
    f->size_at = N_ENDED;
    if (c == ' ')
        f->flags |= F_GOOD;
}

/* A byte of a size line's text (before any NUL, CRLF's CR aside). */
static void
line_byte(struct framing *f, unsigned char c)
{
    int d = hex_value(c);

    if (!(f->flags & F_ANY)) {
        f->flags |= F_ANY;
        f->first = c;
    }
    if (f->size_at == N_SPACE) {
        if (is_space(c))
            return;
        f->size_at = N_SIGN;
        if (c == '-' || c == '+') {
            f->flags |= c == '-' ? F_NEG : 0;
            return;
        }
    }
    if (f->size_at == N_SIGN) {
        if (c == '0') {
            f->size_at = N_ZERO;
        } else if (d >= 0) {
            f->size_at = N_DIGITS;
            f->size = (uint64_t)d;
        } else {
            number_ends(f, f->first); /* no number: the end is the start */
        }
        return;
    }
    if (f->size_at == N_ZERO) {
        if (c == 'x' || c == 'X') {
            f->size_at = N_PREFIX;
            return;
        }
        f->size_at = N_DIGITS; /* the 0 was a digit */
    } else if (f->size_at == N_PREFIX) {
        if (d < 0) {
            number_ends(f, 'x'); /* "0x", no digit: the 0 read, end at x */
            return;
        }
        f->size_at = N_DIGITS;
        f->size = (uint64_t)d;
        return;
    }
    if (f->size_at != N_DIGITS)
        return; /* N_ENDED: strtoll read no further */
    if (d < 0) {
        number_ends(f, c);
        return;
    }
    if (f->size > (UINT64_MAX >> 5))
        f->flags |= F_HUGE; /* past strtoll's LLONG_MAX */
    f->size = f->size << 4 | (uint64_t)d;
}

/* The size line has ended (its LF): what evhttp makes of it, the size in
 * f->size. */
static enum line_is
line_ends(struct framing *f)
{
    if (!(f->flags & F_ANY))
        return LINE_EMPTY; /* strlen() is 0: evhttp skips it */
    switch (f->size_at) {
    case N_SPACE:
    case N_SIGN: /* no number: the end is the line's start */
        number_ends(f, f->first);
        break;
    case N_PREFIX: /* "0x": the end is the x */
        number_ends(f, 'x');
        break;
    case N_ZERO:
    case N_DIGITS: /* the end is the line's */
        f->flags |= F_GOOD;
        break;
    default:
        break;
    }
    if (!(f->flags & F_GOOD))
        return LINE_BAD;
    if ((f->flags & F_NEG) && (f->size != 0 || (f->flags & F_HUGE)))
        return LINE_BAD; /* negative */
    return LINE_SIZE;
}

/* A size line's LF came (its bytes counted in f->line_len). */
static void
line_done(struct framing *f)
{
    uint64_t allowed;

    f->excess += f->line_len;
    switch (line_ends(f)) {
    case LINE_EMPTY:
        line_start(f);
        return;
    case LINE_BAD:
        f->part = FRAMING_DONE; /* evhttp refuses the body */
        return;
    case LINE_SIZE:
        break;
    }
    if (f->size == 0 || (f->flags & F_HUGE)) {
        /* The last chunk (trailers follow: evhttp bounds them), or one
         * over any max_body_size, which evhttp refuses. */
        f->part = FRAMING_DONE;
        return;
    }
    allowed = CHUNK_ALLOWANCE +
              (f->size > UINT32_MAX ? (uint64_t)UINT32_MAX * 2 : f->size * 2);
    f->excess = f->excess > allowed ? (uint32_t)(f->excess - allowed) : 0;
    f->left = f->size; /* the same field, now counting down */
    f->part = FRAMING_DATA;
}

enum framing_found
framing_feed(struct framing *f, const char *p, size_t n, uint32_t max,
             size_t *used)
{
    const unsigned char *s = (const unsigned char *)p, *end = s + n;

    if (f->part == FRAMING_HEAD) {
        if (!head(f, p, n, used))
            return FRAMING_MORE;
        if (f->te)
            line_start(f);
        else
            f->part = FRAMING_DONE;
        return FRAMING_HEAD_END;
    }
    while (s < end) {
        unsigned char c;

        if (f->part == FRAMING_DATA) {
            s += framing_skip(f, (size_t)(end - s));
            continue;
        }
        if (f->part != FRAMING_LINE)
            return FRAMING_MORE;
        c = *s++;
        if ((uint64_t)f->excess + ++f->line_len > max)
            return FRAMING_OVER;
        if (c == '\n') {
            line_done(f); /* a CR before it is CRLF's */
            continue;
        }
        if (f->flags & F_CR) {
            f->flags &= (unsigned char)~F_CR;
            if (!(f->flags & F_NUL))
                line_byte(f, '\r'); /* a CR of the line's own */
        }
        if (c == '\r')
            f->flags |= F_CR;
        else if (c == '\0')
            f->flags |= F_NUL;
        else if (!(f->flags & F_NUL))
            line_byte(f, c);
    }
    return FRAMING_MORE;
}

size_t
framing_skip(struct framing *f, size_t n)
{
    if (f->part != FRAMING_DATA)
        return 0;
    if (f->left > n) {
        f->left -= n;
        return n;
    }
    n = (size_t)f->left;
    line_start(f);
    return n;
}
