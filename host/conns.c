/* SPDX-License-Identifier: MIT */
/*
 * conns.c - see conns.h.
 */
#include "conns.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "evmem.h"
#include "framing.h"
#include "memtrim.h"
#include "ptrindex.h"
#include "util.h"

enum conn_state {
    CONN_ARRIVING,
    CONN_BUSY,
    CONN_SENDING,
    CONN_IDLE,
    CONN_RETIRED
};

/* Connections in one state, oldest first. */
struct conn_list {
    struct conn *head, *tail;
};

struct conn {
    struct conns *cs;
    struct bufferevent *bev;         /* a reference of ours */
    struct evbuffer_cb_entry *watch; /* on its input buffer, or NULL */
    struct conn *prev, *next;        /* in arriving or idle */
    long long since_ms;              /* when its state began */
    unsigned long retired_at;        /* CONN_RETIRED: cs->tick then */
    size_t read_max;                 /* what its input may hold (sending) */
    size_t index;                    /* in cs->v */
    struct framing fr;               /* arriving: where its request is */
    uint32_t chunk_max;              /* max_chunk_overhead */
    unsigned char state;             /* enum conn_state */
    unsigned char small_reads;       /* reads capped at IDLE_READ_MAX */
    unsigned char refusing;          /* to be answered 413 (refuse_soon) */
};

#define V_MIN 64 /* the smallest table of connections */

struct conns {
    struct event_base *base;
    struct conn **v; /* every connection, retiring ones too */
    size_t n, cap;
    struct ptrindex index; /* live ones by bufferevent */
    size_t nretiring;
    unsigned long tick; /* sweeps done */
    long long now_ms;   /* the last clock reading */
    struct conn_list arriving, idle;
    struct conn *newest;     /* the last one added, until dropped */
    int slots_top;           /* the base has descriptor entries below this */
    unsigned long refused;   /* chunked bodies refused, since the last sweep */
    struct event *refusals;  /* runs refuse_soon's refusals */
    conns_refuse_fn *refuse; /* writes the 413 (refusal.h) */
    void *refuse_arg;
};

static void on_input(struct evbuffer *in, const struct evbuffer_cb_info *info,
                     void *arg);
static void retire(struct conns *cs, struct conn *c);
static int freed_by_evhttp(struct conn *c);
static int close_conn(struct conns *cs, struct conn *c, int reset);

static void
list_add(struct conn_list *l, struct conn *c)
{
    c->next = NULL;
    c->prev = l->tail;
    if (l->tail != NULL)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
}

static void
list_del(struct conn_list *l, struct conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
}

/* After a burst: the table of connections, when 8 times larger than its
 * connections need, goes down to twice that, and the index likewise (at a
 * sweep, so at most once per SWEEP_MS).  A burst of 5,000 connections
 * left ~150 KB in the two loops' tables. */
static void
shrink(struct conns *cs)
{
    size_t want = V_MIN;

    ptrindex_fit(&cs->index);
    while (want < cs->n)
        want *= 2;
    if (cs->cap >= 8 * want) {
        struct conn **v = realloc(cs->v, 2 * want * sizeof(*v));

        if (v != NULL) {
            cs->v = v;
            cs->cap = 2 * want;
        }
    }
}

/* ---- states ---- */

/* Watch c's input buffer, or stop: only while it waits for a request,
 * the request's headers are arriving, or a chunked body is (framing.h),
 * so that a request arriving in one piece costs one callback, not one for
 * each line evhttp takes out. */
static void
watch(struct conn *c, int on)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);

    if (on && c->watch == NULL) {
        c->watch = evbuffer_add_cb(in, on_input, c); /* NULL: unwatched */
    } else if (!on && c->watch != NULL) {
        evbuffer_remove_cb_entry(in, c->watch);
        c->watch = NULL;
    }
}

/* The most an idle connection reads at once: one 1 KiB buffer chain
 * (libevent 2.1's chain header is 48 bytes).  libevent reads up to 4096
 * bytes, and when the socket says nothing is waiting (the read that meets
 * the client's close) it still takes a chain for 4096: 8 KiB, held until
 * the connection is retired, so 5,000 idle connections closing at once
 * took 40 MB.  A request that fits (most do) is read in one; a read that
 * fills IDLE_READ_MAX, or headers that arrive with nothing after them,
 * put the default back for the rest of the request (on_input, follow),
 * and the cap returns when the connection is idle again.  (A large body
 * whose first bytes came in the headers' read, in less than
 * IDLE_READ_MAX, is read in pieces of that size: more reads, same bytes.) */
#define IDLE_READ_MAX (1024 - 48)

/* Reads of libevent's default size again for c (the rest of a request
 * larger than IDLE_READ_MAX). */
static void
full_reads(struct conn *c)
{
    if (c->small_reads) {
        bufferevent_set_max_single_read(c->bev, 0); /* the default */
        c->small_reads = 0;
    }
}

/* Take c out of the list of its state and give it `state`, since now.
 * The clock is read for the two states whose age counts (a loop that was
 * held up by a plugin must not take the time before as their start). */
static void
set_state(struct conn *c, enum conn_state state)
{
    struct conns *cs = c->cs;

    if (c->state == CONN_ARRIVING) {
        list_del(&cs->arriving, c);
    } else if (c->state == CONN_IDLE) {
        list_del(&cs->idle, c);
    }
    c->state = (unsigned char)state;
    if (state == CONN_ARRIVING || state == CONN_IDLE)
        cs->now_ms = util_mono_ms();
    c->since_ms = state == CONN_SENDING ? 0 : cs->now_ms; /* see the sweep */
    if (state == CONN_ARRIVING) {
        framing_start(&c->fr);
        list_add(&cs->arriving, c);
    } else if (state == CONN_IDLE) {
        list_add(&cs->idle, c);
        if (!c->small_reads) {
            bufferevent_set_max_single_read(c->bev, IDLE_READ_MAX);
            c->small_reads = 1;
        }
    }
}

/* Answer c's over-bound chunked body (413, through cs->refuse) and close
 * it.  The answer goes before the FIN evhttp's close sends. */
static void
refuse(struct conns *cs, struct conn *c)
{
    evutil_socket_t fd = bufferevent_getfd(c->bev);

    if (fd >= 0)
        cs->refuse(fd, cs->refuse_arg);
    cs->refused++;
    close_conn(cs, c, 0);
}

/* c is refused from within evhttp's on_complete callback (conn_idle),
 * after which evhttp goes on with the connection: it cannot be freed
 * there.  It is refused later in this loop iteration (on_refusals, an
 * event made active, run before the loop next waits for sockets), if its
 * request is still arriving then.  Meanwhile evhttp reads nothing more
 * from the socket (that needs the next wait); it may parse what it
 * holds, at most about read_max bytes. */
static void
refuse_soon(struct conns *cs, struct conn *c)
{
    c->refusing = 1;
    event_active(cs->refusals, EV_TIMEOUT, 1);
}

/* Bytes off..off+left of an arriving request's input (in order, after
 * those followed before): where its headers end, and a chunked body's
 * framing (framing.h).  `now`: a body over the bound may be refused at
 * once (in a read, before evhttp looks at the bytes), else soon.  Linear
 * in the chains looked at: one seek from the buffer's start at most, then
 * each step on from where the last one ended. */
static void
follow(struct conn *c, struct evbuffer *in, size_t off, size_t left, int now)
{
    struct evbuffer_ptr pos;
    size_t at = 0; /* where pos is, once placed */
    int placed = 0;

    while (left > 0 && !framing_done(&c->fr)) {
        struct evbuffer_iovec v;
        size_t len, used = 0;
        int r;

        /* A chunk's data, however large, costs no look. */
        if (c->fr.part == FRAMING_DATA) {
            len = framing_skip(&c->fr, left);
            off += len;
            left -= len;
            continue;
        }
        if (off == 0 && !placed) {
            /* Usually the buffer was empty: its first chain, no seek. */
            r = evbuffer_peek(in, 1, NULL, &v, 1);
        } else {
            if (!placed)
                r = evbuffer_ptr_set(in, &pos, off, EVBUFFER_PTR_SET);
            else
                r = evbuffer_ptr_set(in, &pos, off - at, EVBUFFER_PTR_ADD);
            if (r != 0)
                return;
            placed = 1;
            at = off;
            r = evbuffer_peek(in, 1, &pos, &v, 1); /* pos's chain alone */
        }
        if (r < 1)
            return;
        len = v.iov_len < left ? v.iov_len : left;
        switch (framing_feed(&c->fr, v.iov_base, len, c->chunk_max, &used)) {
        case FRAMING_MORE:
            break;
        case FRAMING_OVER:
            if (now)
                refuse(c->cs, c);
            else
                refuse_soon(c->cs, c);
            return;
        case FRAMING_HEAD_END:
            /* Nothing after the headers yet: a body, if any, comes in
             * reads of its own, at the default size. */
            if (left - used == 0)
                full_reads(c);
            if (framing_done(&c->fr))
                break;
            len = used; /* a chunked body: followed from there */
            break;
        }
        off += len;
        left -= len;
    }
    if (framing_done(&c->fr))
        watch(c, 0); /* nothing more to follow: on_input no longer runs */
}

/* Bytes arrived in a watched connection's input buffer (or evhttp took
 * some).  Runs before evhttp reads them. */
static void
on_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
    struct conn *c = arg;

    if (info->n_added == 0)
        return;
    if (freed_by_evhttp(c)) {
        /* evhttp is done with it, but reading stays on until it is
         * retired: stop taking bytes nobody will read now. */
        retire(c->cs, c);
        return;
    }
    if (c->refusing)
        return;
    if (c->state == CONN_SENDING) {
        /* evhttp reads on while it writes an answer (to notice a close),
         * with nothing taking what arrives: beyond a whole request's
         * worth, reading waits until the answer is out (evhttp turns it
         * on again for the next request). */
        if (evbuffer_get_length(in) > c->read_max)
            bufferevent_disable(c->bev, EV_READ);
        return;
    }
    if (info->n_added >= IDLE_READ_MAX) /* more may be waiting */
        full_reads(c);
    if (c->state == CONN_IDLE)
        set_state(c, CONN_ARRIVING);
    if (c->state == CONN_ARRIVING && !framing_done(&c->fr))
        follow(c, in, info->orig_size, info->n_added, 1);
}

/* The connections refuse_soon() marked: refused, if still arriving (a
 * request that evhttp completed meanwhile from what it held is served).
 * Rare: a walk over the loop's connections. */
static void
refuse_marked(struct conns *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        struct conn *c = cs->v[i];

        if (!c->refusing)
            continue;
        c->refusing = 0;
        if (c->state == CONN_ARRIVING && !freed_by_evhttp(c))
            refuse(cs, c);
    }
}

static void
on_refusals(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    refuse_marked(arg);
}

struct conns *
conns_new(struct event_base *base, conns_refuse_fn *answer, void *arg)
{
    struct conns *cs = calloc(1, sizeof(*cs));

    if (cs == NULL)
        return NULL;
    cs->base = base;
    cs->refuse = answer;
    cs->refuse_arg = arg;
    ptrindex_init(&cs->index, offsetof(struct conn, bev));
    cs->refusals = event_new(base, -1, 0, on_refusals, cs);
    if (cs->refusals == NULL) {
        free(cs);
        return NULL;
    }
    return cs;
}

void
conns_free(struct conns *cs)
{
    if (cs == NULL)
        return;
    for (size_t i = 0; i < cs->n; i++) {
        struct conn *c = cs->v[i];

        watch(c, 0);
        bufferevent_decref(c->bev);
        free(c);
    }
    event_free(cs->refusals);
    free(cs->v);
    ptrindex_free(&cs->index);
    free(cs);
}

#define SLOTS_BLOCK 256

/* Keep the base's per-descriptor entries a block of descriptors ahead of
 * the newest connection's (evmem_fd_slots: together, they keep no page of
 * a burst's resident after it).  A new connection's descriptor is not
 * known yet here (evhttp sets it later), the last one's is. */
static void
slots_ahead(struct conns *cs)
{
    int fd = cs->newest ? (int)bufferevent_getfd(cs->newest->bev) : 0;
    int to;

    if (fd < 0)
        fd = 0;
    if (fd + SLOTS_BLOCK <= cs->slots_top)
        return;
    to = (fd / SLOTS_BLOCK + 2) * SLOTS_BLOCK;
    evmem_fd_slots(cs->base, cs->slots_top, to);
    cs->slots_top = to;
}

struct bufferevent *
conns_add(struct conns *cs, size_t read_max, uint32_t chunk_max)
{
    struct conn *c;

    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? cs->cap * 2 : V_MIN;
        struct conn **v = realloc(cs->v, cap * sizeof(*v));

        if (v == NULL)
            return NULL;
        cs->v = v;
        cs->cap = cap;
    }
    if (ptrindex_reserve(&cs->index) != 0)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->cs = cs;
    c->bev = bufferevent_socket_new(cs->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        free(c);
        return NULL;
    }
    watch(c, 1);
    if (c->watch == NULL) {
        bufferevent_free(c->bev);
        free(c);
        return NULL;
    }
    c->read_max = read_max;
    c->chunk_max = chunk_max;
    bufferevent_incref(c->bev);
    ptrindex_put(&cs->index, c);
    c->state = CONN_RETIRED; /* not in a list yet */
    set_state(c, CONN_ARRIVING);
    c->index = cs->n;
    cs->v[cs->n++] = c;
    slots_ahead(cs);
    cs->newest = c;
    return c->bev;
}

long
conns_open(const struct conns *cs)
{
    return (long)(cs->n - cs->nretiring);
}

long
conns_held(const struct conns *cs)
{
    return (long)cs->n;
}

/* evhttp freed c's connection: stop watching it; its socket is closed two
 * sweeps from now. */
static void
retire(struct conns *cs, struct conn *c)
{
    set_state(c, CONN_RETIRED);
    watch(c, 0);
    ptrindex_del(&cs->index, c);
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    /* Its buffers now, not when its socket closes: the read that met the
     * client's close took a whole empty chain (8 KiB: libevent reads 4 KiB
     * when FIONREAD says 0), 40 MB for a burst of 5,000 closes. */
    evbuffer_drain(bufferevent_get_input(c->bev), (size_t)-1);
    evbuffer_drain(bufferevent_get_output(c->bev), (size_t)-1);
    c->retired_at = cs->tick;
    cs->nretiring++;
}

/* The evhttp connection using c's bufferevent, or NULL once evhttp freed
 * it (bufferevent_free() clears the callbacks, whose argument evhttp sets
 * to the connection). */
static struct evhttp_connection *
evcon_of(struct conn *c)
{
    bufferevent_data_cb rd, wr;
    bufferevent_event_cb ev;
    void *arg;

    bufferevent_getcb(c->bev, &rd, &wr, &ev, &arg);
    if (rd == NULL && wr == NULL && ev == NULL)
        return NULL;
    return arg;
}

/* Whether evhttp is done with c (a new bufferevent has no callbacks yet
 * either, but is never looked at before evhttp set them). */
static int
freed_by_evhttp(struct conn *c)
{
    return c->state != CONN_RETIRED && evcon_of(c) == NULL;
}

/* Close c's connection and retire it.  `reset`: past a deadline, the
 * socket is reset when it is closed (SO_LINGER 0), so that what is still
 * queued for a client that takes its answer a trickle at a time is
 * dropped, not sent for as long as it keeps reading.  0 when evhttp had
 * freed it already. */
static int
close_conn(struct conns *cs, struct conn *c, int reset)
{
    struct evhttp_connection *evcon = evcon_of(c);
    struct linger lg = {1, 0};
    evutil_socket_t fd = bufferevent_getfd(c->bev);

    if (evcon != NULL) {
        if (reset && fd >= 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        evhttp_connection_free(evcon);
    }
    retire(cs, c);
    return evcon != NULL;
}

void
conns_reap(struct conns *cs)
{
    for (size_t i = 0; i < cs->n; i++)
        if (freed_by_evhttp(cs->v[i]))
            retire(cs, cs->v[i]);
}

struct conn *
conns_of(struct conns *cs, struct evhttp_connection *evcon)
{
    return ptrindex_get(&cs->index, evhttp_connection_get_bufferevent(evcon));
}

void
conn_busy(struct conn *c)
{
    if (c->state != CONN_RETIRED) {
        watch(c, 0);
        set_state(c, CONN_BUSY);
    }
}

void
conn_sending(struct conn *c)
{
    if (c->state == CONN_BUSY) {
        watch(c, 1); /* to bound its input; unwatched if that fails */
        set_state(c, CONN_SENDING);
    }
}

void
conn_idle(struct conn *c)
{
    struct evbuffer *in;

    if (c->state != CONN_BUSY && c->state != CONN_SENDING)
        return;
    watch(c, 1); /* unwatched if that fails: no deadline then */
    in = bufferevent_get_input(c->bev);
    if (evbuffer_get_length(in) == 0) {
        set_state(c, CONN_IDLE);
        return;
    }
    /* The next request (pipelined) has begun already: its deadlines run
     * from now, and what came of it is followed (the end of its headers,
     * a chunked body's framing). */
    set_state(c, CONN_ARRIVING);
    follow(c, in, 0, evbuffer_get_length(in), 0); /* in evhttp's work */
}

/* The connection conns_make_room() would close, or NULL. */
static struct conn *
victim(const struct conns *cs)
{
    struct conn *c = cs->arriving.head;

    if (cs->idle.head != NULL)
        return cs->idle.head;
    if (c != NULL && cs->now_ms - c->since_ms >= CONNS_SLOW_MS)
        return c;
    return NULL;
}

int
conns_make_room(struct conns *cs)
{
    struct conn *c;

    for (c = victim(cs); c != NULL; c = victim(cs))
        if (close_conn(cs, c, 0))
            return 1;
    return 0;
}

void
conns_close_waiting(struct conns *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        struct conn *c = cs->v[i];

        if (c->state == CONN_IDLE || c->state == CONN_ARRIVING)
            close_conn(cs, c, 0);
    }
}

int
conns_can_make_room(const struct conns *cs)
{
    return victim(cs) != NULL;
}

/* Drop our reference to a connection retired two sweeps ago. */
static void
drop(struct conns *cs, struct conn *c)
{
    struct conn *last = cs->v[--cs->n];

    last->index = c->index;
    cs->v[c->index] = last;
    cs->nretiring--;
    if (cs->newest == c)
        cs->newest = NULL;
    bufferevent_decref(c->bev); /* closes the socket */
    free(c);
}

long
conns_sweep(struct conns *cs, const struct conns_deadlines *d,
            unsigned long closed[CONNS_NREASONS])
{
    size_t i = 0;

    cs->tick++;
    cs->now_ms = util_mono_ms();
    closed[CONNS_CHUNK_OVERHEAD] += cs->refused;
    cs->refused = 0;
    while (i < cs->n) {
        struct conn *c = cs->v[i];

        if (freed_by_evhttp(c)) {
            retire(cs, c);
        } else if (c->state == CONN_ARRIVING) {
            long long age = cs->now_ms - c->since_ms;

            if (framing_in_head(&c->fr) && age >= d->header_ms) {
                if (close_conn(cs, c, 1))
                    closed[CONNS_HEADER_TIMEOUT]++;
            } else if (age >= d->request_ms) {
                if (close_conn(cs, c, 1))
                    closed[CONNS_REQUEST_TIMEOUT]++;
            }
        } else if (c->state == CONN_SENDING && c->since_ms == 0) {
            /* Dated by the first sweep that sees it (within 100 ms), so
             * that an answer costs no clock reading: most are written
             * before any sweep. */
            c->since_ms = cs->now_ms;
        } else if (c->state == CONN_SENDING &&
                   cs->now_ms - c->since_ms >= d->response_ms) {
            if (close_conn(cs, c, 1))
                closed[CONNS_RESPONSE_TIMEOUT]++;
        } else if (c->state == CONN_RETIRED && cs->tick - c->retired_at >= 2) {
            drop(cs, c); /* v[i] is now another one: look at it */
            continue;
        }
        i++;
    }
    shrink(cs);
    memtrim_sweep(cs->now_ms);
    return conns_open(cs);
}
