/* SPDX-License-Identifier: MIT */
/*
 * test_handle.c - unit tests for host/handle.c: handles name their object
 * until it is retired and are stale for ever after (the slot reused or
 * not), flags are set atomically, the table grows, a stale handle used
 * from another thread never touches the slot's next object, and
 * handle_trim() gives back the pages of chunks whose slots are all free
 * (a shard keeps one) while every handle into them stays stale, also
 * after they are in use again.
 */
#define _DEFAULT_SOURCE /* mincore */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "handle.h"

static void
test_lifecycle(void **state)
{
    struct handle_chain ch, again;
    struct handle_slot *s[3];
    uintptr_t h[3], h2[3];
    int obj[3];
    uint32_t f;

    (void)state;
    assert_int_equal(handle_take(3, &ch), 0);
    assert_int_equal(ch.n, 3);
    for (int i = 0; i < 3; i++) {
        h[i] = handle_bind(&ch, &obj[i], &s[i]);
        assert_true(h[i] != 0);
        for (int j = 0; j < i; j++)
            assert_true(h[j] != h[i]);
    }
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(handle_get(h[i], &f), &obj[i]);
        assert_int_equal(f, 0);
    }
    /* Flags: set unless, from the handle or the owner's side. */
    assert_ptr_equal(handle_set(h[0], 0x1, 0x1, &f), &obj[0]);
    assert_int_equal(f, 0);
    assert_ptr_equal(handle_set(h[0], 0x2, 0x1, &f), &obj[0]);
    assert_int_equal(f, 0x1); /* refused: 0x1 was set */
    assert_int_equal(handle_flags(s[0]), 0x1);
    assert_int_equal(handle_slot_set(s[0], 0x4, 0), 0x1);
    assert_int_equal(handle_flags(s[0]), 0x5);
    assert_int_equal(handle_slot_set(s[1], 0x2, 0x2), 0);
    assert_int_equal(handle_slot_set(s[1], 0x4, 0x2), 0x2);
    assert_int_equal(handle_flags(s[1]), 0x2);
    /* Retired: every handle of it is stale, whatever is asked. */
    for (int i = 0; i < 3; i++)
        handle_retire(s[i]);
    for (int i = 0; i < 3; i++) {
        assert_null(handle_get(h[i], &f));
        assert_null(handle_set(h[i], 0x1, 0, &f));
    }
    handle_give_back(&ch);
    assert_int_equal(ch.n, 0);
    /* The same slots again (this thread's shard gives back what it got
     * last): new handles, no flags, and the old ones still stale. */
    assert_int_equal(handle_take(3, &again), 0);
    for (int i = 0; i < 3; i++) {
        h2[i] = handle_bind(&again, &obj[i], &s[i]);
        assert_int_equal(handle_flags(s[i]), 0);
        for (int j = 0; j < 3; j++)
            assert_true(h2[i] != h[j]);
    }
    for (int i = 0; i < 3; i++) {
        assert_null(handle_get(h[i], &f));
        assert_null(handle_set(h[i], 0x1, 0, &f));
        assert_int_equal(handle_flags(s[i]), 0);
        handle_retire(s[i]);
    }
    handle_give_back(&again);
}

static void
test_bad_handles(void **state)
{
    uint32_t f;

    (void)state;
    assert_null(handle_get(0, &f));
    assert_null(handle_set(0, 1, 0, &f));
    assert_null(handle_get(UINTPTR_MAX, &f));
    assert_null(handle_set((uintptr_t)0xffffff, 1, 0, &f));
}

/* A handle with sequence number 0 (a small integer, forged) is never
 * accepted, not even for a slot whose pages were given back (they read as
 * zeros) - and sets no flag there. */
static void
test_seq_zero_refused(void **state)
{
    struct handle_chain ch;
    struct handle_slot *s;
    uintptr_t h;
    uint64_t w;
    uint32_t f;
    int obj;

    (void)state;
    assert_int_equal(handle_take(1, &ch), 0);
    h = handle_bind(&ch, &obj, &s);
    assert_true((h >> HANDLE_INDEX_BITS) != 0); /* numbers start at 1 */
    handle_retire(s);
    handle_give_back(&ch);
    /* As a given-back slot reads: all zeros. */
    w = atomic_load(&s->word);
    atomic_store(&s->word, 0);
    h &= ((uintptr_t)1 << HANDLE_INDEX_BITS) - 1; /* sequence number 0 */
    assert_null(handle_get(h, &f));
    assert_null(handle_set(h, 0x1, 0, &f));
    assert_null(handle_change(h, 0, 0, 0x1, 0, &f));
    assert_int_equal(atomic_load(&s->word), 0);
    atomic_store(&s->word, w);
}

/* More slots than a chunk holds, in one take and in many. */
static void
test_grow(void **state)
{
    enum { N = 5000 };
    struct handle_chain ch;
    struct handle_slot **s = calloc(N, sizeof(*s));
    uintptr_t *h = calloc(N, sizeof(*h));
    uint32_t f;

    (void)state;
    assert_non_null(s);
    assert_non_null(h);
    assert_int_equal(handle_take(N, &ch), 0);
    for (size_t i = 0; i < N; i++)
        h[i] = handle_bind(&ch, &h[i], &s[i]);
    assert_null(ch.next);
    for (size_t i = 0; i < N; i++)
        assert_ptr_equal(handle_get(h[i], &f), &h[i]);
    for (size_t i = 0; i < N; i++)
        handle_retire(s[i]);
    handle_give_back(&ch);
    for (size_t i = 0; i < N; i++)
        assert_null(handle_get(h[i], &f));
    free(s);
    free(h);
}

/* One thread binds, retires and rebinds a slot over and over, publishing
 * each handle; another sets a flag through whatever handle it last saw.
 * A slot must never carry that flag before its new handle is published:
 * the other thread's handle is stale by then.  Bounded: until the other
 * thread tried 200,000 times, or 2,000,000 rounds. */
#define TRIES 200000
#define ROUNDS 2000000
#define MARK 0x8u

static _Atomic uintptr_t published;
static atomic_int stop;
static atomic_long tries;

static void *
marker(void *arg)
{
    long hits = 0;
    uint32_t f;

    (void)arg;
    while (!atomic_load(&stop)) {
        uintptr_t h = atomic_load(&published);
        if (h != 0 && handle_set(h, MARK, 0, &f) != NULL)
            hits++;
        atomic_fetch_add(&tries, 1);
    }
    return (void *)hits;
}

static void
test_stale_from_another_thread(void **state)
{
    pthread_t t;
    void *hits;
    int obj, rounds = 0;
    long foreign = 0;

    (void)state;
    atomic_store(&published, 0);
    atomic_store(&stop, 0);
    atomic_store(&tries, 0);
    assert_int_equal(pthread_create(&t, NULL, marker, NULL), 0);
    for (; rounds < ROUNDS && atomic_load(&tries) < TRIES; rounds++) {
        struct handle_chain ch;
        struct handle_slot *s;
        uintptr_t h;

        assert_int_equal(handle_take(1, &ch), 0);
        h = handle_bind(&ch, &obj, &s);
        /* Not yet published: nothing may have marked it. */
        for (int spin = 0; spin < 20; spin++)
            if (handle_flags(s) & MARK)
                foreign++;
        atomic_store(&published, h);
        for (int spin = 0; spin < 200; spin++) /* live a moment */
            (void)handle_flags(s);
        handle_retire(s);
        handle_give_back(&ch);
    }
    atomic_store(&stop, 1);
    assert_int_equal(pthread_join(t, &hits), 0);
    assert_int_equal(foreign, 0);
    /* How often the marker reached a live slot (scheduling decides). */
    print_message("%d rounds, %ld tries, %ld of them on a live slot\n", rounds,
                  atomic_load(&tries), (long)hits);
}

/* ---- handle_trim() ---- */

/* 1 when the page holding p is resident. */
static int
resident(const void *p)
{
    long page = sysconf(_SC_PAGESIZE);
    unsigned char v = 0;

    if (mincore((void *)((uintptr_t)p & ~(uintptr_t)(page - 1)), 1, &v) != 0)
        return -1;
    return v & 1;
}

enum { TN = 3 * HANDLE_CHUNK_SLOTS };

struct trim_outcome {
    size_t given, given_again;              /* handle_trim()'s results */
    size_t resident_before, resident_after; /* slots on resident pages */
    size_t stale_ok;  /* old handles refused after the trim */
    size_t stale_ok2; /* and after their slots are in use again */
    size_t fresh_ok;  /* new handles naming their objects */
    size_t fresh_new; /* new handles not among the old ones */
};

static int
cmp_handle(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

    return x < y ? -1 : x > y;
}

static size_t
count_stale(const uintptr_t *h, size_t n)
{
    size_t ok = 0;
    uint32_t f;

    for (size_t i = 0; i < n; i++)
        ok += handle_get(h[i], &f) == NULL &&
              handle_set(h[i], 0x1, 0, &f) == NULL &&
              handle_change(h[i], 0, 0, 0x1, 0, &f) == NULL;
    return ok;
}

/* On a thread of its own, so a shard of its own: three chunks of calls,
 * all ended, then trimmed, then the slots in use again. */
static void *
trim_scenario(void *arg)
{
    struct trim_outcome *o = arg;
    static uintptr_t h[TN], h2[TN], sorted[TN];
    static struct handle_slot *s[TN], *s2[TN];
    struct handle_chain ch;
    uint32_t f;

    if (handle_take(TN, &ch) != 0)
        return NULL;
    for (size_t i = 0; i < TN; i++)
        h[i] = handle_bind(&ch, &h[i], &s[i]);
    for (size_t i = 0; i < TN; i++)
        o->resident_before += resident(s[i]) == 1;
    for (size_t i = 0; i < TN; i++)
        handle_retire(s[i]);
    handle_give_back(&ch);
    o->given = handle_trim();
    for (size_t i = 0; i < TN; i++)
        o->resident_after += resident(s[i]) == 1;
    o->stale_ok = count_stale(h, TN);
    /* In use again: the released chunks come back. */
    if (handle_take(TN, &ch) != 0)
        return NULL;
    for (size_t i = 0; i < TN; i++)
        h2[i] = handle_bind(&ch, &h2[i], &s2[i]);
    memcpy(sorted, h, sizeof(h));
    qsort(sorted, TN, sizeof(sorted[0]), cmp_handle);
    for (size_t i = 0; i < TN; i++) {
        o->fresh_ok += handle_get(h2[i], &f) == &h2[i];
        o->fresh_new +=
            bsearch(&h2[i], sorted, TN, sizeof(sorted[0]), cmp_handle) == NULL;
    }
    o->stale_ok2 = count_stale(h, TN);
    for (size_t i = 0; i < TN; i++)
        handle_retire(s2[i]);
    handle_give_back(&ch);
    o->given_again = handle_trim();
    return NULL;
}

static void
test_trim(void **state)
{
    struct trim_outcome o = {0};
    pthread_t t;

    (void)state;
    assert_int_equal(pthread_create(&t, NULL, trim_scenario, &o), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    /* Two of its three chunks given back (it keeps one), and with them
     * their pages (mincore). */
    assert_true(o.given >= 2 * HANDLE_CHUNK_SLOTS);
    assert_int_equal(o.resident_before, TN);
    assert_true(o.resident_after <= HANDLE_CHUNK_SLOTS + 128);
    /* Stale before and after their slots were bound again. */
    assert_int_equal(o.stale_ok, TN);
    assert_int_equal(o.stale_ok2, TN);
    assert_int_equal(o.fresh_ok, TN);
    assert_int_equal(o.fresh_new, TN);
    assert_true(o.given_again >= 2 * HANDLE_CHUNK_SLOTS);
}

struct busy_outcome {
    size_t given, given_after;
    int kept_ok, kept_resident;
};

/* One slot still bound keeps its chunk. */
static void *
busy_scenario(void *arg)
{
    struct busy_outcome *o = arg;
    static struct handle_chain ch[TN];
    static struct handle_slot *s[TN];
    static uintptr_t h[TN];
    size_t keep = 0;
    uint32_t f;

    for (size_t i = 0; i < TN; i++) {
        if (handle_take(1, &ch[i]) != 0)
            return NULL;
        h[i] = handle_bind(&ch[i], &h[i], &s[i]);
        if ((h[i] & 0xffffffu) > (h[keep] & 0xffffffu))
            keep = i; /* the newest chunk's */
    }
    for (size_t i = 0; i < TN; i++)
        if (i != keep) {
            handle_retire(s[i]);
            handle_give_back(&ch[i]);
        }
    o->given = handle_trim();
    o->kept_ok = handle_get(h[keep], &f) == &h[keep] &&
                 handle_set(h[keep], 0x1, 0, &f) == &h[keep] && f == 0 &&
                 handle_flags(s[keep]) == 0x1;
    o->kept_resident = resident(s[keep]);
    handle_retire(s[keep]);
    handle_give_back(&ch[keep]);
    o->given_after = handle_trim();
    return NULL;
}

static void
test_trim_keeps_busy_chunks(void **state)
{
    struct busy_outcome o = {0};
    pthread_t t;

    (void)state;
    assert_int_equal(pthread_create(&t, NULL, busy_scenario, &o), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    /* Of three chunks: the first kept, the busy one kept, one given. */
    assert_int_equal(o.given, HANDLE_CHUNK_SLOTS);
    assert_true(o.kept_ok);
    assert_int_equal(o.kept_resident, 1);
    assert_int_equal(o.given_after, HANDLE_CHUNK_SLOTS);
}

/* A thread uses stale handles (and live ones) into chunks that are given
 * back and made again under it, round after round: a freshly bound slot
 * never carries its mark before its handle is published.  Bounded: 300
 * rounds. */
#define TRIM_ROUNDS 300
enum { TRIM_SLOTS = 2 * HANDLE_CHUNK_SLOTS };
static _Atomic uintptr_t pub[TRIM_SLOTS];

static void *
trim_marker(void *arg)
{
    uint32_t f;

    (void)arg;
    while (!atomic_load(&stop))
        for (size_t i = 0; i < TRIM_SLOTS; i += 7) {
            uintptr_t h = atomic_load(&pub[i]);

            if (h != 0) {
                (void)handle_get(h, &f);
                (void)handle_set(h, MARK, 0, &f);
            }
        }
    return NULL;
}

static void
test_trim_races_stale_users(void **state)
{
    static struct handle_slot *s[TRIM_SLOTS];
    static uintptr_t h[TRIM_SLOTS];
    size_t foreign = 0, given = 0;
    pthread_t t;

    (void)state;
    atomic_store(&stop, 0);
    assert_int_equal(pthread_create(&t, NULL, trim_marker, NULL), 0);
    for (int round = 0; round < TRIM_ROUNDS; round++) {
        struct handle_chain ch;

        assert_int_equal(handle_take(TRIM_SLOTS, &ch), 0);
        for (size_t i = 0; i < TRIM_SLOTS; i++)
            h[i] = handle_bind(&ch, &h[i], &s[i]);
        for (size_t i = 0; i < TRIM_SLOTS; i++)
            foreign += (handle_flags(s[i]) & MARK) != 0;
        for (size_t i = 0; i < TRIM_SLOTS; i++)
            atomic_store(&pub[i], h[i]);
        for (size_t i = 0; i < TRIM_SLOTS; i++)
            handle_retire(s[i]);
        handle_give_back(&ch);
        given += handle_trim();
    }
    atomic_store(&stop, 1);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(foreign, 0);
    assert_true(given >= TRIM_ROUNDS * (size_t)HANDLE_CHUNK_SLOTS);
}

/* A chunk made again keeps each slot's own sequence number: one number for
 * the whole chunk (its highest) would move a little-used slot next to a
 * busy slot that wrapped, close to its own stale handles.  The busy slot's
 * number is set by hand (2^32 reuses would take minutes; with 12-bit
 * numbers, 4,094 binds). */
enum { WRAP_TAKE = 32 * HANDLE_CHUNK_SLOTS };

static void *
trim_wrap_scenario(void *arg)
{
    size_t *refused = arg, *rounds = refused + 1;
    static struct handle_slot *s[WRAP_TAKE];
    static uintptr_t h[2 * HANDLE_CHUNK_SLOTS];
    struct handle_slot *a = NULL, *b = NULL;
    struct handle_chain ch;
    uintptr_t stale = 1;
    uint32_t f, top = 0;
    int obj;

    if (handle_take(2 * HANDLE_CHUNK_SLOTS, &ch) != 0)
        return NULL;
    for (size_t i = 0; i < 2 * HANDLE_CHUNK_SLOTS; i++) {
        h[i] = handle_bind(&ch, &obj, &s[i]);
        if ((s[i]->number - 1) / HANDLE_CHUNK_SLOTS > top)
            top = (s[i]->number - 1) / HANDLE_CHUNK_SLOTS;
    }
    /* a and b: two slots of its highest chunk (not the one kept); b's
     * handle goes stale. */
    for (size_t i = 0; i < 2 * HANDLE_CHUNK_SLOTS; i++)
        if ((s[i]->number - 1) / HANDLE_CHUNK_SLOTS == top) {
            if (a == NULL)
                a = s[i];
            else if (b == NULL) {
                b = s[i];
                stale = h[i];
            }
        }
    for (size_t i = 0; i < 2 * HANDLE_CHUNK_SLOTS; i++)
        handle_retire(s[i]);
    handle_give_back(&ch);
    if (b == NULL)
        return NULL;
    /* As if both were reused nearly 2^32 times: b at the top of its
     * numbers, a one below. */
    atomic_store(&a->word, (uint64_t)(HANDLE_SEQ_MASK - 1) << 32);
    atomic_store(&b->word, (uint64_t)HANDLE_SEQ_MASK << 32);
    /* The same slots again (the chain went back whole): b's handle there
     * goes stale, and b wraps to 1, a reaches the top. */
    if (handle_take(2 * HANDLE_CHUNK_SLOTS, &ch) != 0)
        return NULL;
    for (size_t i = 0; i < 2 * HANDLE_CHUNK_SLOTS; i++) {
        uintptr_t x = handle_bind(&ch, &obj, &s[i]);

        if (s[i] == b)
            stale = x;
    }
    for (size_t i = 0; i < 2 * HANDLE_CHUNK_SLOTS; i++)
        handle_retire(s[i]);
    handle_give_back(&ch);
    handle_trim();
    /* Every slot of every chunk made again, bound twice: b's first
     * numbers after the trim must be 1 and 2, not the chunk's highest. */
    *rounds = 2;
    for (size_t round = 0; round < *rounds; round++) {
        if (handle_take(WRAP_TAKE, &ch) != 0)
            return NULL;
        for (size_t i = 0; i < WRAP_TAKE; i++)
            handle_bind(&ch, &obj, &s[i]);
        *refused += handle_get(stale, &f) == NULL;
        for (size_t i = 0; i < WRAP_TAKE; i++)
            handle_retire(s[i]);
        handle_give_back(&ch);
    }
    return NULL;
}

static void
test_trim_keeps_each_slots_number(void **state)
{
    size_t refused_rounds[2] = {0, 0};
    pthread_t t;

    (void)state;
    assert_int_equal(
        pthread_create(&t, NULL, trim_wrap_scenario, refused_rounds), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(refused_rounds[1], 2);
    assert_int_equal(refused_rounds[0], refused_rounds[1]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_bad_handles),
        cmocka_unit_test(test_seq_zero_refused),
        cmocka_unit_test(test_grow),
        cmocka_unit_test(test_stale_from_another_thread),
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_trim_keeps_busy_chunks),
        cmocka_unit_test(test_trim_races_stale_users),
        cmocka_unit_test(test_trim_keeps_each_slots_number),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
