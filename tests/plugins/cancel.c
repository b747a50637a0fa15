/* SPDX-License-Identifier: MIT */
/*
 * cancel.c - fixture for cancellation (test_cancel.py).
 *
 *   wait(ms)      defer; a timer answers ms after ms (counted in "fired");
 *                 on_cancel counts "cancelled" and logs "cancel fixture:
 *                 wait(ms) cancelled" (the timer is dropped after it)
 *   poll(ms)      defer; a thread of ours polls api->call_cancelled every
 *                 millisecond for up to ms: when it sees it, it counts
 *                 "polled" and answers anyway (its rc kept as "late_rc")
 *   unwatched(ms) defer, no on_cancel; a timer after ms registers one then
 *                 (run soon, posted: counts "late") and answers (its rc
 *                 kept as "late_rc")
 *   held          answers "held"; its on_call hook suspends it first and,
 *                 unless cancelled (counting "hook_cancelled"), a timer
 *                 of the hook resumes it after params[0] ms
 *   probe         on_cancel's rcs: before defer, after, again (replacing),
 *                 and call_cancelled while it runs; after answering, the
 *                 rc of one more on_cancel is kept as "after_answer"
 *   stats         the counters
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rpchost/plugin.h>

#define MAX_MS 600000

static const rpchost_api *api;
static rpchost_plugin *self;
static atomic_long n_cancelled, n_fired, n_polled, n_late, n_hook;
static atomic_int late_rc = 1, after_answer = 1;

/* Our threads, joined in fini (no plugin code runs after it). */
#define MAX_THREADS 256
static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t threads[MAX_THREADS];
static int nthreads;

static void
on_cancelled(rpchost_call *call, void *arg)
{
    (void)call;
    atomic_fetch_add(&n_cancelled, 1);
    api->log(self, RPCHOST_LOG_INFO, "cancel fixture: wait(%lld) cancelled",
             (long long)(intptr_t)arg);
}

static void
fire(rpchost_call *call, void *arg)
{
    atomic_fetch_add(&n_fired, 1);
    api->result(call, cJSON_CreateNumber((double)(intptr_t)arg));
}

static int
get_ms(rpchost_call *call, int64_t *ms)
{
    return api->param_int(call, 0, "ms", 0, MAX_MS, ms);
}

static int
wait_ms(rpchost_call *call, const cJSON *params, void *state)
{
    int64_t ms;
    int rc;

    (void)params;
    (void)state;
    if ((rc = get_ms(call, &ms)) != RPCHOST_OK)
        return rc;
    if ((rc = api->defer(call)) != RPCHOST_OK)
        return rc;
    if (api->timer(call, (unsigned)ms, fire, (void *)(intptr_t)ms) != 0 ||
        api->on_cancel(call, on_cancelled, (void *)(intptr_t)ms) != 0)
        api->error(call, RPCHOST_INTERNAL_ERROR, NULL, NULL);
    return RPCHOST_OK;
}

/* ---- poll: a thread of ours ---- */

struct poller {
    rpchost_call *call;
    int64_t ms;
};

static void *
poller_main(void *arg)
{
    struct poller *p = arg;
    struct timespec ms1 = {0, 1000000L};
    int seen = 0;

    for (int64_t i = 0; i < p->ms && !seen; i++) {
        seen = api->call_cancelled(p->call);
        if (!seen)
            nanosleep(&ms1, NULL);
    }
    if (seen)
        atomic_fetch_add(&n_polled, 1);
    atomic_store(&late_rc, api->result(p->call, cJSON_CreateNumber(seen)));
    free(p);
    return NULL;
}

static int
poll_ms(rpchost_call *call, const cJSON *params, void *state)
{
    struct poller *p;
    pthread_t tid;
    int64_t ms;
    int rc;

    (void)params;
    (void)state;
    if ((rc = get_ms(call, &ms)) != RPCHOST_OK)
        return rc;
    p = malloc(sizeof(*p));
    if (p == NULL)
        return RPCHOST_ENOMEM;
    p->call = call;
    p->ms = ms;
    if ((rc = api->defer(call)) != RPCHOST_OK) {
        free(p);
        return rc;
    }
    pthread_mutex_lock(&threads_lock);
    if (nthreads == MAX_THREADS ||
        pthread_create(&tid, NULL, poller_main, p) != 0) {
        pthread_mutex_unlock(&threads_lock);
        free(p);
        api->error(call, RPCHOST_INTERNAL_ERROR, NULL, NULL);
        return RPCHOST_OK;
    }
    threads[nthreads++] = tid;
    pthread_mutex_unlock(&threads_lock);
    return RPCHOST_OK;
}

/* ---- unwatched: on_cancel registered after the cancellation ---- */

static void
late_cancelled(rpchost_call *call, void *arg)
{
    (void)call;
    (void)arg;
    atomic_fetch_add(&n_late, 1);
}

/* arg non-NULL: answer right after registering, which the posted fn
 * must then never follow. */
static void
unwatched_fire(rpchost_call *call, void *arg)
{
    api->on_cancel(call, late_cancelled, NULL);
    if (arg != NULL)
        atomic_store(&late_rc, api->result(call, cJSON_CreateString("late")));
}

static int
start_unwatched(rpchost_call *call, void *answer)
{
    int64_t ms;
    int rc;

    if ((rc = get_ms(call, &ms)) != RPCHOST_OK)
        return rc;
    if ((rc = api->defer(call)) != RPCHOST_OK)
        return rc;
    if (api->timer(call, (unsigned)ms, unwatched_fire, answer) != 0)
        api->error(call, RPCHOST_INTERNAL_ERROR, NULL, NULL);
    return RPCHOST_OK;
}

static int
unwatched(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return start_unwatched(call, NULL);
}

static int
unwatched_answer(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return start_unwatched(call, call);
}

/* ---- held: suspended by our on_call hook ---- */

static void
hook_cancelled(rpchost_call *call, void *arg)
{
    (void)call;
    (void)arg;
    atomic_fetch_add(&n_hook, 1);
}

static void
hook_resume(rpchost_call *call, void *arg)
{
    (void)arg;
    api->call_resume(call);
}

static int
on_call(rpchost_call *call, const cJSON *params, void *state)
{
    const char *m = api->call_method(call);
    const cJSON *ms = cJSON_GetArrayItem(params, 0);

    (void)state;
    if (m == NULL || strcmp(m, "held") != 0 || !cJSON_IsNumber(ms))
        return RPCHOST_OK;
    if (api->call_suspend(call) != RPCHOST_OK ||
        api->on_cancel(call, hook_cancelled, NULL) != RPCHOST_OK ||
        api->timer(call, (unsigned)ms->valuedouble, hook_resume, NULL) !=
            RPCHOST_OK)
        return RPCHOST_EFAIL;
    return RPCHOST_OK;
}

static int
held(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->result(call, cJSON_CreateString("held"));
}

/* ---- probe, stats ---- */

static void
nothing(rpchost_call *call, void *arg)
{
    (void)call;
    (void)arg;
}

static int
probe(rpchost_call *call, const cJSON *params, void *state)
{
    cJSON *o = cJSON_CreateObject();
    int before, after, again, polled;

    (void)params;
    (void)state;
    before = api->on_cancel(call, nothing, NULL);
    api->defer(call);
    after = api->on_cancel(call, nothing, NULL);
    again = api->on_cancel(call, nothing, NULL);
    polled = api->call_cancelled(call);
    cJSON_AddNumberToObject(o, "before_defer", before);
    cJSON_AddNumberToObject(o, "after_defer", after);
    cJSON_AddNumberToObject(o, "again", again);
    cJSON_AddNumberToObject(o, "cancelled", polled);
    api->result(call, o);
    atomic_store(&after_answer, api->on_cancel(call, nothing, NULL));
    return RPCHOST_OK;
}

static int
stats(rpchost_call *call, const cJSON *params, void *state)
{
    cJSON *o = cJSON_CreateObject();

    (void)params;
    (void)state;
    cJSON_AddNumberToObject(o, "cancelled", (double)atomic_load(&n_cancelled));
    cJSON_AddNumberToObject(o, "fired", (double)atomic_load(&n_fired));
    cJSON_AddNumberToObject(o, "polled", (double)atomic_load(&n_polled));
    cJSON_AddNumberToObject(o, "late", (double)atomic_load(&n_late));
    cJSON_AddNumberToObject(o, "hook_cancelled", (double)atomic_load(&n_hook));
    cJSON_AddNumberToObject(o, "late_rc", atomic_load(&late_rc));
    cJSON_AddNumberToObject(o, "after_answer", atomic_load(&after_answer));
    return api->result(call, o);
}

static const rpchost_param ms_params[] = {
    {"ms", RPCHOST_TYPE_INTEGER, 1, "milliseconds"},
    {NULL, 0, 0, NULL},
};

static const rpchost_method methods[] = {
    {"wait", wait_ms, NULL, 0, "Timer answers after ms.", ms_params, NULL},
    {"poll", poll_ms, NULL, 0, "A thread polls call_cancelled.", ms_params,
     NULL},
    {"unwatched", unwatched, NULL, 0, "on_cancel from a late timer.", ms_params,
     NULL},
    {"unwatched_answer", unwatched_answer, NULL, 0,
     "on_cancel from a late timer, then an answer.", ms_params, NULL},
    {"held", held, NULL, 0, "Suspended by the hook first.", NULL, NULL},
    {"probe", probe, NULL, 0, "on_cancel's rcs.", NULL, NULL},
    {"stats", stats, NULL, 0, "The counters.", NULL, NULL},
};

static int
cancel_init(rpchost_plugin *plugin, const rpchost_api *host, void **state)
{
    (void)state;
    api = host;
    self = plugin;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        int rc = api->register_method(plugin, &methods[i]);
        if (rc != RPCHOST_OK)
            return rc;
    }
    return api->add_hooks(plugin, on_call, NULL);
}

static void
cancel_fini(void *state)
{
    (void)state;
    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
}

RPCHOST_PLUGIN_DEFINE("cancel", "1.0.0", cancel_init, cancel_fini);
