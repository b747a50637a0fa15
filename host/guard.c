/* SPDX-License-Identifier: MIT */
/*
 * guard.c - see guard.h.  Both checks run for every request, so they read
 * the header values in place, without copies or locale-aware calls.
 */
#include "guard.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#define HOST_MAX 255 /* a DNS name's longest text form */

static int
lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Whether the n bytes at s equal `lc` (lower case) without regard to
 * case. */
static int
span_is(const char *s, size_t n, const char *lc)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (lc[i] == '\0' || lower((unsigned char)s[i]) != lc[i])
            return 0;
    return lc[i] == '\0';
}

int
guard_json_type(const char *ct)
{
    static const char base[] = "application/json";
    size_t n = sizeof(base) - 1;

    if (ct == NULL)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)ct[i]) != base[i])
            return 0;
    ct += n;
    if (lower((unsigned char)*ct) == '-' && span_is(ct, 4, "-rpc"))
        ct += 4;
    else if (lower((unsigned char)*ct) == 'r' && span_is(ct, 7, "request"))
        ct += 7;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* The name part of a Host value (no port, no brackets): *name and *len.
 * -1 when malformed. */
static int
host_name(const char *host, const char **name, size_t *len)
{
    const char *end;

    if (host[0] == '[') {
        end = strchr(host, ']');
        if (end == NULL)
            return -1;
        *name = host + 1;
        *len = (size_t)(end - *name);
        end++;
    } else {
        *name = host;
        *len = strcspn(host, ":");
        end = host + *len;
    }
    if (*end == ':')
        for (end++; *end >= '0' && *end <= '9'; end++)
            ;
    /* "localhost." is "localhost": a fully qualified name's root dot. */
    if (*len > 1 && (*name)[*len - 1] == '.')
        (*len)--;
    return *end != '\0' || *len == 0 || *len > HOST_MAX ? -1 : 0;
}

/* Whether the n bytes at s are a dotted quad (four decimal numbers
 * 0..255, no leading zeros) whose first number is 127. */
static int
is_loopback_v4(const char *s, size_t n)
{
    const char *end = s + n;

    for (int part = 0; part < 4; part++) {
        unsigned v = 0;
        int digits = 0;

        while (s < end && *s >= '0' && *s <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(*s++ - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255 ||
            (digits > 1 && s[-digits] == '0') || (part == 0 && v != 127))
            return 0;
        if (part < 3 && (s == end || *s++ != '.'))
            return 0;
    }
    return s == end;
}

/* The IPv6 address in the n bytes at p into *a6: 1, or 0 if none. */
static int
parse_v6(const char *p, size_t n, struct in6_addr *a6)
{
    char text[INET6_ADDRSTRLEN];

    if (n >= sizeof(text))
        return 0;
    memcpy(text, p, n);
    text[n] = '\0';
    return inet_pton(AF_INET6, text, a6) == 1;
}

static int
is_loopback_name(const char *name, size_t n)
{
    struct in6_addr a6;

    if (memchr(name, ':', n) == NULL)
        return is_loopback_v4(name, n) || span_is(name, n, "localhost");
    return parse_v6(name, n, &a6) &&
           memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
}

/* Whether list item `item` (n bytes, maybe bracketed) is the host name
 * (len bytes at name). */
static int
item_matches(const char *item, size_t n, const char *name, size_t len)
{
    if (n >= 2 && item[0] == '[' && item[n - 1] == ']') {
        item++;
        n -= 2;
    }
    if (n > 1 && item[n - 1] == '.')
        n--;
    if (n != len)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)item[i]) != lower((unsigned char)name[i]))
            return 0;
    return 1;
}

/* The item of a comma-separated list at *p, spaces around it trimmed: its
 * start, and its length in *n (0: an empty item).  *p moves past it and
 * its comma; *last is set when no comma followed. */
static const char *
next_item(const char **p, size_t *n, int *last)
{
    const char *s = *p + strspn(*p, " \t");
    size_t raw = strcspn(s, ",");

    *last = s[raw] == '\0';
    *p = s + raw + (*last ? 0 : 1);
    *n = raw;
    while (*n > 0 && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    return s;
}

int
guard_host_allowed(const char *allowed, int loopback, const char *host)
{
    const char *name, *item, *p = allowed;
    size_t len, n;
    int last = 0;

    if (host == NULL || (allowed == NULL && !loopback))
        return 1;
    /* "*" allows any Host, well-formed or not (a valid list holds '*'
     * only as an item of its own). */
    if (allowed != NULL && strchr(allowed, '*') != NULL)
        return 1;
    if (host_name(host, &name, &len) != 0)
        return 0;
    if (allowed == NULL)
        return is_loopback_name(name, len);
    while (!last) {
        item = next_item(&p, &n, &last);
        if (n > 0 && item_matches(item, n, name, len))
            return 1;
    }
    return 0;
}

/* Whether list item p (n bytes) names a host without a port: a name or
 * IPv4 address (no colon), or an IPv6 address, bare or in brackets; or is
 * "*". */
static int
item_valid(const char *p, size_t n)
{
    static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789.-_:[]";
    struct in6_addr a6;

    if (n == 1 && p[0] == '*')
        return 1;
    if (n == 0 || n > HOST_MAX + 2 || strspn(p, name_chars) < n)
        return 0;
    if (n >= 2 && p[0] == '[' && p[n - 1] == ']') {
        p++;
        n -= 2;
    } else if (memchr(p, '[', n) != NULL || memchr(p, ']', n) != NULL) {
        return 0;
    }
    return memchr(p, ':', n) == NULL ? n > 0 : parse_v6(p, n, &a6);
}

int
guard_hosts_valid(const char *list)
{
    const char *p = list;
    int last = 0;

    while (!last) {
        size_t n;
        const char *item = next_item(&p, &n, &last);

        if (!item_valid(item, n))
            return 0;
    }
    return 1;
}
