/* SPDX-License-Identifier: MIT */
/*
 * heads.h - a request's headers read once for the edge (edge.c): Host,
 * Content-Type and Authorization found, and the framing checked for what
 * a proxy in front could read otherwise (request smuggling).
 */
#ifndef HOST_HEADS_H
#define HOST_HEADS_H

#include <event2/http.h> /* enum evhttp_cmd_type */

struct evhttp_request;

/* What one pass over a request's headers found. */
struct heads {
    const char *host;         /* the Host value, or NULL */
    const char *ctype;        /* the Content-Type value, or NULL */
    const char *auth;         /* the Authorization value, or NULL */
    int hosts, ctypes, auths; /* how many of each */
};

/* One pass over the request's headers: what `h` says of Host,
 * Content-Type and Authorization, and whether the framing is ambiguous:
 * more than one Content-Length, one that is not plain digits, one beside
 * a Transfer-Encoding, more than one Transfer-Encoding, one that is not
 * just "chunked", or a body (a Transfer-Encoding, a Content-Length other
 * than 0) on a HEAD or TRACE request, for which evhttp reads none.  evhttp
 * takes the first Content-Length (and "+5") as it comes and reads no body for a
 * coding it does not know; a proxy in front that framed the request otherwise
 * would see another request boundary (request smuggling), so RFC 9112 6.1
 * and 6.3 make these errors, and the connection is closed.  `cmd` is the
 * request's method (evhttp_request_get_command).  The framing error, with the
 * status in *status, or NULL. */
const char *heads_read(struct evhttp_request *req, enum evhttp_cmd_type cmd,
                       struct heads *h, int *status);

#endif
