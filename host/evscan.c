/* SPDX-License-Identifier: MIT */
/*
 * evscan.c - see evscan.h.  <stdio.h> is left out on purpose: it names
 * sscanf as an alias of __isoc99_sscanf, which this file defines.
 */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include "evscan.h"

#include <stdarg.h>
#include <string.h> /* and with it __GLIBC__ */

#if defined(__GLIBC__)
#include <dlfcn.h>

#define EXPORTED __attribute__((visibility("default")))

/* glibc's: what any other format or text is given to. */
extern int __isoc99_vsscanf(const char *s, const char *fmt, va_list ap);
EXPORTED int __isoc99_sscanf(const char *s, const char *fmt, ...);

static const char version_fmt[] = "HTTP/%d.%d%c";

/* 1 to 9 decimal digits at *p (no sign, no space: %d's other forms are
 * glibc's to read): their value, with *p past them; -1 otherwise. */
static int
digits(const char **p)
{
    const char *s = *p;
    int v = 0, n = 0;

    while (*s >= '0' && *s <= '9') {
        if (++n > 9)
            return -1;
        v = v * 10 + (*s++ - '0');
    }
    if (n == 0)
        return -1;
    *p = s;
    return v;
}

/* "HTTP/%d.%d%c" of s, when s has the shape it is read here in (see
 * evscan.h): scanf's result, 2 or 3, and its assignments.  -2 for any
 * other shape (nothing assigned). */
static int
version(const char *s, int *major, int *minor, char *c)
{
    int a, b;

    if (strncmp(s, "HTTP/", 5) != 0)
        return -2;
    s += 5;
    a = digits(&s);
    if (a < 0 || *s != '.')
        return -2;
    s++;
    b = digits(&s);
    if (b < 0)
        return -2;
    *major = a;
    *minor = b;
    if (*s == '\0')
        return 2; /* %c meets the end: the count so far */
    *c = *s;
    return 3;
}

EXPORTED int
__isoc99_sscanf(const char *s, const char *fmt, ...)
{
    va_list ap;
    int rc = -2;

    va_start(ap, fmt);
    if (strcmp(fmt, version_fmt) == 0) {
        int *major = va_arg(ap, int *);
        int *minor = va_arg(ap, int *);
        char *c = va_arg(ap, char *);

        rc = version(s, major, minor, c);
    }
    va_end(ap);
    if (rc != -2)
        return rc;
    va_start(ap, fmt);
    rc = __isoc99_vsscanf(s, fmt, ap);
    va_end(ap);
    return rc;
}

int
evscan_bound(void)
{
    return dlsym(RTLD_DEFAULT, "__isoc99_sscanf") == (void *)__isoc99_sscanf;
}

#else

int
evscan_bound(void)
{
    return 0;
}

#endif
