/* SPDX-License-Identifier: MIT */
/*
 * envelope.h - the JSON-RPC 2.0 envelope on the client side: building
 * request objects, checking what callers pass, and turning answers into
 * rpchost_client_result values (single answers and batches matched by id).
 * Pure: no libevent, no I/O.
 */
#ifndef RPCHOST_CLIENT_ENVELOPE_H
#define RPCHOST_CLIENT_ENVELOPE_H

#include <stddef.h>

#include <rpchost/client.h>

/* One entry of a batch, in the order added. */
struct env_entry {
    char *method;
    cJSON *params; /* owned; NULL: none */
    cJSON *id;     /* owned explicit id; NULL: automatic (or notification) */
    int slot;      /* index of its result; -1 for a notification */
};

struct rpchost_client_batch {
    struct env_entry *entries;
    size_t n, cap;
    rpchost_client_result *res; /* one per call (slot) */
    size_t nres, rescap;
    int busy;    /* being sent */
    char *error; /* the last send's transport failure, or NULL */
};

/* 0 when `method` is a usable method name (non-empty), else EINVAL. */
int env_check_method(const char *method);
/* 0 when params is NULL, an array or an object, else EINVAL. */
int env_check_params(const cJSON *params);
/* 0 when id is a string or a (finite) number, else EINVAL. */
int env_check_id(const cJSON *id);

/* A request object {"jsonrpc","method","params","id"}.  `params` is taken
 * (also on failure); `id` is copied, NULL makes a notification.  NULL when
 * out of memory. */
cJSON *env_request(const char *method, cJSON *params, const cJSON *id);

/* Set a transport (or any non-answer) outcome: res->rc = rc and a message
 * made from fmt.  Frees a previous message. */
void env_fail(rpchost_client_result *res, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Fill res (whose id is the request's) from the HTTP answer to a single
 * call: status and body.  Sets res->rc. */
void env_single_answer(rpchost_client_result *res, int status, const char *body,
                       size_t len);

/* Fill the n results (ids set) from the HTTP answer to a batch.  Returns
 * RPCHOST_CLIENT_OK when the answer was usable (each result has its own
 * rc) or the transport code given to every result. */
int env_batch_answer(rpchost_client_result *res, size_t n, int status,
                     const char *body, size_t len);

#endif /* RPCHOST_CLIENT_ENVELOPE_H */
