/*
 * discover.c - see discover.h.
 */
#include "discover.h"

#include <string.h>

#include <cjson/cJSON.h>

#include "params.h"
#include "registry.h"

/* {"name":..., "required":..., "schema":{"type":...}, "description":...} */
static cJSON *
content_descriptor(const struct param_desc *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *schema = cJSON_AddObjectToObject(o, "schema");

    if (o == NULL || schema == NULL)
        goto fail;
    if (cJSON_AddStringToObject(o, "name", d->name) == NULL ||
        cJSON_AddBoolToObject(o, "required", d->required) == NULL)
        goto fail;
    if (d->description != NULL &&
        cJSON_AddStringToObject(o, "description", d->description) == NULL)
        goto fail;
    if (d->type != RPCHOST_TYPE_ANY &&
        cJSON_AddStringToObject(schema, "type", params_type_name(d->type)) ==
            NULL)
        goto fail;
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

static cJSON *
method_object(const struct method *m)
{
    struct param_desc any = {(char *)"result", RPCHOST_TYPE_ANY, 0, NULL};
    cJSON *o = cJSON_CreateObject();
    cJSON *params = cJSON_AddArrayToObject(o, "params");
    cJSON *res;

    if (o == NULL || params == NULL ||
        cJSON_AddStringToObject(o, "name", m->name) == NULL)
        goto fail;
    if (m->summary != NULL &&
        cJSON_AddStringToObject(o, "summary", m->summary) == NULL)
        goto fail;
    for (size_t i = 0; m->params != NULL && i < m->nparams; i++) {
        cJSON *p = content_descriptor(&m->params[i]);
        if (p == NULL)
            goto fail;
        cJSON_AddItemToArray(params, p);
    }
    if (m->params == NULL &&
        cJSON_AddStringToObject(o, "x-params", "not described") == NULL)
        goto fail;
    res = content_descriptor(m->result ? m->result : &any);
    if (res == NULL)
        goto fail;
    cJSON_AddItemToObject(o, "result", res);
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

char *
discover_build(const struct registry *r, const char *version, size_t *len)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *info = cJSON_AddObjectToObject(doc, "info");
    cJSON *methods = cJSON_AddArrayToObject(doc, "methods");
    char *text = NULL;

    if (doc == NULL || info == NULL || methods == NULL)
        goto out;
    if (cJSON_AddStringToObject(doc, "openrpc", "1.2.6") == NULL ||
        cJSON_AddStringToObject(info, "title", "rpchost") == NULL ||
        cJSON_AddStringToObject(info, "version", version) == NULL)
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
