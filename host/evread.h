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
 * loop's CPU under 100 connections (perf).  Here the space is sized by
 * what the caller asks for instead, at most 4096 bytes (libevent's
 * EVBUFFER_MAX_READ), reserved in up to 4 pieces of the buffer
 * (evbuffer_reserve_space, as libevent's reads into its last chains);
 * readv() fills it, and what came is committed (evbuffer_commit_space,
 * which runs the buffer's callbacks), all under the buffer's lock.  The
 * result is libevent's: the bytes read (never more than it would read:
 * readv returns what waits), 0 at the end of the stream, -1 with errno
 * from readv, or -1 for a buffer whose end is frozen.
 *
 * What differs is the space: a read of a few bytes into an empty buffer
 * makes a chain for what was asked, where libevent's made one for what
 * waited.  A connection's reads while idle ask for at most 976 bytes
 * (conns.c), so a request's first read makes what libevent's made; a read
 * that meets a close made a 4 KiB chain in both.
 */
#ifndef HOST_EVREAD_H
#define HOST_EVREAD_H

/* 1 when the dynamic linker resolves evbuffer_read to this file's
 * definition (the bufferevents then call it), else 0. */
int evread_bound(void);

#endif
