/*
 * listener.c - see listener.h.
 */
#define _GNU_SOURCE
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

#define SD_LISTEN_FDS_START 3
#define MAX_PASSED 64

/* Sockets handed to the process, not yet taken by a listen entry. */
static struct {
    int fd;      /* -1 once taken or closed */
    int systemd; /* socket activation's (else a previous image's) */
    char name[64];
} passed[MAX_PASSED];
static int npassed;

void
listener_adopt(int fd, const char *name, int systemd)
{
    int type = 0, acc = 0;
    socklen_t len = sizeof(type), alen = sizeof(acc);

    if (npassed == MAX_PASSED) {
        log_warn("more than %d sockets passed; closing fd %d", MAX_PASSED, fd);
        close(fd);
        return;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
        type != SOCK_STREAM ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) != 0 || !acc) {
        log_warn("passed fd %d is not a listening stream socket; closing it",
                 fd);
        close(fd);
        return;
    }
    /* Ours now: not inherited by what plugins exec, never blocking. */
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    passed[npassed].fd = fd;
    passed[npassed].systemd = systemd;
    snprintf(passed[npassed].name, sizeof(passed[npassed].name), "%s",
             name != NULL ? name : "");
    npassed++;
}

void
listener_take_activation(void)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    const char *names = getenv("LISTEN_FDNAMES");
    char *end;
    long n;

    if (pid != NULL && fds != NULL && strtol(pid, &end, 10) == getpid() &&
        *end == '\0') {
        n = strtol(fds, &end, 10);
        if (*end != '\0' || n < 0 || n > MAX_PASSED)
            n = 0;
        for (long i = 0; i < n; i++) {
            char name[64] = "";
            const char *p = names;

            /* The i-th of the colon-separated names. */
            for (long k = 0; p != NULL && k < i; k++) {
                p = strchr(p, ':');
                p = p ? p + 1 : NULL;
            }
            if (p != NULL)
                snprintf(name, sizeof(name), "%.*s", (int)strcspn(p, ":"), p);
            listener_adopt(SD_LISTEN_FDS_START + (int)i, name, 1);
        }
        if (n > 0)
            log_info("socket activation: %ld socket(s) passed", n);
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
}

void
listener_address(int fd, char *addr, size_t addrlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    char host[NI_MAXHOST], serv[NI_MAXSERV];

    snprintf(addr, addrlen, "?");
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0 &&
        getnameinfo((struct sockaddr *)&ss, sslen, host, sizeof(host), serv,
                    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(addr, addrlen, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
                 host, serv);
}

/* Whether fd is bound to the address `ai` names (port 0: any port, as
 * binding it would pick one). */
static int
bound_to(int fd, const struct addrinfo *ai)
{
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0 ||
        ss.ss_family != ai->ai_family)
        return 0;
    if (ai->ai_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)&ss;
        const struct sockaddr_in *b = (const void *)ai->ai_addr;
        return (b->sin_port == 0 || a->sin_port == b->sin_port) &&
               a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    if (ai->ai_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)&ss;
        const struct sockaddr_in6 *b = (const void *)ai->ai_addr;
        return (b->sin6_port == 0 || a->sin6_port == b->sin6_port) &&
               memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(b->sin6_addr)) == 0;
    }
    return 0;
}

/* The passed socket for cfg's listen (taken), or -1; *systemd whether it
 * is socket activation's. */
static int
take_passed(const struct config *cfg, const struct addrinfo *res, int *systemd)
{
    char text[NI_MAXHOST + 16];
    int found = -1, left = 0, fd;

    snprintf(text, sizeof(text),
             strchr(cfg->listen_host, ':') ? "[%s]:%d" : "%s:%d",
             cfg->listen_host, cfg->listen_port);
    for (int i = 0; i < npassed && found < 0; i++)
        if (passed[i].fd >= 0 && strcmp(passed[i].name, text) == 0)
            found = i;
    for (int i = 0; i < npassed && found < 0; i++)
        for (const struct addrinfo *ai = res; ai && found < 0; ai = ai->ai_next)
            if (passed[i].fd >= 0 && bound_to(passed[i].fd, ai))
                found = i;
    /* systemd's only socket serves the only listen entry, whatever
     * address it was given (ListenStream=5000 binds [::]:5000); a socket
     * from the previous image only serves the address it is bound to. */
    for (int i = 0; i < npassed; i++)
        left += passed[i].fd >= 0;
    if (found < 0 && left == 1)
        for (int i = 0; i < npassed; i++)
            if (passed[i].fd >= 0 && passed[i].systemd)
                found = i;
    if (found < 0)
        return -1;
    *systemd = passed[found].systemd;
    fd = passed[found].fd;
    passed[found].fd = -1;
    return fd;
}

int
listener_open(const struct config *cfg, char *addr, size_t addrlen,
              int *systemd)
{
    struct addrinfo hints, *res = NULL, *ai;
    char port[8];
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
    *systemd = 0;
    fd = take_passed(cfg, res, systemd);
    if (fd >= 0) {
        freeaddrinfo(res);
        listener_address(fd, addr, addrlen);
        log_info("listen %s:%d: using the passed socket bound to %s",
                 cfg->listen_host, cfg->listen_port, addr);
        return fd;
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
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, cfg->backlog) == 0)
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
    listener_address(fd, addr, addrlen);
    return fd;
}

void
listener_close_unused(void)
{
    for (int i = 0; i < npassed; i++) {
        if (passed[i].fd < 0)
            continue;
        log_warn("passed socket fd %d (%s) matches no listen entry; closing "
                 "it",
                 passed[i].fd, passed[i].name[0] ? passed[i].name : "unnamed");
        close(passed[i].fd);
        passed[i].fd = -1;
    }
}
