/* SPDX-License-Identifier: MIT */
/*
 * tcache.c - see tcache.h.
 */
#include "tcache.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#define HELD (TCACHE_BINS * TCACHE_COUNT)
/* The freeing thread calls free() and ends: a small stack is plenty, with
 * room for the static TLS of libraries and plugins (a stack too small for
 * it fails pthread_create, and the drain with it). */
#define FREER_STACK (256 * 1024)

struct held {
    void *block[HELD];
    size_t n;
};

/* One drain at a time: each thread that frees may get an arena of its own
 * from glibc (kept for the next thread after it ends), so one is made. */
static pthread_mutex_t drain_lock = PTHREAD_MUTEX_INITIALIZER;

static void
free_all(struct held *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->block[i]);
}

static void *
freer(void *arg)
{
    free_all(arg);
    return NULL;
}

/* Start freer on h and wait for it to end (its tcache goes back to the
 * arenas as it ends).  0, or -1 when no thread could be started. */
static int
free_elsewhere(struct held *h)
{
    pthread_attr_t attr;
    pthread_t t;
    sigset_t all, old;
    int rc;

    if (pthread_attr_init(&attr) != 0)
        return -1;
    pthread_attr_setstacksize(&attr, FREER_STACK);
    /* No signal is for it: it starts with them all blocked. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&t, &attr, freer, h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -1;
    pthread_join(t, NULL);
    return 0;
}

size_t
tcache_drain(void)
{
    struct held h;

    h.n = 0;
    /* A cached block is what malloc returns first for its size. */
    for (size_t bin = 0; bin < TCACHE_BINS; bin++)
        for (int k = 0; k < TCACHE_COUNT; k++) {
            void *b = malloc(24 + 16 * bin);

            if (b != NULL)
                h.block[h.n++] = b;
        }
    pthread_mutex_lock(&drain_lock);
    if (free_elsewhere(&h) != 0) {
        pthread_mutex_unlock(&drain_lock);
        free_all(&h);
        return 0;
    }
    pthread_mutex_unlock(&drain_lock);
    return h.n;
}
