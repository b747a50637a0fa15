/* SPDX-License-Identifier: MIT */
/*
 * elfcheck.h - is a file image a shared object this host can map?
 *
 * dlopen() maps a plugin's segments where its program headers say.  glibc
 * checks the ELF identification, but not the segments against the size of
 * the file: a segment past the end (a truncated copy, a file caught while
 * cp or install was writing it) is mapped anyway, and the first touch of
 * the missing part is SIGBUS, which kills the server.  So the loader checks
 * the image it is about to map first, here.
 *
 * Pure: reads only the bytes it is given (never past `size`, whatever the
 * headers say), allocates nothing, no global state; any thread.
 */
#ifndef HOST_ELFCHECK_H
#define HOST_ELFCHECK_H

#include <stddef.h>

/* Check that the `size` bytes at `img` (NULL allowed when size is 0) are an
 * ELF shared object for this host: the \177ELF magic; the host's class
 * (32/64-bit), byte order and ELF version; type ET_DYN; the host's machine;
 * program headers of the native size, at least one and all within the
 * image; at least one PT_LOAD; every segment with bytes in the file
 * (every PT_LOAD, even an empty one) within the image.  Arithmetic cannot
 * overflow, whatever the offsets.
 *
 * Returns 0 (why set to "") or -1 with one line saying what is wrong in
 * why[whylen], cut to fit and always NUL-terminated when whylen > 0; a
 * file cut short says "truncated".  The caller owns `img` and `why`. */
int elfcheck_image(const void *img, size_t size, char *why, size_t whylen);

#endif
