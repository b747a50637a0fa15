/* SPDX-License-Identifier: MIT */
/*
 * jsonscan.h - strict JSON validation ahead of cJSON (pure; no libevent).
 *
 * cJSON is lenient (it accepts "+1", "01", raw control characters and
 * invalid UTF-8, and its nesting limit is a compile-time constant) and it
 * keeps numbers only as doubles.  One linear pass here enforces RFC 8259
 * exactly, bounds nesting depth and batch length with the configured
 * limits, and records where each request's "id", "jsonrpc", "method" and
 * "params" values are in the text, so the envelope is read without a cJSON
 * tree of the whole body (only "params" is handed to cJSON) and ids are
 * echoed byte for byte (ids beyond 2^53 included).
 */
#ifndef HOST_JSONSCAN_H
#define HOST_JSONSCAN_H

#include <stddef.h>

enum jscan_err {
    JSCAN_OK = 0,
    JSCAN_SYNTAX,   /* not JSON */
    JSCAN_UTF8,     /* invalid UTF-8 or a lone surrogate escape */
    JSCAN_DEPTH,    /* nesting deeper than max_depth */
    JSCAN_TRAILING, /* bytes after the JSON value */
    JSCAN_EMPTY,    /* nothing but whitespace */
    JSCAN_BATCH,    /* a top-level array longer than max_elems */
    JSCAN_NOMEM,
    JSCAN_NUL,       /* a \u0000 escape: cJSON strings cannot hold NUL */
    JSCAN_SURROGATE, /* an unpaired UTF-16 surrogate escape */
    JSCAN_CONTROL,   /* a raw control character (U+0000..U+001F) in a string */
    JSCAN_EOF,       /* the text ends inside a value */
};

/* The members of a request object that the envelope reads. */
enum jscan_member {
    JSCAN_ID,
    JSCAN_JSONRPC,
    JSCAN_METHOD,
    JSCAN_PARAMS,
    JSCAN_NMEMBERS
};

/* A value's raw text: text[off .. off + len).  len 0: absent. */
struct jscan_span {
    size_t off;
    size_t len;
};

/* One top-level request: whether it is an object, and where the value of
 * the first of each of its members named above is. */
struct jscan_elem {
    int is_object;
    struct jscan_span m[JSCAN_NMEMBERS];
};

struct jscan {
    int err;                  /* enum jscan_err */
    size_t err_off;           /* byte offset of the error */
    int is_array;             /* top-level value is an array */
    size_t count;             /* its elements (1 for a non-array) */
    struct jscan_elem *elems; /* count entries; one inline for non-arrays */
    struct jscan_elem one;
};

/* Scan text[0..len).  Returns out->err.  Free with jscan_free(). */
int jscan_run(const char *text, size_t len, int max_depth, size_t max_elems,
              struct jscan *out);
void jscan_free(struct jscan *s);
/* Decode the JSON string token raw[0..len) (quotes included), which
 * jscan_run() accepted, into out (room for len bytes; NUL-terminated).
 * Returns the decoded length. */
size_t jscan_unescape(const char *raw, size_t len, char *out);
/* A short English description of an error, e.g. "invalid UTF-8". */
const char *jscan_strerror(int err);

#endif
