/* SPDX-License-Identifier: MIT */
/*
 * refusal.h - an answer written straight to a client's socket while evhttp
 * is in the middle of reading its request: the 413 for a chunked body
 * whose framing went over max_chunk_overhead (framing.h), which conns.c
 * finds in the bytes before evhttp has a request to answer.
 *
 * The answer is what rpchost's own refusals are (edge.c's): a JSON-RPC
 * error object (-32600, the reason in "data", written by jsonrpc.c), with
 * Date, Content-Type, Content-Length and Connection: close, written with
 * one sendmsg() that does not wait: the socket has nothing queued while a
 * request arrives, so it takes the whole answer.  The connection is closed
 * after it (conns.c), as evhttp closes one whose body is over max_body_size: a
 * client still sending then may see a reset before the answer.
 */
#ifndef HOST_REFUSAL_H
#define HOST_REFUSAL_H

/* Write the 413 for an over-bound chunked body to socket fd; `arg` is
 * unused (conns_new's refusal callback).  Any thread. */
void refusal_chunked(int fd, void *arg);

#endif
