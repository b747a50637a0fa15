/*
 * guard.c - see guard.h.
 */
#include "guard.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#define HOST_MAX 255 /* a DNS name's longest text form */

static const char *const json_types[] = {
    "application/json", "application/json-rpc", "application/jsonrequest"};

int
guard_json_type(const char *ct)
{
    size_t n;

    if (ct == NULL)
        return 0;
    ct += strspn(ct, " \t");
    n = strcspn(ct, "; \t");
    for (size_t i = 0; i < sizeof(json_types) / sizeof(json_types[0]); i++) {
        if (n == strlen(json_types[i]) &&
            strncasecmp(ct, json_types[i], n) == 0) {
            ct += n;
            ct += strspn(ct, " \t");
            return *ct == '\0' || *ct == ';';
        }
    }
    return 0;
}

/* The name part of a Host value (no port, no brackets) into `name`
 * (HOST_MAX + 1 bytes).  -1 when malformed. */
static int
host_name(const char *host, char *name)
{
    const char *end;
    size_t n;

    if (host[0] == '[') {
        end = strchr(host, ']');
        if (end == NULL)
            return -1;
        host++;
        n = (size_t)(end - host);
        end++;
    } else {
        n = strcspn(host, ":");
        end = host + n;
    }
    if (*end == ':')
        end += 1 + strspn(end + 1, "0123456789");
    if (*end != '\0' || n == 0 || n > HOST_MAX)
        return -1;
    memcpy(name, host, n);
    name[n] = '\0';
    return 0;
}

static int
is_loopback_name(const char *name)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (strcasecmp(name, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, name, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, name, &a6) == 1 &&
           memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
}

/* Whether `item` (n bytes of a list, maybe bracketed) names `name`. */
static int
item_matches(const char *item, size_t n, const char *name)
{
    if (n >= 2 && item[0] == '[' && item[n - 1] == ']') {
        item++;
        n -= 2;
    }
    return n == strlen(name) && strncasecmp(item, name, n) == 0;
}

int
guard_host_allowed(const char *allowed, int loopback, const char *host)
{
    char name[HOST_MAX + 1];

    if (host == NULL)
        return 1;
    if (allowed == NULL && !loopback)
        return 1;
    if (host_name(host, name) != 0)
        return 0;
    if (allowed == NULL)
        return is_loopback_name(name);
    for (const char *p = allowed; *p != '\0';) {
        size_t n;

        p += strspn(p, " \t,");
        n = strcspn(p, ",");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0)
            break;
        if ((n == 1 && p[0] == '*') || item_matches(p, n, name))
            return 1;
        p += n;
    }
    return 0;
}

int
guard_hosts_valid(const char *list)
{
    static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789.-_:[]";
    size_t items = 0;

    for (const char *p = list; *p != '\0';) {
        size_t n;

        p += strspn(p, " \t");
        n = strcspn(p, ",");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0 || n > HOST_MAX + 2)
            return 0;
        if (!(n == 1 && p[0] == '*')) {
            for (size_t i = 0; i < n; i++)
                if (strchr(name_chars, p[i]) == NULL || p[i] == '\0')
                    return 0;
        }
        items++;
        p += n;
        p += strspn(p, " \t");
        if (*p == ',') {
            p++;
            if (p[strspn(p, " \t")] == '\0')
                return 0; /* a trailing comma */
        } else if (*p != '\0') {
            return 0;
        }
    }
    return items > 0;
}
