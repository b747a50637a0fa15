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

/* CLOCK_MONOTONIC in microseconds. */
uint64_t util_mono_us(void);

/* CLOCK_MONOTONIC in milliseconds. */
long long util_mono_ms(void);

#endif
