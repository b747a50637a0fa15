/*
 * loop.h - what dispatch needs from an event loop, without libevent types:
 * run a function on the loop from any thread, and one-shot timers on it.
 * Implemented by http.c for each worker loop.
 */
#ifndef HOST_LOOP_H
#define HOST_LOOP_H

struct loop;
struct loop_timer;

typedef void (*loop_fn)(void *arg);

/* Any thread: run fn(arg) on the loop's thread soon.  -1 on ENOMEM. */
int loop_post(struct loop *l, loop_fn fn, void *arg);

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

#endif
