/* SPDX-License-Identifier: MIT */
/*
 * loop.c - see loop.h: each event loop's runtime (posts from other
 * threads through an eventfd, one-shot timers kept on a list so that
 * teardown can run them).
 */
#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

/* A function posted to the loop from another thread. */
struct loop_post {
    struct loop_post *next;
    loop_fn fn;
    void *arg;
};

/* A timer on the loop; kept on a list so teardown can run it. */
struct loop_timer {
    struct loop_timer *prev, *next;
    struct loop *loop;
    struct event *ev;
    loop_fn fn;
    void *arg;
};

/* One event loop's runtime. */
struct loop {
    struct event_base *base;
    pthread_t thread;
    struct event *post_ev; /* reads `wake` */
    int wake;              /* eventfd: other threads wake the loop */
    pthread_mutex_t post_lock;
    struct loop_post *post_head, *post_tail;
    int closed;  /* under post_lock: posts are refused */
    int lock_ok; /* post_lock was initialised */
    struct loop_timer *timers_head, *timers_tail;
    long bodies; /* loop thread only: loop_bodies_add() */
};

static void
run_posts(struct loop *l)
{
    struct loop_post *p;

    for (;;) {
        pthread_mutex_lock(&l->post_lock);
        p = l->post_head;
        if (p != NULL) {
            l->post_head = p->next;
            if (l->post_head == NULL)
                l->post_tail = NULL;
        }
        pthread_mutex_unlock(&l->post_lock);
        if (p == NULL)
            return;
        p->fn(p->arg);
        free(p);
    }
}

static void
on_post(evutil_socket_t fd, short what, void *arg)
{
    uint64_t n;

    (void)what;
    /* Reset the eventfd's counter, then run what was posted. */
    while (read(fd, &n, sizeof(n)) < 0 && errno == EINTR)
        ;
    run_posts(arg);
}

struct loop_post *
loop_post_new(void)
{
    return malloc(sizeof(struct loop_post));
}

void
loop_post_free(struct loop_post *p)
{
    free(p);
}

int
loop_post(struct loop *l, loop_fn fn, void *arg)
{
    struct loop_post *p = loop_post_new();

    return p != NULL ? loop_post_made(l, p, fn, arg) : -1;
}

int
loop_post_made(struct loop *l, struct loop_post *p, loop_fn fn, void *arg)
{
    p->next = NULL;
    p->fn = fn;
    p->arg = arg;
    pthread_mutex_lock(&l->post_lock);
    if (l->closed) {
        pthread_mutex_unlock(&l->post_lock);
        free(p);
        return -1;
    }
    if (l->post_tail != NULL)
        l->post_tail->next = p;
    else
        l->post_head = p;
    l->post_tail = p;
    pthread_mutex_unlock(&l->post_lock);
    /* Other threads never touch the loop's base itself: they wake it
     * through its eventfd. */
    while (write(l->wake, &(uint64_t){1}, sizeof(uint64_t)) < 0 &&
           errno == EINTR)
        ;
    return 0;
}

static void
timer_unlink(struct loop_timer *t)
{
    struct loop *l = t->loop;

    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        l->timers_head = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
    else
        l->timers_tail = t->prev;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct loop_timer *t = arg;
    loop_fn fn = t->fn;
    void *fnarg = t->arg;

    (void)fd;
    (void)what;
    timer_unlink(t);
    event_free(t->ev);
    free(t);
    fn(fnarg);
}

struct loop_timer *
loop_timer_add(struct loop *l, unsigned ms, loop_fn fn, void *arg)
{
    struct loop_timer *t = calloc(1, sizeof(*t));
    struct timeval tv;

    if (t == NULL)
        return NULL;
    t->loop = l;
    t->fn = fn;
    t->arg = arg;
    t->ev = evtimer_new(l->base, on_timer, t);
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    if (t->ev == NULL || evtimer_add(t->ev, &tv) != 0) {
        if (t->ev != NULL)
            event_free(t->ev);
        free(t);
        return NULL;
    }
    t->prev = l->timers_tail;
    if (l->timers_tail != NULL)
        l->timers_tail->next = t;
    else
        l->timers_head = t;
    l->timers_tail = t;
    return t;
}

void
loop_timer_cancel(struct loop_timer *t)
{
    if (t == NULL)
        return;
    timer_unlink(t);
    event_free(t->ev);
    free(t);
}

int
loop_is_current(const struct loop *l)
{
    return l != NULL && pthread_equal(l->thread, pthread_self());
}

void
loop_bodies_add(struct loop *l, int n)
{
    l->bodies += n;
}

long
loop_bodies(const struct loop *l)
{
    return l->bodies;
}

void
loop_expire_timers(struct loop *l)
{
    while (l->timers_head != NULL)
        on_timer(-1, 0, l->timers_head);
}

void
loop_timer_first(struct loop_timer *t)
{
    struct loop *l = t->loop;

    if (l->timers_head == t)
        return;
    timer_unlink(t);
    t->prev = NULL;
    t->next = l->timers_head;
    if (l->timers_head != NULL)
        l->timers_head->prev = t;
    l->timers_head = t;
    if (l->timers_tail == NULL)
        l->timers_tail = t;
}

void
loop_finish(struct loop *l)
{
    for (;;) {
        struct loop_timer *t = l->timers_head;

        if (t != NULL) {
            on_timer(-1, 0, t);
            continue;
        }
        run_posts(l);
        pthread_mutex_lock(&l->post_lock);
        if (l->post_head == NULL && l->timers_head == NULL) {
            l->closed = 1;
            pthread_mutex_unlock(&l->post_lock);
            return;
        }
        pthread_mutex_unlock(&l->post_lock);
    }
}

/* A loop's base.  The epoll changelist folds the add/mod/del of one loop
 * iteration into as few epoll_ctl calls as possible; it is safe here only
 * because sockets are closed two sweeps after their events were deleted
 * (see conns.h).  Not EVENT_BASE_FLAG_NOLOCK: with it requests
 * hung in the integration tests; other threads only wake the base through
 * its eventfd anyway (loop_post).  Precise timers, so a plugin's timer of
 * N ms never fires early. */
static struct event_base *
new_loop_base(void)
{
    struct event_config *ec = event_config_new();
    struct event_base *base;

    if (ec == NULL)
        return NULL;
    event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER |
                                  EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(ec);
    event_config_free(ec);
    return base;
}

struct loop *
loop_new(void)
{
    struct loop *l = calloc(1, sizeof(*l));

    if (l == NULL)
        return NULL;
    l->wake = -1;
    if (pthread_mutex_init(&l->post_lock, NULL) != 0)
        goto fail;
    l->lock_ok = 1;
    l->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->wake < 0)
        goto fail;
    l->base = new_loop_base();
    if (l->base == NULL)
        goto fail;
    l->post_ev = event_new(l->base, l->wake, EV_READ | EV_PERSIST, on_post, l);
    if (l->post_ev == NULL || event_add(l->post_ev, NULL) != 0)
        goto fail;
    l->thread = pthread_self();
    return l;
fail:
    loop_free(l);
    return NULL;
}

struct event_base *
loop_base(const struct loop *l)
{
    return l->base;
}

void
loop_enter(struct loop *l)
{
    l->thread = pthread_self();
}

void
loop_free(struct loop *l)
{
    if (l == NULL)
        return;
    if (l->post_ev != NULL)
        event_free(l->post_ev);
    if (l->base != NULL)
        event_base_free(l->base);
    if (l->lock_ok)
        pthread_mutex_destroy(&l->post_lock);
    if (l->wake >= 0)
        close(l->wake);
    free(l);
}
