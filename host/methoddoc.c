/* SPDX-License-Identifier: MIT */
/*
 * methoddoc.c - see methoddoc.h.
 */
#include "methoddoc.h"

#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "registry.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* Whether a method may describe `code` as its own (api->error's rule). */
static int
code_ok(int code)
{
    return code < RPCHOST_RESERVED_MIN || code > RPCHOST_RESERVED_MAX ||
           code == RPCHOST_INVALID_PARAMS || code == RPCHOST_INTERNAL_ERROR;
}

static int
check_errors(const rpchost_error_doc *e, const char **why)
{
    for (size_t n = 0; e[n].message != NULL; n++) {
        if (n >= METHOD_ERRORS_MAX) {
            *why = "more than " STRINGIFY(
                METHOD_ERRORS_MAX) " error codes described";
            return RPCHOST_EINVAL;
        }
        if (!code_ok(e[n].code)) {
            *why = "an error code is in -32768..-32000, the host's (only "
                   "-32602 and -32603 may be described)";
            return RPCHOST_ERESERVED;
        }
        for (size_t j = 0; j < n; j++) {
            if (e[j].code == e[n].code) {
                *why = "two errors have the same code";
                return RPCHOST_EINVAL;
            }
        }
    }
    return RPCHOST_OK;
}

/* One result entry: a checked description of one param, not variadic. */
static int
check_result(const rpchost_param_doc *r, const char **why)
{
    rpchost_param_doc one[2];

    if (r[0].name == NULL)
        return RPCHOST_OK;
    one[0] = r[0];
    memset(&one[1], 0, sizeof(one[1]));
    if (params_check_doc(one, why) != 0)
        return RPCHOST_EINVAL;
    if (r[0].flags & RPCHOST_PARAM_VARIADIC) {
        *why = "a result cannot be variadic";
        return RPCHOST_EINVAL;
    }
    return RPCHOST_OK;
}

int
methoddoc_check(const rpchost_method_doc *doc, const char **why)
{
    size_t n = 0;

    if (doc == NULL) {
        *why = "the description is NULL";
        return RPCHOST_EINVAL;
    }
    if (doc->param_structure < RPCHOST_PARAMS_EITHER ||
        doc->param_structure > RPCHOST_PARAMS_ANY) {
        *why = "unknown param_structure";
        return RPCHOST_EINVAL;
    }
    if (doc->params != NULL) {
        if (params_check_doc(doc->params, why) != 0)
            return RPCHOST_EINVAL;
        while (doc->params[n].name != NULL)
            n++;
    }
    if (doc->param_structure == RPCHOST_PARAMS_ANY && n > 0) {
        *why = "RPCHOST_PARAMS_ANY takes no params description";
        return RPCHOST_EINVAL;
    }

    if (doc->result != NULL && check_result(doc->result, why) != RPCHOST_OK)
        return RPCHOST_EINVAL;
    return doc->errors ? check_errors(doc->errors, why) : RPCHOST_OK;
}

void
methoddoc_free_errors(struct error_desc *e, size_t n)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(e[i].message);
        free(e[i].description);
    }
    free(e);
}

static struct error_desc *
copy_errors(const rpchost_error_doc *e, size_t *n)
{
    struct error_desc *d;
    size_t count = 0;
    int failed = 0;

    while (e[count].message != NULL)
        count++;
    d = calloc(count ? count : 1, sizeof(*d));
    if (d == NULL)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        d[i].code = e[i].code;
        d[i].message = strdup(e[i].message);
        d[i].description = e[i].description ? strdup(e[i].description) : NULL;
        if (d[i].message == NULL ||
            (e[i].description != NULL && d[i].description == NULL))
            failed = 1;
    }
    if (failed) {
        methoddoc_free_errors(d, count);
        return NULL;
    }
    *n = count;
    return d;
}

/* What methoddoc_apply() builds before it touches the method. */
struct fresh {
    char *description;
    struct param_desc *params, *result;
    size_t nparams;
    struct error_desc *errors;
    size_t nerrors;
};

static int
build(struct fresh *f, const rpchost_method_doc *doc)
{
    size_t one;

    memset(f, 0, sizeof(*f));
    if (doc->description != NULL &&
        (f->description = strdup(doc->description)) == NULL)
        return RPCHOST_ENOMEM;
    if (doc->params != NULL && doc->param_structure != RPCHOST_PARAMS_ANY &&
        (f->params = params_copy_doc(doc->params, &f->nparams)) == NULL)
        return RPCHOST_ENOMEM;
    if (doc->result != NULL && doc->result[0].name != NULL) {
        rpchost_param_doc r[2] = {doc->result[0], {0}};
        if ((f->result = params_copy_doc(r, &one)) == NULL)
            return RPCHOST_ENOMEM;
    }
    if (doc->errors != NULL &&
        (f->errors = copy_errors(doc->errors, &f->nerrors)) == NULL)
        return RPCHOST_ENOMEM;
    return RPCHOST_OK;
}

#define SWAP(type, a, b)                                                       \
    do {                                                                       \
        type t_ = (a);                                                         \
        (a) = (b);                                                             \
        (b) = t_;                                                              \
    } while (0)

int
methoddoc_apply(struct method *m, const rpchost_method_doc *doc)
{
    struct fresh f;
    int rc = build(&f, doc);

    if (rc == RPCHOST_OK) {
        if (f.description != NULL)
            SWAP(char *, m->description, f.description);
        if (f.params != NULL || doc->param_structure == RPCHOST_PARAMS_ANY) {
            SWAP(struct param_desc *, m->params, f.params);
            SWAP(size_t, m->nparams, f.nparams);
        }
        if (f.result != NULL)
            SWAP(struct param_desc *, m->result, f.result);
        if (f.errors != NULL) {
            SWAP(struct error_desc *, m->errors, f.errors);
            SWAP(size_t, m->nerrors, f.nerrors);
        }
        m->structure = doc->param_structure;
    }
    /* f now holds what was replaced (or the partial build): free it. */
    free(f.description);
    params_free(f.params, f.nparams);
    params_free(f.result, f.result ? 1 : 0);
    methoddoc_free_errors(f.errors, f.nerrors);
    return rc;
}
