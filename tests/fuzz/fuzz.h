/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - the entry point every fuzz harness defines: libFuzzer calls it
 * once per input, and regress_main.c replays files through it in builds
 * without libFuzzer.
 */
#ifndef TESTS_FUZZ_H
#define TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Run one input; always returns 0 (a bug aborts or trips a sanitizer). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with a message when an invariant of the code under test fails. */
#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

#endif
