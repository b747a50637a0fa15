/* SPDX-License-Identifier: MIT */
/*
 * ptrindex.c - see ptrindex.h.
 */
#include "ptrindex.h"

#include <stdint.h>
#include <stdlib.h>

static const void *
key_of(const struct ptrindex *ix, const void *entry)
{
    return *(void *const *)(const void *)((const char *)entry + ix->key_off);
}

static size_t
home_of(const struct ptrindex *ix, const void *key)
{
    uint64_t h = (uint64_t)(uintptr_t)key * 0x9e3779b97f4a7c15u;

    return (size_t)(h >> 32) & (ix->cap - 1);
}

/* Into a table with a hole for it. */
static void
place(struct ptrindex *ix, void *entry)
{
    size_t i = home_of(ix, key_of(ix, entry));

    while (ix->slot[i] != NULL)
        i = (i + 1) & (ix->cap - 1);
    ix->slot[i] = entry;
}

/* Rehash every entry into a table of `cap` slots.  -1 on ENOMEM (the
 * index is left as it was). */
static int
resize(struct ptrindex *ix, size_t cap)
{
    void **old = ix->slot;
    size_t old_cap = ix->cap;

    ix->slot = calloc(cap, sizeof(*ix->slot));
    if (ix->slot == NULL) {
        ix->slot = old;
        return -1;
    }
    ix->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i] != NULL)
            place(ix, old[i]);
    free(old);
    return 0;
}

/* The table's size for n entries and one more. */
static size_t
cap_for(size_t n)
{
    size_t cap = PTRINDEX_MIN;

    while (cap < 2 * (n + 1))
        cap *= 2;
    return cap;
}

void
ptrindex_init(struct ptrindex *ix, size_t key_off)
{
    *ix = (struct ptrindex){.key_off = key_off};
}

void
ptrindex_free(struct ptrindex *ix)
{
    free(ix->slot);
    ptrindex_init(ix, ix->key_off);
}

int
ptrindex_reserve(struct ptrindex *ix)
{
    size_t cap = cap_for(ix->n);

    return cap > ix->cap ? resize(ix, cap) : 0;
}

void
ptrindex_put(struct ptrindex *ix, void *entry)
{
    place(ix, entry);
    ix->n++;
}

void *
ptrindex_get(const struct ptrindex *ix, const void *key)
{
    if (ix->cap == 0)
        return NULL;
    for (size_t i = home_of(ix, key); ix->slot[i] != NULL;
         i = (i + 1) & (ix->cap - 1))
        if (key_of(ix, ix->slot[i]) == key)
            return ix->slot[i];
    return NULL;
}

void
ptrindex_del(struct ptrindex *ix, void *entry)
{
    size_t mask = ix->cap - 1, i = home_of(ix, key_of(ix, entry)), j;

    while (ix->slot[i] != entry)
        i = (i + 1) & mask;
    for (j = (i + 1) & mask; ix->slot[j] != NULL; j = (j + 1) & mask) {
        size_t home = home_of(ix, key_of(ix, ix->slot[j]));

        /* Move j back into the hole at i unless its home lies in (i, j]. */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            ix->slot[i] = ix->slot[j];
            i = j;
        }
    }
    ix->slot[i] = NULL;
    ix->n--;
}

void
ptrindex_fit(struct ptrindex *ix)
{
    size_t want = cap_for(ix->n);

    if (ix->cap >= 8 * want)
        (void)resize(ix, 2 * want); /* ENOMEM: kept as it is */
}
