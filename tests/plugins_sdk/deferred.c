/* SPDX-License-Identifier: MIT */
/*
 * deferred.c - deferred calls answered later.
 *
 *   later(ms)         defer; a timer answers ms after ms
 *   thread(ms)        defer; a thread of ours answers ms after ms
 *   late(ms)          like later, meant to outlive [server] call_timeout:
 *                     the host answers -32001 first, our answer is dropped
 *                     (its rc is recorded for last_rc)
 *   twice             defer; a timer answers twice ("first" wins; the rc of
 *                     the second answer is recorded)
 *   twice_sync        answers twice inside the handler (no defer)
 *   fail_after_defer  defer, then return RPCHOST_EFAIL: client gets -32603
 *   probe             timer before defer, defer, defer again (rcs), then
 *                     answers inside the handler: {"timer_before_defer": rc,
 *                     "defer": rc, "defer_again": rc}
 *   last_rc           the last recorded rc (RPCHOST_OK + 1 before any)
 *   threads_started   how many answer threads were started
 *   timer_from_thread(ms)  a thread of ours tries api->timer() (refused:
 *                     not on the call's loop) and answers {"timer_rc": rc}
 *
 * Answering twice (every answer's rc is counted for tally):
 *   twice_thread(ms)  defer; a thread answers "first" after ms, then again
 *                     at once (ms past call_timeout: both late)
 *   twice_after(ms)   defer; a thread answers "first" at once, then again
 *                     ms later, after the request was answered and freed
 *   race(us)          defer; two threads answer at the same moment, the
 *                     second us microseconds later
 *   tally             {"ok": n, "estate": n, "other": n} of those answers
 *
 * Threads are tracked and joined: finished ones when a new one starts, the
 * rest in fini, which logs "deferred fini: joined N thread(s)".
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <rpchost/plugin.h>

#define MAX_MS 60000

static const rpchost_api *api;
static rpchost_plugin *self; /* for api->log in fini */
static atomic_int last_rc;
static atomic_long threads_started;
static atomic_long tally_ok, tally_estate, tally_other;

/* What a job's thread does with its call. */
enum job_kind {
    JOB_ANSWER,      /* after ms, answer ms */
    JOB_TIMER_FIRST, /* after ms, try api->timer, answer its rc */
    JOB_TWICE,       /* after ms, answer twice */
    JOB_AFTER,       /* answer, then again after ms */
    JOB_RACE,        /* answer when the other job of the race does */
};

/* Two jobs answering one call at once, both spinning until `go`: the
 * last to finish frees it. */
struct race {
    atomic_int go;
    atomic_int left;
};

struct job {
    pthread_t tid;
    atomic_int done;
    rpchost_call *call;
    int64_t ms; /* JOB_RACE: microseconds the second one waits */
    int kind;   /* enum job_kind */
    struct race *race;
    int second; /* JOB_RACE: the job that waits */
    struct job *next;
};

static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct job *jobs;

static void
sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Join and free the finished jobs (all of them when `all`). */
static int
reap(int all)
{
    struct job **pp, *j;
    int n = 0;

    pthread_mutex_lock(&jobs_lock);
    pp = &jobs;
    while ((j = *pp) != NULL) {
        if (all || atomic_load(&j->done)) {
            *pp = j->next;
            pthread_join(j->tid, NULL);
            free(j);
            n++;
        } else {
            pp = &j->next;
        }
    }
    pthread_mutex_unlock(&jobs_lock);
    return n;
}

static void
record(int rc)
{
    atomic_store(&last_rc, rc);
}

/* Count an answer's rc for tally. */
static void
count(int rc)
{
    if (rc == RPCHOST_OK)
        atomic_fetch_add(&tally_ok, 1);
    else if (rc == RPCHOST_ESTATE)
        atomic_fetch_add(&tally_estate, 1);
    else
        atomic_fetch_add(&tally_other, 1);
}

static void
answer_ms(rpchost_call *call, void *arg)
{
    int64_t ms = (int64_t)(intptr_t)arg;

    record(api->result(call, cJSON_CreateNumber((double)ms)));
}

/* Defer the call and answer it with ms from a timer after ms. */
static int
defer_with_timer(rpchost_call *call)
{
    int64_t ms;
    int rc;

    rc = api->param_int(call, 0, "ms", 0, MAX_MS, &ms);
    if (rc != RPCHOST_OK)
        return rc;
    rc = api->defer(call);
    if (rc != RPCHOST_OK)
        return rc;
    rc = api->timer(call, (unsigned)ms, answer_ms, (void *)(intptr_t)ms);
    if (rc != RPCHOST_OK)
        api->error(call, RPCHOST_INTERNAL_ERROR, NULL, NULL);
    return RPCHOST_OK;
}

static int
later(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return defer_with_timer(call);
}

static int
late(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return defer_with_timer(call);
}

static void *
job_main(void *arg)
{
    struct job *j = arg;
    cJSON *o;
    int rc;

    switch (j->kind) {
    case JOB_TIMER_FIRST:
        sleep_ms(j->ms);
        /* Not on the call's loop: must be refused. */
        rc = api->timer(j->call, 1, answer_ms, NULL);
        o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "timer_rc", rc);
        record(api->result(j->call, o));
        break;
    case JOB_TWICE:
        sleep_ms(j->ms);
        count(api->result(j->call, cJSON_CreateString("first")));
        count(api->result(j->call, cJSON_CreateString("second")));
        break;
    case JOB_AFTER:
        count(api->result(j->call, cJSON_CreateString("first")));
        sleep_ms(j->ms);
        count(api->error(j->call, 7, "second", cJSON_CreateString("data")));
        break;
    case JOB_RACE:
        while (!atomic_load(&j->race->go))
            sched_yield();
        if (j->second && j->ms > 0) {
            struct timespec ts = {0, (long)j->ms * 1000L};
            nanosleep(&ts, NULL);
        }
        count(api->result(j->call, cJSON_CreateNumber(j->second)));
        if (atomic_fetch_sub(&j->race->left, 1) == 1)
            free(j->race);
        break;
    default:
        sleep_ms(j->ms);
        record(api->result(j->call, cJSON_CreateNumber((double)j->ms)));
        break;
    }
    atomic_store(&j->done, 1);
    return NULL;
}

/* Start a job of `kind` on the (deferred) call; RPCHOST_OK or a code. */
static int
spawn(rpchost_call *call, int kind, int64_t ms, struct race *race, int second)
{
    struct job *j = calloc(1, sizeof(*j));

    if (j == NULL)
        return RPCHOST_ENOMEM;
    /* Everything the thread needs is copied: the call handle and ms. */
    j->call = call;
    j->ms = ms;
    j->kind = kind;
    j->race = race;
    j->second = second;
    atomic_init(&j->done, 0);
    pthread_mutex_lock(&jobs_lock);
    if (pthread_create(&j->tid, NULL, job_main, j) != 0) {
        pthread_mutex_unlock(&jobs_lock);
        free(j);
        return RPCHOST_EFAIL;
    }
    j->next = jobs;
    jobs = j;
    atomic_fetch_add(&threads_started, 1);
    pthread_mutex_unlock(&jobs_lock);
    return RPCHOST_OK;
}

/* Defer the call and hand it to a job of `kind` with params[0] as ms. */
static int
start_job(rpchost_call *call, int kind)
{
    int64_t ms;
    int rc;

    rc = api->param_int(call, 0, "ms", 0, MAX_MS, &ms);
    if (rc != RPCHOST_OK)
        return rc;
    reap(0);
    rc = api->defer(call);
    if (rc != RPCHOST_OK)
        return rc;
    if (spawn(call, kind, ms, NULL, 0) != RPCHOST_OK)
        api->error(call, RPCHOST_INTERNAL_ERROR, NULL, NULL);
    return RPCHOST_OK;
}

static int
thread(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return start_job(call, JOB_ANSWER);
}

static int
timer_from_thread(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return start_job(call, JOB_TIMER_FIRST);
}

static int
twice_thread(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return start_job(call, JOB_TWICE);
}

static int
twice_after(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return start_job(call, JOB_AFTER);
}

static int
race(rpchost_call *call, const cJSON *params, void *state)
{
    struct race *r;
    int64_t us;
    int rc;

    (void)params;
    (void)state;
    rc = api->param_int(call, 0, "us", 0, MAX_MS, &us);
    if (rc != RPCHOST_OK)
        return rc;
    reap(0);
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return RPCHOST_ENOMEM;
    atomic_init(&r->go, 0);
    atomic_init(&r->left, 2);
    rc = api->defer(call);
    if (rc != RPCHOST_OK) {
        free(r);
        return rc;
    }
    if (spawn(call, JOB_RACE, us, r, 0) != RPCHOST_OK) {
        free(r);
        api->error(call, RPCHOST_INTERNAL_ERROR, NULL, NULL);
        return RPCHOST_OK;
    }
    if (spawn(call, JOB_RACE, us, r, 1) != RPCHOST_OK)
        atomic_fetch_sub(&r->left, 1); /* the first one answers alone */
    atomic_store(&r->go, 1);
    return RPCHOST_OK;
}

static int
get_tally(rpchost_call *call, const cJSON *params, void *state)
{
    cJSON *o = cJSON_CreateObject();

    (void)params;
    (void)state;
    cJSON_AddNumberToObject(o, "ok", (double)atomic_load(&tally_ok));
    cJSON_AddNumberToObject(o, "estate", (double)atomic_load(&tally_estate));
    cJSON_AddNumberToObject(o, "other", (double)atomic_load(&tally_other));
    return api->result(call, o);
}

static void
answer_twice(rpchost_call *call, void *arg)
{
    int rc;

    (void)arg;
    rc = api->result(call, cJSON_CreateString("first"));
    if (rc != RPCHOST_OK) {
        record(rc);
        return;
    }
    record(api->result(call, cJSON_CreateString("second")));
}

static int
twice(rpchost_call *call, const cJSON *params, void *state)
{
    int rc;

    (void)params;
    (void)state;
    rc = api->defer(call);
    if (rc != RPCHOST_OK)
        return rc;
    rc = api->timer(call, 10, answer_twice, NULL);
    if (rc != RPCHOST_OK)
        api->error(call, RPCHOST_INTERNAL_ERROR, NULL, NULL);
    return RPCHOST_OK;
}

static int
twice_sync(rpchost_call *call, const cJSON *params, void *state)
{
    int rc;

    (void)params;
    (void)state;
    rc = api->result(call, cJSON_CreateString("first"));
    if (rc != RPCHOST_OK)
        return rc;
    record(api->error(call, 7, "second", NULL));
    return RPCHOST_OK;
}

static int
fail_after_defer(rpchost_call *call, const cJSON *params, void *state)
{
    int rc;

    (void)params;
    (void)state;
    rc = api->defer(call);
    if (rc != RPCHOST_OK)
        return rc;
    return RPCHOST_EFAIL;
}

static void
noop_timer(rpchost_call *call, void *arg)
{
    (void)call;
    (void)arg;
}

static int
probe(rpchost_call *call, const cJSON *params, void *state)
{
    cJSON *o = cJSON_CreateObject();
    int before, first, again;

    (void)params;
    (void)state;
    before = api->timer(call, 1, noop_timer, NULL);
    first = api->defer(call);
    again = api->defer(call);
    cJSON_AddNumberToObject(o, "timer_before_defer", before);
    cJSON_AddNumberToObject(o, "defer", first);
    cJSON_AddNumberToObject(o, "defer_again", again);
    return api->result(call, o);
}

static int
get_last_rc(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->result(call, cJSON_CreateNumber(atomic_load(&last_rc)));
}

static int
get_threads_started(rpchost_call *call, const cJSON *params, void *state)
{
    (void)params;
    (void)state;
    return api->result(
        call, cJSON_CreateNumber((double)atomic_load(&threads_started)));
}

static const rpchost_param none[] = {{NULL, 0, 0, NULL}};
static const rpchost_param ms_params[] = {
    {"ms", RPCHOST_TYPE_INTEGER, 1, "milliseconds (0..60000)"},
    {NULL, 0, 0, NULL},
};
static const rpchost_param us_params[] = {
    {"us", RPCHOST_TYPE_INTEGER, 1, "microseconds (0..60000)"},
    {NULL, 0, 0, NULL},
};

static const rpchost_method methods[] = {
    {"later", later, NULL, 0, "Timer answers after ms.", ms_params, NULL},
    {"thread", thread, NULL, 0, "A thread answers after ms.", ms_params, NULL},
    {"timer_from_thread", timer_from_thread, NULL, 0,
     "A thread tries api->timer, answers its rc.", ms_params, NULL},
    {"late", late, NULL, 0, "Answers after ms (past the deadline).", ms_params,
     NULL},
    {"twice", twice, NULL, 0, "Answers twice from a timer.", none, NULL},
    {"twice_sync", twice_sync, NULL, 0, "Answers twice in the handler.", none,
     NULL},
    {"fail_after_defer", fail_after_defer, NULL, 0,
     "Defers, then returns RPCHOST_EFAIL.", none, NULL},
    {"probe", probe, NULL, 0, "rcs of timer/defer misuse.", none, NULL},
    {"last_rc", get_last_rc, NULL, 0, "The last recorded rc.", none, NULL},
    {"threads_started", get_threads_started, NULL, 0, "Answer threads started.",
     none, NULL},
    {"twice_thread", twice_thread, NULL, 0, "A thread answers twice after ms.",
     ms_params, NULL},
    {"twice_after", twice_after, NULL, 0,
     "A thread answers, and again ms later.", ms_params, NULL},
    {"race", race, NULL, 0, "Two threads answer at once (the second us later).",
     us_params, NULL},
    {"tally", get_tally, NULL, 0, "The rcs of the answers given twice.", none,
     NULL},
};

static int
deferred_init(rpchost_plugin *plugin, const rpchost_api *host, void **state)
{
    (void)state;
    api = host;
    self = plugin;
    atomic_store(&last_rc, 1);
    atomic_store(&threads_started, 0);
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        int rc = api->register_method(plugin, &methods[i]);
        if (rc != RPCHOST_OK)
            return rc;
    }
    return RPCHOST_OK;
}

static void
deferred_fini(void *state)
{
    int n;

    (void)state;
    n = reap(1);
    api->log(self, RPCHOST_LOG_INFO, "deferred fini: joined %d thread(s)", n);
}

RPCHOST_PLUGIN_DEFINE("deferred", "1.0.0", deferred_init, deferred_fini);
