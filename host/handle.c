/* SPDX-License-Identifier: MIT */
/*
 * handle.c - see handle.h.
 *
 * The table is an array of chunks of CHUNK_SLOTS slots, each mapped once
 * and never unmapped; the slot numbered n (from 1) is in chunk
 * (n - 1) / CHUNK_SLOTS.  `nchunks` only grows, and a chunk's pointer is
 * written before nchunks counts it, so a lookup needs no lock.
 *
 * Free slots are linked in the free list of the shard they were made for.
 * A thread takes from the shard it was given on its first take, and a
 * slot always goes back to its own shard, so each shard's list holds only
 * its own slots and the slots of one take share a shard: they go back in
 * one piece, still linked as they were taken.
 *
 * handle_trim() takes the slots of a chunk whose slots are all on its
 * shard's list off that list and gives the chunk's pages back (madvise:
 * they read as zeros from then on, a sequence number no handle has).  The
 * chunk waits on the `back` list; grow() makes it again, for any shard,
 * before it maps a new one, each slot starting at the sequence number it
 * had (kept in `seqs`, 4 bytes a slot), which none of its handles has:
 * a slot goes on as if its chunk had stayed.  (One number for the whole
 * chunk, the highest, is not enough: a slot that wrapped past
 * HANDLE_SEQ_MASK shows a low number, and starting another slot at the
 * highest one moves it close to its own stale handles.)
 */
#define _DEFAULT_SOURCE /* MADV_DONTNEED */
#include "handle.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>

#define CHUNK_BITS 10
#define CHUNK_SLOTS (1u << CHUNK_BITS)
#define CHUNK_BYTES (CHUNK_SLOTS * sizeof(struct handle_slot))
#if HANDLE_INDEX_BITS >= 24
#define MAX_CHUNKS (1u << (24 - CHUNK_BITS)) /* 16M slots */
#else
#define MAX_CHUNKS ((1u << (HANDLE_INDEX_BITS - CHUNK_BITS)) - 1)
#endif
#define SHARDS 16

_Static_assert(CHUNK_SLOTS == HANDLE_CHUNK_SLOTS, "handle.h's chunk size");

#define INDEX_MASK (((uintptr_t)1 << HANDLE_INDEX_BITS) - 1)
#define SEQ_OF_WORD(w) ((uint32_t)((w) >> 32) & HANDLE_SEQ_MASK)
#define SEQ_OF_HANDLE(h)                                                       \
    ((uint32_t)((h) >> HANDLE_INDEX_BITS) & HANDLE_SEQ_MASK)

struct shard {
    _Alignas(64) atomic_int locked; /* spin_lock(); a cache line each */
    struct handle_slot *free;       /* its free list */
    size_t nfree;
    size_t nchunks; /* chunks made for it and not given back since */
};

/* Each chunk's state, under grow_lock. */
struct chunk {
    uint32_t shard;    /* the shard its slots belong to */
    uint32_t *seqs;    /* given back: each slot's sequence number */
    int32_t next_back; /* given back: the next on the `back` list, or -1 */
    int back;          /* its pages are given back */
};

static struct handle_slot *_Atomic chunks[MAX_CHUNKS];
static _Atomic uint32_t nchunks;
static pthread_mutex_t grow_lock = PTHREAD_MUTEX_INITIALIZER;
static struct chunk info[MAX_CHUNKS];
static int32_t back = -1; /* the chunks given back, to be made again */

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

/* The slot h names, or NULL when no slot has its number or h's sequence
 * number is 0 (none has it: a forged handle would otherwise match a given
 * back slot's zeros, and its flags be set there). */
static struct handle_slot *
lookup(uintptr_t h)
{
    uint32_t n = (uint32_t)(h & INDEX_MASK);
    struct handle_slot *chunk;

    if (n == 0 || SEQ_OF_HANDLE(h) == 0 ||
        ((n - 1) >> CHUNK_BITS) >=
            atomic_load_explicit(&nchunks, memory_order_acquire))
        return NULL;
    chunk = atomic_load_explicit(&chunks[(n - 1) >> CHUNK_BITS],
                                 memory_order_relaxed);
    return &chunk[(n - 1) & (CHUNK_SLOTS - 1)];
}

/* With grow_lock held: a chunk to make for shard `shard`, given back
 * before or new, and its slots' sequence numbers (*seqs, for the caller to
 * free; NULL: a new chunk, every slot at 1).  -1 when none can be had. */
static int64_t
chunk_to_make(uint32_t shard, uint32_t **seqs)
{
    uint32_t c = atomic_load_explicit(&nchunks, memory_order_relaxed);
    void *mem;

    if (back >= 0) {
        c = (uint32_t)back;
        back = info[c].next_back;
        info[c].back = 0;
        info[c].shard = shard;
        *seqs = info[c].seqs;
        info[c].seqs = NULL;
        return c;
    }
    if (c >= MAX_CHUNKS)
        return -1;
    mem = mmap(NULL, CHUNK_BYTES, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return -1;
    atomic_store_explicit(&chunks[c], mem, memory_order_relaxed);
    atomic_store_explicit(&nchunks, c + 1, memory_order_release);
    info[c].shard = shard;
    *seqs = NULL; /* every slot at 1 */
    return c;
}

/* With s's lock held: add a chunk's slots to its free list.  0 or -1. */
static int
grow(struct shard *s)
{
    struct handle_slot *chunk;
    uint32_t *seqs;
    int64_t c;

    pthread_mutex_lock(&grow_lock);
    c = chunk_to_make((uint32_t)(s - shards), &seqs);
    pthread_mutex_unlock(&grow_lock);
    if (c < 0)
        return -1;
    chunk = atomic_load_explicit(&chunks[c], memory_order_relaxed);
    for (uint32_t i = 0; i < CHUNK_SLOTS; i++) {
        uint32_t seq = seqs != NULL ? seqs[i] : 1;

        /* Stale handles may be read into it meanwhile: atomic stores. */
        atomic_store_explicit(&chunk[i].obj, NULL, memory_order_relaxed);
        atomic_store_explicit(&chunk[i].word, (uint64_t)seq << 32,
                              memory_order_release);
        chunk[i].next = i + 1 < CHUNK_SLOTS ? &chunk[i + 1] : s->free;
        chunk[i].number = (uint32_t)c * CHUNK_SLOTS + i + 1;
        chunk[i].shard = (uint32_t)(s - shards);
    }
    free(seqs);
    s->free = chunk;
    s->nfree += CHUNK_SLOTS;
    s->nchunks++;
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

/* With s's lock and grow_lock held: give back chunk c, whose slots are
 * off every list; seqs (CHUNK_SLOTS numbers) is its from now on. */
static void
give_chunk_back(uint32_t c, uint32_t *seqs)
{
    struct handle_slot *chunk =
        atomic_load_explicit(&chunks[c], memory_order_relaxed);

    /* No handle has a slot's present number: it is the next bind's. */
    for (uint32_t i = 0; i < CHUNK_SLOTS; i++)
        seqs[i] = SEQ_OF_WORD(
            atomic_load_explicit(&chunk[i].word, memory_order_relaxed));
    madvise(chunk, CHUNK_BYTES, MADV_DONTNEED);
    info[c].seqs = seqs;
    info[c].back = 1;
    info[c].next_back = back;
    back = (int32_t)c;
}

/* With s's lock and grow_lock held: give back s's chunks whose slots are
 * all free, but its first; free_in is scratch for n chunks.  Returns the
 * slots given back. */
static size_t
trim_shard(struct shard *s, uint32_t *free_in, uint32_t n)
{
    uint32_t idx = (uint32_t)(s - shards), keep = n, given = 0;
    struct handle_slot **link = &s->free;

    for (uint32_t c = 0; c < n; c++)
        free_in[c] = 0;
    for (struct handle_slot *x = s->free; x != NULL; x = x->next)
        free_in[(x->number - 1) >> CHUNK_BITS]++;
    for (uint32_t c = 0; c < n; c++) {
        if (info[c].shard != idx || info[c].back)
            free_in[c] = 0;
        else if (keep == n)
            keep = c; /* its first: kept */
        if (c == keep || free_in[c] != CHUNK_SLOTS)
            free_in[c] = 0;
        /* Its slots' numbers are kept: without room for them, it stays. */
        else if ((info[c].seqs = malloc(CHUNK_SLOTS * sizeof(uint32_t))) ==
                 NULL)
            free_in[c] = 0;
    }
    /* Off the list (free_in[c] marks those given back), then back. */
    while (*link != NULL)
        if (free_in[((*link)->number - 1) >> CHUNK_BITS])
            *link = (*link)->next;
        else
            link = &(*link)->next;
    for (uint32_t c = 0; c < n; c++)
        if (free_in[c]) {
            give_chunk_back(c, info[c].seqs);
            given++;
        }
    s->nfree -= (size_t)given * CHUNK_SLOTS;
    s->nchunks -= given;
    return (size_t)given * CHUNK_SLOTS;
}

size_t
handle_trim(void)
{
    /* Room for chunks made while the walk goes on; a shard with one past
     * it waits for the next trim. */
    uint32_t cap = atomic_load_explicit(&nchunks, memory_order_acquire) + 64;
    uint32_t *free_in;
    size_t given = 0;

    if (cap < 64 + 2 || (free_in = malloc(cap * sizeof(*free_in))) == NULL)
        return 0;
    for (size_t i = 0; i < SHARDS; i++) {
        struct shard *s = &shards[i];
        uint32_t n;

        spin_lock(s);
        if (s->nchunks > 1 && s->nfree >= CHUNK_SLOTS) {
            /* With both locks held, no chunk is made: n counts all of
             * s's. */
            pthread_mutex_lock(&grow_lock);
            n = atomic_load_explicit(&nchunks, memory_order_relaxed);
            if (n <= cap)
                given += trim_shard(s, free_in, n);
            pthread_mutex_unlock(&grow_lock);
        }
        spin_unlock(s);
    }
    free(free_in);
    return given;
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
