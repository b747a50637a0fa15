/* SPDX-License-Identifier: MIT */
/*
 * heads.c - see heads.h.
 */
#include "heads.h"

#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

/* Whether the value is exactly "chunked" (any case), spaces aside. */
static int
is_chunked(const char *v)
{
    size_t n;

    v += strspn(v, " \t");
    n = strcspn(v, " \t");
    return n == 7 && evutil_ascii_strncasecmp(v, "chunked", 7) == 0 &&
           v[n + strspn(v + n, " \t")] == '\0';
}

/* Whether header name k is `canon` ("Content-Type"), regardless of case
 * (`lc`, the same in lower case).  Clients nearly always send the
 * canonical form: one strcmp. */
static int
name_is(const char *k, const char *canon, const char *lc)
{
    if (strcmp(k, canon) == 0)
        return 1;
    for (; *lc != '\0'; k++, lc++) {
        int c = (unsigned char)*k;

        if ((c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c) != *lc)
            return 0;
    }
    return *k == '\0';
}

/* RFC 9110 5.6.2 token characters, which a field name is made of. */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
    ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
    ['`'] = 1, ['|'] = 1, ['~'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1,
    ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,
    ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1,
    ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1,
    ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,
    ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
    ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1,
    ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* Whether a field name is a token: evhttp keeps whatever precedes the
 * colon, "Content-Length " included, which it then does not take for a
 * Content-Length while a proxy in front may have (RFC 9112 5.1: such a
 * request must be refused).  Checked for the names that begin like the
 * ones that frame, route or authorise a request; the others are never
 * read. */
static int
is_token(const char *k)
{
    const unsigned char *p = (const unsigned char *)k;

    while (tchar[*p])
        p++;
    return *p == '\0' && p != (const unsigned char *)k;
}

const char *
heads_read(struct evhttp_request *req, enum evhttp_cmd_type cmd,
           struct heads *h, int *status)
{
    const struct evkeyvalq *q = evhttp_request_get_input_headers(req);
    const struct evkeyval *kv;
    int lengths = 0, codings = 0, body = 0;

    memset(h, 0, sizeof(*h));
    *status = 400;
    for (kv = q->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
        const char *k = kv->key;
        int seen = 1;

        /* One name compared per header, picked by its first letter. */
        switch (k[0] | 0x20) {
        case 'h':
            seen = name_is(k, "Host", "host");
            if (seen) {
                h->host = kv->value;
                h->hosts++;
            }
            break;
        case 'a':
            seen = name_is(k, "Authorization", "authorization");
            if (seen) {
                h->auth = kv->value;
                h->auths++;
            }
            break;
        case 't':
            seen = name_is(k, "Transfer-Encoding", "transfer-encoding");
            if (!seen)
                break;
            if (++codings > 1)
                return "HTTP 400: more than one Transfer-Encoding";
            if (!is_chunked(kv->value)) {
                *status = 501;
                return "HTTP 501: Transfer-Encoding other than chunked";
            }
            break;
        case 'c':
            if (name_is(k, "Content-Type", "content-type")) {
                h->ctype = kv->value;
                h->ctypes++;
            } else if (name_is(k, "Content-Length", "content-length")) {
                const char *v = kv->value + strspn(kv->value, " \t");

                if (++lengths > 1)
                    return "HTTP 400: more than one Content-Length";
                if (*v == '\0' || v[strspn(v, "0123456789")] != '\0')
                    return "HTTP 400: Content-Length is not a number";
                while (*v == '0')
                    v++;
                body = *v != '\0'; /* not 0 */
            } else {
                seen = 0;
            }
            break;
        default:
            break;
        }
        /* A name evhttp does not take for one of these although a proxy
         * may ("Content-Length ": a space before the colon). */
        if (!seen && !is_token(k))
            return "HTTP 400: a header name that is not a token (RFC 9110 "
                   "5.6.2; no space before the colon)";
    }
    if (lengths > 0 && codings > 0)
        return "HTTP 400: both Content-Length and Transfer-Encoding";
    /* A body on HEAD or TRACE: evhttp reads none for them, and what
     * follows would be taken for the next request, where a proxy in front
     * sent it as this one's. */
    if ((body || codings > 0) &&
        (cmd == EVHTTP_REQ_HEAD || cmd == EVHTTP_REQ_TRACE))
        return "HTTP 400: a body on a HEAD or TRACE request (evhttp reads "
               "none)";
    if (h->hosts > 1)
        return "HTTP 400: more than one Host";
    if (h->ctypes > 1)
        return "HTTP 400: more than one Content-Type";
    return NULL;
}
