/* SPDX-License-Identifier: MIT */
/*
 * serial.c - serialised methods.
 *
 * Default mode:
 *   crit       RPCHOST_METHOD_SERIAL; counts the calls inside it at once
 *              (max kept), sleeps ~5 ms; answers the rc of api->defer()
 *              (which must be RPCHOST_ESTATE for a serialised method)
 *   free_crit  the same body, not serialised (a control: under load its
 *              own counter should see more than one call at once)
 *   max_seen   the most calls seen inside crit at once
 *   free_max_seen   the same for free_crit
 *   late_serial_rc  rc of api->set_serial() called after registering
 *                   (must be RPCHOST_ESTATE)
 *
 * With `plugin_serial = true`: api->set_serial(plugin) first, then s1 and
 * s2 (sharing one counter; neither flagged) and max_seen.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdatomic.h>
#include <time.h>

#include <rpchost/plugin.h>

static const rpchost_api *api;

struct counter {
    atomic_int inside;
    atomic_int max;
};

static struct counter serial_counter;
static struct counter free_counter;
static atomic_int late_serial;

static void
nap(void)
{
    struct timespec ts = {0, 5 * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void
enter(struct counter *c)
{
    int now = atomic_fetch_add(&c->inside, 1) + 1;
    int max = atomic_load(&c->max);

    while (now > max && !atomic_compare_exchange_weak(&c->max, &max, now))
        ;
}

static void
leave(struct counter *c)
{
    atomic_fetch_sub(&c->inside, 1);
}

static int
crit(rpchost_call *call, const cJSON *params, void *state)
{
    int rc;

    (void)params;
    (void)state;
    enter(&serial_counter);
    /* Allowed for a serialised method since its cap holds the slot until
     * the answer (it was RPCHOST_ESTATE under the former mutex). */
    rc = api->defer(call);
    nap();
    leave(&serial_counter);
    return api->result(call, cJSON_CreateNumber(rc));
}

/* Serialised, keeping its loop for params[0] milliseconds. */
static int
slow_crit(rpchost_call *call, const cJSON *params, void *state)
{
    int64_t ms = 0;
    struct timespec ts;

    (void)params;
    (void)state;
    api->param_int(call, 0, "ms", 0, 10000, &ms);
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return api->result(call, cJSON_CreateNumber((double)ms));
}

static int
free_crit(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    enter(&free_counter);
    nap();
    leave(&free_counter);
    return api->result(call, cJSON_CreateString("ok"));
}

static int
max_seen(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->result(call,
                       cJSON_CreateNumber(atomic_load(&serial_counter.max)));
}

static int
free_max_seen(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->result(call,
                       cJSON_CreateNumber(atomic_load(&free_counter.max)));
}

static int
late_serial_rc(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->result(call, cJSON_CreateNumber(atomic_load(&late_serial)));
}

static const rpchost_param none[] = {{NULL, 0, 0, NULL}};
static const rpchost_param ms_param[] = {
    {"ms", RPCHOST_TYPE_INTEGER, 1, "milliseconds"}, {NULL, 0, 0, NULL}};

static const rpchost_method default_methods[] = {
    {"crit", crit, NULL, RPCHOST_METHOD_SERIAL, "Serialised.", none, NULL},
    {"free_crit", free_crit, NULL, 0, "Not serialised.", none, NULL},
    {"slow_crit", slow_crit, NULL, RPCHOST_METHOD_SERIAL,
     "Serialised, blocking its loop for ms.", ms_param, NULL},
    {"max_seen", max_seen, NULL, 0, "Max calls inside crit.", none, NULL},
    {"free_max_seen", free_max_seen, NULL, 0, "Max inside free_crit.", none,
     NULL},
    {"late_serial_rc", late_serial_rc, NULL, 0, "set_serial after register.",
     none, NULL},
};

/* Plugin-wide mode: s1 and s2 share serial_counter and the plugin lock. */
static const rpchost_method plugin_methods[] = {
    {"s1", crit, NULL, 0, "Serialised by the plugin.", none, NULL},
    {"s2", crit, NULL, 0, "Serialised by the plugin.", none, NULL},
    {"max_seen", max_seen, NULL, 0, "Max calls inside s1 or s2.", none, NULL},
};

static int
register_all(rpchost_plugin *plugin, const rpchost_method *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = api->register_method(plugin, &m[i]);
        if (rc != RPCHOST_OK)
            return rc;
    }
    return RPCHOST_OK;
}

static int
serial_init(rpchost_plugin *plugin, const rpchost_api *host, void **state)
{
    int plugin_serial = 0;
    int rc;

    (void)state;
    api = host;
    rc = api->config_bool(plugin, "plugin_serial", 0, &plugin_serial);
    if (rc != RPCHOST_OK)
        return rc;
    if (plugin_serial) {
        rc = api->set_serial(plugin);
        if (rc != RPCHOST_OK) {
            api->set_error(plugin, "set_serial: %s", api->strerror(rc));
            return rc;
        }
        return register_all(plugin, plugin_methods,
                            sizeof(plugin_methods) / sizeof(plugin_methods[0]));
    }
    rc = register_all(plugin, default_methods,
                      sizeof(default_methods) / sizeof(default_methods[0]));
    if (rc != RPCHOST_OK)
        return rc;
    atomic_store(&late_serial, api->set_serial(plugin));
    return RPCHOST_OK;
}

RPCHOST_PLUGIN_DEFINE("serial", "1.0.0", serial_init, NULL);
