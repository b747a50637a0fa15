/* SPDX-License-Identifier: MIT */
/*
 * slowinit.so - test fixture: a plugin whose init takes its time (a
 * database that is slow to answer, or never does).  init logs "init
 * started", sleeps `init_ms` milliseconds (its config key, 0..3600000,
 * default 0), logs "init done" and registers `slowinit`, which answers
 * init_ms.  fini logs "fini".
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdint.h>
#include <time.h>

#include <rpchost/plugin.h>

static const rpchost_api *api;
static rpchost_plugin *self; /* host-owned, valid until fini returns */
static int64_t init_ms;

static int
slowinit_answer(rpchost_call *c, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->result(c, cJSON_CreateNumber((double)init_ms));
}

static int
slowinit_init(rpchost_plugin *p, const rpchost_api *a, void **state)
{
    rpchost_method m = {0};
    struct timespec left;
    int rc;

    api = a;
    self = p;
    *state = NULL;
    rc = api->config_int(p, "init_ms", 0, 0, 3600000, &init_ms);
    if (rc != RPCHOST_OK) {
        api->set_error(p, "bad value for init_ms: %s", api->strerror(rc));
        return rc;
    }
    api->log(p, RPCHOST_LOG_INFO, "init started (init_ms = %lld)",
             (long long)init_ms);
    left.tv_sec = (time_t)(init_ms / 1000);
    left.tv_nsec = (long)(init_ms % 1000) * 1000000L;
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
    api->log(p, RPCHOST_LOG_INFO, "init done");
    m.name = "slowinit";
    m.handler = slowinit_answer;
    return api->register_method(p, &m);
}

static void
slowinit_fini(void *state)
{
    (void)state;
    api->log(self, RPCHOST_LOG_INFO, "fini");
}

RPCHOST_PLUGIN_DEFINE("slowinit", "1.0.0", slowinit_init, slowinit_fini);
