/*
 * server.c - see server.h.
 */
#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
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

#include "generation.h"
#include "http.h"
#include "log.h"
#include "reload.h"

struct server {
    struct event_base *base; /* main thread: signals */
    struct reload_opts opts;
    struct generation *gen; /* current (the server's own reference) */
    unsigned long next_id;
    char *pidfile; /* written at startup, removed at exit */
    struct worker **workers;
    int nworkers;
    int listen_fd;
    int stopping;
    struct event *sigev[3]; /* SIGINT, SIGTERM, SIGHUP */
};

/* Open, bind and listen on host:port; `addr` receives the address
 * actually bound ("127.0.0.1:5000", "[::1]:5000"). */
static int
open_listener(const struct config *cfg, char *addr, size_t addrlen)
{
    struct addrinfo hints, *res = NULL, *ai;
    char port[8], host[NI_MAXHOST], serv[NI_MAXSERV];
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    int fd = -1, rc, one = 1, err = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%d", cfg->listen_port);
    rc = getaddrinfo(cfg->listen_host, port, &hints, &res);
    if (rc != 0) {
        log_error("listen %s:%d: %s", cfg->listen_host, cfg->listen_port,
                  gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        log_error("listen %s:%d: %s", cfg->listen_host, cfg->listen_port,
                  strerror(err));
        return -1;
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0 &&
        getnameinfo((struct sockaddr *)&ss, sslen, host, sizeof(host), serv,
                    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
        if (ss.ss_family == AF_INET6)
            log_info("listening on [%s]:%s, endpoint %s, %d loop(s)", host,
                     serv, cfg->endpoint, cfg->threads);
        else
            log_info("listening on %s:%s, endpoint %s, %d loop(s)", host, serv,
                     cfg->endpoint, cfg->threads);
    }
    return fd;
}

static void
begin_stop(struct server *s, const char *why)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    log_info("%s: shutting down (in-flight requests get up to %.1f s)", why,
             s->gen->cfg->shutdown_timeout_ms / 1000.0);
    for (int i = 0; i < s->nworkers; i++)
        worker_stop(s->workers[i], s->gen->cfg->shutdown_timeout_ms);
    /* The workers exit by themselves; leave the control loop so main can
     * join them.  Removing the signal events restores the default action,
     * so a second SIGINT/SIGTERM ends the process at once. */
    for (int i = 0; i < 2; i++)
        if (s->sigev[i] != NULL)
            event_del(s->sigev[i]);
    event_base_loopbreak(s->base);
}

/* Where the last reference of a generation sends it: the main thread,
 * where plugins' fini runs. */
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

    if (reap_base == NULL ||
        event_base_once(reap_base, -1, EV_TIMEOUT, reap_on_main, g, &now) != 0)
        generation_destroy(g);
}

static double
ms_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
           (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
do_reload(struct server *s)
{
    struct generation *next, *old = s->gen;
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    log_info("SIGHUP: reloading %s", s->opts.config_file);
    next = reload_build(&s->opts, old, s->next_id);
    if (next == NULL)
        return;
    s->next_id++;
    if (!s->opts.verbose)
        log_set_level(next->cfg->log_level);
    for (int i = 0; i < s->nworkers; i++)
        worker_set_generation(s->workers[i], next);
    s->gen = next;
    reload_log(old, next, ms_since(&t0));
    generation_unref(old); /* finalised once its last call finished */
}

/* Write the pidfile atomically (a reader never sees it half-written). */
static int
write_pidfile(struct server *s)
{
    const char *path = s->gen->cfg->pidfile;
    char text[32], tmp[4096];
    FILE *f;
    int n;

    if (path == NULL)
        return 0;
    n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        log_error("pidfile %s: path too long", path);
        return -1;
    }
    f = fopen(tmp, "w");
    if (f == NULL) {
        log_error("pidfile %s: %s", tmp, strerror(errno));
        return -1;
    }
    snprintf(text, sizeof(text), "%ld\n", (long)getpid());
    n = fputs(text, f) == EOF;
    n |= fclose(f) != 0;
    if (n || rename(tmp, path) != 0) {
        log_error("pidfile %s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    s->pidfile = strdup(path);
    return 0;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct server *s = arg;

    (void)what;
    switch (sig) {
    case SIGINT:
        begin_stop(s, "SIGINT");
        break;
    case SIGTERM:
        begin_stop(s, "SIGTERM");
        break;
    case SIGHUP:
        if (!s->stopping)
            do_reload(s);
        break;
    default:
        break;
    }
}

int
server_run(struct generation *gen, const struct reload_opts *opts)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    struct event **sigev;
    struct server s;
    char addr[NI_MAXHOST + NI_MAXSERV + 4] = "?";
    sigset_t all, old;
    int rc = 1, started = 0;

    memset(&s, 0, sizeof(s));
    s.gen = gen;
    s.opts = *opts;
    s.next_id = gen->id + 1;
    s.listen_fd = -1;
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
    for (int i = 0; i < 3; i++) {
        sigev[i] = evsignal_new(s.base, sigs[i], on_signal, &s);
        if (sigev[i] == NULL || event_add(sigev[i], NULL) != 0) {
            log_error("cannot handle signal %d", sigs[i]);
            goto out;
        }
    }
    s.listen_fd = open_listener(gen->cfg, addr, sizeof(addr));
    if (s.listen_fd < 0)
        goto out;
    if (write_pidfile(&s) != 0)
        goto out;
    /* Last, so whoever waits for this line finds the pidfile in place. */
    log_info("listening on %s, endpoint %s, %d loop(s)", addr,
             gen->cfg->endpoint, gen->cfg->threads);
    reap_base = s.base;
    generation_set_reaper(reap);
    s.workers = calloc((size_t)gen->cfg->threads, sizeof(*s.workers));
    if (s.workers == NULL) {
        log_error("out of memory");
        goto out;
    }
    /* Workers never take signals: they inherit this mask. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (int i = 0; i < gen->cfg->threads; i++) {
        s.workers[i] = worker_new(i, s.listen_fd, gen);
        if (s.workers[i] == NULL)
            break;
        s.nworkers++;
        if (worker_start(s.workers[i]) != 0)
            break;
        started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (started != gen->cfg->threads) {
        begin_stop(&s, "startup failure");
        goto out;
    }
    event_base_dispatch(s.base);
    rc = 0;
out:
    if (!s.stopping && s.nworkers > 0)
        begin_stop(&s, "exit");
    for (int i = 0; i < s.nworkers; i++)
        worker_join_free(s.workers[i]);
    /* Only this thread is left: finalise what the workers handed over,
     * then do it directly. */
    if (s.base != NULL)
        event_base_loop(s.base, EVLOOP_NONBLOCK);
    generation_set_reaper(NULL);
    reap_base = NULL;
    if (s.pidfile != NULL) {
        unlink(s.pidfile);
        free(s.pidfile);
    }
    free(s.workers);
    if (s.listen_fd >= 0)
        close(s.listen_fd);
    for (int i = 0; i < 3; i++)
        if (sigev[i] != NULL)
            event_free(sigev[i]);
    if (s.base != NULL)
        event_base_free(s.base);
    generation_unref(s.gen);
    if (rc == 0)
        log_info("stopped");
    return rc;
}
