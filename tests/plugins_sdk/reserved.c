/* SPDX-License-Identifier: MIT */
/*
 * reserved.c - error codes and the JSON-RPC reserved range.
 *
 *   bad        api->error(call, -32050, ...): reserved, client gets -32603
 *   ok42       api->error(call, 42, "forty-two", {"n": 42})
 *   code(c)    api->error(call, c, "custom", "data")
 *   last_rc    the return code of the last api->error() above
 */
#include <stdatomic.h>
#include <stdint.h>

#include <rpchost/plugin.h>

static const rpchost_api *api;
static atomic_int last_rc;

static int
answer_error(rpchost_call *call, int code, const char *message, cJSON *data)
{
    int rc = api->error(call, code, message, data);

    atomic_store(&last_rc, rc);
    /* As the guide says: return what api->error() returns (a refused code
     * was already answered with -32603 for us). */
    return rc;
}

static int
bad(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return answer_error(call, -32050, "plugin text that must not leak",
                        cJSON_CreateString("secret"));
}

static int
ok42(rpchost_call *call, const cJSON *params, void *state)
{
    cJSON *data = cJSON_CreateObject();

    (void)params;
    (void)state;
    cJSON_AddNumberToObject(data, "n", 42);
    return answer_error(call, 42, "forty-two", data);
}

static int
code(rpchost_call *call, const cJSON *params, void *state)
{
    int64_t c;
    int rc;

    (void)params;
    (void)state;
    rc = api->param_int(call, 0, "c", INT32_MIN, INT32_MAX, &c);
    if (rc != RPCHOST_OK)
        return rc;
    return answer_error(call, (int)c, "custom", cJSON_CreateString("data"));
}

static int
get_last_rc(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->result(call, cJSON_CreateNumber(atomic_load(&last_rc)));
}

static const rpchost_param none[] = {{NULL, 0, 0, NULL}};
static const rpchost_param code_params[] = {
    {"c", RPCHOST_TYPE_INTEGER, 1, "the error code to answer"},
    {NULL, 0, 0, NULL},
};

static const rpchost_method methods[] = {
    {"bad", bad, NULL, 0, "Answers the reserved code -32050.", none, NULL},
    {"ok42", ok42, NULL, 0, "Answers error 42.", none, NULL},
    {"code", code, NULL, 0, "Answers error c.", code_params, NULL},
    {"last_rc", get_last_rc, NULL, 0, "rc of the last api->error().", none,
     NULL},
};

static int
reserved_init(rpchost_plugin *plugin, const rpchost_api *host, void **state)
{
    (void)state;
    api = host;
    atomic_store(&last_rc, 1);
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        int rc = api->register_method(plugin, &methods[i]);
        if (rc != RPCHOST_OK)
            return rc;
    }
    return RPCHOST_OK;
}

RPCHOST_PLUGIN_DEFINE("reserved", "1.0.0", reserved_init, NULL);
