/* SPDX-License-Identifier: MIT */
/*
 * handle.h - checked handles: what a plugin holds for a call (the
 * rpchost_call * of plugin.h) is a number, never the host's pointer.
 *
 * A handle names a slot of one process-wide table together with the
 * slot's sequence number at the time it was bound.  Slots are never freed,
 * and retiring an object (when its memory goes) changes its slot's
 * sequence number; so a handle used after its object ended - a plugin
 * answering a call a second time, late, or from a thread racing another -
 * is recognised as stale and refused without touching the object's
 * memory.  Next to the sequence number each slot keeps 32 bits of flags
 * for the object's owner (calldef.h: who answered the call), in one
 * atomic word, so that such decisions need no other memory either.
 *
 * The table is made of chunks of HANDLE_CHUNK_SLOTS slots.  After a burst,
 * handle_trim() gives back the pages of the chunks whose slots are all
 * free (each shard keeps one): their memory stays mapped and reads as
 * zeros, which no handle matches (sequence numbers start at 1 and skip
 * 0), and a chunk made again starts each slot at the sequence number it
 * had (kept aside, 4 bytes a slot), so stale handles into it stay stale.
 *
 * A handle is the slot's number (index + 1, never 0) in its low
 * HANDLE_INDEX_BITS and the sequence number above: 32 + 32 bits where
 * pointers have 64 bits, 20 + 12 where they have 32.  A stale handle can
 * only pass for a live one after its slot was reused 2^32 (2^12) times.
 *
 * Threads: every function is safe from any thread, but a chain (struct
 * handle_chain) belongs to one thread at a time, and the owner's functions
 * are for the owner of the object.  Slots are taken in chains from shards,
 * each thread taking from its own, so event loops do not contend for a
 * lock.  The table lives as long as the process.
 */
#ifndef HOST_HANDLE_H
#define HOST_HANDLE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define HANDLE_CHUNK_SLOTS 1024u

#if UINTPTR_MAX > 0xffffffffu
#define HANDLE_INDEX_BITS 32
#define HANDLE_SEQ_MASK 0xffffffffu
#else
#define HANDLE_INDEX_BITS 20
#define HANDLE_SEQ_MASK 0xfffu
#endif

/* One slot.  Use the functions below, not the fields. */
struct handle_slot {
    _Atomic uint64_t word;    /* sequence number << 32 | the owner's flags */
    _Atomic(void *) obj;      /* the object while bound */
    struct handle_slot *next; /* the next slot of its chain or free list */
    uint32_t number;          /* its number in handles */
    uint32_t shard;           /* the shard whose free list it belongs to */
};

/* The slots of one handle_take(), in order (NULL: none); `next` is the one
 * handle_bind() binds next.  Start it zeroed (HANDLE_CHAIN_INIT). */
struct handle_chain {
    struct handle_slot *first, *last, *next;
    size_t n;
};

#define HANDLE_CHAIN_INIT                                                      \
    {                                                                          \
        NULL, NULL, NULL, 0                                                    \
    }

/* Take n free slots into ch, growing the table if need be.  0, or -1 (ch
 * empty) when out of memory or when no more slots can be made (the table
 * holds at most 16M, about 1M where pointers have 32 bits; free slots of
 * other threads' shards are not taken). */
int handle_take(size_t n, struct handle_chain *ch);

/* Give the slots of ch back for reuse, each of them retired or never
 * bound; ch is emptied. */
void handle_give_back(struct handle_chain *ch);

/* Give back the pages of every chunk whose slots are all free, but one
 * per shard (see above); handle_take() makes them again when it needs
 * slots.  Any thread; walks each shard's free list under its lock: for
 * after a burst (memtrim.c), not for every call.  Returns the slots given
 * back. */
size_t handle_trim(void);

/* The object h names and its flags in *flags, or NULL when h is stale or
 * names no slot.  The object is only safe to use while its owner's rules
 * say it lives (e.g. the caller holds a reference). */
void *handle_get(uintptr_t h, uint32_t *flags);

/* Set `bits` in the flags of h's slot unless one of `unless` is already
 * set, atomically; *old receives the flags before.  Returns the object,
 * or NULL when h is stale (then nothing changed). */
void *handle_set(uintptr_t h, uint32_t bits, uint32_t unless, uint32_t *old);

/* The general form: when the flags hold all of `need` and none of
 * `unless`, set `set` and clear `clear`.  Returns the object (whether or
 * not the condition held: see *old), or NULL when h is stale. */
void *handle_change(uintptr_t h, uint32_t need, uint32_t unless, uint32_t set,
                    uint32_t clear, uint32_t *old);

/* Bind the next slot of ch (one is left) to obj, with no flags set.
 * Returns its handle; *slot receives the slot, for the owner's functions
 * below.  The links stay: handle_give_back() returns the chain as it was
 * taken.  Inline, as the owner's functions: they run for every call. */
static inline uintptr_t
handle_bind(struct handle_chain *ch, void *obj, struct handle_slot **slot)
{
    struct handle_slot *s = ch->next;
    uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);

    ch->next = s != ch->last ? s->next : NULL;
    /* Release: a reader that sees obj sees the retire before it too. */
    atomic_store_explicit(&s->obj, obj, memory_order_release);
    *slot = s;
    return (uintptr_t)((uint32_t)(w >> 32) & HANDLE_SEQ_MASK)
               << HANDLE_INDEX_BITS |
           s->number;
}

/* The owner's side, for a slot it bound and has not retired: the flags,
 * handle_set() without a lookup (returns the flags before), and the end
 * of the object (every handle of it is stale from then on). */
static inline uint32_t
handle_flags(struct handle_slot *s)
{
    return (uint32_t)atomic_load_explicit(&s->word, memory_order_acquire);
}

/* Not for owners: when s's flags hold every bit of `need` and none of
 * `unless`, set `set` and then clear `clear` in them, atomically, and only
 * while its sequence number is `seq` (any when seq is HANDLE_ANY_SEQ);
 * *old receives the flags before.  0, or -1 for another sequence number
 * (a condition not met is 0 with nothing changed: see *old). */
#define HANDLE_ANY_SEQ ((uint64_t)1 << 32)
static inline int
handle_change_bits_(struct handle_slot *s, uint64_t seq, uint32_t need,
                    uint32_t unless, uint32_t set, uint32_t clear,
                    uint32_t *old)
{
    uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
    uint64_t nw;

    do {
        if (seq != HANDLE_ANY_SEQ && ((w >> 32) & HANDLE_SEQ_MASK) != seq)
            return -1;
        *old = (uint32_t)w;
        if ((*old & unless) || (*old & need) != need)
            return 0;
        nw = (w | set) & ~(uint64_t)clear;
    } while (!atomic_compare_exchange_weak_explicit(
        &s->word, &w, nw, memory_order_acq_rel, memory_order_acquire));
    return 0;
}

static inline int
handle_set_bits_(struct handle_slot *s, uint64_t seq, uint32_t bits,
                 uint32_t unless, uint32_t *old)
{
    return handle_change_bits_(s, seq, 0, unless, bits, 0, old);
}

static inline uint32_t
handle_slot_set(struct handle_slot *s, uint32_t bits, uint32_t unless)
{
    uint32_t old;

    handle_set_bits_(s, HANDLE_ANY_SEQ, bits, unless, &old);
    return old;
}

/* The owner's handle_change(): returns the flags before. */
static inline uint32_t
handle_slot_change(struct handle_slot *s, uint32_t need, uint32_t unless,
                   uint32_t set, uint32_t clear)
{
    uint32_t old;

    handle_change_bits_(s, HANDLE_ANY_SEQ, need, unless, set, clear, &old);
    return old;
}

static inline void
handle_retire(struct handle_slot *s)
{
    uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
    uint32_t seq = ((uint32_t)(w >> 32) + 1) & HANDLE_SEQ_MASK;

    /* A new sequence number, never 0 (a trimmed chunk's), and no flags. */
    seq += seq == 0;
    atomic_store_explicit(&s->word, (uint64_t)seq << 32, memory_order_release);
}

#endif
