/* SPDX-License-Identifier: MIT */
/*
 * util.h - small helpers several host modules share.
 */
#ifndef HOST_UTIL_H
#define HOST_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The value of hex digit c, or -1. */
int util_hexval(int c);

/* The length of the longest prefix of the string s of at most `max` bytes
 * that ends at a UTF-8 character boundary: a character the limit would
 * cut is left out whole.  Even for invalid UTF-8 the prefix never ends
 * inside a sequence its lead byte announces (nor with part of a run of
 * stray continuation bytes).  For echoing client strings in bounded error
 * texts: printf("%.*s", (int)util_utf8_prefix(s, 64), s). */
size_t util_utf8_prefix(const char *s, size_t max);

/* The next item of a list separated by commas, spaces and tabs, read
 * from *p: a run of other characters.  Any run of separators is one, so
 * there are no empty items ("a,, b ,c," is a, b and c).  Returns the
 * item's start, with its length in *len, and moves *p past it; NULL when
 * only separators are left (*p then at the string's end). */
const char *util_list_next(const char **p, size_t *len);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t util_mono_us(void);

/* CLOCK_MONOTONIC in milliseconds. */
long long util_mono_ms(void);

/* The HTTP date (RFC 9110 5.6.7, "Sun, 06 Nov 1994 08:49:37 GMT") of
 * `when` in out (at least 30 bytes); "" when it cannot be told. */
void util_http_date(char *out, size_t len, long long when);

#endif
