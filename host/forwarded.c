/* SPDX-License-Identifier: MIT */
/*
 * forwarded.c - see forwarded.h.
 */
#include "forwarded.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct net {
    int family; /* AF_INET, AF_INET6 */
    unsigned bits;
    unsigned char addr[16];
};

struct netlist {
    size_t n;
    struct net nets[];
};

/* `s` (len bytes) as an address into *out (family, addr): 0 or -1. */
static int
addr_parse(const char *s, size_t len, struct net *out)
{
    char tmp[FORWARDED_ADDR_MAX];

    if (len == 0 || len >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, tmp, out->addr) == 1) {
        out->family = AF_INET;
        out->bits = 32;
        return 0;
    }
    if (inet_pton(AF_INET6, tmp, out->addr) == 1) {
        out->family = AF_INET6;
        out->bits = 128;
        return 0;
    }
    return -1;
}

/* "ADDR" or "ADDR/BITS". */
static int
net_parse(const char *s, size_t len, struct net *out)
{
    const char *slash = memchr(s, '/', len);
    unsigned bits = 0;

    if (addr_parse(s, slash ? (size_t)(slash - s) : len, out) != 0)
        return -1;
    if (slash == NULL)
        return 0;
    if (slash + 1 == s + len)
        return -1;
    for (const char *p = slash + 1; p < s + len; p++) {
        if (*p < '0' || *p > '9' || bits > 128)
            return -1;
        bits = bits * 10 + (unsigned)(*p - '0');
    }
    if (bits > out->bits)
        return -1;
    out->bits = bits;
    return 0;
}

static int
net_has(const struct net *n, const struct net *a)
{
    unsigned full = n->bits / 8, rest = n->bits % 8;

    if (n->family != a->family || memcmp(n->addr, a->addr, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    return ((n->addr[full] ^ a->addr[full]) & (0xff00u >> rest) & 0xff) == 0;
}

struct netlist *
netlist_parse(const char *text, char *err, size_t errlen)
{
    const char *p = text, *item;
    size_t len, n = 0;
    struct netlist *l;

    while (util_list_next(&p, &len) != NULL)
        n++;
    l = malloc(sizeof(*l) + (n ? n : 1) * sizeof(l->nets[0]));
    if (l == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->n = 0;
    p = text;
    while ((item = util_list_next(&p, &len)) != NULL) {
        if (net_parse(item, len, &l->nets[l->n]) != 0) {
            snprintf(err, errlen,
                     "'%.*s' is not an IP address or a CIDR range "
                     "(10.0.0.0/8, fd00::/8)",
                     (int)(len > 64 ? 64 : len), item);
            free(l);
            return NULL;
        }
        l->n++;
    }
    return l;
}

void
netlist_free(struct netlist *l)
{
    free(l);
}

static int
has(const struct netlist *l, const char *s, size_t len)
{
    struct net a;

    if (addr_parse(s, len, &a) != 0)
        return 0;
    for (size_t i = 0; i < l->n; i++)
        if (net_has(&l->nets[i], &a))
            return 1;
    return 0;
}

int
netlist_has(const struct netlist *l, const char *addr)
{
    return has(l, addr, strlen(addr));
}

static int
put(const char *s, size_t n, char *out, size_t len)
{
    struct net a;

    if (addr_parse(s, n, &a) != 0 || n >= len)
        return 0;
    memcpy(out, s, n);
    out[n] = '\0';
    return 1;
}

int
forwarded_client(const struct netlist *trusted, const char *peer,
                 const char *xff, const char *real_ip, char *out, size_t len)
{
    const char *end, *last = NULL, *s;
    size_t n, last_n = 0;

    if (trusted == NULL || !netlist_has(trusted, peer))
        return 0;
    if (xff != NULL && *xff != '\0') {
        end = xff + strlen(xff);
        for (;;) {
            const char *e = end;

            s = end;
            while (s > xff && s[-1] != ',')
                s--;
            end = s; /* this entry is [s, e): trim it */
            while (s < e && (*s == ' ' || *s == '\t'))
                s++;
            while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            n = (size_t)(e - s);
            if (n > 0) {
                struct net a;

                if (addr_parse(s, n, &a) != 0)
                    break; /* garbage: stop at the last trusted hop */
                if (!has(trusted, s, n))
                    return put(s, n, out, len);
                last = s;
                last_n = n;
            }
            if (end == xff)
                break;
            end--; /* before the comma */
        }
        /* Every entry a trusted proxy (or garbage left of them): the
         * left-most trusted one is the nearest to the client. */
        return last ? put(last, last_n, out, len) : 0;
    }
    if (real_ip != NULL) {
        while (*real_ip == ' ' || *real_ip == '\t')
            real_ip++;
        n = strcspn(real_ip, " \t");
        return put(real_ip, n, out, len);
    }
    return 0;
}
