/* SPDX-License-Identifier: MIT */
/*
 * address.c - see address.h.
 */
#define _GNU_SOURCE
#include "address.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#define UNIX_PREFIX "unix:"

/* "0".."65535" only. */
static int
parse_port(const char *s, int *port)
{
    long v = 0;

    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v > 65535)
            return -1;
    }
    *port = (int)v;
    return 0;
}

static int
parse_unix(struct address *a, const char *p, const char *dir, char *err,
           size_t errlen)
{
    size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

    if (*p == '\0') {
        snprintf(err, errlen,
                 "listen: 'unix:' needs a path (unix:/run/"
                 "rpchost/rpc.sock)");
        return -1;
    }
    if (p[0] == '/' || dir == NULL)
        a->path = strdup(p);
    else if (asprintf(&a->path, "%s/%s", dir, p) < 0)
        a->path = NULL;
    if (a->path == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (strlen(a->path) > max) {
        snprintf(err, errlen,
                 "listen: unix socket path '%s' is longer than %zu bytes",
                 a->path, max);
        address_free(a);
        return -1;
    }
    return 0;
}

int
address_parse(struct address *a, const char *value, const char *dir, char *err,
              size_t errlen)
{
    const char *colon, *hs, *he;

    memset(a, 0, sizeof(*a));
    if (strncmp(value, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0)
        return parse_unix(a, value + strlen(UNIX_PREFIX), dir, err, errlen);
    if (value[0] == '[') {
        he = strchr(value, ']');
        if (he == NULL || he[1] != ':')
            goto bad;
        hs = value + 1;
        colon = he + 1;
    } else {
        colon = strrchr(value, ':');
        if (colon == NULL)
            goto bad;
        hs = value;
        he = colon;
    }
    if (he == hs || parse_port(colon + 1, &a->port) != 0)
        goto bad;
    a->host = strndup(hs, (size_t)(he - hs));
    if (a->host == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
bad:
    snprintf(err, errlen,
             "listen: '%s' is not HOST:PORT with PORT 0..65535 or "
             "unix:PATH (e.g. 127.0.0.1:5000, [::1]:5000, "
             "unix:/run/rpchost/rpc.sock)",
             value);
    return -1;
}

int
address_copy(struct address *dst, const struct address *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->port = src->port;
    if (src->host != NULL && (dst->host = strdup(src->host)) == NULL)
        return -1;
    if (src->path != NULL && (dst->path = strdup(src->path)) == NULL) {
        address_free(dst);
        return -1;
    }
    return 0;
}

void
address_free(struct address *a)
{
    free(a->host);
    free(a->path);
    memset(a, 0, sizeof(*a));
}

static int
same_string(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

int
address_equal(const struct address *a, const struct address *b)
{
    return a->port == b->port && same_string(a->host, b->host) &&
           same_string(a->path, b->path);
}

void
address_text(const struct address *a, char *out, size_t len)
{
    if (a->path != NULL)
        snprintf(out, len, UNIX_PREFIX "%s", a->path);
    else if (a->host != NULL && strchr(a->host, ':') != NULL)
        snprintf(out, len, "[%s]:%d", a->host, a->port);
    else
        snprintf(out, len, "%s:%d", a->host ? a->host : "?", a->port);
}

int
address_host_is_loopback(const char *host)
{
    struct in6_addr a6;
    struct in_addr a4;

    /* As numbers, however written (0:0:0:0:0:0:0:1, ::ffff:127.0.0.1). */
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) ||
               (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return strcmp(host, "localhost") == 0;
}

int
address_is_local(const struct address *a)
{
    return a->path != NULL ||
           (a->host != NULL && address_host_is_loopback(a->host));
}
