/* SPDX-License-Identifier: MIT */
/*
 * evmove.h - libevent's evbuffer_remove_buffer() that copies a few bytes
 * into a buffer holding some already, where libevent's moves the chain
 * that holds them; made by the executable so that evhttp's calls are
 * bound to it (symbol interposition, as evread.h's).
 *
 * evhttp reads a chunked request body a chunk at a time: each chunk, once
 * it is all there, is moved from the connection's input to the request's
 * buffer.  When the chunk is all the input holds - a chunk a packet, as a
 * client writing each chunk with TCP_NODELAY sends it - libevent moves the
 * input's chains themselves, however little of them the chunk fills: a
 * chain is 1 KiB at least, so a body sent a byte a chunk held 1 KiB a
 * byte (3 MB for a 3 KB body), and a chunk whose size line filled most of
 * an 8 KiB chain held that chain for a few bytes; max_body_size, counting
 * bytes, bounded neither.  Here a move of at most EVMOVE_COPY_MAX bytes
 * into a buffer that is not empty is a copy into room made at its end
 * (evbuffer_expand, which sizes by doubling), so a body holds at most
 * about twice its size however it was cut (test_evmove measures).  Every
 * other move is libevent's: the first into an empty buffer (a
 * Content-Length body's only one) costs a length's look more, and a
 * larger one moves chains of at most 8 KiB (libevent's reads add 4 KiB at
 * most), all full but the first and the last.
 *
 * The result is libevent's: the bytes moved, 0 for none or a buffer moved
 * to itself, -1 with nothing moved when the destination's end or the
 * source's start is frozen; each buffer's callbacks run once, the
 * destination's first.  Out of memory, -1 with nothing moved.
 */
#ifndef HOST_EVMOVE_H
#define HOST_EVMOVE_H

/* The most bytes copied rather than moved, in at most EVMOVE_PIECES
 * pieces of the source (its chains; more: moved). */
#define EVMOVE_COPY_MAX 65536
#define EVMOVE_PIECES 64

/* 1 when the dynamic linker resolves evbuffer_remove_buffer to this
 * file's definition (evhttp then calls it), else 0. */
int evmove_bound(void);

#endif
