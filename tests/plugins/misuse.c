/* SPDX-License-Identifier: MIT */
/*
 * misuse.c - fixture for API calls at the edges of what plugin.h allows
 * (test_misuse.py): on_cancel around resumes and cancelled calls, and
 * the ABI 2 functions called from hooks at the wrong time.
 *
 *   block(ms)       keeps its loop busy ms milliseconds, then answers
 *   resumed(ms)     its on_call hook suspends it, registers on_cancel
 *                   (counting "hook_cancelled") and sets a timer that
 *                   resumes it after ms; the method answers "resumed"
 *   twice(ms)       defer, no on_cancel; a timer after ms (past the
 *                   deadline) registers on_cancel(first) and then
 *                   on_cancel(second), which replaces it: only "second"
 *                   may count
 *   removed(ms)     as twice, but the second registration is fn NULL,
 *                   which removes the first: nothing may count
 *   wrong           its on_call hook tries what on_call may not do (and
 *                   a suspend, resume, second resume and answer); the
 *                   method answers the rcs, and on_done's rcs of what
 *                   on_done may not do are kept for "stats"
 *                   (the timers that registered count "late")
 *   stats           the counters and rcs
 */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <rpchost/plugin.h>

static const rpchost_api *api;
static atomic_long n_hook_cancelled, n_first, n_second, n_resumed, n_late;
/* on_call's rcs for "wrong", read by its handler (same loop thread). */
static _Thread_local int w_defer, w_suspend, w_suspend2, w_resume, w_resume2,
    w_answer;
/* on_done's rcs for "wrong" (1: not run yet). */
static atomic_int d_async = 1, d_timer = 1, d_suspend = 1, d_defer = 1,
                  d_resume = 1;

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
m_block(rpchost_call *call, const cJSON *params, void *state)
{
    int64_t ms, end;
    int rc;

    (void)params;
    (void)state;
    if ((rc = api->param_int(call, 0, "ms", 0, 60000, &ms)) != RPCHOST_OK)
        return rc;
    end = mono_ms() + ms;
    while (mono_ms() < end) {
        struct timespec ms1 = {0, 1000000L};
        nanosleep(&ms1, NULL);
    }
    return api->result(call, cJSON_CreateNumber((double)ms));
}

static int
m_resumed(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->result(call, cJSON_CreateString("resumed"));
}

static void
count_first(rpchost_call *call, void *arg)
{
    (void)call;
    (void)arg;
    atomic_fetch_add(&n_first, 1);
}

static void
count_second(rpchost_call *call, void *arg)
{
    (void)call;
    (void)arg;
    atomic_fetch_add(&n_second, 1);
}

static void
register_twice(rpchost_call *call, void *arg)
{
    /* Past the deadline: the call was cancelled, so each registration
     * is posted; the second must replace the first. */
    api->on_cancel(call, count_first, NULL);
    api->on_cancel(call, arg != NULL ? count_second : NULL, NULL);
    /* With a registration left, the call ends when it ran (an answer now
     * would forbid it: fn never runs after the plugin's answer); with
     * none, the plugin still answers (ESTATE) to let the call go. */
    if (arg == NULL)
        api->result(call, cJSON_CreateString("late"));
    atomic_fetch_add(&n_late, 1);
}

static int
deferred_timer(rpchost_call *call, int second)
{
    int64_t ms;
    int rc;

    if ((rc = api->param_int(call, 0, "ms", 0, 60000, &ms)) != RPCHOST_OK)
        return rc;
    if ((rc = api->defer(call)) != RPCHOST_OK)
        return rc;
    if (api->timer(call, (unsigned)ms, register_twice,
                   second ? (void *)call : NULL) != RPCHOST_OK)
        api->error(call, RPCHOST_INTERNAL_ERROR, NULL, NULL);
    return RPCHOST_OK;
}

static int
m_twice(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return deferred_timer(call, 1);
}

static int
m_removed(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return deferred_timer(call, 0);
}

static int
m_wrong(rpchost_call *call, const cJSON *params, void *state)
{
    cJSON *o = cJSON_CreateObject();

    (void)params;
    (void)state;
    cJSON_AddNumberToObject(o, "defer", w_defer);
    cJSON_AddNumberToObject(o, "suspend", w_suspend);
    cJSON_AddNumberToObject(o, "suspend2", w_suspend2);
    cJSON_AddNumberToObject(o, "resume", w_resume);
    cJSON_AddNumberToObject(o, "resume2", w_resume2);
    cJSON_AddNumberToObject(o, "answer", w_answer);
    return api->result(call, o);
}

static int
m_stats(rpchost_call *call, const cJSON *params, void *state)
{
    cJSON *o = cJSON_CreateObject();

    (void)params;
    (void)state;
    cJSON_AddNumberToObject(o, "hook_cancelled",
                            (double)atomic_load(&n_hook_cancelled));
    cJSON_AddNumberToObject(o, "resumed", (double)atomic_load(&n_resumed));
    cJSON_AddNumberToObject(o, "late", (double)atomic_load(&n_late));
    cJSON_AddNumberToObject(o, "first", (double)atomic_load(&n_first));
    cJSON_AddNumberToObject(o, "second", (double)atomic_load(&n_second));
    cJSON_AddNumberToObject(o, "done_async", atomic_load(&d_async));
    cJSON_AddNumberToObject(o, "done_timer", atomic_load(&d_timer));
    cJSON_AddNumberToObject(o, "done_suspend", atomic_load(&d_suspend));
    cJSON_AddNumberToObject(o, "done_defer", atomic_load(&d_defer));
    cJSON_AddNumberToObject(o, "done_resume", atomic_load(&d_resume));
    return api->result(call, o);
}

/* ---- hooks ---- */

static void
hook_cancelled(rpchost_call *call, void *arg)
{
    (void)call;
    (void)arg;
    atomic_fetch_add(&n_hook_cancelled, 1);
}

static void
hook_resume(rpchost_call *call, void *arg)
{
    (void)arg;
    if (api->call_resume(call) == RPCHOST_OK)
        atomic_fetch_add(&n_resumed, 1);
}

static void
never(rpchost_call *call, void *arg)
{
    (void)call;
    (void)arg;
}

static void
never_done(rpchost_call *call, const cJSON *result, int code,
           const char *message, const cJSON *data, void *arg)
{
    (void)call;
    (void)result;
    (void)code;
    (void)message;
    (void)data;
    (void)arg;
}

static int
on_call(rpchost_call *call, const cJSON *params, void *state)
{
    const char *m = api->call_method(call);
    const cJSON *ms = cJSON_GetArrayItem(params, 0);

    (void)state;
    if (m != NULL && strcmp(m, "resumed") == 0 && cJSON_IsNumber(ms)) {
        if (api->call_suspend(call) != RPCHOST_OK ||
            api->on_cancel(call, hook_cancelled, NULL) != RPCHOST_OK ||
            api->timer(call, (unsigned)ms->valuedouble, hook_resume, NULL) !=
                RPCHOST_OK)
            return RPCHOST_EFAIL;
        return RPCHOST_OK;
    }
    if (m != NULL && strcmp(m, "wrong") == 0) {
        w_defer = api->defer(call);
        w_suspend = api->call_suspend(call);
        w_suspend2 = api->call_suspend(call);
        w_resume = api->call_resume(call);
        w_resume2 = api->call_resume(call);
        w_answer = api->result(call, cJSON_CreateString("hook"));
        return RPCHOST_OK;
    }
    return RPCHOST_OK;
}

static void
on_done(rpchost_call *call, int code, uint64_t duration_us, void *state)
{
    const char *m = api->call_method(call);

    (void)code;
    (void)duration_us;
    (void)state;
    if (m == NULL || strcmp(m, "wrong") != 0)
        return;
    atomic_store(&d_async,
                 api->call_method_async(call, "stats", NULL, never_done, NULL));
    atomic_store(&d_timer, api->timer(call, 1, never, NULL));
    atomic_store(&d_suspend, api->call_suspend(call));
    atomic_store(&d_defer, api->defer(call));
    atomic_store(&d_resume, api->call_resume(call));
}

static const rpchost_param ms_params[] = {
    {"ms", RPCHOST_TYPE_INTEGER, 1, "milliseconds"},
    {NULL, 0, 0, NULL},
};

static const rpchost_method methods[] = {
    {"block", m_block, NULL, 0, "Keeps its loop busy.", ms_params, NULL},
    {"resumed", m_resumed, NULL, 0, "Suspended, resumed by a timer.", NULL,
     NULL},
    {"twice", m_twice, NULL, 0, "on_cancel twice, late.", ms_params, NULL},
    {"removed", m_removed, NULL, 0, "on_cancel then NULL, late.", ms_params,
     NULL},
    {"wrong", m_wrong, NULL, 0, "What the hooks could not do.", NULL, NULL},
    {"stats", m_stats, NULL, 0, "The counters.", NULL, NULL},
};

static int
misuse_init(rpchost_plugin *plugin, const rpchost_api *host, void **state)
{
    (void)state;
    api = host;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        int rc = api->register_method(plugin, &methods[i]);
        if (rc != RPCHOST_OK)
            return rc;
    }
    return api->add_hooks(plugin, on_call, on_done);
}

RPCHOST_PLUGIN_DEFINE("misuse", "1.0.0", misuse_init, NULL);
