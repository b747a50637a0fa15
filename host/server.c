/* SPDX-License-Identifier: MIT */
/*
 * server.c - see server.h.
 */
#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "buf.h"
#include "fdtable.h"
#include "generation.h"
#include "lane.h"
#include "log.h"
#include "notify.h"
#include "reload.h"
#include "reloader.h"
#include "shared.h"
#include "stall.h"
#include "stats.h"
#include "util.h"
#include "watchdog.h"

/* The signals the worker handles (the first three stop it), and those
 * held while it starts. */
static const int handled[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1};
#define NHANDLED (sizeof(handled) / sizeof(handled[0]))

struct server {
    struct event_base *base;        /* main thread: signals */
    struct stats *stats;            /* one per worker, in the shared mapping */
    const struct worker_ends *ends; /* what the supervisor handed over */
    int replacing; /* asked the supervisor for a new worker (stall) */
    struct reload_opts opts;
    struct generation *gen; /* current (the server's own reference) */
    unsigned long next_id;
    struct lane **lanes;
    int nlanes;
    long conn_cap; /* connections the descriptor limit allows (0: any) */
    int stopping;
    struct event *sigev[NHANDLED]; /* one per handled[] signal */
    struct reloader *reloader;     /* builds the next generation on SIGHUP */
    int reload_again;              /* a SIGHUP came during the running build */
    struct watchdog *watchdog;     /* WATCHDOG=1 pings, when systemd asks */
    struct stall *stall;           /* reports loops kept by plugin code */
    long long stop_ms;             /* when the shutdown began (util_mono_ms) */
    int stop_timeout_ms;           /* its shutdown_timeout */
};

/* After the drain's shutdown_timeout, how long the loops have to end
 * (answering what is still open, closing connections) before one that has
 * not is taken for stuck in plugin code. */
#define STUCK_GRACE_MS 1000

/* READY=1 to the service manager, with what serves now (and `note`). */
static void
notify_serving(const struct server *s, const char *note)
{
    char status[256];

    snprintf(status, sizeof(status),
             "generation %lu serving on %d loop(s); %lu worker restart(s)%s%s",
             s->gen->id, s->nlanes, s->ends->restarts, note != NULL ? "; " : "",
             note != NULL ? note : "");
    notify_ready(status);
}

/* Begin the shutdown; `linger` for a replacement (lane_stop). */
static void
begin_stop(struct server *s, const char *why, int linger)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    s->stop_ms = util_mono_ms();
    s->stop_timeout_ms = s->gen->cfg->shutdown_timeout_ms;
    /* STOPPING=1 is the supervisor's: a replaced worker stops while the
     * service goes on. */
    watchdog_stop(s->watchdog);
    stall_stop(s->stall); /* a loop done draining is not stalled */
    stats_set_global(s->gen->id, 0, 1);
    log_info("%s: shutting down (in-flight requests get up to %.1f s)", why,
             s->gen->cfg->shutdown_timeout_ms / 1000.0);
    for (int i = 0; i < s->nlanes; i++)
        lane_stop(s->lanes[i], s->gen->cfg->shutdown_timeout_ms, linger);
    /* The loops stop accepting (a draining loop's listener is off); the
     * listening socket is the supervisor's, which another worker may be
     * serving from, and which the supervisor shuts when the service
     * stops. */
    /* The lanes exit by themselves; leave the control loop so main can
     * join them.  Removing the signal events restores the default action,
     * so a second SIGINT/SIGTERM/SIGQUIT ends the process at once. */
    for (int i = 0; i < 3; i++)
        if (s->sigev[i] != NULL)
            event_del(s->sigev[i]);
    event_base_loopbreak(s->base);
}

/* A shutdown whose loops did not all end: `stuck[i]` is 1 for each loop
 * still running (in plugin code that does not return).  Log one line
 * naming what each runs, remove the pidfile, and end the process with
 * status 1 now (or SIGABRT, for a core, if the supervisor replaced this
 * worker for a stall).
 *
 * Nothing else may be undone, since a stuck thread still runs plugin code
 * and may return from it at any moment: it would then touch its worker
 * (event base, connections, stats), its generation (the plugin's mapped
 * code and state, the registry, the config) and the log.  So no worker or
 * generation is freed, no plugin is finalised or unloaded, and _exit()
 * rather than exit(): exit() would run atexit handlers and the destructors
 * of every loaded library, the stuck plugin's among them, under its
 * running code, and in sanitizer builds a leak check reporting all that
 * was deliberately left.  The log is written with write(2) (nothing to
 * flush); stdio is not flushed, since the stuck thread may hold a
 * stream's lock. */
static void
exit_stuck(struct server *s, const unsigned char *stuck)
{
    static const char fallback[] = "shutdown: a loop is stuck in plugin "
                                   "code; exiting with status 1";
    struct buf b = BUF_INIT;
    char what[256];
    int first = 1;

    buf_printf(&b, "shutdown: ");
    for (int i = 0; i < s->nlanes; i++) {
        if (!stuck[i])
            continue;
        stall_describe(&s->stats[i].now, what, sizeof(what));
        buf_printf(&b, "%sloop %d stuck for %.1f s %s", first ? "" : "; ",
                   lane_index(s->lanes[i]),
                   (double)lane_beat_age_ms(s->lanes[i]) / 1e3, what);
        first = 0;
    }
    buf_printf(&b,
               " after shutdown_timeout (%.1f s) and %.1f s more; %s without "
               "finalising plugins",
               s->stop_timeout_ms / 1e3, STUCK_GRACE_MS / 1e3,
               s->replacing ? "ending with SIGABRT (a core of the stuck stack)"
                            : "exiting with status 1");
    log_error("%s", buf_ok(&b) ? buf_cstr(&b) : fallback);
    if (!s->replacing) /* else another worker serves: not the service's */
        notify_status("a loop stuck in plugin code: exiting with status 1");
    if (s->replacing) {
        /* Replaced for this stall: a core shows the stuck stack. */
        signal(SIGABRT, SIG_DFL);
        raise(SIGABRT);
    }
    _exit(1);
}

/* Join every loop; those still running STUCK_GRACE_MS after the drain's
 * deadline end the process (exit_stuck()).  Main thread, after
 * begin_stop(). */
static void
join_loops(struct server *s)
{
    long long deadline =
        s->stop_ms + s->stop_timeout_ms + (long long)STUCK_GRACE_MS;
    unsigned char stuck[CONFIG_MAX_THREADS] = {0};
    int nstuck = 0;

    for (int i = 0; i < s->nlanes && i < CONFIG_MAX_THREADS; i++) {
        if (lane_join_until(s->lanes[i], deadline) != 0) {
            stuck[i] = 1;
            nstuck++;
        }
    }
    if (nstuck > 0)
        exit_stuck(s, stuck);
}

/* Where the last reference of a generation sends it: the main thread,
 * where plugins' fini runs.  After a shutdown that had to give up on calls
 * still held by plugins, reap_base is NULL and such generations are left
 * alone (finalising them could unload code a plugin thread still runs). */
static pthread_mutex_t reap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct event_base *reap_base;

static void
reap_on_main(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    generation_destroy(arg);
}

static void
reap(struct generation *g)
{
    struct timeval now = {0, 0};

    pthread_mutex_lock(&reap_lock);
    if (reap_base != NULL &&
        event_base_once(reap_base, -1, EV_TIMEOUT, reap_on_main, g, &now) != 0)
        log_error("generation %lu: cannot queue its finalisation", g->id);
    pthread_mutex_unlock(&reap_lock);
}

static void
set_reap_base(struct event_base *base)
{
    pthread_mutex_lock(&reap_lock);
    reap_base = base;
    pthread_mutex_unlock(&reap_lock);
}

/* After the loops ended: plugins' own threads may still hold deferred
 * calls.  Wait for them (at most timeout_ms) until only `expected_refs`
 * references to the current generation are left and no other generation
 * exists, so that every fini runs here, after its last call.  1 when all
 * are done. */
static int
wait_for_plugins(struct server *s, long expected_refs, int timeout_ms)
{
    long long t0 = util_mono_ms();

    for (;;) {
        event_base_loop(s->base, EVLOOP_NONBLOCK);
        if (generation_live() == 1 &&
            atomic_load(&s->gen->refs) <= expected_refs)
            return 1;
        if (util_mono_ms() - t0 >= timeout_ms)
            return 0;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
}

static int
same_path(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* The error log and access log of a new generation. */
static void
apply_log_files(const struct config *old, const struct config *next)
{
    /* The first generation's log_file is the supervisor's, inherited: it
     * opened it (or said once why not) before forking this process. */
    if (old != NULL && !same_path(old->log_file, next->log_file)) {
        if (next->log_file == NULL)
            log_warn("log_file removed: keeping %s until restart",
                     old->log_file);
        else if (log_open_file(next->log_file) != 0)
            log_error("log_file %s: %s", next->log_file, strerror(errno));
    }
    if (old == NULL || !same_path(old->access_log, next->access_log)) {
        if (log_access_open(next->access_log) != 0)
            log_error("access_log %s: %s", next->access_log, strerror(errno));
    }
}

/* Tell the supervisor (one byte on the control pipe). */
static void
tell_supervisor(const struct server *s, char msg)
{
    ssize_t n;

    do
        n = write(s->ends->ctl_fd, &msg, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        log_error("cannot reach the supervisor: %s",
                  n < 0 ? strerror(errno) : "short write");
}

/* The stall watchdog: a loop stuck past stall_restart. */
static void
on_stall_restart(void *arg, int loop, long long age_ms)
{
    struct server *s = arg;

    log_error("loop %d stalled for %.1f s (stall_restart %.1f s): asking "
              "the supervisor for a new worker; this one drains its other "
              "loops, then ends with SIGABRT",
              loop, (double)age_ms / 1e3, s->gen->cfg->stall_restart_ms / 1e3);
    s->replacing = 1;
    tell_supervisor(s, SHARED_MSG_STALL);
}

/* Start building the next generation on the reload thread (the main
 * thread goes on handling signals meanwhile); on_built() gets it. */
static void
start_reload(struct server *s, const char *why)
{
    log_info("%s: reloading %s", why, s->opts.config_file);
    notify_reloading("reloading");
    if (reloader_start(s->reloader, s->gen, s->next_id) != 0) {
        stats_set_global(s->gen->id, -1, 0); /* logged */
        notify_serving(s, "the last reload failed");
    }
}

/* The end of a build (main thread): swap the new generation in for new
 * requests on every loop, or keep the old one if the build failed (its
 * reason is logged).  During a shutdown a new generation never serves: it
 * is finalised here without serving.  Then one more build if SIGHUPs came
 * during this one. */
static void
on_built(struct generation *next, double ms, void *arg)
{
    struct server *s = arg;
    struct generation *old = s->gen;

    if (s->stopping) {
        if (next != NULL) {
            log_info("reload: generation %lu was built during the shutdown; "
                     "finalising it without serving",
                     next->id);
            generation_destroy(next); /* no reference but the build's */
        }
        return;
    }
    if (next == NULL) {
        stats_set_global(old->id, -1, 0);
    } else {
        s->next_id = next->id + 1;
        if (!s->opts.verbose)
            log_set_level(next->cfg->log_level);
        log_set_format(next->cfg->log_format);
        apply_log_files(old->cfg, next->cfg);
        if (next->cfg->max_connections != old->cfg->max_connections)
            fd_table_reserve(next->cfg, s->conn_cap);
        for (int i = 0; i < s->nlanes; i++)
            lane_set_generation(s->lanes[i], next);
        s->gen = next;
        stall_set_timeout(s->stall, next->cfg->stall_timeout_ms);
        stall_set_restart(s->stall, next->cfg->stall_restart_ms,
                          on_stall_restart, s);
        watchdog_set_stall(s->watchdog, next->cfg->stall_timeout_ms);
        reload_log(old, next, ms);
        shared_save_config(s->ends->shared, next->cfg->text,
                           next->cfg->text_len);
        stats_set_global(next->id, 1, 0);
        generation_unref(old); /* finalised once its last call finished */
    }
    notify_serving(s, next == NULL ? "the last reload failed" : NULL);
    if (s->reload_again) {
        s->reload_again = 0;
        start_reload(s, "SIGHUP (during the last build)");
    }
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct server *s = arg;

    (void)what;
    switch (sig) {
    case SIGINT:
        begin_stop(s, "SIGINT", 0);
        break;
    case SIGTERM:
        begin_stop(s, "SIGTERM", 0);
        break;
    case SIGQUIT:
        /* From the supervisor: a new worker serves in this one's place. */
        begin_stop(
            s, s->replacing ? "SIGQUIT (replaced: a loop stalled)" : "SIGQUIT",
            1);
        break;
    case SIGHUP:
        if (s->stopping)
            break;
        if (!reloader_busy(s->reloader)) {
            start_reload(s, "SIGHUP");
            break;
        }
        /* The running build may have read the config already: one more
         * follows it, however many SIGHUPs come meanwhile. */
        s->reload_again = 1;
        log_info("SIGHUP: generation %lu is still being built; one more "
                 "reload follows it",
                 s->next_id);
        break;
    case SIGUSR1:
        if (log_reopen() == 0)
            log_info("SIGUSR1: log files reopened");
        break;
    default:
        break;
    }
}

static volatile sig_atomic_t held[NHANDLED];

static void
hold(int sig)
{
    for (size_t i = 0; i < NHANDLED; i++)
        if (handled[i] == sig)
            held[i] = 1;
}

void
server_hold_signals(void)
{
    struct sigaction sa;
    sigset_t set;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = hold;
    sigemptyset(&sa.sa_mask);
    sigemptyset(&set);
    for (size_t i = 0; i < NHANDLED; i++) {
        sigaction(handled[i], &sa, NULL);
        sigaddset(&set, handled[i]);
    }
    /* SIGUSR2 is the supervisor's (an upgrade); `systemctl kill` without
     * --kill-whom=main sends it here too. */
    signal(SIGUSR2, SIG_IGN);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGABRT);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* Before the signal events are made: the handled signals blocked and
 * back to their default actions, which is what libevent restores when an
 * event is removed (a second SIGTERM during the drain then ends the
 * process at once, as it should). */
static void
release_held_signals(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < NHANDLED; i++)
        sigaddset(set, handled[i]);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    for (size_t i = 0; i < NHANDLED; i++)
        signal(handled[i], SIG_DFL);
}

/* Once the signal events exist: act on those held while the worker
 * started (raise() reaches libevent's handler now), and let the rest in. */
static void
replay_held_signals(const sigset_t *set)
{
    for (size_t i = 0; i < NHANDLED; i++) {
        if (held[i]) {
            held[i] = 0;
            raise(handled[i]);
        }
    }
    pthread_sigmask(SIG_UNBLOCK, set, NULL);
}

int
server_run(struct generation *gen, const struct reload_opts *opts,
           const struct worker_ends *ends)
{
    struct event **sigev;
    struct server s;
    sigset_t all, old, blocked;
    int rc = 1, started = 0, finalise = 1, abandoned = 0;

    memset(&s, 0, sizeof(s));
    s.gen = gen;
    s.opts = *opts;
    s.next_id = gen->id + 1;
    s.ends = ends;
    sigev = s.sigev;
    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads() != 0) {
        log_error("libevent has no pthreads support");
        goto out;
    }
    s.base = event_base_new();
    if (s.base == NULL) {
        log_error("cannot create the control event loop");
        goto out;
    }
    s.reloader = reloader_new(s.base, &s.opts, on_built, &s);
    if (s.reloader == NULL)
        goto out;
    release_held_signals(&blocked);
    for (size_t i = 0; i < NHANDLED; i++) {
        sigev[i] = evsignal_new(s.base, handled[i], on_signal, &s);
        if (sigev[i] == NULL || event_add(sigev[i], NULL) != 0) {
            log_error("cannot handle signal %d", handled[i]);
            goto out;
        }
    }
    replay_held_signals(&blocked);
    s.conn_cap = fd_connection_cap(gen->cfg);
    fd_table_reserve(gen->cfg, s.conn_cap);
    /* Non-blocking, whatever another holder of the socket (systemd, the
     * process that passed it) did to the shared file description: a loop
     * accepts until EAGAIN, and a blocking accept would hold it. */
    for (int i = 0; i < ends->nlisten; i++)
        fcntl(ends->listen_fds[i], F_SETFL,
              fcntl(ends->listen_fds[i], F_GETFL) | O_NONBLOCK);
    set_reap_base(s.base);
    generation_set_reaper(reap);
    apply_log_files(NULL, gen->cfg);
    for (int i = 0; gen->auth == NULL && i < gen->cfg->nlistens; i++) {
        const struct address *a = &gen->cfg->listens[i];

        if (!address_is_local(a))
            log_warn("listening on %s beyond loopback without "
                     "authentication: set [server] auth_file",
                     a->host);
    }
    stats_set_global(gen->id, 0, 0);
    {
        unsigned long restarts[RESTART_NREASONS];

        shared_restarts(ends->shared, restarts);
        stats_set_restarts(restarts);
    }
    s.lanes = calloc((size_t)gen->cfg->threads, sizeof(*s.lanes));
    s.stats = shared_stats(ends->shared, 0);
    if (s.lanes == NULL) {
        log_error("out of memory");
        goto out;
    }
    /* Workers never take signals: they inherit this mask. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    /* All loops exist before any starts: each knows the others (accept
     * balancing). */
    for (int i = 0; i < gen->cfg->threads; i++) {
        s.lanes[i] =
            lane_new(i, ends->listen_fds, ends->nlisten, gen, &s.stats[i],
                     s.lanes, gen->cfg->threads, s.conn_cap);
        if (s.lanes[i] == NULL)
            break;
        stats_register(&s.stats[i]);
        s.nlanes++;
    }
    for (int i = 0; s.nlanes == gen->cfg->threads && i < s.nlanes; i++) {
        if (lane_start(s.lanes[i]) != 0)
            break;
        started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (started != gen->cfg->threads) {
        begin_stop(&s, "startup failure", 0);
        goto out;
    }
    /* Every loop runs: ready for the supervisor and systemd, then the
     * watchdog pings. */
    shared_save_config(ends->shared, gen->cfg->text, gen->cfg->text_len);
    tell_supervisor(&s, SHARED_MSG_READY);
    notify_serving(&s, NULL);
    s.watchdog =
        watchdog_start(s.base, s.lanes, s.nlanes, gen->cfg->stall_timeout_ms);
    s.stall = stall_start(s.base, s.lanes, s.stats, s.nlanes,
                          gen->cfg->stall_timeout_ms);
    stall_set_restart(s.stall, gen->cfg->stall_restart_ms, on_stall_restart,
                      &s);
    event_base_dispatch(s.base);
    rc = 0;
out:
    if (!s.stopping && s.nlanes > 0)
        begin_stop(&s, "exit", 0);
    /* All loops end before any is freed: a loop rendering /metrics reads
     * the others' counters.  One kept by plugin code past the drain never
     * ends: see exit_stuck(). */
    join_loops(&s);
    /* Plugins' threads may still answer deferred calls, which posts to
     * their loops: wait for them before any loop is freed.  If they do not
     * finish, leave the loops and generations alone (a leak at exit is
     * better than freeing what a plugin thread may still touch). */
    if (s.base != NULL && s.gen != NULL) {
        /* The server's reference and each loop's. */
        if (wait_for_plugins(&s, 1 + s.nlanes,
                             s.gen->cfg->shutdown_timeout_ms)) {
            generation_set_reaper(NULL); /* no one else drops references */
        } else {
            log_warn("plugins still hold deferred calls after "
                     "shutdown_timeout; exiting without finalising them");
            finalise = 0;
        }
    }
    /* A reload build that ended during the drain was finalised by
     * on_built() (while wait_for_plugins ran the loop) or is now.  One
     * still running is not waited for: see the end. */
    if (s.reloader != NULL && reloader_settle(s.reloader) != 0) {
        abandoned = 1;
        finalise = 0; /* its thread reads s.gen, which the loops hold */
    }
    stats_unregister_all();
    for (int i = 0; finalise && i < s.nlanes; i++)
        lane_free(s.lanes[i]);
    set_reap_base(NULL);
    free(s.lanes);
    for (size_t i = 0; i < NHANDLED; i++)
        if (sigev[i] != NULL)
            event_free(sigev[i]);
    reloader_free(s.reloader); /* left alone while its build runs */
    watchdog_free(s.watchdog);
    stall_free(s.stall);
    if (s.base != NULL && !abandoned)
        event_base_free(s.base);
    if (finalise)
        generation_unref(s.gen);
    if (rc == 0)
        log_info("stopped");
    log_close();
    if (abandoned) {
        /* The abandoned build's thread is inside a plugin's init, and
         * when that returns it reads s.gen's config, writes the reloader
         * and activates an event on s.base: none of them was freed above.
         * Returning would run exit(): atexit handlers, the destructors of
         * every loaded library (that plugin's too, under its running
         * init) and, in sanitizer builds, a leak check that would report
         * the abandoned build.  _exit() ends the process without them,
         * with the same status.  The log is written with write(2), so
         * nothing of it is buffered; stdio is not flushed, since the
         * stuck thread may hold a stream's lock. */
        _exit(rc);
    }
    return rc;
}
