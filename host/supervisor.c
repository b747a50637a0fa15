/* SPDX-License-Identifier: MIT */
/*
 * supervisor.c - see supervisor.h.
 *
 * One thread and one poll(2) loop: a signalfd for the signals, one pipe
 * per worker for what it says, and the timers (a restart's backoff, a
 * draining worker's deadline) as poll's timeout.
 */
#define _GNU_SOURCE
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "listener.h"
#include "log.h"
#include "notify.h"
#include "pidfile.h"
#include "reload.h"
#include "shared.h"
#include "stats.h"
#include "upgrade.h"
#include "util.h"

#define MAX_KIDS UPGRADE_MAX_WORKERS
/* A draining worker still alive this long after its shutdown_timeout
 * gets SIGABRT (a core), and SIGKILL KILL_GRACE_MS after that. */
#define ABORT_GRACE_MS 3000
#define KILL_GRACE_MS 5000
/* A stop signal this soon after the first is the same request. */
#define SECOND_SIGNAL_MS 500

enum kid_state { KID_STARTING, KID_SERVING, KID_DRAINING };

struct kid {
    pid_t pid;
    int ctl;               /* read end of its pipe; -1: none */
    struct shared *shared; /* NULL: adopted across a re-execution */
    enum kid_state state;
    long long started_ms;
    long long kill_ms; /* DRAINING: when it gets SIGABRT, then SIGKILL */
    int aborted;       /* SIGABRT sent */
    int reason;        /* enum restart_reason it was started for; -1 */
    /* A SIGHUP's new listen/threads: the config and sockets that become
     * the supervisor's once this worker serves (NULL: the current ones). */
    struct config *cfg;
    struct listeners *ls;
};

struct sup {
    struct config *cfg; /* the config workers are started from */
    const struct reload_opts *opts;
    supervisor_worker_fn *fn;
    const char *exe;
    char *const *argv;
    sigset_t sigs; /* those the signalfd takes */
    int sigfd;
    struct listeners *ls; /* the sockets workers are started on */
    struct kid kids[MAX_KIDS];
    int nkids;
    unsigned long restarts[RESTART_NREASONS];
    unsigned long nrestarts;
    int quick_deaths;  /* in a row, each soon after its start */
    int stall_pending; /* a stall replacement waits for a starting worker */
    long long restart_at_ms; /* a restart waiting out its backoff; 0 */
    int restart_reason;
    int ever_ready;
    int stopping;
    long long stop_ms; /* when the first stop signal came */
    int exit_code;
    char *pidfile;
};

static long long
now_ms(void)
{
    return util_mono_ms();
}

/* ---- workers ---- */

static int
count_state(const struct sup *s, enum kid_state st)
{
    int n = 0;

    for (int i = 0; i < s->nkids; i++)
        n += s->kids[i].state == st;
    return n;
}

/* "killed by signal 11 (Segmentation fault, core dumped)" or "exited
 * with status 1". */
static void
describe_status(int status, char *out, size_t len)
{
    if (WIFSIGNALED(status))
        snprintf(out, len, "killed by signal %d (%s%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)),
                 WCOREDUMP(status) ? ", core dumped" : "");
    else
        snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
}

/* The worker process, after the fork: never returns. */
/* Whether fd is one of set's. */
static int
in_set(const struct listeners *set, int fd)
{
    for (int i = 0; set != NULL && i < set->n; i++)
        if (set->s[i].fd == fd)
            return 1;
    return 0;
}

/* In the worker: close the sockets of `set` that are not its own. */
static void
close_others(const struct listeners *set, const struct listeners *own)
{
    for (int i = 0; set != NULL && set != own && i < set->n; i++)
        if (!in_set(own, set->s[i].fd))
            close(set->s[i].fd);
}

/* The worker process, after the fork: never returns. */
static void
run_child(struct sup *s, struct config *cfg, const struct listeners *ls,
          int ctl[2], struct shared *sh, pid_t supervisor)
{
    struct worker_ends ends;

    /* A supervisor killed outright takes its worker with it (gracefully);
     * one that died before this line was reached, too. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != supervisor)
        _exit(1);
    close(s->sigfd);
    close(ctl[0]);
    /* Nothing of the other workers: their pipes, their records, the
     * sockets that are not this one's. */
    for (int i = 0; i < s->nkids; i++) {
        if (s->kids[i].ctl >= 0)
            close(s->kids[i].ctl);
        shared_free(s->kids[i].shared);
        close_others(s->kids[i].ls, ls);
    }
    close_others(s->ls, ls);
    /* Its own process group, so that a terminal's ^C reaches the
     * supervisor alone, which forwards it once.  The signals stay blocked
     * until the worker handles them (server_run): one sent while it
     * starts waits instead of killing it. */
    setpgid(0, 0);
    memset(&ends, 0, sizeof(ends));
    for (int i = 0; i < ls->n; i++)
        ends.listen_fds[ends.nlisten++] = ls->s[i].fd;
    ends.ctl_fd = ctl[1];
    ends.shared = sh;
    ends.restarts = s->nrestarts;
    exit(s->fn(cfg, &ends));
}

/* Fork a worker for `cfg` on the sockets `ls`; `reason` is why (-1: the
 * first).  The worker gets its own copy of cfg.  The new entry, or NULL
 * logged. */
static struct kid *
start_worker(struct sup *s, struct config *cfg, struct listeners *ls,
             int reason)
{
    struct kid *k;
    struct shared *sh;
    int ctl[2];
    pid_t pid, self;

    if (s->nkids == MAX_KIDS) {
        log_error("supervisor: %d workers already; not starting another",
                  MAX_KIDS);
        return NULL;
    }
    sh = shared_new(cfg->threads);
    if (sh == NULL) {
        log_error("supervisor: cannot map memory for a worker: %s",
                  strerror(errno));
        return NULL;
    }
    if (pipe2(ctl, O_CLOEXEC) != 0) {
        log_error("supervisor: pipe: %s", strerror(errno));
        shared_free(sh);
        return NULL;
    }
    if (reason >= 0) { /* counted in the child's copy; undone below */
        s->restarts[reason]++;
        s->nrestarts++;
    }
    shared_set_restarts(sh, s->restarts);
    self = getpid();
    pid = fork();
    if (pid == 0)
        run_child(s, cfg, ls, ctl, sh, self);
    close(ctl[1]);
    if (pid < 0) {
        if (reason >= 0) {
            s->restarts[reason]--;
            s->nrestarts--;
        }
        log_error("supervisor: fork: %s", strerror(errno));
        close(ctl[0]);
        shared_free(sh);
        return NULL;
    }
    fcntl(ctl[0], F_SETFL, O_NONBLOCK);
    k = &s->kids[s->nkids++];
    memset(k, 0, sizeof(*k));
    k->pid = pid;
    k->ctl = ctl[0];
    k->shared = sh;
    k->state = KID_STARTING;
    k->started_ms = now_ms();
    k->reason = reason;
    if (reason >= 0)
        log_info("supervisor: started worker %ld (%s)", (long)pid,
                 stats_restart_reason(reason));
    return k;
}

/* SIGTERM (a stop) or SIGQUIT (a replacement: idle keep-alive connections
 * get until shutdown_timeout to send one more request) to a worker: it
 * drains (stops accepting, answers what it has with Connection: close)
 * and exits; past its deadline it is aborted. */
static void
drain(struct sup *s, struct kid *k, int sig)
{
    k->state = KID_DRAINING;
    k->kill_ms = now_ms() + s->cfg->shutdown_timeout_ms + ABORT_GRACE_MS;
    if (kill(k->pid, sig) != 0 && errno != ESRCH)
        log_error("supervisor: cannot signal worker %ld: %s", (long)k->pid,
                  strerror(errno));
}

static void
forward(struct sup *s, int sig)
{
    for (int i = 0; i < s->nkids; i++)
        if (s->kids[i].state != KID_DRAINING)
            kill(s->kids[i].pid, sig);
}

/* The config a crashed worker served, as the one its successor serves. */
static void
take_config(struct sup *s, const struct shared *sh)
{
    struct config *c = NULL;
    char err[1024];
    size_t len = 0;
    char *text = sh != NULL ? shared_config(sh, &len) : NULL;

    if (text == NULL)
        return;
    c = reload_config(s->opts, text, len, err, sizeof(err), NULL);
    if (c == NULL) {
        log_warn("supervisor: the worker's last config does not parse here "
                 "(%s); keeping the one it was started with",
                 err);
        config_free(c);
    } else if (c->threads != s->cfg->threads ||
               !config_same_listens(c, s->cfg)) {
        config_free(c); /* a socket the supervisor did not open */
    } else {
        config_free(s->cfg);
        s->cfg = c;
    }
    free(text);
}

/* A worker died unexpectedly: start the next one now, or after a backoff
 * when they keep dying soon after starting. */
static void
schedule_restart(struct sup *s, long long started_ms, int reason)
{
    long long delay = 0;

    if (now_ms() - started_ms < RESTART_QUICK_MS)
        s->quick_deaths++;
    else
        s->quick_deaths = 0;
    if (s->quick_deaths > 1) {
        int shift = s->quick_deaths - 2;

        delay = RESTART_BACKOFF_MS;
        while (shift-- > 0 && delay < RESTART_BACKOFF_MAX_MS)
            delay *= 2;
        if (delay > RESTART_BACKOFF_MAX_MS)
            delay = RESTART_BACKOFF_MAX_MS;
    }
    s->restart_reason = reason;
    if (delay == 0) {
        if (start_worker(s, s->cfg, s->ls, reason) == NULL)
            delay = RESTART_BACKOFF_MAX_MS;
        else
            return;
    }
    log_warn("supervisor: %d worker(s) in a row died within %.0f s of "
             "starting; the next starts in %.2f s",
             s->quick_deaths, RESTART_QUICK_MS / 1e3, (double)delay / 1e3);
    notify_status("worker crash loop: next start in %.2f s",
                  (double)delay / 1e3);
    s->restart_at_ms = now_ms() + delay;
}

static void
remove_kid(struct sup *s, struct kid *k)
{
    if (k->ctl >= 0)
        close(k->ctl);
    shared_free(k->shared);
    if (k->cfg != NULL) {
        /* A SIGHUP's worker that never served: its sockets and config go
         * with it. */
        if (k->ls != s->ls)
            listeners_free(k->ls);
        config_free(k->cfg);
    }
    *k = s->kids[--s->nkids];
}

/* `ls` (made with the current set as its reuse) is the set in use from
 * now on; the old one is closed (workers still draining keep their own
 * copies), with the unix socket files of addresses no longer listened
 * on. */
static void
use_listeners(struct sup *s, struct listeners *ls)
{
    if (ls == s->ls)
        return;
    listeners_hand_over(s->ls, ls);
    listeners_free(s->ls);
    s->ls = ls;
}

/* "127.0.0.1:5000, unix:/run/rpc.sock" into out. */
static void
listen_text(const struct listeners *ls, char *out, size_t len)
{
    size_t off = 0;

    out[0] = '\0';
    for (int i = 0; i < ls->n && off < len; i++) {
        int n = snprintf(out + off, len - off, "%s%s", i ? ", " : "",
                         ls->s[i].addr);
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

/* Worker `k` ended with `status`. */
static void
on_worker_exit(struct sup *s, struct kid *k, int status)
{
    char how[160], what[2048] = "";
    int crashed = WIFSIGNALED(status);
    int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    enum kid_state was = k->state;
    long long started = k->started_ms;
    long pid = (long)k->pid; /* remove_kid() moves another entry here */
    int reason = k->reason;
    int others_serving;

    describe_status(status, how, sizeof(how));
    if (k->shared != NULL)
        shared_describe(k->shared, what, sizeof(what));
    if (s->stopping) {
        if (!clean && s->exit_code == 0)
            s->exit_code =
                crashed ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        if (!clean)
            log_error("supervisor: worker %ld %s%s%s", pid, how,
                      crashed && what[0] ? "; " : "", crashed ? what : "");
        remove_kid(s, k);
        return;
    }
    if (was == KID_DRAINING) {
        if (clean)
            log_info("supervisor: old worker %ld finished draining", pid);
        else
            log_warn("supervisor: old worker %ld %s%s%s", pid, how,
                     what[0] ? "; " : "", what);
        remove_kid(s, k);
        return;
    }
    if (crashed || was == KID_SERVING)
        take_config(s, k->shared);
    remove_kid(s, k);
    others_serving = count_state(s, KID_SERVING);
    if (was == KID_STARTING && !s->ever_ready && others_serving == 0) {
        /* The first worker never served: a startup error (logged by it). */
        if (crashed)
            log_error("supervisor: the worker %s while starting%s%s", how,
                      what[0] ? "; " : "", what);
        s->exit_code = crashed               ? 1
                       : WEXITSTATUS(status) ? WEXITSTATUS(status)
                                             : 1;
        s->stopping = 1;
        return;
    }
    if (was == KID_STARTING && others_serving > 0) {
        log_error("supervisor: the new worker %ld %s before it served%s%s; "
                  "the running worker keeps serving",
                  pid, how, crashed && what[0] ? "; " : "",
                  crashed ? what : "");
        notify_ready("the last replacement failed");
        if (s->stall_pending) {
            /* A stalled worker asked meanwhile: its turn now. */
            s->stall_pending = 0;
            if (start_worker(s, s->cfg, s->ls, RESTART_STALL) == NULL)
                log_error("supervisor: the stalled worker stays");
        }
        return;
    }
    log_error("supervisor: worker %ld %s%s%s; %s", pid, how,
              what[0] ? "; " : "", what,
              others_serving || count_state(s, KID_STARTING)
                  ? "another worker serves"
                  : "starting another");
    notify_status("worker %ld %s; restarting", pid, how);
    if (others_serving == 0 && count_state(s, KID_STARTING) == 0)
        schedule_restart(s, started,
                         was == KID_STARTING && reason >= 0 ? reason
                         : crashed                          ? RESTART_CRASH
                                                            : RESTART_EXIT);
}

static void
reap(struct sup *s)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < s->nkids; i++) {
            if (s->kids[i].pid == pid) {
                on_worker_exit(s, &s->kids[i], status);
                break;
            }
        }
    }
}

/* Worker `k` serves: the others (a replacement's predecessors) drain. */
static void
on_ready(struct sup *s, struct kid *k)
{
    if (k->state != KID_STARTING)
        return;
    k->state = KID_SERVING;
    if (k->cfg != NULL) {
        /* A SIGHUP's listen/threads change serves: it is the config now. */
        if (k->ls != s->ls) {
            char text[1024];

            use_listeners(s, k->ls);
            listen_text(s->ls, text, sizeof(text));
            log_info("listening on %s, endpoint %s, %d loop(s)", text,
                     k->cfg->endpoint, k->cfg->threads);
        }
        k->ls = NULL;
        config_free(s->cfg);
        s->cfg = k->cfg;
        k->cfg = NULL;
    }
    if (!s->ever_ready) {
        char text[1024];

        s->ever_ready = 1;
        /* Whoever waits for this line finds the server answering. */
        listen_text(s->ls, text, sizeof(text));
        log_info("listening on %s, endpoint %s, %d loop(s)", text,
                 s->cfg->endpoint, s->cfg->threads);
    } else {
        log_info("supervisor: worker %ld serves", (long)k->pid);
    }
    for (int i = 0; i < s->nkids; i++) {
        struct kid *o = &s->kids[i];
        if (o != k && o->state == KID_SERVING) {
            log_info("supervisor: worker %ld drains (replaced by %ld)",
                     (long)o->pid, (long)k->pid);
            drain(s, o, SIGQUIT);
        }
    }
}

/* What worker `k` wrote on its pipe. */
static void
read_ctl(struct sup *s, struct kid *k)
{
    char buf[64];
    ssize_t n = read(k->ctl, buf, sizeof(buf));

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        close(k->ctl);
        k->ctl = -1;
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == SHARED_MSG_READY) {
            on_ready(s, k);
        } else if (buf[i] == SHARED_MSG_STALL && k->state == KID_SERVING &&
                   !s->stopping && count_state(s, KID_STARTING) > 0) {
            /* The worker starting now replaces it once it serves; should
             * it fail, a replacement for the stall starts then. */
            log_warn("supervisor: worker %ld has a stalled loop; a worker "
                     "is starting, which will replace it",
                     (long)k->pid);
            s->stall_pending = 1;
        } else if (buf[i] == SHARED_MSG_STALL && k->state == KID_SERVING &&
                   !s->stopping) {
            log_warn("supervisor: worker %ld has a stalled loop; replacing "
                     "it",
                     (long)k->pid);
            if (start_worker(s, s->cfg, s->ls, RESTART_STALL) == NULL)
                log_error("supervisor: the stalled worker stays");
        }
    }
}

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
        forward(s, sig);
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
            drain(s, &s->kids[i], sig);
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

        use_listeners(s, ls);
        listen_text(s->ls, text, sizeof(text));
        log_info("listening on %s", text);
    }
    log_info("SIGHUP: no worker serves; starting one on the new config now");
    config_free(s->cfg);
    s->cfg = c;
    s->quick_deaths = 0;
    s->restart_at_ms = 0;
    if (start_worker(s, s->cfg, s->ls, s->restart_reason) == NULL)
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
        if (count_state(s, KID_SERVING) + count_state(s, KID_STARTING) == 0)
            log_error("SIGHUP: %s", err); /* no worker to say it */
        forward(s, SIGHUP); /* the worker reports the error as ever */
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
    if (count_state(s, KID_SERVING) + count_state(s, KID_STARTING) == 0 &&
        s->restart_at_ms != 0) {
        hup_while_down(s, c);
        return;
    }
    if (c->threads == s->cfg->threads && config_same_listens(c, s->cfg)) {
        config_free(c);
        forward(s, SIGHUP);
        return;
    }
    if (count_state(s, KID_STARTING) > 0) {
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
    k = start_worker(s, c, ls, RESTART_RELOAD);
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

    if (count_state(s, KID_STARTING) > 0 || s->restart_at_ms != 0) {
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
        forward(s, SIGUSR1);
        break;
    case SIGUSR2:
        if (!s->stopping)
            reexec(s);
        break;
    case SIGCHLD:
        reap(s);
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
        if (start_worker(s, s->cfg, s->ls, s->restart_reason) == NULL)
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
                read_ctl(s, who[i]);
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
        if (start_worker(&s, s.cfg, s.ls, s.nkids > 0 ? RESTART_UPGRADE : -1) ==
            NULL) {
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
