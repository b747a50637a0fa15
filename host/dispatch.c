/*
 * dispatch.c - see dispatch.h.
 *
 * A `struct batch` lives for one request body: it holds the generation
 * reference, the parsed envelope and one `struct rpchost_call` per call.
 * Each call writes its own response object text; when the last call is
 * answered, the texts are joined (a batch) or handed over as they are.
 */
#include "dispatch.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "buf.h"
#include "generation.h"
#include "jsonrpc.h"
#include "log.h"

struct batch;

struct rpchost_call {
    struct batch *batch;
    const struct method *m;
    const char *method; /* name as requested */
    const char *id;     /* raw id text, NULL for a notification */
    size_t id_len;
    atomic_int answered;
    struct buf out; /* the response object; empty for notifications */
};

struct batch {
    struct generation *gen;
    struct rpc_envelope env;
    struct rpchost_call *calls;
    struct rpchost_call one;
    size_t n;
    atomic_size_t pending;
    dispatch_done_fn done;
    void *arg;
};

static void
batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        buf_free(&b->calls[i].out);
    if (b->calls != &b->one)
        free(b->calls);
    rpc_envelope_free(&b->env);
    generation_unref(b->gen);
    free(b);
}

/* All calls answered: build the body and hand it over. */
static void
batch_finish(struct batch *b)
{
    struct buf out = BUF_INIT;
    dispatch_done_fn done = b->done;
    void *arg = b->arg;
    char *body;
    size_t len = 0;
    int any = 0;

    if (!b->env.is_batch) {
        out = b->calls[0].out;
        memset(&b->calls[0].out, 0, sizeof(out));
        any = out.len > 0;
    } else {
        buf_putc(&out, '[');
        for (size_t i = 0; i < b->n; i++) {
            struct buf *o = &b->calls[i].out;
            if (o->len == 0)
                continue;
            if (any)
                buf_putc(&out, ',');
            buf_append(&out, o->data, o->len);
            any = 1;
        }
        buf_putc(&out, ']');
    }
    batch_free(b);
    if (!any) {
        buf_free(&out);
        done(arg, 204, NULL, 0);
        return;
    }
    body = buf_take(&out, &len);
    if (body == NULL) {
        log_error("out of memory building a response");
        done(arg, 500, NULL, 0);
        return;
    }
    done(arg, 200, body, len);
}

static void
call_settled(struct rpchost_call *c)
{
    struct batch *b = c->batch;

    if (atomic_fetch_sub_explicit(&b->pending, 1, memory_order_acq_rel) == 1)
        batch_finish(b);
}

/* Mark c answered; 0 if it was not yet. */
static int
claim(struct rpchost_call *c)
{
    int expected = 0;

    return atomic_compare_exchange_strong(&c->answered, &expected, 1) ? 0 : -1;
}

int
call_result(rpchost_call *c, cJSON *result)
{
    char *text;

    if (c == NULL) {
        cJSON_Delete(result);
        return RPCHOST_EINVAL;
    }
    if (result == NULL)
        return RPCHOST_ENOMEM; /* the handler's return makes it -32603 */
    if (claim(c) != 0) {
        cJSON_Delete(result);
        return RPCHOST_ESTATE;
    }
    if (c->id == NULL) { /* notification: nothing is sent */
        cJSON_Delete(result);
        return RPCHOST_OK;
    }
    text = cJSON_PrintUnformatted(result);
    cJSON_Delete(result);
    if (text == NULL) {
        log_error("method %s: out of memory printing the result", c->method);
        rpc_write_error(&c->out, c->id, c->id_len, RPCHOST_INTERNAL_ERROR, NULL,
                        NULL);
        return RPCHOST_ENOMEM;
    }
    rpc_write_result(&c->out, c->id, c->id_len, text, strlen(text));
    cJSON_free(text);
    return RPCHOST_OK;
}

int
call_error(rpchost_call *c, int code, const char *message, cJSON *data)
{
    char *text = NULL;
    int rc = RPCHOST_OK;

    if (c == NULL) {
        cJSON_Delete(data);
        return RPCHOST_EINVAL;
    }
    if (code >= RPCHOST_RESERVED_MIN && code <= RPCHOST_RESERVED_MAX &&
        code != RPCHOST_INVALID_PARAMS && code != RPCHOST_INTERNAL_ERROR) {
        log_error("method %s: error code %d is reserved for the host; "
                  "answering -32603",
                  c->method, code);
        code = RPCHOST_INTERNAL_ERROR;
        message = NULL;
        cJSON_Delete(data);
        data = NULL;
        rc = RPCHOST_ERESERVED;
    }
    if (claim(c) != 0) {
        cJSON_Delete(data);
        return RPCHOST_ESTATE;
    }
    if (c->id == NULL) {
        cJSON_Delete(data);
        return rc;
    }
    if (data != NULL) {
        text = cJSON_PrintUnformatted(data);
        cJSON_Delete(data);
        if (text == NULL) {
            log_error("method %s: out of memory printing error data",
                      c->method);
            rpc_write_error(&c->out, c->id, c->id_len, RPCHOST_INTERNAL_ERROR,
                            NULL, NULL);
            return RPCHOST_ENOMEM;
        }
    }
    if (message == NULL || message[0] == '\0')
        message = rpc_error_message(code);
    rpc_write_error(&c->out, c->id, c->id_len, code,
                    message ? message : "Server error", text);
    cJSON_free(text);
    return rc;
}

const char *
call_method(rpchost_call *c)
{
    return c ? c->method : NULL;
}

int
call_is_notification(rpchost_call *c)
{
    return c ? c->id == NULL : 0;
}

void *
call_udata(rpchost_call *c)
{
    return c && c->m ? c->m->udata : NULL;
}

/* Run one valid call. */
static void
run_call(struct rpchost_call *c, const struct rpc_req *r)
{
    int rc;

    c->m = registry_find(c->batch->gen->reg, r->method, strlen(r->method));
    if (c->m == NULL) {
        claim(c);
        if (c->id != NULL)
            rpc_write_error_detail(&c->out, c->id, c->id_len,
                                   RPCHOST_METHOD_NOT_FOUND, NULL);
        return;
    }
    rc = c->m->handler(c, r->params, c->m->plugin->state);
    if (atomic_load(&c->answered))
        return;
    /* Returned without answering: the plugin failed.  Say nothing of its
     * internals to the client; log them. */
    if (rc == RPCHOST_OK)
        log_error("method %s returned without answering the call", c->method);
    else
        log_error("method %s failed: %s (%d)", c->method, host_strerror(rc),
                  rc);
    claim(c);
    if (c->id != NULL)
        rpc_write_error(&c->out, c->id, c->id_len, RPCHOST_INTERNAL_ERROR, NULL,
                        NULL);
}

static void
answer_whole(struct generation *gen, const struct rpc_envelope *env,
             dispatch_done_fn done, void *arg)
{
    struct buf out = BUF_INIT;
    char *body;
    size_t len = 0;

    (void)gen;
    rpc_write_error_detail(&out, NULL, 0, env->err, env->detail);
    body = buf_take(&out, &len);
    done(arg, body ? 200 : 500, body, body ? len : 0);
}

void
dispatch_body(struct generation *gen, const char *body, size_t len,
              dispatch_done_fn done, void *arg)
{
    struct batch *b = calloc(1, sizeof(*b));

    if (b == NULL) {
        log_error("out of memory answering a request");
        done(arg, 500, NULL, 0);
        return;
    }
    generation_ref(gen);
    b->gen = gen;
    b->done = done;
    b->arg = arg;
    if (rpc_parse(body, len, &gen->limits, &b->env) != 0) {
        answer_whole(gen, &b->env, done, arg);
        batch_free(b);
        return;
    }
    b->n = b->env.n;
    b->calls = b->n == 1 ? &b->one : calloc(b->n, sizeof(*b->calls));
    if (b->calls == NULL) {
        struct rpc_envelope e = {.err = RPCHOST_INTERNAL_ERROR};
        b->n = 0;
        snprintf(e.detail, sizeof(e.detail), "out of memory");
        answer_whole(gen, &e, done, arg);
        batch_free(b);
        return;
    }
    /* One extra count held while the handlers run, so the batch cannot
     * finish (and be freed) under this loop. */
    atomic_init(&b->pending, b->n + 1);
    for (size_t i = 0; i < b->n; i++) {
        struct rpchost_call *c = &b->calls[i];
        const struct rpc_req *r = &b->env.reqs[i];

        c->batch = b;
        c->method = r->method ? r->method : "";
        c->id = r->id;
        c->id_len = r->id_len;
        atomic_init(&c->answered, 0);
        if (r->invalid != NULL) {
            claim(c);
            rpc_write_error_detail(&c->out, c->id ? c->id : "null",
                                   c->id ? c->id_len : 4,
                                   RPCHOST_INVALID_REQUEST, r->invalid);
        } else {
            run_call(c, r);
        }
        call_settled(c);
    }
    call_settled(&(struct rpchost_call){.batch = b});
}
