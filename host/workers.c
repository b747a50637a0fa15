/* SPDX-License-Identifier: MIT */
/*
 * workers.c - the supervisor's worker processes (supdef.h): each forked
 * with its config, sockets and shared memory, drained, heard on its pipe,
 * and collected when it exits - restarted after a crash with a backoff,
 * or replaced.  The supervisor's loop (supervisor.c) calls these.
 */
#define _GNU_SOURCE
#include "supdef.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

int
workers_count(const struct sup *s, enum kid_state st)
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
struct kid *
workers_start(struct sup *s, struct config *cfg, struct listeners *ls,
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
void
workers_drain(struct sup *s, struct kid *k, int sig)
{
    k->state = KID_DRAINING;
    k->kill_ms = now_ms() + s->cfg->shutdown_timeout_ms + ABORT_GRACE_MS;
    if (kill(k->pid, sig) != 0 && errno != ESRCH)
        log_error("supervisor: cannot signal worker %ld: %s", (long)k->pid,
                  strerror(errno));
}

void
workers_forward(struct sup *s, int sig)
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
        if (workers_start(s, s->cfg, s->ls, reason) == NULL)
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
void
workers_use_listeners(struct sup *s, struct listeners *ls)
{
    if (ls == s->ls)
        return;
    listeners_hand_over(s->ls, ls);
    listeners_free(s->ls);
    s->ls = ls;
}

/* "127.0.0.1:5000, unix:/run/rpc.sock" into out. */
void
workers_listen_text(const struct listeners *ls, char *out, size_t len)
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
    others_serving = workers_count(s, KID_SERVING);
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
            if (workers_start(s, s->cfg, s->ls, RESTART_STALL) == NULL)
                log_error("supervisor: the stalled worker stays");
        }
        return;
    }
    log_error("supervisor: worker %ld %s%s%s; %s", pid, how,
              what[0] ? "; " : "", what,
              others_serving || workers_count(s, KID_STARTING)
                  ? "another worker serves"
                  : "starting another");
    notify_status("worker %ld %s; restarting", pid, how);
    if (others_serving == 0 && workers_count(s, KID_STARTING) == 0)
        schedule_restart(s, started,
                         was == KID_STARTING && reason >= 0 ? reason
                         : crashed                          ? RESTART_CRASH
                                                            : RESTART_EXIT);
}

void
workers_reap(struct sup *s)
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

            workers_use_listeners(s, k->ls);
            workers_listen_text(s->ls, text, sizeof(text));
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
        workers_listen_text(s->ls, text, sizeof(text));
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
            workers_drain(s, o, SIGQUIT);
        }
    }
}

/* What worker `k` wrote on its pipe. */
void
workers_read(struct sup *s, struct kid *k)
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
                   !s->stopping && workers_count(s, KID_STARTING) > 0) {
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
            if (workers_start(s, s->cfg, s->ls, RESTART_STALL) == NULL)
                log_error("supervisor: the stalled worker stays");
        }
    }
}
