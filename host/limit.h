/* SPDX-License-Identifier: MIT */
/*
 * limit.h - the mechanics of admission limits (pure: no libevent, no
 * clock, no config): a rate per key (GCRA) in a bounded table, and a cap
 * on concurrent calls with a bounded queue.  admit.h applies them to
 * calls.
 *
 * Rate.  The generic cell rate algorithm keeps one number per key, its
 * theoretical arrival time (TAT): a call at `now` is admitted when
 * max(TAT, now) + T - now <= burst * T (T = 1 / rate), and then TAT
 * becomes max(TAT, now) + T.  That is a token bucket of `burst` tokens
 * refilled at `rate`, in one 64-bit word changed by compare-and-swap:
 * every loop thread takes from the same table without a lock.
 *
 * Keys.  A key is a 64-bit hash of its text (limit_key).  The table has a
 * fixed number of slots chosen at creation; a key looks for its slot in
 * a short window of the open table, takes a free one, or reuses one whose
 * key is idle (its TAT in the past: its bucket full again, the same state
 * as a fresh one).  When the window holds only busy keys the call is
 * charged to one overflow bucket that all such keys share: memory never
 * grows, and a flood of distinct keys degrades to one shared rate rather
 * than resetting anyone's bucket.  A slot reused at the very moment its
 * old key takes from it charges that one call to the new key: harmless.
 *
 * Cap.  At most `max` calls hold a slot at once; a call that finds them
 * all taken waits in a FIFO of `queue` entries or, when that is full, is
 * refused.  A leaving call hands its slot directly to the first waiter.
 * A short mutex guards the counter and the queue; it is never held while
 * a call runs.
 */
#ifndef HOST_LIMIT_H
#define HOST_LIMIT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define LIMIT_MAX_KEYS (1u << 24)

/* The next "METHOD:N" item of a method_concurrency list at *p (items
 * separated as util_list_next() separates them), split at its last ':'
 * (a method name may hold ':'): the item, with its name in `name` and
 * `nlen` and the text after the ':' in `num` and `numlen` (0 when there
 * is no ':'); NULL at the end. */
const char *limit_methodn_next(const char **p, const char **name, size_t *nlen,
                               const char **num, size_t *numlen);

/* Parse a rate "N/s", "N/m", "N/h" (N a positive number, fractions
 * allowed; "N" alone is per second) into calls per second.  0 or -1. */
int limit_rate_parse(const char *s, double *per_second);

/* The key of `len` bytes of text: never 0. */
uint64_t limit_key(const char *s, size_t len);

struct limit_rate;

/* A rate of `per_second` calls with `burst` (>= 1) at once, for up to
 * `max_keys` keys (rounded up to a power of two, at most LIMIT_MAX_KEYS).
 * NULL on ENOMEM or a bad argument. */
struct limit_rate *limit_rate_new(double per_second, unsigned burst,
                                  size_t max_keys);
void limit_rate_free(struct limit_rate *r);

/* Take one call for `key` at `now_ns` (any monotonic clock; any thread,
 * lock-free).  0: admitted; else the nanoseconds after which it would be
 * (> 0), and nothing was taken. */
int64_t limit_rate_take(struct limit_rate *r, uint64_t key, int64_t now_ns);

/* Whether r was made with these parameters (so a reload may keep it). */
int limit_rate_same(const struct limit_rate *r, double per_second,
                    unsigned burst, size_t max_keys);

/* Slots holding a key now; calls charged to the overflow bucket so far.
 * For tests and diagnostics (racy reads). */
size_t limit_rate_used(const struct limit_rate *r);
uint64_t limit_rate_overflowed(const struct limit_rate *r);

enum {
    LIMIT_RUN = 0,    /* the caller holds a slot: run */
    LIMIT_QUEUED = 1, /* waiting: limit_cap_leave() hands it a slot */
    LIMIT_FULL = 2,   /* every slot taken and the queue full: refuse */
};

struct limit_cap {
    pthread_mutex_t mu;
    unsigned max;     /* slots */
    unsigned running; /* slots held */
    void **queue;     /* ring of waiters */
    unsigned qcap, qhead, qlen;
};

/* `max` (>= 1) slots and a queue of `queue` waiters (0: none).  0, or -1
 * on ENOMEM. */
int limit_cap_init(struct limit_cap *c, unsigned max, unsigned queue);
/* After every waiter left. */
void limit_cap_destroy(struct limit_cap *c);

/* Any thread: take a slot for `waiter` (LIMIT_RUN), or queue it
 * (LIMIT_QUEUED: the pointer is kept until limit_cap_leave returns it),
 * or neither (LIMIT_FULL). */
int limit_cap_enter(struct limit_cap *c, void *waiter);

/* Any thread: give back a slot.  Returns the first waiter, which now
 * holds that slot and must be told so by the caller, or NULL when none
 * waited (the slot is free). */
void *limit_cap_leave(struct limit_cap *c);

#endif
