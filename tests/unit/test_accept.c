/* SPDX-License-Identifier: MIT */
/*
 * test_accept.c - a lane's accepts (host/accept.c), on two lanes built
 * by hand (lanedef.h) with real listeners on a unix socket: accept
 * balancing between them, the pause after an accept() failure, and the
 * listeners turned off while draining.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "accept.h"
#include "conns.h"
#include "lanedef.h"
#include "loop.h"
#include "refusal.h"
#include "stats.h"
#include "util.h"

struct pair {
    struct bufferevent *bevs[32]; /* what accept_make_bev gave (evhttp's) */
    int nbevs;
    struct lane *lane[2];
    struct lane *peers[2];
    int fd;
    char path[108];
};

static struct pair *current; /* the test's, for take() */

static struct lane *
make_lane(struct pair *p, int i)
{
    struct lane *w = calloc(1, sizeof(*w));

    assert_non_null(w);
    w->index = i;
    w->loop = loop_new();
    assert_non_null(w->loop);
    w->base = loop_base(w->loop);
    w->stats = calloc(1, sizeof(*w->stats));
    w->conns = conns_new(w->base, refusal_chunked, NULL);
    w->balance_ev = evtimer_new(w->base, accept_on_balance_recheck, w);
    w->backoff_ev = evtimer_new(w->base, accept_on_backoff_end, w);
    w->lev[0] = evconnlistener_new(w->base, NULL, NULL, 0, 0, p->fd);
    assert_non_null(w->stats);
    assert_non_null(w->conns);
    assert_non_null(w->lev[0]);
    w->nlev = 1;
    w->read_max = 65536;
    w->peers = p->peers;
    w->npeers = 2;
    atomic_init(&w->accepting, 0);
    atomic_init(&w->beat_ms, util_mono_ms());
    accept_update(w);
    return w;
}

static int
setup(void **state)
{
    struct pair *p = calloc(1, sizeof(*p));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    snprintf(p->path, sizeof(p->path), "/tmp/test_accept.%ld.sock",
             (long)getpid());
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p->path);
    unlink(p->path);
    p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (p->fd < 0 || bind(p->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(p->fd, 16) != 0)
        return -1;
    for (int i = 0; i < 2; i++)
        p->peers[i] = p->lane[i] = make_lane(p, i);
    current = p;
    *state = p;
    return 0;
}

static int
teardown(void **state)
{
    struct pair *p = *state;

    for (int i = 0; i < p->nbevs; i++)
        bufferevent_free(p->bevs[i]); /* the reference evhttp would drop */
    for (int i = 0; i < 2; i++) {
        struct lane *w = p->lane[i];
        evconnlistener_free(w->lev[0]);
        event_free(w->balance_ev);
        event_free(w->backoff_ev);
        conns_free(w->conns);
        loop_finish(w->loop);
        loop_free(w->loop);
        free(w->stats);
        free(w);
    }
    close(p->fd);
    unlink(p->path);
    free(p);
    return 0;
}

/* A connection accepted by lane w (as evhttp would ask for one). */
static struct bufferevent *
take(struct lane *w)
{
    struct bufferevent *bev = accept_make_bev(w->base, w);

    if (bev != NULL && current->nbevs < 32)
        current->bevs[current->nbevs++] = bev;
    return bev;
}

static long
accepting(const struct lane *w)
{
    return atomic_load(&w->accepting);
}

static void
test_a_lane_ahead_steps_back_until_the_other_takes_some(void **state)
{
    struct pair *p = *state;
    struct lane *a = p->lane[0], *b = p->lane[1];

    assert_true(accepting(a) && accepting(b));
    /* One connection ahead is within the slack... */
    assert_non_null(take(a));
    assert_true(accepting(a));
    /* ...two are not: a stops accepting, b (accepting) is left to it. */
    assert_non_null(take(a));
    assert_true(a->balance_paused);
    assert_false(accepting(a));
    assert_ptr_equal(a->watched, b);
    /* One more that was already on its way (a: 3), and b takes one
     * meanwhile (b: 1): a, still ahead, stays back. */
    assert_non_null(take(a));
    assert_non_null(take(b));
    accept_on_balance_recheck(-1, 0, a);
    assert_true(a->balance_paused);
    /* b took none since the last look (busy in a long call): a accepts
     * again rather than leave new clients waiting for b. */
    accept_on_balance_recheck(-1, 0, a);
    assert_false(a->balance_paused);
    assert_true(accepting(a));
    assert_int_equal(atomic_load(&a->stats->connections_total), 3);
    assert_int_equal(atomic_load(&a->stats->connections), 3);
    /* Once b is within the slack of a, a accepts. */
    a->balance_paused = 1;
    assert_non_null(take(b));
    accept_on_balance_recheck(-1, 0, a);
    assert_false(a->balance_paused);
}

static void
test_a_stuck_peer_is_left_out(void **state)
{
    struct pair *p = *state;
    struct lane *a = p->lane[0], *b = p->lane[1];

    /* b's sweep is late (a plugin call holds it): a accepts them all. */
    atomic_store(&b->beat_ms, util_mono_ms() - 10000);
    for (int i = 0; i < 4; i++)
        assert_non_null(take(a));
    assert_false(a->balance_paused);
    assert_true(accepting(a));
}

static void
test_accept_errors_pause_then_resume(void **state)
{
    struct pair *p = *state;
    struct lane *a = p->lane[0];

    accept_enter(a);
    errno = EMFILE;
    accept_on_error(a->lev[0], NULL);
    assert_int_equal(atomic_load(&a->stats->accept_errors), 1);
    assert_true(a->accept_backoff);
    assert_false(accepting(a));
    accept_on_backoff_end(-1, 0, a);
    assert_true(accepting(a));
    /* EINVAL: the socket was shut down (a drain), not counted. */
    errno = EINVAL;
    accept_on_error(a->lev[0], NULL);
    assert_int_equal(atomic_load(&a->stats->accept_errors), 1);
    assert_true(accepting(a));
    accept_enter(NULL);
}

static void
test_draining_turns_the_listeners_off(void **state)
{
    struct pair *p = *state;
    struct lane *a = p->lane[0];

    a->draining = 1;
    accept_update(a);
    assert_false(accepting(a));
    /* Nor does a connection it still gets make it balance. */
    assert_non_null(take(a));
    assert_non_null(take(a));
    assert_false(a->balance_paused);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_a_lane_ahead_steps_back_until_the_other_takes_some, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_a_stuck_peer_is_left_out, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_accept_errors_pause_then_resume,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_draining_turns_the_listeners_off,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
