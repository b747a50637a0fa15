/* SPDX-License-Identifier: MIT */
/*
 * buf.h - a growable byte buffer (pure; no libevent).
 *
 * Used to build response bodies and messages.  A buf owns its memory; on
 * allocation failure it latches `failed` and later appends become no-ops,
 * so callers check once at the end with buf_ok().
 */
#ifndef HOST_BUF_H
#define HOST_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data; /* NUL-terminated when len > 0 or after buf_cstr() */
    size_t len;
    size_t cap;
    int failed;   /* non-zero after an allocation failure */
    int borrowed; /* data is the caller's (buf_init_borrowed) */
};

#define BUF_INIT                                                               \
    {                                                                          \
        NULL, 0, 0, 0, 0                                                       \
    }

/* Start b on `cap` bytes at `mem`, which stay the caller's: b never frees
 * them, and moves to memory of its own if it outgrows them.  For many
 * small buffers carved from one allocation. */
void buf_init_borrowed(struct buf *b, char *mem, size_t cap);

/* Make room for `extra` more bytes (one allocation instead of several). */
void buf_grow(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Append `s` as a JSON string literal (quotes and escapes included). */
void buf_json_string(struct buf *b, const char *s);
/* 1 when no allocation failed. */
int buf_ok(const struct buf *b);
/* The contents as a C string ("" for an empty buffer); owned by b. */
const char *buf_cstr(struct buf *b);
/* Hand the memory to the caller (free() it); b is reset. NULL on failure. */
char *buf_take(struct buf *b, size_t *len);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

#endif
