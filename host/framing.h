/* SPDX-License-Identifier: MIT */
/*
 * framing.h - where a request's parts end, found in its bytes as they
 * arrive (before evhttp reads them): the end of its headers, whether one
 * of them is a Transfer-Encoding, and then the chunks of a chunked body,
 * so that what a body's framing costs is bounded.
 *
 * This is HTTP read a second time, beside evhttp, and only because evhttp
 * 2.1 has no hook where a request's headers end on the server side
 * (evhttp_set_newreqcb came in 2.2) and no bound on a chunked body's
 * framing.  Nothing here decides what a request is: evhttp does; this
 * follows where evhttp is, to bound what it costs (conns.c acts on it).
 *
 * The headers end at the first empty line, or the first whose first byte
 * is a NUL (evhttp takes either for the end); lines end in LF or CRLF, as
 * evhttp reads them (a line holding only CRs counts as empty here).  A
 * header line whose name is Transfer-Encoding, in any case, makes the
 * body followed as chunked.  evhttp reads a chunked body when the first
 * such header says "chunked" and the method may have a body (POST, PUT,
 * PATCH); the edge answers any other request with a Transfer-Encoding 400
 * or 501 and closes the connection (heads.h), so following every such
 * body misjudges no request that is served.
 *
 * A chunked body is read by evhttp a line at a time: a chunk-size line
 * (hex digits, then what it ignores after a space), that many bytes of
 * data, and so on until a size of 0, then trailers (bounded by
 * max_header_size).  evhttp skips empty lines between them, bounds no
 * line's length, and scans a line's bytes again each time more arrive.
 * So a body sent as one endless chunk-size line held every byte and cost
 * time in the square of its length (64 MB and 26 s of one loop's CPU, a
 * client's 27 s), and one sent as endless empty lines cost a loop time
 * until request_timeout; max_body_size counts neither.  Here each line is
 * read as evhttp reads it (strtoll base 16, then its checks: test_framing
 * compares), and its bytes, line ends included, are framing.  A chunk's
 * data allows 16 bytes of framing plus twice its size (Go's net/http's
 * allowance); framing beyond what the data allowed (never below 0) may
 * not go over max_chunk_overhead (default 16 KiB, Go's bound).  Go checks
 * a line once it has ended, and caps a line at 4 KiB; here the check is
 * made at each byte as it arrives, before the line's size is known, so a
 * line longer than the bound is refused before its end.  A body of
 * one-byte chunks (5 bytes of framing a chunk) is never refused.  Where
 * evhttp will refuse a line itself (not a size), or the body ends (a size
 * of 0), there is nothing more to follow.
 *
 * Pure: a struct framing is one request's, used by one thread (a loop's).
 */
#ifndef HOST_FRAMING_H
#define HOST_FRAMING_H

#include <stddef.h>
#include <stdint.h>

/* Where a request is. */
enum framing_part {
    FRAMING_HEAD, /* its headers are arriving */
    FRAMING_LINE, /* a chunked body: a chunk-size line (or an empty one) */
    FRAMING_DATA, /* a chunked body: a chunk's data */
    FRAMING_DONE  /* nothing more to follow (no chunked body, or its end) */
};

/* What framing_feed() found. */
enum framing_found {
    FRAMING_MORE,     /* no bound crossed; every byte up to the end of
                       * what is followed (FRAMING_DONE) was followed */
    FRAMING_HEAD_END, /* the headers ended: *used bytes were taken */
    FRAMING_OVER      /* the body's framing went over the bound */
};

struct framing {
    union {
        uint64_t left; /* DATA: the chunk's bytes still to come */
        uint64_t size; /* LINE: the size read so far */
    };
    uint32_t excess;       /* framing beyond what the data allowed */
    uint32_t line_len;     /* LINE: the line's bytes so far */
    unsigned char part;    /* enum framing_part */
    unsigned char eol;     /* HEAD: where the last line ended (framing.c) */
    unsigned char te_at;   /* HEAD: bytes of the name matched (framing.c) */
    unsigned char te;      /* HEAD: a Transfer-Encoding header came */
    unsigned char size_at; /* LINE: where the size's reading is */
    unsigned char flags;   /* LINE: see framing.c */
    unsigned char first;   /* LINE: its first byte */
};

/* A request's start. */
void framing_start(struct framing *f);

/* Bytes p[0..n) of the request (borrowed), in order after those fed
 * before; `max` is max_chunk_overhead.  FRAMING_HEAD_END stops at the
 * headers' end, with *used the bytes taken (the rest is for another call,
 * if f->part is FRAMING_LINE); *used is set for it alone.  After
 * FRAMING_OVER, f counts the byte that went over and is done with. */
enum framing_found framing_feed(struct framing *f, const char *p, size_t n,
                                uint32_t max, size_t *used);

/* In FRAMING_DATA: how many of the next n bytes are the chunk's data,
 * taken as followed without being looked at (a large chunk arrives in
 * many reads); 0 in any other part. */
size_t framing_skip(struct framing *f, size_t n);

/* Whether the request's headers are still arriving. */
static inline int
framing_in_head(const struct framing *f)
{
    return f->part == FRAMING_HEAD;
}

/* Whether there is nothing more to follow. */
static inline int
framing_done(const struct framing *f)
{
    return f->part == FRAMING_DONE;
}

#endif
