/* SPDX-License-Identifier: MIT */
/*
 * evfmt.c - see evfmt.h.
 */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include "evfmt.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/util.h>

#define EXPORTED __attribute__((visibility("default")))

/* "%s: %s\r\n": key, value.  -2 when not done here (a NULL). */
static int
header_line(struct evbuffer *buf, const char *key, const char *value)
{
    struct evbuffer_iovec v;
    size_t kl, vl, n;
    char *p;

    if (key == NULL || value == NULL)
        return -2; /* "(null)", as glibc's printf writes it */
    kl = strlen(key);
    vl = strlen(value);
    n = kl + vl + 4;
    if (n > INT_MAX)
        return -2;
    if (evbuffer_reserve_space(buf, (ev_ssize_t)n, &v, 1) < 1)
        return -1;
    p = v.iov_base;
    memcpy(p, key, kl);
    p[kl] = ':';
    p[kl + 1] = ' ';
    memcpy(p + kl + 2, value, vl);
    p[kl + 2 + vl] = '\r';
    p[kl + 3 + vl] = '\n';
    v.iov_len = n;
    return evbuffer_commit_space(buf, &v, 1) == 0 ? (int)n : -1;
}

/* Decimal digits of 0 <= x <= 99999 at p; their count. */
static size_t
digits(char *p, int x)
{
    char tmp[8];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + x % 10);
        x /= 10;
    } while (x > 0);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

/* "HTTP/%d.%d %d %s\r\n": major, minor, code, reason.  -2 when not done
 * here (a number out of 0..99999, or a NULL). */
static int
status_line(struct evbuffer *buf, int major, int minor, int code,
            const char *reason)
{
    char head[32];
    struct evbuffer_iovec v;
    size_t hl = 0, rl, n;
    char *p;

    if (reason == NULL || major < 0 || major > 99999 || minor < 0 ||
        minor > 99999 || code < 0 || code > 99999)
        return -2;
    memcpy(head, "HTTP/", 5);
    hl = 5 + digits(head + 5, major);
    head[hl++] = '.';
    hl += digits(head + hl, minor);
    head[hl++] = ' ';
    hl += digits(head + hl, code);
    head[hl++] = ' ';
    rl = strlen(reason);
    n = hl + rl + 2;
    if (n > INT_MAX)
        return -2;
    if (evbuffer_reserve_space(buf, (ev_ssize_t)n, &v, 1) < 1)
        return -1;
    p = v.iov_base;
    memcpy(p, head, hl);
    memcpy(p + hl, reason, rl);
    p[hl + rl] = '\r';
    p[hl + rl + 1] = '\n';
    v.iov_len = n;
    return evbuffer_commit_space(buf, &v, 1) == 0 ? (int)n : -1;
}

EXPORTED int
evbuffer_add_printf(struct evbuffer *buf, const char *fmt, ...)
{
    va_list ap;
    int r = -2;

    va_start(ap, fmt);
    if (strcmp(fmt, "%s: %s\r\n") == 0) {
        const char *key = va_arg(ap, const char *);
        const char *value = va_arg(ap, const char *);

        r = header_line(buf, key, value);
    } else if (strcmp(fmt, "HTTP/%d.%d %d %s\r\n") == 0) {
        int major = va_arg(ap, int), minor = va_arg(ap, int);
        int code = va_arg(ap, int);
        const char *reason = va_arg(ap, const char *);

        r = status_line(buf, major, minor, code, reason);
    }
    va_end(ap);
    if (r != -2)
        return r;
    va_start(ap, fmt);
    r = evbuffer_add_vprintf(buf, fmt, ap);
    va_end(ap);
    return r;
}

/* libevent's EVUTIL_TOLOWER_: A-Z folded, every other byte as it is. */
static inline unsigned char
fold(unsigned char c)
{
    return (unsigned char)(c - 'A') < 26 ? (unsigned char)(c | 0x20) : c;
}

EXPORTED int
evutil_ascii_strcasecmp(const char *s1, const char *s2)
{
    const unsigned char *a = (const unsigned char *)s1;
    const unsigned char *b = (const unsigned char *)s2;

    for (;; a++, b++) {
        /* Compared as char, as libevent does (signed here: bytes from
         * 0x80 up sort before ASCII). */
        char c1 = (char)fold(*a), c2 = (char)fold(*b);

        if (c1 < c2)
            return -1;
        if (c1 > c2)
            return 1;
        if (c1 == 0)
            return 0;
    }
}

int
evfmt_bound(void)
{
    return dlsym(RTLD_DEFAULT, "evbuffer_add_printf") ==
               (void *)evbuffer_add_printf &&
           dlsym(RTLD_DEFAULT, "evutil_ascii_strcasecmp") ==
               (void *)evutil_ascii_strcasecmp;
}
