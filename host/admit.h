/* SPDX-License-Identifier: MIT */
/*
 * admit.h - admission control: the limits a call passes after the
 * request's authentication and allow-list, in this order (README,
 * "Limits"):
 *
 *   rate_per_peer, rate_per_credential   before the call's hooks
 *   the method's concurrency cap          after them, before its handler
 *
 * Each call counts (batch members and notifications alike).  A refused
 * call is answered -32005 "Limit exceeded" with data naming the limit.
 *
 * One `struct admission` per generation, built with it from its config
 * (generation.c) and read-only after: its rates are lock-free tables
 * shared by every loop, and kept across a reload that leaves the rate,
 * the burst and rate_keys as they were (a changed limit starts afresh).
 * Concurrency caps are per generation: a call holds its slot in the cap
 * of the generation it runs in.
 */
#ifndef HOST_ADMIT_H
#define HOST_ADMIT_H

#include <stddef.h>
#include <stdint.h>

struct call;
struct generation;
struct limit_cap;
struct limit_rate;
struct netlist;

/* The limits, as named in answers and in rpchost_rpc_limited_total. */
enum admit_limit {
    ADMIT_RATE_PEER,
    ADMIT_RATE_CREDENTIAL,
    ADMIT_CONCURRENCY,
    ADMIT_NLIMITS
};

/* "rate_per_peer", "rate_per_credential", "concurrency". */
const char *admit_limit_name(int limit);

struct admission {
    struct limit_rate *peer;       /* NULL: no rate_per_peer */
    struct limit_rate *credential; /* NULL: no rate_per_credential */
    struct netlist *proxies;       /* NULL: no trusted_proxies */
    struct limit_cap *caps;        /* the methods' caps (struct method.cap) */
    size_t ncaps;
};

/* Build g->adm from g->cfg once g's methods are registered: rates, the
 * trusted proxies, and a cap for every SERIAL method (one per set_serial
 * plugin) and every method in method_concurrency, which names only
 * existing methods (else "FILE:LINE: ..." in err).  Sets g->rated when a
 * rate applies.  0, or -1 with err. */
int admit_build(struct generation *g, char *err, size_t errlen);

/* Free what admit_build made (a rate table only with its last user). */
void admit_free(struct admission *a);

/* Loop thread, before the call's hooks: take from the call's rates.  -1
 * when admitted; else the limit that refused it, with the nanoseconds
 * until it would pass in *retry_ns. */
int admit_rate(struct call *c, int64_t *retry_ns);

/* Loop thread: answer c -32005 "Limit exceeded" for `limit`, with data
 * {"limit":NAME} and, for a rate, "retry_after" in seconds (retry_ns); a
 * single call refused makes the body's status 429.  Nothing when c was
 * answered already. */
void admit_refuse(struct call *c, int limit, int64_t retry_ns);

/* Loop thread: give back c's concurrency slot; the first call waiting
 * for it then holds it and runs on its own loop (dispatch_unqueued). */
void admit_leave_cap(struct call *c);

/* The rate key of a peer as the context writes it ("ADDR:PORT",
 * "[V6]:PORT", a forwarded "ADDR"): the address alone; of one without
 * an address ("unix:uid=N", "plugin:NAME"), the whole text. */
uint64_t admit_peer_key(const char *peer);

#endif
