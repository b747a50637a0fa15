/* SPDX-License-Identifier: MIT */
/*
 * edge.h - where a request enters: a lane's evhttp callback.  It frames
 * and checks the request (size, Host, Content-Type, CORS, auth), answers
 * /healthz and /metrics itself, hands a JSON-RPC POST to dispatch_body
 * (dispatch.h: where it becomes calls) and writes the answer that comes
 * back: where answers leave.
 */
#ifndef HOST_EDGE_H
#define HOST_EDGE_H

struct evhttp_request;

/* evhttp's general callback; `arg` is the lane (lanedef.h). */
void edge_request(struct evhttp_request *req, void *arg);

#endif
