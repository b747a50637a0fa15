/* SPDX-License-Identifier: MIT */
/*
 * guard.h - what the HTTP edge checks of a request before routing it, so
 * that a web page in the operator's browser cannot call the server (pure:
 * strings in, verdicts out; no libevent).
 *
 *  - Content-Type.  A page may POST to any origin without a CORS preflight
 *    only with text/plain, application/x-www-form-urlencoded or
 *    multipart/form-data (or no type at all): requiring a JSON type keeps
 *    such cross-site requests from running a method (HTTP 415).
 *  - Host.  With DNS rebinding a page's own name comes to resolve to
 *    127.0.0.1, and it can then read the answers too; but the request
 *    still carries that name as its Host.  Only allowed names pass (403
 *    otherwise), as go-ethereum's vhosts do.  A request without Host (as
 *    HTTP/1.0 allows) comes from no browser and passes.
 */
#ifndef HOST_GUARD_H
#define HOST_GUARD_H

/* Whether a Content-Type header value names JSON: application/json (or
 * application/json-rpc, application/jsonrequest), any case, parameters
 * such as charset allowed.  NULL (no header) is not JSON. */
int guard_json_type(const char *content_type);

/* Whether a Host header value ("name", "name:port", "[v6]:port") is
 * allowed by `allowed`: a list as accepted by guard_hosts_valid() (with
 * "*" in it: any value at all), or
 * NULL for the default: when `loopback` (the server listens on a loopback
 * address) only loopback names and addresses (localhost, 127.0.0.0/8,
 * [::1]), otherwise any.  Names compare without case and without port. */
int guard_host_allowed(const char *allowed, int loopback, const char *host);

/* Whether `list` is "*" or a comma-separated list of host names or
 * addresses (IPv6 ones in brackets or bare), spaces around items allowed.
 * An item with a port ("localhost:5000") is not: the Host's port is not
 * compared, so it would never match.  A name's trailing dot (the DNS
 * root) is ignored, in the list and in Host values. */
int guard_hosts_valid(const char *list);

#endif
