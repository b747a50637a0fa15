/* SPDX-License-Identifier: MIT */
/*
 * ptrindex.h - a set of objects, each found by a pointer it holds at a
 * fixed offset (its key): conns.c finds a connection by its bufferevent,
 * the only thing evhttp's callbacks name.
 *
 * Open addressing with linear probing over a power-of-two table at least
 * twice as large as its entries (so a probe ends at a hole soon); a
 * removal moves the rest of its run back, so there are no tombstones and
 * a lookup never walks more than the run of its own slot.  The table
 * grows by doubling before an insertion would pass half full, and
 * ptrindex_fit() shrinks it when it is 8 times larger than its entries
 * need (after a burst of connections).  Keys are compared as pointers and
 * hashed by Fibonacci hashing of their address.  Not thread-safe: one
 * loop's.
 */
#ifndef HOST_PTRINDEX_H
#define HOST_PTRINDEX_H

#include <stddef.h>

/* The smallest table (slots). */
#define PTRINDEX_MIN 128

struct ptrindex {
    void **slot;    /* cap entries, NULL where free */
    size_t cap;     /* a power of two, at least 2 * (n + 1); or 0 */
    size_t n;       /* entries */
    size_t key_off; /* where an entry holds its key */
};

/* An empty index of entries whose key is the pointer at `key_off` bytes
 * from their start (offsetof(struct x, member)). */
void ptrindex_init(struct ptrindex *ix, size_t key_off);

/* Free the table (not the entries); the index is empty after. */
void ptrindex_free(struct ptrindex *ix);

/* Make room for one more entry: after 0, ptrindex_put() cannot fail.  -1
 * on ENOMEM, the index unchanged. */
int ptrindex_reserve(struct ptrindex *ix);

/* Add `entry`, whose key no entry has; ptrindex_reserve() first. */
void ptrindex_put(struct ptrindex *ix, void *entry);

/* The entry whose key is `key`, or NULL. */
void *ptrindex_get(const struct ptrindex *ix, const void *key);

/* Remove `entry`, which is in the index. */
void ptrindex_del(struct ptrindex *ix, void *entry);

/* Shrink the table to twice what its entries need when it is 8 times
 * that or more (kept as it is on ENOMEM). */
void ptrindex_fit(struct ptrindex *ix);

#endif
