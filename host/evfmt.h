/* SPDX-License-Identifier: MIT */
/*
 * evfmt.h - faster definitions of the two libevent functions evhttp
 * spends most of its own time in, made by the executable so that the
 * dynamic linker binds evhttp's calls to them (symbol interposition, as a
 * malloc replacement is bound).
 *
 * Profiled (callgrind, a keep-alive ping): evhttp writes an answer's
 * status line and each header with evbuffer_add_printf(), four calls of
 * ~1,400 instructions each, most of it glibc's vsnprintf parsing the
 * format; and it looks headers up with evhttp_find_header(), which calls
 * evutil_ascii_strcasecmp() about 30 times a request, one function call
 * per character folded (EVUTIL_TOLOWER_): together ~7,500 of a ping's
 * 33k instructions.  Here:
 *
 *   evbuffer_add_printf  formats "%s: %s\r\n" and "HTTP/%d.%d %d %s\r\n"
 *                        (evhttp's two) itself, into space reserved in
 *                        the buffer; any other format goes to libevent's
 *                        evbuffer_add_vprintf(), so every caller (a
 *                        plugin using libevent too) gets what libevent
 *                        would have written, byte for byte;
 *   evutil_ascii_strcasecmp  folds A-Z through a table, with libevent's
 *                        result for every input (it compares the folded
 *                        bytes as `char`, so -1, 0 or 1 as there).
 *
 * Both are exported from the executable (visibility default; the rest of
 * the host is hidden).  evfmt_bound() says whether the process's global
 * lookup finds them, logged at startup: a libevent linked so that its
 * calls do not go through the PLT would keep its own (slower, same
 * output).
 */
#ifndef HOST_EVFMT_H
#define HOST_EVFMT_H

/* 1 when the dynamic linker resolves both names to this file's
 * definitions (evhttp then calls them), else 0. */
int evfmt_bound(void);

#endif
