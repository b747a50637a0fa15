/* SPDX-License-Identifier: MIT */
/*
 * forwarded.h - the client behind trusted proxies (pure): `trusted_proxies`
 * parsed (addresses and CIDR ranges, IPv4 and IPv6), and the client's
 * address taken from the headers such a proxy sets.
 *
 * Only a request whose TCP peer is a trusted proxy has its headers read;
 * from anyone else they are ignored (anyone can send them).  Of
 * X-Forwarded-For the right-most entry that is not itself a trusted proxy
 * is taken: a proxy appends the address it saw, so entries left of it
 * may be the client's own inventions.  Without X-Forwarded-For,
 * X-Real-IP is taken as it is (a proxy that sets it overwrites what the
 * client sent: nginx's `proxy_set_header X-Real-IP $remote_addr`).  An
 * entry that is not an IP address ends the walk at the last trusted hop.
 */
#ifndef HOST_FORWARDED_H
#define HOST_FORWARDED_H

#include <stddef.h>

/* An address as text is at most this long, NUL included. */
#define FORWARDED_ADDR_MAX 46

struct netlist;

/* Parse "127.0.0.1, 10.0.0.0/8, ::1, fd00::/8" (commas or spaces).  NULL
 * with err on a bad entry (named) or ENOMEM. */
struct netlist *netlist_parse(const char *text, char *err, size_t errlen);
void netlist_free(struct netlist *l);

/* Whether the address text `addr` (no port, no brackets) is in l. */
int netlist_has(const struct netlist *l, const char *addr);

/* The client of a request from TCP peer `peer` (an address, no port):
 * when the peer is in `trusted`, the address the headers name (either may
 * be NULL: absent), written to out[0..len); 1 then, 0 when the peer is
 * the client (out untouched). */
int forwarded_client(const struct netlist *trusted, const char *peer,
                     const char *xff, const char *real_ip, char *out,
                     size_t len);

#endif
