/* SPDX-License-Identifier: MIT */
/*
 * handle.c - see handle.h.
 *
 * The table is an array of chunks of CHUNK_SLOTS slots, each allocated
 * once and never freed; the slot numbered n (from 1) is in chunk
 * (n - 1) / CHUNK_SLOTS.  `nchunks` only grows, and a chunk's pointer is
 * written before nchunks counts it, so a lookup needs no lock.
 *
 * Free slots are linked in the free list of the shard they were made for.
 * A thread takes from the shard it was given on its first take, and a
 * slot always goes back to its own shard, so each shard's list holds only
 * its own slots and the slots of one take share a shard: they go back in
 * one piece, still linked as they were taken.
 */
#include "handle.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#define CHUNK_BITS 10
#define CHUNK_SLOTS (1u << CHUNK_BITS)
#if HANDLE_INDEX_BITS >= 24
#define MAX_CHUNKS (1u << (24 - CHUNK_BITS)) /* 16M slots */
#else
#define MAX_CHUNKS ((1u << (HANDLE_INDEX_BITS - CHUNK_BITS)) - 1)
#endif
#define SHARDS 16

#define INDEX_MASK (((uintptr_t)1 << HANDLE_INDEX_BITS) - 1)
#define SEQ_OF_WORD(w) ((uint32_t)((w) >> 32) & HANDLE_SEQ_MASK)
#define SEQ_OF_HANDLE(h)                                                       \
    ((uint32_t)((h) >> HANDLE_INDEX_BITS) & HANDLE_SEQ_MASK)

struct shard {
    _Alignas(64) atomic_int locked; /* spin_lock(); a cache line each */
    struct handle_slot *free;       /* its free list */
    size_t nfree;
};

static struct handle_slot *_Atomic chunks[MAX_CHUNKS];
static _Atomic uint32_t nchunks;
static pthread_mutex_t grow_lock = PTHREAD_MUTEX_INITIALIZER;

static struct shard shards[SHARDS];
static atomic_uint next_shard;
static _Thread_local struct shard *mine; /* this thread's, once it took */

/* A shard's lock is held for a few instructions (a take's walk over its
 * slots at most) and mostly by one thread: a waiter spins, giving the CPU
 * up now and then, as with nginx's ngx_spinlock(). */
static void
spin_lock(struct shard *s)
{
    for (unsigned spins = 1;
         atomic_exchange_explicit(&s->locked, 1, memory_order_acquire); spins++)
        if (spins % 64 == 0)
            sched_yield();
}

static void
spin_unlock(struct shard *s)
{
    atomic_store_explicit(&s->locked, 0, memory_order_release);
}

/* The slot h names, or NULL when no slot has its number. */
static struct handle_slot *
lookup(uintptr_t h)
{
    uint32_t n = (uint32_t)(h & INDEX_MASK);
    struct handle_slot *chunk;

    if (n == 0 || ((n - 1) >> CHUNK_BITS) >=
                      atomic_load_explicit(&nchunks, memory_order_acquire))
        return NULL;
    chunk = atomic_load_explicit(&chunks[(n - 1) >> CHUNK_BITS],
                                 memory_order_relaxed);
    return &chunk[(n - 1) & (CHUNK_SLOTS - 1)];
}

/* With s's lock held: add a new chunk's slots to its free list.  0 or -1. */
static int
grow(struct shard *s)
{
    struct handle_slot *chunk;
    uint32_t c;

    pthread_mutex_lock(&grow_lock);
    c = atomic_load_explicit(&nchunks, memory_order_relaxed);
    chunk = c < MAX_CHUNKS ? calloc(CHUNK_SLOTS, sizeof(*chunk)) : NULL;
    if (chunk == NULL) {
        pthread_mutex_unlock(&grow_lock);
        return -1;
    }
    for (uint32_t i = 0; i < CHUNK_SLOTS; i++) {
        atomic_init(&chunk[i].word, 0);
        atomic_init(&chunk[i].obj, NULL);
        chunk[i].next = i + 1 < CHUNK_SLOTS ? &chunk[i + 1] : s->free;
        chunk[i].number = c * CHUNK_SLOTS + i + 1;
        chunk[i].shard = (uint32_t)(s - shards);
    }
    atomic_store_explicit(&chunks[c], chunk, memory_order_relaxed);
    atomic_store_explicit(&nchunks, c + 1, memory_order_release);
    pthread_mutex_unlock(&grow_lock);
    s->free = chunk;
    s->nfree += CHUNK_SLOTS;
    return 0;
}

int
handle_take(size_t n, struct handle_chain *ch)
{
    struct shard *s = mine;
    struct handle_slot *last;

    if (s == NULL)
        s = mine = &shards[atomic_fetch_add(&next_shard, 1) % SHARDS];
    *ch = (struct handle_chain)HANDLE_CHAIN_INIT;
    if (n == 0)
        return 0;
    spin_lock(s);
    while (s->nfree < n) {
        if (grow(s) != 0) {
            spin_unlock(s);
            return -1;
        }
    }
    ch->first = ch->next = last = s->free;
    for (size_t i = 1; i < n; i++)
        last = last->next;
    s->free = last->next;
    s->nfree -= n;
    spin_unlock(s);
    ch->last = last;
    ch->n = n;
    return 0;
}

void
handle_give_back(struct handle_chain *ch)
{
    struct shard *s;

    if (ch->n == 0)
        return;
    s = &shards[ch->first->shard];
    spin_lock(s);
    ch->last->next = s->free;
    s->free = ch->first;
    s->nfree += ch->n;
    spin_unlock(s);
    *ch = (struct handle_chain)HANDLE_CHAIN_INIT;
}

/* The object of s, whose sequence number was h's a moment ago, or NULL if
 * the slot has been retired (and maybe bound again) since: the object is
 * read, then the sequence number again (a seqlock's read side; the bind
 * stores the object with release, after the retire that changed the
 * number, so an object bound since makes the second look fail). */
static void *
bound_obj(struct handle_slot *s, uintptr_t h)
{
    void *obj = atomic_load_explicit(&s->obj, memory_order_acquire);
    uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);

    return SEQ_OF_WORD(w) == SEQ_OF_HANDLE(h) ? obj : NULL;
}

void *
handle_get(uintptr_t h, uint32_t *flags)
{
    struct handle_slot *s = lookup(h);
    uint64_t w;

    if (s == NULL)
        return NULL;
    w = atomic_load_explicit(&s->word, memory_order_acquire);
    if (SEQ_OF_WORD(w) != SEQ_OF_HANDLE(h))
        return NULL;
    *flags = (uint32_t)w;
    return bound_obj(s, h);
}

void *
handle_set(uintptr_t h, uint32_t bits, uint32_t unless, uint32_t *old)
{
    struct handle_slot *s = lookup(h);

    if (s == NULL || handle_set_bits_(s, SEQ_OF_HANDLE(h), bits, unless, old))
        return NULL;
    return bound_obj(s, h);
}

void *
handle_change(uintptr_t h, uint32_t need, uint32_t unless, uint32_t set,
              uint32_t clear, uint32_t *old)
{
    struct handle_slot *s = lookup(h);

    if (s == NULL ||
        handle_change_bits_(s, SEQ_OF_HANDLE(h), need, unless, set, clear, old))
        return NULL;
    return bound_obj(s, h);
}
