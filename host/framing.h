/* SPDX-License-Identifier: MIT */
/*
 * framing.h - where a request's parts end, found in its bytes as they
 * arrive (before evhttp reads them): the end of its headers, whether one
 * of them is a Transfer-Encoding, and then the chunks of a chunked body,
 * so that what a body's framing costs is bounded.
 *
 * The headers end at the first empty line, or the first whose first byte
 * is a NUL (evhttp takes either for the end); lines end in LF or CRLF, as
 * evhttp reads them (a line holding only CRs counts as empty here).  A
 * header line whose name is Transfer-Encoding, in any case, makes the
 * body followed as chunked: evhttp reads one so when the first such
 * header says "chunked", and the edge refuses a request with any other
 * (heads.h), so following every such body misjudges none it serves.
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
 * compares), and its bytes, line ends included, are framing; a chunk's
 * data allows 16 bytes of framing plus twice its size.  Framing beyond
 * what the data allowed (never below 0), with the line arriving, may not
 * go over max_chunk_overhead: the same rule as Go's net/http, whose bound
 * (16 KiB) is the default.  A line that is too long is refused before its
 * end arrives; a body of one-byte chunks (5 bytes of framing a chunk) is
 * never refused.  Where evhttp will refuse a line itself (not a size), or
 * the body ends (a size of 0), there is nothing more to follow.
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
    FRAMING_MORE,     /* nothing yet: every byte was taken */
    FRAMING_HEAD_END, /* the headers ended: *used bytes were taken */
    FRAMING_OVER      /* the body's framing went over the bound */
};

struct framing {
    uint64_t left;         /* DATA: data still to come; LINE: the size so far */
    uint32_t excess;       /* framing beyond what the data allowed */
    uint32_t line;         /* LINE: the line's bytes so far */
    unsigned char part;    /* enum framing_part */
    unsigned char eol;     /* HEAD: where the last line ended (framing.c) */
    unsigned char name;    /* HEAD: bytes of the name matched; 0xff: none */
    unsigned char chunked; /* HEAD: a Transfer-Encoding header came */
    unsigned char num;     /* LINE: where the size's reading is */
    unsigned char flags;   /* LINE: see framing.c */
    unsigned char first;   /* LINE: its first byte */
};

/* A request's start. */
void framing_start(struct framing *f);

/* Whether the request's headers are still arriving. */
static inline int
framing_in_head(const struct framing *f)
{
    return f->part == FRAMING_HEAD;
}

/* Bytes p[0..n) of the request, in order after those fed before; `max`
 * is max_chunk_overhead.  FRAMING_HEAD_END stops at the headers' end (the
 * rest is for another call, if f->part is FRAMING_LINE); FRAMING_OVER
 * leaves f as it was at the byte that went over. */
enum framing_found framing_feed(struct framing *f, const char *p, size_t n,
                                uint32_t max, size_t *used);

#endif
