/* SPDX-License-Identifier: MIT */
/*
 * limit.c - see limit.h.
 */
#include "limit.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "util.h"

/* Slots a key looks at, from its hash's. */
#define LIMIT_WINDOW 8

struct limit_slot {
    _Atomic uint64_t key; /* 0: free */
    _Atomic int64_t tat;  /* theoretical arrival time, ns */
};

struct limit_rate {
    int64_t interval_ns;  /* T: one call's share of time */
    int64_t tolerance_ns; /* burst * T */
    double per_second;
    unsigned burst;
    size_t mask; /* slots - 1 */
    size_t max_keys;
    struct limit_slot overflow;
    _Atomic uint64_t overflowed;
    struct limit_slot slots[];
};

int
limit_rate_parse(const char *s, double *per_second)
{
    char *end;
    double n, per = 1.0;

    errno = 0;
    if (*s < '0' || *s > '9')
        return -1;
    n = strtod(s, &end);
    if (errno != 0 || !isfinite(n) || n <= 0)
        return -1;
    if (*end == '/') {
        end++;
        if (*end == 's')
            per = 1.0;
        else if (*end == 'm')
            per = 60.0;
        else if (*end == 'h')
            per = 3600.0;
        else
            return -1;
        end++;
    }
    if (*end != '\0' || n / per < 1e-6 || n / per > 1e9)
        return -1;
    *per_second = n / per;
    return 0;
}

uint64_t
limit_key(const char *s, size_t len)
{
    /* FNV-1a, then a finaliser (splitmix64) so nearby texts spread. */
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h ? h : 1;
}

struct limit_rate *
limit_rate_new(double per_second, unsigned burst, size_t max_keys)
{
    struct limit_rate *r;
    size_t n = LIMIT_WINDOW;
    double t;

    if (!(per_second > 0) || burst == 0 || max_keys == 0 ||
        max_keys > LIMIT_MAX_KEYS)
        return NULL;
    while (n < max_keys)
        n <<= 1;
    r = calloc(1, sizeof(*r) + n * sizeof(r->slots[0]));
    if (r == NULL)
        return NULL;
    t = 1e9 / per_second;
    r->interval_ns = t < 1 ? 1 : (int64_t)llround(t);
    r->tolerance_ns = r->interval_ns * (int64_t)burst;
    r->per_second = per_second;
    r->burst = burst;
    r->mask = n - 1;
    r->max_keys = max_keys;
    return r;
}

void
limit_rate_free(struct limit_rate *r)
{
    free(r);
}

int
limit_rate_same(const struct limit_rate *r, double per_second, unsigned burst,
                size_t max_keys)
{
    return r->per_second == per_second && r->burst == burst &&
           r->max_keys == max_keys;
}

/* The slot of `key`: its own, a free one taken, an idle one reused, or
 * the shared overflow bucket. */
static struct limit_slot *
slot_of(struct limit_rate *r, uint64_t key, int64_t now)
{
    struct limit_slot *s;
    uint64_t k;

    for (size_t i = 0; i < LIMIT_WINDOW; i++) {
        s = &r->slots[(key + i) & r->mask];
        k = atomic_load_explicit(&s->key, memory_order_acquire);
        if (k == key)
            return s;
        if (k == 0) {
            if (atomic_compare_exchange_strong(&s->key, &k, key) || k == key)
                return s;
        }
    }
    for (size_t i = 0; i < LIMIT_WINDOW; i++) {
        s = &r->slots[(key + i) & r->mask];
        if (atomic_load_explicit(&s->tat, memory_order_relaxed) > now)
            continue; /* busy */
        k = atomic_load_explicit(&s->key, memory_order_acquire);
        if (k == key || atomic_compare_exchange_strong(&s->key, &k, key) ||
            k == key)
            return s;
    }
    atomic_fetch_add_explicit(&r->overflowed, 1, memory_order_relaxed);
    return &r->overflow;
}

int64_t
limit_rate_take(struct limit_rate *r, uint64_t key, int64_t now_ns)
{
    struct limit_slot *s = slot_of(r, key, now_ns);
    int64_t tat = atomic_load_explicit(&s->tat, memory_order_relaxed);
    int64_t next;

    for (;;) {
        next = (tat > now_ns ? tat : now_ns) + r->interval_ns;
        if (next - now_ns > r->tolerance_ns)
            return next - r->tolerance_ns - now_ns;
        if (atomic_compare_exchange_weak_explicit(&s->tat, &tat, next,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed))
            return 0;
    }
}

size_t
limit_rate_used(const struct limit_rate *r)
{
    size_t n = 0;

    for (size_t i = 0; i <= r->mask; i++)
        n += atomic_load_explicit(&r->slots[i].key, memory_order_relaxed) != 0;
    return n;
}

uint64_t
limit_rate_overflowed(const struct limit_rate *r)
{
    return atomic_load_explicit(&r->overflowed, memory_order_relaxed);
}

int
limit_cap_init(struct limit_cap *c, unsigned max, unsigned queue)
{
    c->max = max ? max : 1;
    c->running = 0;
    c->qcap = queue;
    c->qhead = 0;
    c->qlen = 0;
    c->queue = NULL;
    if (queue != 0) {
        c->queue = calloc(queue, sizeof(*c->queue));
        if (c->queue == NULL)
            return -1;
    }
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c->queue);
        c->queue = NULL;
        return -1;
    }
    return 0;
}

void
limit_cap_destroy(struct limit_cap *c)
{
    pthread_mutex_destroy(&c->mu);
    free(c->queue);
    c->queue = NULL;
}

int
limit_cap_enter(struct limit_cap *c, void *waiter)
{
    int rc = LIMIT_FULL;

    pthread_mutex_lock(&c->mu);
    if (c->running < c->max) {
        c->running++;
        rc = LIMIT_RUN;
    } else if (c->qlen < c->qcap) {
        c->queue[(c->qhead + c->qlen++) % c->qcap] = waiter;
        rc = LIMIT_QUEUED;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void *
limit_cap_leave(struct limit_cap *c)
{
    void *next = NULL;

    pthread_mutex_lock(&c->mu);
    if (c->qlen > 0) {
        next = c->queue[c->qhead];
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
    } else if (c->running > 0) {
        c->running--;
    }
    pthread_mutex_unlock(&c->mu);
    return next;
}

const char *
limit_methodn_next(const char **p, const char **name, size_t *nlen,
                   const char **num, size_t *numlen)
{
    size_t n;
    const char *item = util_list_next(p, &n), *colon = NULL;

    if (item == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (item[i] == ':')
            colon = item + i;
    *name = item;
    *nlen = colon ? (size_t)(colon - item) : n;
    *num = colon ? colon + 1 : item + n;
    *numlen = colon ? n - *nlen - 1 : 0;
    return item;
}
