/* SPDX-License-Identifier: MIT */
/*
 * discover.c - see discover.h.
 */
#include "discover.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "address.h"
#include "buf.h"
#include "methoddoc.h"
#include "params.h"
#include "registry.h"

#define TITLE_MAX 256

/* A readable, stable schema title: the method's name with every run of
 * characters other than A-Z a-z 0-9 dropped and the next letter raised,
 * then `what` and the param's name raised: ("sum", "Param", "n") ->
 * "sumParamN". */
static void
make_title(char *out, size_t len, const char *method, const char *what,
           const char *name)
{
    size_t o = 0;
    int raise = 0;

    for (const char *s = method; *s != '\0' && o + 1 < len; s++) {
        if (!isalnum((unsigned char)*s)) {
            raise = o > 0;
            continue;
        }
        out[o++] = raise ? (char)toupper((unsigned char)*s) : *s;
        raise = 0;
    }
    out[o] = '\0';
    if (name == NULL || name[0] == '\0')
        snprintf(out + o, len - o, "%s", what);
    else
        snprintf(out + o, len - o, "%s%c%s", what,
                 toupper((unsigned char)name[0]), name + 1);
}

/* {"type": ..., "title": ...}; `type` ANY has no "type". */
static cJSON *
schema_of(int type, const char *title)
{
    cJSON *s = cJSON_CreateObject();

    if (s == NULL ||
        (type != RPCHOST_TYPE_ANY &&
         cJSON_AddStringToObject(s, "type", params_type_name(type)) == NULL) ||
        cJSON_AddStringToObject(s, "title", title) == NULL) {
        cJSON_Delete(s);
        return NULL;
    }
    return s;
}

/* {"name", "required", "description", "schema": {"type", "title",
 * "items"}, "x-variadic"}; `what` is "Param" or "Result" for the title. */
static cJSON *
content_descriptor(const struct method *m, const char *what,
                   const struct param_desc *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *schema, *items = NULL;
    char title[TITLE_MAX], item_title[TITLE_MAX + 4];

    if (d->title != NULL)
        snprintf(title, sizeof(title), "%s", d->title);
    else
        make_title(title, sizeof(title), m->name, what,
                   what[0] == 'P' ? d->name : NULL);
    schema = schema_of(d->type, title);
    if (o == NULL || schema == NULL) {
        cJSON_Delete(schema);
        goto fail;
    }
    cJSON_AddItemToObject(o, "schema", schema);
    if (d->type == RPCHOST_TYPE_ARRAY && d->item_type != RPCHOST_TYPE_ANY) {
        snprintf(item_title, sizeof(item_title), "%sItem", title);
        items = schema_of(d->item_type, item_title);
        if (items == NULL)
            goto fail;
        cJSON_AddItemToObject(schema, "items", items);
    }
    if (cJSON_AddStringToObject(o, "name", d->name) == NULL ||
        cJSON_AddBoolToObject(o, "required", d->required) == NULL)
        goto fail;
    if (d->description != NULL &&
        cJSON_AddStringToObject(o, "description", d->description) == NULL)
        goto fail;
    if ((d->flags & RPCHOST_PARAM_VARIADIC) &&
        cJSON_AddTrueToObject(o, "x-variadic") == NULL)
        goto fail;
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

static const char *
structure_name(int structure)
{
    switch (structure) {
    case RPCHOST_PARAMS_BY_POSITION:
        return "by-position";
    case RPCHOST_PARAMS_BY_NAME:
        return "by-name";
    default:
        return "either";
    }
}

/* "errors": [{"code", "message"}]; OpenRPC's error object has no room for
 * a description, so descriptions go to the method's description (see
 * description_text). */
static int
add_errors(cJSON *o, const struct method *m)
{
    cJSON *errors;

    if (m->nerrors == 0)
        return 0;
    errors = cJSON_AddArrayToObject(o, "errors");
    if (errors == NULL)
        return -1;
    for (size_t i = 0; i < m->nerrors; i++) {
        cJSON *e = cJSON_CreateObject();
        if (e == NULL)
            return -1;
        cJSON_AddItemToArray(errors, e);
        if (cJSON_AddNumberToObject(e, "code", m->errors[i].code) == NULL ||
            cJSON_AddStringToObject(e, "message", m->errors[i].message) == NULL)
            return -1;
    }
    return 0;
}

/* The plugin's description, then a Markdown list of the error codes that
 * have one.  0, or -1 on ENOMEM. */
static int
add_description(cJSON *o, const struct method *m)
{
    struct buf b = BUF_INIT;
    const char *sep = m->description ? "\n\n" : "";
    int rc = 0;

    if (m->description != NULL)
        buf_puts(&b, m->description);
    for (size_t i = 0; i < m->nerrors; i++) {
        const struct error_desc *e = &m->errors[i];
        if (e->description == NULL)
            continue;
        buf_printf(&b, "%s- error %d \"%s\": %s", sep, e->code, e->message,
                   e->description);
        sep = "\n";
    }
    if (!buf_ok(&b))
        rc = -1;
    else if (b.len > 0 &&
             cJSON_AddStringToObject(o, "description", buf_cstr(&b)) == NULL)
        rc = -1;
    buf_free(&b);
    return rc;
}

static cJSON *
method_object(const struct method *m)
{
    struct param_desc any = {
        (char *)"result", RPCHOST_TYPE_ANY, 0, NULL, RPCHOST_TYPE_ANY, 0, NULL};
    cJSON *o = cJSON_CreateObject();
    cJSON *params = cJSON_AddArrayToObject(o, "params");
    cJSON *res;

    if (o == NULL || params == NULL ||
        cJSON_AddStringToObject(o, "name", m->name) == NULL)
        goto fail;
    if (m->summary != NULL &&
        cJSON_AddStringToObject(o, "summary", m->summary) == NULL)
        goto fail;
    if (add_description(o, m) != 0)
        goto fail;
    for (size_t i = 0; m->params != NULL && i < m->nparams; i++) {
        cJSON *p = content_descriptor(m, "Param", &m->params[i]);
        if (p == NULL)
            goto fail;
        cJSON_AddItemToArray(params, p);
    }
    if (cJSON_AddStringToObject(o, "paramStructure",
                                structure_name(m->structure)) == NULL)
        goto fail;
    if (m->params == NULL &&
        cJSON_AddStringToObject(o, "x-params",
                                m->structure == RPCHOST_PARAMS_ANY
                                    ? "any"
                                    : "not described") == NULL)
        goto fail;
    res = content_descriptor(m, "Result", m->result ? m->result : &any);
    if (res == NULL)
        goto fail;
    cJSON_AddItemToObject(o, "result", res);
    if (add_errors(o, m) != 0)
        goto fail;
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

static int
wildcard_host(const char *host)
{
    return host[0] == '\0' || strcmp(host, "*") == 0 ||
           strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

/* variables.NAME = {"default": def, "description": text}. */
static int
add_variable(cJSON *server, const char *name, const char *def, const char *text)
{
    cJSON *vars = cJSON_GetObjectItemCaseSensitive(server, "variables");
    cJSON *v;

    if (vars == NULL &&
        (vars = cJSON_AddObjectToObject(server, "variables")) == NULL)
        return -1;
    v = cJSON_AddObjectToObject(vars, name);
    if (v == NULL || cJSON_AddStringToObject(v, "default", def) == NULL ||
        cJSON_AddStringToObject(v, "description", text) == NULL)
        return -1;
    return 0;
}

static cJSON *
server_object(const struct address *a, const char *endpoint)
{
    cJSON *o = cJSON_CreateObject();
    char name[300], host[280], port[16], url[600];
    int vhost = 0, vport = 0;

    if (o == NULL)
        return NULL;
    address_text(a, name, sizeof(name));
    if (a->path != NULL) {
        snprintf(url, sizeof(url), "http://localhost%s", endpoint);
    } else {
        vhost = wildcard_host(a->host);
        vport = a->port == 0;
        if (vhost)
            snprintf(host, sizeof(host), "{host}");
        else
            snprintf(host, sizeof(host), strchr(a->host, ':') ? "[%s]" : "%s",
                     a->host);
        snprintf(port, sizeof(port), "%d", a->port);
        snprintf(url, sizeof(url), "http://%s:%s%s", host,
                 vport ? "{port}" : port, endpoint);
    }
    if (cJSON_AddStringToObject(o, "name", name) == NULL ||
        cJSON_AddStringToObject(o, "url", url) == NULL ||
        (a->path != NULL &&
         cJSON_AddStringToObject(o, "description",
                                 "HTTP over this unix socket (curl "
                                 "--unix-socket PATH URL)") == NULL) ||
        (vhost && add_variable(o, "host", "localhost",
                               "listening on every address: any of this "
                               "machine's") != 0) ||
        (vport && add_variable(o, "port", "0",
                               "a free port chosen at startup (see the "
                               "log)") != 0)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int
add_servers(cJSON *doc, const struct discover_site *site)
{
    cJSON *servers = cJSON_AddArrayToObject(doc, "servers");

    if (servers == NULL)
        return -1;
    for (size_t i = 0; i < site->nlistens; i++) {
        cJSON *s = server_object(&site->listens[i], site->endpoint);
        if (s == NULL)
            return -1;
        cJSON_AddItemToArray(servers, s);
    }
    return 0;
}

char *
discover_build(const struct registry *r, const char *version,
               const struct discover_site *site, size_t *len)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *info = cJSON_AddObjectToObject(doc, "info");
    cJSON *methods;
    char *text = NULL;

    if (doc == NULL || info == NULL)
        goto out;
    if (cJSON_AddStringToObject(doc, "openrpc", "1.2.6") == NULL ||
        cJSON_AddStringToObject(info, "title", "rpchost") == NULL ||
        cJSON_AddStringToObject(info, "version", version) == NULL)
        goto out;
    if (site != NULL && add_servers(doc, site) != 0)
        goto out;
    methods = cJSON_AddArrayToObject(doc, "methods");
    if (methods == NULL)
        goto out;
    for (size_t i = 0; i < registry_count(r); i++) {
        cJSON *m = method_object(registry_at(r, i));
        if (m == NULL)
            goto out;
        cJSON_AddItemToArray(methods, m);
    }
    text = cJSON_PrintUnformatted(doc);
    if (text != NULL)
        *len = strlen(text);
out:
    cJSON_Delete(doc);
    return text;
}
