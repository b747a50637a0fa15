/* SPDX-License-Identifier: MIT */
/*
 * shared.c - see shared.h.
 */
#define _GNU_SOURCE
#include "shared.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "activity.h"
#include "config.h"
#include "stats.h"
#include "util.h"

#define ARENA_SIZE (256 * 1024)

/* The mapping's first bytes. */
struct shared_head {
    unsigned long restarts[RESTART_NREASONS];
    atomic_ulong config_seq; /* odd while the text is being written */
    size_t config_len;
};

/* The handle: each process's own copy (the worker's by fork), so a
 * worker that scribbles over the mapping cannot move what the supervisor
 * reads. */
struct shared {
    char *base;  /* the mapping */
    size_t size; /* its length */
    int nloops;
    struct shared_head *head;
    char *config;        /* CONFIG_MAX_TEXT + 1 bytes */
    char *arena;         /* ARENA_SIZE bytes */
    struct stats *loops; /* nloops */
};

static size_t
align_up(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

struct shared *
shared_new(int nloops)
{
    size_t head = align_up(sizeof(struct shared_head));
    size_t loops = align_up(sizeof(struct stats) * (size_t)nloops);
    size_t text = align_up((size_t)CONFIG_MAX_TEXT + 1);
    size_t size = head + loops + text + ARENA_SIZE;
    struct shared *sh;
    char *base;

    /* Pages are touched as used: most of the text and arena never are. */
    sh = calloc(1, sizeof(*sh));
    if (sh == NULL)
        return NULL;
    base = mmap(NULL, size, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        free(sh);
        return NULL;
    }
    sh->base = base;
    sh->size = size;
    sh->head = (struct shared_head *)base;
    sh->nloops = nloops;
    sh->loops = (struct stats *)(base + head);
    sh->config = base + head + loops;
    sh->arena = base + head + loops + text;
    return sh;
}

void
shared_free(struct shared *sh)
{
    if (sh == NULL)
        return;
    munmap(sh->base, sh->size);
    free(sh);
}

struct stats *
shared_stats(struct shared *sh, int i)
{
    return &sh->loops[i];
}

void
shared_use_arena(struct shared *sh)
{
    stats_intern_arena(sh->arena, ARENA_SIZE);
}

void
shared_set_restarts(struct shared *sh, const unsigned long *counts)
{
    memcpy(sh->head->restarts, counts, sizeof(sh->head->restarts));
}

void
shared_restarts(const struct shared *sh, unsigned long *counts)
{
    memcpy(counts, sh->head->restarts, sizeof(sh->head->restarts));
}

void
shared_save_config(struct shared *sh, const char *text, size_t len)
{
    if (len > CONFIG_MAX_TEXT)
        return;
    atomic_fetch_add(&sh->head->config_seq, 1); /* odd: being written */
    memcpy(sh->config, text, len);
    sh->config[len] = '\0';
    sh->head->config_len = len;
    atomic_fetch_add(&sh->head->config_seq, 1);
}

char *
shared_config(const struct shared *sh, size_t *len)
{
    unsigned long seq = atomic_load(&sh->head->config_seq);
    size_t n = sh->head->config_len;
    char *copy;

    if (seq == 0 || (seq & 1) || n > CONFIG_MAX_TEXT)
        return NULL;
    copy = malloc(n + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, sh->config, n);
    copy[n] = '\0';
    if (atomic_load(&sh->head->config_seq) != seq) {
        free(copy);
        return NULL;
    }
    *len = n;
    return copy;
}

/* `p`, a name the worker wrote, if it is a string in the arena; else
 * "?".  The worker may have died of corrupting its memory. */
static const char *
arena_name(const struct shared *sh, const char *p)
{
    uintptr_t a = (uintptr_t)p, lo = (uintptr_t)sh->arena;

    if (p == NULL || a < lo || a >= lo + ARENA_SIZE)
        return "?";
    if (memchr(p, '\0', lo + ARENA_SIZE - a) == NULL)
        return "?";
    return p;
}

void
shared_describe(const struct shared *sh, char *out, size_t len)
{
    uint64_t now = util_mono_us();
    size_t off = 0;

    if (len == 0)
        return;
    out[0] = '\0';
    for (int i = 0; i < sh->nloops && off < len; i++) {
        const struct activity *a = &sh->loops[i].now;
        const char *method = atomic_load(&a->method);
        uint64_t since = atomic_load(&a->since_us);
        int n;

        if (method == NULL)
            n = snprintf(out + off, len - off, "%sloop %d not in plugin code",
                         i ? "; " : "", i);
        else
            n = snprintf(out + off, len - off,
                         "%sloop %d in method %s (plugin [%s], generation "
                         "%lu) for %.1f s",
                         i ? "; " : "", i, arena_name(sh, method),
                         arena_name(sh, atomic_load(&a->plugin)),
                         atomic_load(&a->generation),
                         since != 0 && now > since ? (double)(now - since) / 1e6
                                                   : 0.0);
        if (n < 0)
            break;
        off += (size_t)n;
    }
}
