/* SPDX-License-Identifier: MIT */
/*
 * supervisor.c - see supervisor.h.  The worker processes themselves are
 * workers.c's (supdef.h: the state both share).
 *
 * One thread and one poll(2) loop: a signalfd for the signals, one pipe
 * per worker for what it says, and the timers (a restart's backoff, a
 * draining worker's deadline) as poll's timeout.
 */
#define _GNU_SOURCE
#include "supervisor.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "pidfile.h"
#include "supdef.h"

/* ---- signals ---- */

static void
begin_stop(struct sup *s, int sig)
{
    if (s->stopping) {
        /* A second signal: the workers' default action (they end now).
         * Not one sent with the first (two scripts, a unit and a user):
         * the kernel would have merged them in one process. */
        if (now_ms() - s->stop_ms < SECOND_SIGNAL_MS)
            return;
        workers_forward(s, sig);
        for (int i = 0; i < s->nkids; i++)
            if (s->kids[i].state == KID_DRAINING)
                kill(s->kids[i].pid, sig);
        return;
    }
    s->stopping = 1;
    s->stop_ms = now_ms();
    s->restart_at_ms = 0;
    notify_stopping("stopping: finishing in-flight requests");
    /* New clients are refused at once (a load balancer fails over) rather
     * than queued until the exit; but systemd's socket is left as it is:
     * systemd holds it for the next start, and its clients wait. */
    listeners_shutdown(s->ls);
    for (int i = 0; i < s->nkids; i++)
        if (s->kids[i].state != KID_DRAINING)
            workers_drain(s, &s->kids[i], sig);
    if (s->nkids == 0)
        log_info("%s: no worker runs; stopped", strsignal(sig));
}

/* The sockets for config `c`: the current set if its listen addresses
 * are the same, else a new set (sharing the current one's sockets for
 * the addresses both have); NULL logged. */
static struct listeners *
sockets_for(struct sup *s, const struct config *c)
{
    struct listeners *ls;

    if (config_same_listens(c, s->cfg))
        return s->ls;
    ls = listeners_open(c, s->ls);
    if (ls == NULL)
        log_error("SIGHUP: keeping the listen addresses in use");
    return ls;
}

/* SIGHUP while no worker serves (a crash loop's backoff): the new config
 * is the one to start from, now. */
static void
hup_while_down(struct sup *s, struct config *c)
{
    struct listeners *ls = sockets_for(s, c);

    if (ls == NULL) {
        config_free(c);
        return;
    }
    if (ls != s->ls) {
        char text[1024];

        workers_use_listeners(s, ls);
        workers_listen_text(s->ls, text, sizeof(text));
        log_info("listening on %s", text);
    }
    log_info("SIGHUP: no worker serves; starting one on the new config now");
    config_free(s->cfg);
    s->cfg = c;
    s->quick_deaths = 0;
    s->restart_at_ms = 0;
    if (workers_start(s, s->cfg, s->ls, s->restart_reason) == NULL)
        s->restart_at_ms = now_ms() + RESTART_BACKOFF_MAX_MS;
}

/* SIGHUP: a changed listen or threads needs a new worker; anything else
 * the worker reloads in place. */
static void
on_hup(struct sup *s)
{
    struct config *c = NULL;
    struct listeners *ls;
    struct kid *k;
    char err[1024], text[1024] = "";
    size_t off = 0;

    c = reload_config(s->opts, NULL, 0, err, sizeof(err), NULL);
    if (c == NULL) {
        if (workers_count(s, KID_SERVING) + workers_count(s, KID_STARTING) == 0)
            log_error("SIGHUP: %s", err); /* no worker to say it */
        workers_forward(s, SIGHUP); /* the worker reports the error as ever */
        return;
    }
    /* The worker switches when its new generation serves. */
    log_set_format(c->log_format);
    if (c->log_file != NULL &&
        (s->cfg->log_file == NULL || strcmp(c->log_file, s->cfg->log_file)))
        log_open_file(c->log_file);
    if (c->listen_mode != s->cfg->listen_mode ||
        (c->listen_group == NULL) != (s->cfg->listen_group == NULL) ||
        (c->listen_group != NULL &&
         strcmp(c->listen_group, s->cfg->listen_group) != 0)) {
        /* On the files in use now (a new set for changed addresses gets
         * them when it is made). */
        listeners_apply_mode(s->ls, c);
        s->cfg->listen_mode = c->listen_mode;
        char *group = c->listen_group != NULL ? strdup(c->listen_group) : NULL;

        if (c->listen_group == NULL || group != NULL) {
            free(s->cfg->listen_group);
            s->cfg->listen_group = group;
        }
    }
    if (workers_count(s, KID_SERVING) + workers_count(s, KID_STARTING) == 0 &&
        s->restart_at_ms != 0) {
        hup_while_down(s, c);
        return;
    }
    if (c->threads == s->cfg->threads && config_same_listens(c, s->cfg)) {
        config_free(c);
        workers_forward(s, SIGHUP);
        return;
    }
    if (workers_count(s, KID_STARTING) > 0) {
        log_warn("SIGHUP: a worker is starting; send it again once it "
                 "serves");
        config_free(c);
        return;
    }
    ls = sockets_for(s, c);
    if (ls == NULL) {
        config_free(c);
        return;
    }
    for (int i = 0; i < c->nlistens; i++) {
        char one[256];

        address_text(&c->listens[i], one, sizeof(one));
        off +=
            snprintf(text + off, sizeof(text) - off, "%s%s", i ? " " : "", one);
        if (off >= sizeof(text))
            break;
    }
    log_info("SIGHUP: listen %s, threads %d: starting a new worker", text,
             c->threads);
    /* READY=1 comes from the new worker once it serves. */
    notify_reloading("reloading: a new worker for listen/threads");
    k = workers_start(s, c, ls, RESTART_RELOAD);
    if (k == NULL) {
        if (ls != s->ls)
            listeners_free(ls);
        config_free(c);
        notify_ready("the last reload failed"); /* RELOADING=1 ends */
        return;
    }
    /* The supervisor's once it serves (on_ready). */
    k->cfg = c;
    k->ls = ls;
}

/* SIGUSR2: run the binary on disk in this process (same pid), handing it
 * the listening socket, the workers (still its children) and the config
 * that serves (upgrade.h).  Returns only if that failed (logged). */
static void
reexec(struct sup *s)
{
    struct upgrade u;

    if (workers_count(s, KID_STARTING) > 0 || s->restart_at_ms != 0) {
        log_warn("SIGUSR2: a worker is starting; try again once it serves");
        return;
    }
    if (upgrade_check(s->exe) != 0)
        return; /* logged: the running binary goes on */
    memset(&u, 0, sizeof(u));
    for (int i = 0; i < s->ls->n; i++) {
        u.listen_fd[u.nlisten] = s->ls->s[i].fd;
        u.listen_systemd[u.nlisten++] = s->ls->s[i].systemd;
    }
    memcpy(u.restarts, s->restarts, sizeof(u.restarts));
    for (int i = 0; i < s->nkids && i < UPGRADE_MAX_WORKERS; i++) {
        u.pids[i] = s->kids[i].pid;
        u.draining[i] = s->kids[i].state == KID_DRAINING;
        u.nworkers++;
    }
    upgrade_exec(&u, s->cfg->text, s->cfg->text_len, s->exe, s->argv);
}

static void
on_signal(struct sup *s, int sig)
{
    switch (sig) {
    case SIGTERM:
    case SIGINT:
    case SIGQUIT: /* as nginx's: idle keep-alive clients get their time */
        begin_stop(s, sig);
        break;
    case SIGHUP:
        if (!s->stopping)
            on_hup(s);
        break;
    case SIGUSR1:
        log_reopen();
        workers_forward(s, SIGUSR1);
        break;
    case SIGUSR2:
        if (!s->stopping)
            reexec(s);
        break;
    case SIGCHLD:
        workers_reap(s);
        break;
    case SIGABRT:
        /* From outside (systemd's watchdog sends it to the main pid): the
         * core worth having is the worker's, whose loop is stuck. */
        log_error("SIGABRT: aborting the worker(s) for a core dump, then "
                  "exiting");
        for (int i = 0; i < s->nkids; i++) {
            kill(s->kids[i].pid, SIGABRT);
            /* SIGKILL if it has not ended in KILL_GRACE_MS (one still
             * starting has SIGABRT blocked). */
            s->kids[i].state = KID_DRAINING;
            s->kids[i].aborted = 1;
            s->kids[i].kill_ms = now_ms() + KILL_GRACE_MS;
        }
        if (!s->stopping) {
            s->stopping = 1;
            s->stop_ms = now_ms();
            s->restart_at_ms = 0;
        }
        s->exit_code = 128 + SIGABRT;
        break;
    default:
        break;
    }
}

/* ---- across a re-execution ---- */

/* After a re-execution: take what the previous image handed over. */
static void
adopt(struct sup *s)
{
    struct upgrade u;

    if (!upgrade_take(&u))
        return;
    for (int i = 0; i < u.nlisten; i++)
        listener_adopt(u.listen_fd[i], NULL, u.listen_systemd[i]);
    memcpy(s->restarts, u.restarts, sizeof(s->restarts));
    for (int r = 0; r < RESTART_NREASONS; r++)
        s->nrestarts += s->restarts[r];
    for (int i = 0; i < u.nworkers && s->nkids < MAX_KIDS; i++) {
        struct kid *k = &s->kids[s->nkids++];

        memset(k, 0, sizeof(*k));
        k->pid = u.pids[i];
        k->ctl = -1;
        /* A draining one goes on draining: never signalled again (a
         * second SIGTERM would cut its drain short). */
        k->state = u.draining[i] ? KID_DRAINING : KID_SERVING;
        k->kill_ms = now_ms() + s->cfg->shutdown_timeout_ms + ABORT_GRACE_MS;
        k->started_ms = now_ms() - RESTART_QUICK_MS;
        k->reason = -1;
    }
    s->ever_ready = s->nkids > 0;
}

/* ---- the loop ---- */

/* Deadlines that passed: a restart's backoff, a draining worker's. */
static void
run_timers(struct sup *s)
{
    long long now = now_ms();

    if (s->restart_at_ms != 0 && now >= s->restart_at_ms && !s->stopping) {
        s->restart_at_ms = 0;
        if (workers_start(s, s->cfg, s->ls, s->restart_reason) == NULL)
            s->restart_at_ms = now + RESTART_BACKOFF_MAX_MS;
    }
    for (int i = 0; i < s->nkids; i++) {
        struct kid *k = &s->kids[i];
        if (k->state != KID_DRAINING || now < k->kill_ms)
            continue;
        log_error("supervisor: worker %ld did not end %.1f s after its "
                  "drain began; %s",
                  (long)k->pid,
                  (s->cfg->shutdown_timeout_ms + ABORT_GRACE_MS) / 1e3,
                  k->aborted ? "SIGKILL" : "SIGABRT");
        kill(k->pid, k->aborted ? SIGKILL : SIGABRT);
        k->aborted = 1;
        k->kill_ms = now + KILL_GRACE_MS;
    }
}

static int
poll_timeout(const struct sup *s)
{
    long long next = -1, now = now_ms();

    if (s->restart_at_ms != 0)
        next = s->restart_at_ms;
    for (int i = 0; i < s->nkids; i++)
        if (s->kids[i].state == KID_DRAINING &&
            (next < 0 || s->kids[i].kill_ms < next))
            next = s->kids[i].kill_ms;
    if (next < 0)
        return -1;
    return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

static void
loop(struct sup *s)
{
    while (!s->stopping || s->nkids > 0) {
        struct pollfd pfd[MAX_KIDS + 1];
        struct kid *who[MAX_KIDS + 1];
        int n = 0;

        pfd[n].fd = s->sigfd;
        pfd[n].events = POLLIN;
        who[n++] = NULL;
        for (int i = 0; i < s->nkids; i++) {
            if (s->kids[i].ctl < 0)
                continue;
            pfd[n].fd = s->kids[i].ctl;
            pfd[n].events = POLLIN;
            who[n++] = &s->kids[i];
        }
        if (poll(pfd, (nfds_t)n, poll_timeout(s)) < 0 && errno != EINTR) {
            log_error("supervisor: poll: %s", strerror(errno));
            break;
        }
        /* Pipes before signals: a worker's last words come before its
         * death is handled (remove_kid moves entries). */
        for (int i = 1; i < n; i++)
            if (pfd[i].revents != 0)
                workers_read(s, who[i]);
        if (pfd[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(s->sigfd, &si, sizeof(si)) == sizeof(si))
                on_signal(s, (int)si.ssi_signo);
        }
        run_timers(s);
    }
}

int
supervisor_run(struct config *cfg, const struct reload_opts *opts,
               const char *exe, char *const *argv, supervisor_worker_fn *fn)
{
    static const int sigs[] = {SIGINT,  SIGTERM, SIGQUIT, SIGHUP,
                               SIGUSR1, SIGUSR2, SIGCHLD, SIGABRT};
    struct sup s;

    memset(&s, 0, sizeof(s));
    s.cfg = cfg;
    s.opts = opts;
    s.fn = fn;
    s.exe = exe;
    s.argv = argv;
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&s.sigs);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&s.sigs, sigs[i]);
    sigprocmask(SIG_BLOCK, &s.sigs, NULL);
    s.sigfd = signalfd(-1, &s.sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s.sigfd < 0) {
        log_error("supervisor: signalfd: %s", strerror(errno));
        config_free(cfg);
        return 1;
    }
    adopt(&s);
    listener_take_activation();
    s.ls = listeners_open(cfg, NULL);
    listener_close_unused();
    if (s.ls != NULL && cfg->pidfile != NULL &&
        pidfile_write(cfg->pidfile) == 0)
        s.pidfile = strdup(cfg->pidfile);
    if (s.ls == NULL || (cfg->pidfile != NULL && s.pidfile == NULL)) {
        s.exit_code = 1;
        /* After a SIGUSR2, the workers it adopted stop too. */
        begin_stop(&s, SIGTERM);
    } else {
        if (workers_start(&s, s.cfg, s.ls,
                          s.nkids > 0 ? RESTART_UPGRADE : -1) == NULL) {
            s.exit_code = 1;
            begin_stop(&s, SIGTERM);
        }
    }
    loop(&s);
    if (s.pidfile != NULL) {
        unlink(s.pidfile);
        free(s.pidfile);
    }
    /* The unix socket files go too (systemd's stay). */
    listeners_free(s.ls);
    close(s.sigfd);
    config_free(s.cfg);
    return s.exit_code;
}
