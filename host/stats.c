/* SPDX-License-Identifier: MIT */
/*
 * stats.c - see stats.h.
 */
#include "stats.h"

#include <pthread.h>
#include <rpchost/plugin.h> /* RPCHOST_ABI_VERSION */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admit.h"
#include "procstat.h"
#include "version.h"

/* Upper bounds of the finite latency buckets, in microseconds (the last
 * bucket, +Inf, has none), and every bucket's le label. */
static const uint64_t bucket_us[] = {
    50,    100,    250,     500,     1000,    2500,     5000,     10000,
    50000, 250000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000};
static const char *const bucket_le[] = {
    "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025",
    "0.005", "0.01",   "0.05",    "0.25",   "1",     "2.5",
    "5",     "10",     "30",      "60",     "+Inf"};

_Static_assert(sizeof(bucket_us) / sizeof(bucket_us[0]) == STATS_BUCKETS - 1,
               "a bound per finite bucket");
_Static_assert(sizeof(bucket_le) / sizeof(bucket_le[0]) == STATS_BUCKETS,
               "a label per bucket");

void
stats_add(atomic_ulong *c, unsigned long n)
{
    /* Single writer: no read-modify-write instruction needed. */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

void
stats_add_gauge(atomic_long *g, long n)
{
    atomic_store_explicit(g, atomic_load_explicit(g, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

void
stats_http(struct stats *s, int status)
{
    int i = status / 100;

    if (s == NULL)
        return;
    stats_add(&s->requests, 1);
    stats_add(&s->http_status[i >= 1 && i <= 5 ? i : 0], 1);
}

static void
count_error(struct stats *s, int code)
{
    for (int i = 0; i < STATS_CODES; i++) {
        int c = atomic_load_explicit(&s->error_code[i], memory_order_relaxed);
        if (c == 0) {
            atomic_store_explicit(&s->error_code[i], code,
                                  memory_order_release);
            c = code;
        }
        if (c == code) {
            stats_add(&s->error_code_count[i], 1);
            return;
        }
    }
    stats_add(&s->error_other, 1);
}

/* Inlined: it is most of stats_call(), once per call. */
static inline __attribute__((always_inline)) struct method_stats *
method_slot(struct stats *s, const char *name)
{
    size_t i = ((uintptr_t)name >> 4) & (STATS_METHODS - 1);

    for (size_t n = 0; n < STATS_METHODS; n++) {
        struct method_stats *m = &s->methods[i];
        const char *cur = atomic_load_explicit(&m->name, memory_order_relaxed);
        if (cur == name)
            return m;
        if (cur == NULL) {
            /* Counters are zero; publish the name after them. */
            atomic_store_explicit(&m->name, name, memory_order_release);
            return m;
        }
        i = (i + 1) & (STATS_METHODS - 1);
    }
    return NULL;
}

void
stats_call(struct stats *s, const char *name, uint64_t us, int code)
{
    struct method_stats *m;
    int b;

    if (s == NULL)
        return;
    if (code != 0)
        count_error(s, code);
    if (name == NULL)
        name = stats_intern("_unknown");
    m = name ? method_slot(s, name) : NULL;
    if (m == NULL) {
        stats_add(&s->methods_dropped, 1);
        return;
    }
    for (b = 0; b < STATS_BUCKETS - 1; b++)
        if (us <= bucket_us[b])
            break;
    stats_add(&m->bucket[b], 1);
    stats_add(&m->sum_us, (unsigned long)us);
    stats_add(&m->calls, 1);
    if (code != 0)
        stats_add(&m->errors, 1);
}

void
stats_limited(struct stats *s, const char *name, int limit)
{
    struct method_stats *m;

    if (s == NULL || limit < 0 || limit >= STATS_LIMITS)
        return;
    m = method_slot(s, name ? name : stats_intern("_unknown"));
    if (m != NULL)
        stats_add(&m->limited[limit], 1);
}

/* ---- interning ---- */

struct interned {
    struct interned *next;
    char name[];
};

static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static struct interned *interned_head;
static char *arena; /* stats_intern_arena's, or NULL */
static size_t arena_size, arena_used;

static int in_arena(const void *p);

void
stats_intern_arena(char *mem, size_t size)
{
    pthread_mutex_lock(&intern_lock);
    /* Names in the arena it had are forgotten (it may go away). */
    for (struct interned **pp = &interned_head; *pp != NULL;) {
        if (in_arena(*pp))
            *pp = (*pp)->next;
        else
            pp = &(*pp)->next;
    }
    arena = mem;
    arena_size = size;
    arena_used = 0;
    pthread_mutex_unlock(&intern_lock);
}

static int
in_arena(const void *p)
{
    return arena != NULL && (const char *)p >= arena &&
           (const char *)p < arena + arena_size;
}

/* Room for an entry of `size` bytes: from the arena while it has room,
 * else the heap.  Under intern_lock. */
static struct interned *
intern_alloc(size_t size)
{
    size_t at = (arena_used + 15) & ~(size_t)15;

    if (arena != NULL && at <= arena_size && size <= arena_size - at) {
        arena_used = at + size;
        return (struct interned *)(arena + at);
    }
    return malloc(size);
}

const char *
stats_intern(const char *name)
{
    struct interned *e;
    size_t n = strlen(name);

    pthread_mutex_lock(&intern_lock);
    for (e = interned_head; e != NULL; e = e->next)
        if (strcmp(e->name, name) == 0)
            break;
    if (e == NULL) {
        e = intern_alloc(sizeof(*e) + n + 1);
        if (e != NULL) {
            memcpy(e->name, name, n + 1);
            e->next = interned_head;
            interned_head = e;
        }
    }
    pthread_mutex_unlock(&intern_lock);
    return e ? e->name : NULL;
}

void
stats_intern_free_all(void)
{
    pthread_mutex_lock(&intern_lock);
    while (interned_head != NULL) {
        struct interned *e = interned_head;
        interned_head = e->next;
        if (!in_arena(e))
            free(e);
    }
    pthread_mutex_unlock(&intern_lock);
}

/* ---- rendering ---- */

static unsigned long
get(const atomic_ulong *c)
{
    return atomic_load_explicit((atomic_ulong *)c, memory_order_relaxed);
}

static void
head(struct buf *out, const char *name, const char *type, const char *help)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The distinct interned method names across loops, in first-seen order. */
static size_t
method_names(struct stats *const *loops, size_t n, const char **names,
             size_t cap)
{
    size_t count = 0;

    for (size_t l = 0; l < n; l++) {
        for (size_t i = 0; i < STATS_METHODS; i++) {
            const char *name = atomic_load_explicit(&loops[l]->methods[i].name,
                                                    memory_order_acquire);
            size_t j;
            if (name == NULL)
                continue;
            for (j = 0; j < count; j++)
                if (names[j] == name)
                    break;
            if (j == count && count < cap)
                names[count++] = name;
        }
    }
    return count;
}

static struct method_stats *
find_method(struct stats *s, const char *name)
{
    for (size_t i = 0; i < STATS_METHODS; i++)
        if (atomic_load_explicit(&s->methods[i].name, memory_order_acquire) ==
            name)
            return &s->methods[i];
    return NULL;
}

/* The reason labels of conn_closed[] (conns.h's enum conns_reason). */
static const char *const closed_reasons[STATS_CLOSE_REASONS] = {
    "header_timeout", "request_timeout", "made_room", "response_timeout",
    "chunk_overhead"};

void
stats_render(struct buf *out, struct stats *const *loops, size_t n,
             const struct stats_global *g)
{
    const char *names[STATS_METHODS];
    size_t nnames;
    unsigned long total;
    long gauge;

    head(out, "rpchost_http_requests_total", "counter",
         "HTTP requests answered, by status class.");
    for (int c = 1; c <= 5; c++) {
        total = 0;
        for (size_t l = 0; l < n; l++)
            total += get(&loops[l]->http_status[c]);
        buf_printf(out, "rpchost_http_requests_total{status=\"%dxx\"} %lu\n", c,
                   total);
    }

    head(out, "rpchost_rpc_errors_total", "counter",
         "JSON-RPC error answers, by error code.");
    {
        int codes[STATS_CODES * 8];
        unsigned long counts[STATS_CODES * 8];
        size_t nc = 0;
        unsigned long other = 0;

        for (size_t l = 0; l < n; l++) {
            other += get(&loops[l]->error_other);
            for (int i = 0; i < STATS_CODES; i++) {
                int code = atomic_load_explicit(&loops[l]->error_code[i],
                                                memory_order_acquire);
                size_t j;
                if (code == 0)
                    continue;
                for (j = 0; j < nc; j++)
                    if (codes[j] == code)
                        break;
                if (j == nc) {
                    if (nc == sizeof(codes) / sizeof(codes[0]))
                        continue;
                    codes[nc] = code;
                    counts[nc++] = 0;
                }
                counts[j] += get(&loops[l]->error_code_count[i]);
            }
        }
        for (size_t j = 0; j < nc; j++)
            buf_printf(out, "rpchost_rpc_errors_total{code=\"%d\"} %lu\n",
                       codes[j], counts[j]);
        if (other > 0)
            buf_printf(out, "rpchost_rpc_errors_total{code=\"other\"} %lu\n",
                       other);
    }

    nnames = method_names(loops, n, names, STATS_METHODS);
    head(out, "rpchost_rpc_calls_total", "counter",
         "JSON-RPC calls answered, by method.");
    for (size_t k = 0; k < nnames; k++) {
        total = 0;
        for (size_t l = 0; l < n; l++) {
            struct method_stats *m = find_method(loops[l], names[k]);
            if (m != NULL)
                total += get(&m->calls);
        }
        buf_puts(out, "rpchost_rpc_calls_total{method=");
        buf_json_string(out, names[k]);
        buf_printf(out, "} %lu\n", total);
    }
    head(out, "rpchost_rpc_call_duration_seconds", "histogram",
         "Time from dispatch to answer of JSON-RPC calls, by method.");
    for (size_t k = 0; k < nnames; k++) {
        unsigned long cum = 0, sum_us = 0;

        for (int b = 0; b < STATS_BUCKETS; b++) {
            for (size_t l = 0; l < n; l++) {
                struct method_stats *m = find_method(loops[l], names[k]);
                if (m != NULL)
                    cum += get(&m->bucket[b]);
            }
            buf_puts(out, "rpchost_rpc_call_duration_seconds_bucket{method=");
            buf_json_string(out, names[k]);
            buf_printf(out, ",le=\"%s\"} %lu\n", bucket_le[b], cum);
        }
        for (size_t l = 0; l < n; l++) {
            struct method_stats *m = find_method(loops[l], names[k]);
            if (m != NULL)
                sum_us += get(&m->sum_us);
        }
        buf_puts(out, "rpchost_rpc_call_duration_seconds_sum{method=");
        buf_json_string(out, names[k]);
        buf_printf(out, "} %.6f\n", (double)sum_us / 1e6);
        buf_puts(out, "rpchost_rpc_call_duration_seconds_count{method=");
        buf_json_string(out, names[k]);
        buf_printf(out, "} %lu\n", cum);
    }

    head(out, "rpchost_rpc_limited_total", "counter",
         "JSON-RPC calls refused by an admission limit, by method and "
         "limit.");
    for (size_t k = 0; k < nnames; k++) {
        for (int lim = 0; lim < STATS_LIMITS; lim++) {
            total = 0;
            for (size_t l = 0; l < n; l++) {
                struct method_stats *m = find_method(loops[l], names[k]);
                if (m != NULL)
                    total += get(&m->limited[lim]);
            }
            if (total == 0)
                continue;
            buf_puts(out, "rpchost_rpc_limited_total{method=");
            buf_json_string(out, names[k]);
            buf_printf(out, ",limit=\"%s\"} %lu\n", admit_limit_name(lim),
                       total);
        }
    }

    head(out, "rpchost_calls_in_flight", "gauge", "JSON-RPC calls running.");
    gauge = 0;
    for (size_t l = 0; l < n; l++)
        gauge +=
            atomic_load_explicit(&loops[l]->in_flight, memory_order_relaxed);
    buf_printf(out, "rpchost_calls_in_flight %ld\n", gauge);

    head(out, "rpchost_connections", "gauge", "Open client connections.");
    gauge = 0;
    total = 0;
    for (size_t l = 0; l < n; l++) {
        gauge +=
            atomic_load_explicit(&loops[l]->connections, memory_order_relaxed);
        total += get(&loops[l]->connections_total);
    }
    buf_printf(out, "rpchost_connections %ld\n", gauge);
    head(out, "rpchost_loop_connections", "gauge",
         "Open client connections per event loop.");
    for (size_t l = 0; l < n; l++)
        buf_printf(
            out, "rpchost_loop_connections{loop=\"%zu\"} %ld\n", l,
            atomic_load_explicit(&loops[l]->connections, memory_order_relaxed));
    head(out, "rpchost_loop_stalled", "gauge",
         "1 while the event loop has been kept by plugin code for "
         "stall_timeout or longer.");
    for (size_t l = 0; l < n; l++)
        buf_printf(
            out, "rpchost_loop_stalled{loop=\"%zu\"} %d\n", l,
            atomic_load_explicit(&loops[l]->stalled, memory_order_relaxed));
    head(out, "rpchost_connections_total", "counter",
         "Client connections accepted.");
    buf_printf(out, "rpchost_connections_total %lu\n", total);
    head(out, "rpchost_connections_closed_total", "counter",
         "Connections the server closed itself: a request's headers or "
         "body arriving too slowly, an answer taken too slowly, or to make "
         "room at max_connections.");
    for (size_t l = 0; l < n; l++)
        for (size_t r = 0; r < STATS_CLOSE_REASONS; r++)
            buf_printf(out,
                       "rpchost_connections_closed_total{loop=\"%zu\","
                       "reason=\"%s\"} %lu\n",
                       l, closed_reasons[r], get(&loops[l]->conn_closed[r]));
    head(out, "rpchost_accept_errors_total", "counter",
         "accept() failures (out of descriptors or memory); each pauses "
         "that loop's accepting for 100 ms.");
    total = 0;
    for (size_t l = 0; l < n; l++)
        total += get(&loops[l]->accept_errors);
    buf_printf(out, "rpchost_accept_errors_total %lu\n", total);

    head(out, "rpchost_generation", "gauge",
         "Number of the configuration generation serving.");
    buf_printf(out, "rpchost_generation %lu\n", g->generation);
    head(out, "rpchost_reloads_total", "counter", "Successful reloads.");
    buf_printf(out, "rpchost_reloads_total %lu\n", g->reloads);
    head(out, "rpchost_reload_failures_total", "counter", "Failed reloads.");
    buf_printf(out, "rpchost_reload_failures_total %lu\n", g->reload_failures);
    head(out, "rpchost_start_time_seconds", "gauge",
         "Start time of the process since the epoch.");
    buf_printf(out, "rpchost_start_time_seconds %lld\n", g->start_time);
    head(out, "rpchost_draining", "gauge", "1 while shutting down.");
    buf_printf(out, "rpchost_draining %d\n", g->draining);
    head(out, "rpchost_worker_restarts_total", "counter",
         "Worker processes the supervisor started after the first, by "
         "reason.");
    for (int r = 0; r < RESTART_NREASONS; r++)
        buf_printf(out, "rpchost_worker_restarts_total{reason=\"%s\"} %lu\n",
                   stats_restart_reason(r), g->restarts[r]);
    head(out, "rpchost_build_info", "gauge",
         "rpchost's version and the plugin ABI it serves; always 1.");
    buf_puts(out, "rpchost_build_info{version=");
    buf_json_string(out, RPCHOST_VERSION);
    buf_printf(out, ",abi=\"%d\"} 1\n", RPCHOST_ABI_VERSION);
}

static const char *const restart_names[RESTART_NREASONS] = {
    "crash", "exit", "stall", "upgrade", "reload",
};

const char *
stats_restart_reason(int reason)
{
    return reason >= 0 && reason < RESTART_NREASONS ? restart_names[reason]
                                                    : "?";
}

/* ---- the process's loops ---- */

static struct stats *registered[256];
static atomic_size_t nregistered;
static struct {
    atomic_ulong generation;
    atomic_ulong reloads;
    atomic_ulong reload_failures;
    atomic_int draining;
    atomic_llong start_time;
    atomic_ulong restarts[RESTART_NREASONS];
} global;

void
stats_set_restarts(const unsigned long *counts)
{
    for (int r = 0; r < RESTART_NREASONS; r++)
        atomic_store(&global.restarts[r], counts[r]);
}

void
stats_register(struct stats *s)
{
    size_t n = atomic_load(&nregistered);

    if (n < sizeof(registered) / sizeof(registered[0])) {
        registered[n] = s;
        atomic_store(&nregistered, n + 1);
    }
}

struct stats *
stats_loop(size_t i)
{
    return i < atomic_load(&nregistered) ? registered[i] : NULL;
}

size_t
stats_loop_count(void)
{
    return atomic_load(&nregistered);
}

void
stats_unregister_all(void)
{
    atomic_store(&nregistered, 0);
}

void
stats_set_global(unsigned long generation, int reload_ok, int draining)
{
    if (atomic_load(&global.start_time) == 0)
        atomic_store(&global.start_time, (long long)time(NULL));
    atomic_store(&global.generation, generation);
    if (reload_ok > 0)
        atomic_fetch_add(&global.reloads, 1);
    else if (reload_ok < 0)
        atomic_fetch_add(&global.reload_failures, 1);
    atomic_store(&global.draining, draining);
}

int
stats_draining(void)
{
    return atomic_load(&global.draining);
}

void
stats_render_all(struct buf *out)
{
    struct stats_global g;
    struct procstat ps;

    g.generation = atomic_load(&global.generation);
    g.reloads = atomic_load(&global.reloads);
    g.reload_failures = atomic_load(&global.reload_failures);
    g.start_time = atomic_load(&global.start_time);
    g.draining = atomic_load(&global.draining);
    for (int r = 0; r < RESTART_NREASONS; r++)
        g.restarts[r] = atomic_load(&global.restarts[r]);
    stats_render(out, registered, atomic_load(&nregistered), &g);
    /* process_start_time_seconds is rpchost_start_time_seconds. */
    procstat_read(&ps);
    procstat_render(out, &ps, g.start_time);
}
