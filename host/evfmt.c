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
/* clang-format off */
static const unsigned char lower[256] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
    0x40, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
    0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
    0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
    0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
    0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
    0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
};
/* clang-format on */

EXPORTED int
evutil_ascii_strcasecmp(const char *s1, const char *s2)
{
    const unsigned char *a = (const unsigned char *)s1;
    const unsigned char *b = (const unsigned char *)s2;

    for (;; a++, b++) {
        /* Compared as char, as libevent does (signed here: bytes from
         * 0x80 up sort before ASCII). */
        char c1 = (char)lower[*a], c2 = (char)lower[*b];

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
