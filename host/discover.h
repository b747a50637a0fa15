/* SPDX-License-Identifier: MIT */
/*
 * discover.h - the OpenRPC 1.2 document that `rpc.discover` answers with,
 * built once per generation from its registry and its config's listen
 * addresses (pure; no libevent).
 */
#ifndef HOST_DISCOVER_H
#define HOST_DISCOVER_H

#include <stddef.h>

struct address;
struct registry;

/* Where the methods are served: the document's "servers", one per listen
 * address, "http://HOST:PORT" + endpoint (a unix socket: http://localhost
 * + endpoint, as curl --unix-socket names it; a wildcard host or port 0:
 * an OpenRPC server variable, {host} or {port}).  NULL: no "servers". */
struct discover_site {
    const char *endpoint; /* the URL path, starting with '/' */
    const struct address *listens;
    size_t nlistens;
};

/* The document as compact JSON text (malloc()ed, *len bytes), or NULL on
 * ENOMEM.  Every schema has a title made from the method's and the
 * param's names ("sumParamN", "sumResult", "fooParamXsItem") unless the
 * plugin gave one. */
char *discover_build(const struct registry *r, const char *version,
                     const struct discover_site *site, size_t *len);

#endif
