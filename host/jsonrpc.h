/* SPDX-License-Identifier: MIT */
/*
 * jsonrpc.h - the JSON-RPC 2.0 envelope: requests, batches and responses
 * (pure; no libevent, no registry).
 *
 * rpc_parse() turns a request body into a list of calls, each either valid
 * (method, params, id) or invalid with the reason; it decides every error
 * the specification assigns to the envelope itself (-32700, -32600).  It
 * reads the envelope from the spans jscan_run() recorded: no cJSON tree of
 * the body is built, only one of each call's params.  The
 * rpc_write_* functions append response objects to a buf, echoing each id
 * exactly as its raw text arrived.
 */
#ifndef HOST_JSONRPC_H
#define HOST_JSONRPC_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "jsonscan.h"

struct rpc_limits {
    int max_depth;    /* JSON nesting */
    size_t max_batch; /* calls in one batch */
};

struct rpc_req {
    const char *method;  /* NULL when the request is invalid */
    const cJSON *params; /* array or object, or NULL when absent */
    cJSON *tree;         /* params, owned by the envelope */
    const char *id;      /* raw JSON text of the id, NULL: notification */
    size_t id_len;
    const char *invalid; /* non-NULL: answer -32600 with this detail */
};

struct rpc_envelope {
    int err;          /* 0, or a wire code answering the whole body */
    char detail[160]; /* what was wrong, for the error's "data" */
    int is_batch;
    size_t n;             /* calls */
    struct rpc_req *reqs; /* n entries */
    char *names;          /* the decoded method names, one after another */
    struct rpc_req one;
    char names_inline[64];
};

/* Parse `body` (len bytes; it must outlive the envelope, since ids point
 * into it).  Returns env->err: 0, or the code of a single error object that
 * answers the whole body (then env->detail says why).  Free with
 * rpc_envelope_free() in every case. */
int rpc_parse(const char *body, size_t len, const struct rpc_limits *lim,
              struct rpc_envelope *env);
void rpc_envelope_free(struct rpc_envelope *env);

/* The specification's message for a standard code ("Parse error", ...),
 * or NULL for another code. */
const char *rpc_error_message(int code);

/* Append {"jsonrpc":"2.0","result":<json>,"id":<id>}.  `json` is the
 * result's JSON text; id NULL writes null. */
void rpc_write_result(struct buf *b, const char *id, size_t id_len,
                      const char *json, size_t json_len);
/* The same for a string result `s` (escaped here: no cJSON printing). */
void rpc_write_result_string(struct buf *b, const char *id, size_t id_len,
                             const char *s);
/* Append an error response.  `message` NULL takes the standard one;
 * `data_json` (raw JSON text) may be NULL.  id NULL writes null. */
void rpc_write_error(struct buf *b, const char *id, size_t id_len, int code,
                     const char *message, const char *data_json);
/* The same with `detail` as a JSON string in "data" (NULL: no data). */
void rpc_write_error_detail(struct buf *b, const char *id, size_t id_len,
                            int code, const char *detail);

#endif
