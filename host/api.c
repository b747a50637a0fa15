/* SPDX-License-Identifier: MIT */
/*
 * api.c - see api.h.
 */
#include "api.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "call.h"
#include "calldef.h"
#include "cancel.h"
#include "config.h"
#include "context.h"
#include "hooks.h"
#include "loader.h"
#include "rcode.h"
#include "log.h"
#include "registry.h"
#include "stats.h"
#include "subcall.h"
#include "util.h"

static void api_log(rpchost_plugin *plugin, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
api_log(rpchost_plugin *plugin, int level, const char *fmt, ...)
{
    struct plugin *p = plugin_of(plugin);
    struct running *r = dispatch_running;
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    if (r == NULL || level > log_get_level()) {
        log_vmsgp(level, p ? p->name : "plugin", fmt, ap);
    } else {
        /* Inside a handler or hook: a line about its call, which then
         * names the call's trace, as the host's own lines do. */
        vsnprintf(msg, sizeof(msg), fmt, ap);
        log_msgp(level, p ? p->name : "plugin", "%s [trace %s]", msg,
                 context_batch_trace_id(r->c->batch));
    }
    va_end(ap);
}

static void api_set_error(rpchost_plugin *plugin, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
api_set_error(rpchost_plugin *plugin, const char *fmt, ...)
{
    struct plugin *p = plugin_of(plugin);
    va_list ap;

    if (p == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(p->error, sizeof(p->error), fmt, ap);
    va_end(ap);
}

static int
api_register_method(rpchost_plugin *plugin, const rpchost_method *m)
{
    struct plugin *p = plugin_of(plugin);
    struct plugin *holder = NULL;
    const char *why = NULL;
    const char *name = m && m->name ? m->name : "(null)";
    int rc;

    if (p == NULL || !p->in_init)
        return RPCHOST_ESTATE;
    rc = registry_add(p->reg, m, p, &holder, &why);
    if (rc == RPCHOST_OK) {
        p->nmethods++;
        return rc;
    }
    p->reg_failed = 1;
    if (why == NULL)
        why = rcode_text(rc);
    if (p->host_error[0] == '\0') {
        if (rc == RPCHOST_EEXIST)
            snprintf(p->host_error, sizeof(p->host_error),
                     "method \"%s\" is already registered by plugin [%s]",
                     m->name, holder ? holder->name : "?");
        else
            snprintf(p->host_error, sizeof(p->host_error),
                     "cannot register method \"%.*s\": %s",
                     (int)util_utf8_prefix(name, 140), name, why);
    }
    return rc;
}

/* ABI 2: method descriptions */
static int
api_describe_method(rpchost_plugin *plugin, const char *method,
                    const rpchost_method_doc *doc)
{
    struct plugin *p = plugin_of(plugin);
    const char *why = NULL;
    const char *name = method ? method : "(null)";
    int rc;

    if (p == NULL || !p->in_init)
        return RPCHOST_ESTATE;
    rc = registry_describe(p->reg, method, p, doc, &why);
    if (rc == RPCHOST_OK)
        return rc;
    p->reg_failed = 1;
    if (p->host_error[0] == '\0')
        snprintf(p->host_error, sizeof(p->host_error),
                 "cannot describe method \"%.*s\": %s",
                 (int)util_utf8_prefix(name, 140), name,
                 why ? why : rcode_text(rc));
    return rc;
}

static const struct config_kv *
find_kv(struct plugin *p, const char *key)
{
    const struct plugin_conf *pc = p ? p->conf : NULL;

    if (pc == NULL || key == NULL)
        return NULL;
    for (size_t i = 0; i < pc->nkv; i++) {
        if (strcmp(pc->kv[i].key, key) == 0) {
            if (p->kv_read != NULL)
                p->kv_read[i] = 1;
            return &pc->kv[i];
        }
    }
    return NULL;
}

static const char *
api_config_string(rpchost_plugin *plugin, const char *key, const char *def)
{
    const struct config_kv *kv = find_kv(plugin_of(plugin), key);

    return kv ? kv->value : def;
}

static int
bad_value(struct plugin *p, const struct config_kv *kv, const char *what,
          int rc)
{
    log_msg(LEVEL_ERROR, "[%s] line %d: %s = '%s': %s", p->name, kv->line,
            kv->key, kv->value, what);
    if (p->host_error[0] == '\0')
        snprintf(p->host_error, sizeof(p->host_error), "line %d: %s = '%s': %s",
                 kv->line, kv->key, kv->value, what);
    return rc;
}

static int
api_config_int(rpchost_plugin *plugin, const char *key, int64_t def,
               int64_t min, int64_t max, int64_t *out)
{
    struct plugin *p = plugin_of(plugin);
    const struct config_kv *kv = find_kv(p, key);
    char *end, what[96];
    long long v;

    if (out == NULL)
        return RPCHOST_EINVAL;
    if (kv == NULL) {
        *out = def;
        return RPCHOST_OK;
    }
    errno = 0;
    v = strtoll(kv->value, &end, 10);
    if (kv->value[0] == '\0' || *end != '\0' || errno == EINVAL)
        return bad_value(p, kv, "not an integer", RPCHOST_ETYPE);
    if (errno == ERANGE || v < min || v > max) {
        snprintf(what, sizeof(what), "out of range %lld..%lld", (long long)min,
                 (long long)max);
        return bad_value(p, kv, what, RPCHOST_ERANGE);
    }
    *out = v;
    return RPCHOST_OK;
}

static int
api_config_double(rpchost_plugin *plugin, const char *key, double def,
                  double *out)
{
    struct plugin *p = plugin_of(plugin);
    const struct config_kv *kv = find_kv(p, key);
    char *end;
    double v;

    if (out == NULL)
        return RPCHOST_EINVAL;
    if (kv == NULL) {
        *out = def;
        return RPCHOST_OK;
    }
    errno = 0;
    v = strtod(kv->value, &end);
    if (kv->value[0] == '\0' || *end != '\0')
        return bad_value(p, kv, "not a number", RPCHOST_ETYPE);
    if (errno == ERANGE || !isfinite(v))
        return bad_value(p, kv, "out of range", RPCHOST_ERANGE);
    *out = v;
    return RPCHOST_OK;
}

static int
api_config_bool(rpchost_plugin *plugin, const char *key, int def, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    struct plugin *p = plugin_of(plugin);
    const struct config_kv *kv = find_kv(p, key);

    if (out == NULL)
        return RPCHOST_EINVAL;
    if (kv == NULL) {
        *out = def ? 1 : 0;
        return RPCHOST_OK;
    }
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(kv->value, yes[i]) == 0) {
            *out = 1;
            return RPCHOST_OK;
        }
        if (strcasecmp(kv->value, no[i]) == 0) {
            *out = 0;
            return RPCHOST_OK;
        }
    }
    return bad_value(p, kv, "not a boolean (true/false, yes/no, on/off, 1/0)",
                     RPCHOST_ETYPE);
}

static int
api_set_serial(rpchost_plugin *plugin)
{
    struct plugin *p = plugin_of(plugin);

    if (p == NULL || !p->in_init || p->nmethods > 0)
        return RPCHOST_ESTATE; /* before registering any method */
    p->serial = 1;             /* one cap for all its methods (admit.c) */
    return RPCHOST_OK;
}

static const char *
api_config_require(rpchost_plugin *plugin, const char *key)
{
    struct plugin *p = plugin_of(plugin);
    const struct config_kv *kv = find_kv(p, key);

    if (kv != NULL && kv->value[0] != '\0')
        return kv->value;
    if (p != NULL && p->host_error[0] == '\0')
        snprintf(p->host_error, sizeof(p->host_error),
                 "missing required key '%s' in [%s]", key ? key : "(null)",
                 p->name);
    return NULL;
}

static int
api_add_hooks(rpchost_plugin *plugin,
              int (*on_call)(rpchost_call *call, const cJSON *params,
                             void *state),
              void (*on_done)(rpchost_call *call, int code,
                              uint64_t duration_us, void *state))
{
    struct plugin *p = plugin_of(plugin);

    if (p == NULL || (on_call == NULL && on_done == NULL))
        return RPCHOST_EINVAL;
    if (!p->in_init)
        return RPCHOST_ESTATE;
    if (p->on_call != NULL || p->on_done != NULL)
        return RPCHOST_EEXIST;
    p->hook_stat = stats_intern("(hook)");
    if (p->hook_stat == NULL)
        return RPCHOST_ENOMEM;
    p->on_call = on_call;
    p->on_done = on_done;
    return RPCHOST_OK;
}

static const rpchost_api the_api = {
    .abi_version = RPCHOST_ABI_VERSION,
    .size = sizeof(rpchost_api),
    .strerror = rcode_text,
    .log = api_log,
    .register_method = api_register_method,
    .set_error = api_set_error,
    .config_string = api_config_string,
    .config_int = api_config_int,
    .config_double = api_config_double,
    .config_bool = api_config_bool,
    .result = call_result,
    .error = call_error,
    .call_method = call_method,
    .call_is_notification = call_is_notification,
    .call_udata = call_udata,
    .param = call_param,
    .param_string = call_param_string,
    .param_int = call_param_int,
    .param_double = call_param_double,
    .param_bool = call_param_bool,
    .param_object = call_param_object,
    .param_array = call_param_array,
    .defer = call_defer,
    .timer = call_timer,
    .set_serial = api_set_serial,
    .config_require = api_config_require,
    .invalid_params = call_invalid_params,
    /* ABI 2: method descriptions */
    .describe_method = api_describe_method,
    .call_peer = context_peer,
    .call_transport = context_transport,
    .call_credential = context_credential,
    .call_header = context_header,
    .call_batch = context_batch,
    .call_trace_id = context_call_trace_id,
    .call_traceparent = context_traceparent,
    .add_hooks = api_add_hooks,
    .call_suspend = hooks_suspend,
    .call_resume = hooks_resume,
    .call_method_async = subcall_start,
    .on_cancel = cancel_register,
    .call_cancelled = cancel_is_cancelled,
};

const rpchost_api *
host_api(void)
{
    return &the_api;
}
