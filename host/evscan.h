/* SPDX-License-Identifier: MIT */
/*
 * evscan.h - a faster definition of the scanf evhttp reads a request's
 * HTTP version with, made by the executable so that the dynamic linker
 * binds evhttp's call to it (symbol interposition, as evfmt.h's).
 *
 * Profiled (callgrind, a keep-alive ping): evhttp parses the version of
 * every request line with sscanf(version, "HTTP/%d.%d%c", ...), which
 * glibc compiles to __isoc99_sscanf: ~1,500 of a ping's 27.8k
 * instructions, most of them glibc setting up a string stream and
 * walking the format.  Here __isoc99_sscanf reads that format itself
 * when the text has the shape evhttp meets ("HTTP/", 1 to 9 digits, ".",
 * 1 to 9 digits, then anything), with scanf's result and assignments;
 * any other format or text goes to glibc's __isoc99_vsscanf, so every
 * caller in the process (other libraries, plugins) gets what glibc
 * gives.  glibc only: elsewhere nothing is defined.
 *
 * evscan_bound() says whether the process's global lookup finds this
 * definition (logged at startup with evfmt's).
 */
#ifndef HOST_EVSCAN_H
#define HOST_EVSCAN_H

/* 1 when the dynamic linker resolves __isoc99_sscanf to this file's
 * definition (evhttp then calls it), else 0. */
int evscan_bound(void);

#endif
