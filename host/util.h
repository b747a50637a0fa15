/*
 * util.h - small helpers several host modules share.
 */
#ifndef HOST_UTIL_H
#define HOST_UTIL_H

#include <stdint.h>

/* The value of hex digit c, or -1. */
int util_hexval(int c);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t util_mono_us(void);

#endif
