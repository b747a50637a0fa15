/* SPDX-License-Identifier: MIT */
/*
 * spin.so - test fixture: handlers that keep their loop's thread, as a
 * plugin call blocking on something slow (or forever) would, for the stall
 * watchdog's tests (tests/integration/test_stall.py).
 *
 *   spin_ms(ms)   busy-waits ms milliseconds (0..3600000), answers ms
 *   spin          busy-waits until the process ends; never answers
 *
 * Busy-waiting, not sleeping: the thread stays runnable, as a plugin stuck
 * in a computation would.  Both run on the loop that took the call.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <time.h>

#include <rpchost/plugin.h>

static const rpchost_api *api;

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
m_spin_ms(rpchost_call *c, const cJSON *params, void *state)
{
    int64_t ms, end;
    int rc;

    (void)params;
    (void)state;
    rc = api->param_int(c, 0, "ms", 0, 3600000, &ms);
    if (rc != RPCHOST_OK)
        return rc;
    end = mono_ms() + ms;
    while (mono_ms() < end)
        ;
    return api->result(c, cJSON_CreateNumber((double)ms));
}

static int
m_spin(rpchost_call *c, const cJSON *params, void *state)
{
    volatile int forever = 1;

    (void)c;
    (void)params;
    (void)state;
    while (forever)
        ;
    return RPCHOST_OK;
}

static const rpchost_method methods[] = {
    {"spin_ms", m_spin_ms, NULL, 0, "Busy-waits ms milliseconds.", NULL, NULL},
    {"spin", m_spin, NULL, 0, "Busy-waits until the process ends.", NULL, NULL},
};

static int
spin_init(rpchost_plugin *p, const rpchost_api *a, void **state)
{
    (void)state;
    api = a;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        int rc = api->register_method(p, &methods[i]);
        if (rc != RPCHOST_OK)
            return rc;
    }
    return RPCHOST_OK;
}

RPCHOST_PLUGIN_DEFINE("spin", "1.0.0", spin_init, NULL);
