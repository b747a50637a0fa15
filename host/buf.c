/* SPDX-License-Identifier: MIT */
/*
 * buf.c - growable byte buffer.  See buf.h.
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Move a borrowed buffer's contents into `cap` bytes of its own. */
static int
own(struct buf *b, size_t cap)
{
    char *p = malloc(cap);

    if (p == NULL) {
        b->failed = 1;
        return -1;
    }
    if (b->len > 0)
        memcpy(p, b->data, b->len);
    b->data = p;
    b->cap = cap;
    b->borrowed = 0;
    return 0;
}

static int
buf_reserve(struct buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (b->failed)
        return -1;
    if (extra > ((size_t)-1) / 2 - b->len) {
        b->failed = 1;
        return -1;
    }
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 128;
    while (cap < need)
        cap *= 2;
    if (b->borrowed)
        return own(b, cap);
    p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void
buf_init_borrowed(struct buf *b, char *mem, size_t cap)
{
    b->data = mem;
    b->len = 0;
    b->cap = cap;
    b->failed = 0;
    b->borrowed = 1;
}

void
buf_grow(struct buf *b, size_t extra)
{
    buf_reserve(b, extra);
}

void
buf_append(struct buf *b, const void *data, size_t len)
{
    if (buf_reserve(b, len) != 0)
        return;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void
buf_putc(struct buf *b, char c)
{
    buf_append(b, &c, 1);
}

void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if (buf_reserve(b, (size_t)n) != 0)
        return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void
buf_json_string(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *run = p;

    buf_putc(b, '"');
    for (; *p; p++) {
        const char *esc = NULL;
        char u[6];

        switch (*p) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            if (*p >= 0x20 && *p != 0x7f)
                continue;
            u[0] = '\\';
            u[1] = 'u';
            u[2] = '0';
            u[3] = '0';
            u[4] = hex[*p >> 4];
            u[5] = hex[*p & 0xf];
            buf_append(b, run, (size_t)(p - run));
            buf_append(b, u, 6);
            run = p + 1;
            continue;
        }
        buf_append(b, run, (size_t)(p - run));
        buf_puts(b, esc);
        run = p + 1;
    }
    buf_append(b, run, (size_t)(p - run));
    buf_putc(b, '"');
}

int
buf_ok(const struct buf *b)
{
    return !b->failed;
}

const char *
buf_cstr(struct buf *b)
{
    if (b->data == NULL || b->failed)
        return "";
    return b->data;
}

char *
buf_take(struct buf *b, size_t *len)
{
    char *p;

    if (b->failed) {
        buf_free(b);
        return NULL;
    }
    if (b->data == NULL)
        buf_append(b, "", 0);
    /* Borrowed memory is not b's to hand over: copy it. */
    if (b->borrowed && !b->failed && own(b, b->len + 1) == 0)
        b->data[b->len] = '\0';
    if (b->failed) {
        buf_free(b);
        return NULL;
    }
    p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void
buf_reset(struct buf *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->data)
        b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
    if (!b->borrowed)
        free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
    b->borrowed = 0;
}
