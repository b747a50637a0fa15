/* SPDX-License-Identifier: MIT */
/*
 * evread.h - libevent's evbuffer_read() without the system call that asks
 * the socket how much is waiting, made by the executable so that the
 * bufferevents' reads are bound to it (symbol interposition, as
 * evfmt.h's).
 *
 * libevent 2.1's evbuffer_read() asks the kernel how many bytes wait
 * (ioctl FIONREAD) before every read, only to size the space it reads
 * into: one system call of the five a keep-alive request costs, 4.4% of a
 * loop's CPU under 100 connections (perf).  Here the read goes to the
 * stack, as much as the caller asks for and at most 4096 bytes (libevent's
 * EVBUFFER_MAX_READ), and what came is added to the buffer (evbuffer_add,
 * which runs the buffer's callbacks), under the buffer's lock.  The result
 * is libevent's: the bytes read (never more than it would read: a read
 * returns what waits), 0 at the end of the stream, -1 with errno from
 * read(), or -1 for a buffer whose end is frozen (nothing read).
 *
 * The space is sized by what came, as libevent's by what waited: a space
 * reserved for what was asked (evbuffer_reserve_space) made an 8 KiB chain
 * for every read into an empty buffer, and evhttp moves a chunked body's
 * chains whole into the request's buffer, so a body sent a few bytes a
 * packet held 8 KiB a packet (1 KiB with libevent's read and with this
 * one; test_evread counts).  What it costs is a copy of the bytes read,
 * at most 4 KiB a read.  Out of memory, the bytes read are lost with the
 * connection (-1, ENOMEM), where libevent's failed before reading.
 */
#ifndef HOST_EVREAD_H
#define HOST_EVREAD_H

/* 1 when the dynamic linker resolves evbuffer_read to this file's
 * definition (the bufferevents then call it), else 0. */
int evread_bound(void);

#endif
