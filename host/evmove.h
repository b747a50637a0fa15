/* SPDX-License-Identifier: MIT */
/*
 * evmove.h - libevent's evbuffer_remove_buffer() that copies what it moves
 * into a buffer holding some already (up to 64 KiB), where libevent's
 * moves the chains that hold it; made by the executable so that evhttp's
 * calls are bound to it (symbol interposition, as evread.h's).
 *
 * evhttp reads a chunked request body a chunk at a time: each chunk, once
 * it is all there, is moved from the connection's input to the request's
 * buffer.  When the chunk is all the input holds - a chunk a packet, as a
 * client writing each chunk with TCP_NODELAY sends it - libevent moves the
 * input's chains themselves, however little of them the chunk fills: a
 * chain is 1 KiB at least, so a body sent a byte a chunk held 1 KiB a
 * byte (3 MB for a 3 KB body), and a chunk whose size line filled most of
 * an 8 KiB chain held that chain for a few bytes; max_body_size, counting
 * bytes, bounded neither.  Here a move of at most 64 KiB, held by the
 * source in at most 64 pieces (chains), into a buffer that is not empty
 * is a copy into room reserved at its end (evbuffer_reserve_space: the
 * last chain's room, then a new chain sized to what is left, rounded up
 * to a power of two), so a body holds at most about twice its size
 * however it was cut (test_evmove measures).  Every other move is
 * libevent's: the first into an empty buffer (a Content-Length body's
 * only one) costs a length's look more, and a larger one moves chains of
 * at most 8 KiB (libevent's reads add 4 KiB at most), all full but the
 * first and the last.
 *
 * The result is libevent's: the bytes moved, 0 for none or a buffer moved
 * to itself, -1 with nothing moved when the destination's end or the
 * source's start is frozen; each buffer's callbacks run once, the
 * destination's first.  One difference: a copy's destination callbacks
 * run before the source is drained (libevent's run once both have
 * changed), so they would see the bytes in both; evhttp's buffers moved
 * into have no callbacks.  Out of memory, -1 with nothing moved.
 */
#ifndef HOST_EVMOVE_H
#define HOST_EVMOVE_H

/* 1 when the dynamic linker resolves evbuffer_remove_buffer to this
 * file's definition (evhttp then calls it), 0 when it does not (libevent's
 * is called), -1 when it does but libevent's own was not found (every
 * move would fail: main.c stops).  Any thread. */
int evmove_bound(void);

#endif
