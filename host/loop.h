/* SPDX-License-Identifier: MIT */
/*
 * loop.h - one event loop's runtime (loop.c).  What dispatch needs from
 * it, without libevent types: run a function on the loop from any thread,
 * and one-shot timers on it; and, below, the owning thread's side.
 */
#ifndef HOST_LOOP_H
#define HOST_LOOP_H

struct loop;
struct loop_timer;

typedef void (*loop_fn)(void *arg);

/* Any thread: run fn(arg) on the loop's thread soon.  -1 on ENOMEM. */
int loop_post(struct loop *l, loop_fn fn, void *arg);

/* A post made ahead (loop_post_new, any thread; NULL on ENOMEM), for a
 * post that must not fail later: loop_post_made() then takes it and
 * cannot run out of memory (-1 only once the loop is torn down; the post
 * is freed then too).  One not posted goes with loop_post_free(). */
struct loop_post;
struct loop_post *loop_post_new(void);
int loop_post_made(struct loop *l, struct loop_post *p, loop_fn fn, void *arg);
void loop_post_free(struct loop_post *p);

/* Loop thread: run fn(arg) once after `ms`.  Timers still pending when
 * the loop is torn down run then, at once, in the order they were set.
 * NULL on ENOMEM. */
struct loop_timer *loop_timer_add(struct loop *l, unsigned ms, loop_fn fn,
                                  void *arg);

/* Loop thread: run t before the other pending timers when they are all
 * run early (at a shutdown timeout or at teardown); for deadlines. */
void loop_timer_first(struct loop_timer *t);

/* Loop thread: cancel a pending timer (it never runs) and free it. */
void loop_timer_cancel(struct loop_timer *t);

/* Whether the caller runs on the loop's thread. */
int loop_is_current(const struct loop *l);

/* Loop thread: count a request body of the loop begun (+1) or answered
 * (-1), those between plugins (subcall.c) among them: a stopping loop
 * waits for them (lane.c), since a call of one may still be queued for a
 * concurrency cap another loop hands over. */
void loop_bodies_add(struct loop *l, int n);
long loop_bodies(const struct loop *l);

/* ---- the owning thread's side ---- */

struct event_base;

/* A loop with its own event_base (precise timers, epoll changelist; see
 * loop.c), owned by the calling thread until loop_enter.  NULL on
 * failure. */
struct loop *loop_new(void);

/* Its event_base, for the events of whatever runs on it. */
struct event_base *loop_base(const struct loop *l);

/* The calling thread runs the loop from now on (loop_is_current). */
void loop_enter(struct loop *l);

/* Loop thread: run every pending timer now, deadlines first (those set
 * with loop_timer_first), in the order they were set. */
void loop_expire_timers(struct loop *l);

/* After the loop stopped: run what is still pending (timers at once, then
 * posts) until nothing is left, then refuse further posts. */
void loop_finish(struct loop *l);

/* Free it and its base, after every event on the base was freed (NULL:
 * nothing). */
void loop_free(struct loop *l);

#endif
