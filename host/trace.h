/* SPDX-License-Identifier: MIT */
/*
 * trace.h - W3C Trace Context (https://www.w3.org/TR/trace-context/):
 * the `traceparent` a request arrives with, and the one this host gives
 * its calls.
 *
 * A traceparent is "VERSION-TRACEID-PARENTID-FLAGS": 2, 32, 16 and 2
 * lowercase hex digits; version ff and all-zero ids are invalid, and a
 * later version may carry more after a '-'.  The host is one span of the
 * trace: it keeps a valid header's trace id and flags and makes its own
 * span id; a request without a valid header starts a new trace (the
 * specification's "restart").  Ids come from a per-thread generator
 * seeded from getrandom(2), never from the clock.  Pure: no libevent.
 */
#ifndef HOST_TRACE_H
#define HOST_TRACE_H

#define TRACE_LEN 55   /* "00-" 32 "-" 16 "-" 2 */
#define TRACE_ID_OFF 3 /* where the trace id starts in it */
#define TRACE_ID_LEN 32

/* Whether `header` (NUL-terminated) is a traceparent this host accepts. */
int trace_valid(const char *header);

/* Write this host's traceparent for a request into out (TRACE_LEN + 1
 * bytes, NUL-terminated): version 00, the trace id and flags of `header`
 * when it is valid (NULL: none), or a new trace id and flags 00, and a
 * new span id.  Returns 1 when the header's trace was continued, 0 when a
 * new one was started.  Any thread. */
int trace_make(const char *header, char *out);

#endif
