/* SPDX-License-Identifier: MIT */
/*
 * listener.c - see listener.h.
 */
#define _GNU_SOURCE
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

#define SD_LISTEN_FDS_START 3

/* Sockets handed to the process, not yet taken by a listen entry. */
static struct {
    int fd;      /* -1 once taken or closed */
    int systemd; /* socket activation's (else a previous image's) */
    char name[64];
} passed[ADDRESS_MAX];
static int npassed;

void
listener_adopt(int fd, const char *name, int systemd)
{
    int type = 0, acc = 0;
    socklen_t len = sizeof(type), alen = sizeof(acc);

    if (npassed == ADDRESS_MAX) {
        log_warn("more than %d sockets passed; closing fd %d", ADDRESS_MAX, fd);
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
        if (*end != '\0' || n < 0)
            n = 0;
        if (n > ADDRESS_MAX) {
            log_warn("socket activation: %ld sockets passed; taking the "
                     "first %d, closing the rest",
                     n, ADDRESS_MAX);
            for (long i = ADDRESS_MAX; i < n && i < 1024; i++)
                close(SD_LISTEN_FDS_START + (int)i);
            n = ADDRESS_MAX;
        }
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
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0)
        return;
    if (ss.ss_family == AF_UNIX) {
        const struct sockaddr_un *un = (const void *)&ss;
        snprintf(addr, addrlen, "unix:%s", un->sun_path);
    } else if (getnameinfo((struct sockaddr *)&ss, sslen, host, sizeof(host),
                           serv, sizeof(serv),
                           NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
        snprintf(addr, addrlen, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
                 host, serv);
    }
}

/* Whether fd is bound to the TCP address `ai` names (port 0: any port, as
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

/* Whether fd is the unix socket at `path`. */
static int
bound_to_path(int fd, const char *path)
{
    struct sockaddr_un un;
    socklen_t len = sizeof(un);

    return getsockname(fd, (struct sockaddr *)&un, &len) == 0 &&
           un.sun_family == AF_UNIX && strcmp(un.sun_path, path) == 0;
}

/* The passed socket for `a` (taken), or -1; *systemd whether it is socket
 * activation's.  `res`: a's TCP addresses (NULL for unix); `single`: the
 * config has this one address. */
static int
take_passed(const struct address *a, const struct addrinfo *res, int single,
            int *systemd)
{
    char text[256];
    int found = -1, left = 0, fd;

    address_text(a, text, sizeof(text));
    for (int i = 0; i < npassed && found < 0; i++)
        if (passed[i].fd >= 0 && strcmp(passed[i].name, text) == 0)
            found = i;
    for (int i = 0; i < npassed && found < 0; i++) {
        if (passed[i].fd < 0)
            continue;
        if (a->path != NULL && bound_to_path(passed[i].fd, a->path))
            found = i;
        for (const struct addrinfo *ai = res; ai && found < 0; ai = ai->ai_next)
            if (bound_to(passed[i].fd, ai))
                found = i;
    }
    /* systemd's only socket serves the only listen entry, whatever
     * address it was given (ListenStream=5000 binds [::]:5000); a socket
     * from the previous image only serves the address it is bound to. */
    for (int i = 0; i < npassed; i++)
        left += passed[i].fd >= 0;
    if (found < 0 && left == 1 && single)
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

static int
open_tcp(const struct config *cfg, const struct address *a,
         const struct addrinfo *res)
{
    int fd = -1, one = 1, err = 0;

    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
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
            return fd;
        err = errno;
        close(fd);
        fd = -1;
    }
    log_error("listen %s:%d: %s", a->host, a->port, strerror(err));
    return -1;
}

/* Remove `path` if it is still the file *st describes (device and
 * inode): never another process's socket that took the path since. */
static void
unlink_if_same(const char *path, const struct stat *st)
{
    struct stat now;

    if (st->st_ino != 0 && lstat(path, &now) == 0 && now.st_dev == st->st_dev &&
        now.st_ino == st->st_ino)
        unlink(path);
}

/* A socket file already at `path`: removed if nothing answers on it
 * (left by a process that died); 0, or -1 logged (in use, not a socket,
 * not ours to judge).  The probe never blocks: a server whose backlog is
 * full is in use, not a reason to hang. */
static int
clear_stale(const char *path, const struct sockaddr_un *sa)
{
    struct stat st;
    int probe, rc, err;

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        log_error("listen unix:%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        log_error("listen unix:%s: a file that is not a socket is there; "
                  "not replacing it",
                  path);
        return -1;
    }
    probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (probe < 0) {
        log_error("listen unix:%s: socket: %s", path, strerror(errno));
        return -1;
    }
    rc = connect(probe, (const struct sockaddr *)sa, sizeof(*sa));
    err = errno;
    close(probe);
    if (rc == 0 || err == EAGAIN || err == EINPROGRESS) {
        log_error("listen unix:%s: another process answers on it", path);
        return -1;
    }
    if (err != ECONNREFUSED) {
        log_error("listen unix:%s: cannot tell whether it is in use: %s", path,
                  strerror(err));
        return -1;
    }
    log_info("listen unix:%s: removing a stale socket file", path);
    if (unlink(path) != 0 && errno != ENOENT) {
        log_error("listen unix:%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Give the socket file at `path` (just bound by this process) the
 * configured group and mode, by the file itself, never through a link
 * put there meanwhile: opened O_PATH|O_NOFOLLOW, checked to be a socket,
 * changed through that descriptor.  Its device and inode into *st (for
 * listeners_free, which removes only that file).  0, or -1 logged. */
static int
set_owner_mode(const struct config *cfg, const char *path, struct stat *st)
{
    char proc[64];
    int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC), rc = -1;

    if (fd < 0 || fstat(fd, st) != 0 || !S_ISSOCK(st->st_mode)) {
        log_error("listen unix:%s: the socket file was replaced while it "
                  "was set up",
                  path);
        st->st_ino = 0; /* not ours: never removed */
        goto out;
    }
    if (cfg->listen_group != NULL) {
        gid_t gid;
        int known = config_group_id(cfg->listen_group, &gid) == 0;

        if (!known || fchownat(fd, "", (uid_t)-1, gid, AT_EMPTY_PATH) != 0) {
            log_error("listen unix:%s: listen_group %s: %s", path,
                      cfg->listen_group,
                      !known ? "no such group" : strerror(errno));
            goto out;
        }
    }
    /* chmod has no "this descriptor" form for an O_PATH one; its /proc
     * entry names exactly this inode. */
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    if (chmod(proc, (mode_t)cfg->listen_mode) != 0) {
        log_error("listen unix:%s: listen_mode: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

/* A lock beside the socket file (PATH.lock) held from the stale check to
 * listen(): two processes starting on one path at once take turns, and
 * the second finds the first one's socket answering.  The lock file stays
 * (empty).  The descriptor, or -1 (logged; then no lock is taken). */
static int
lock_path(const char *path)
{
    char lock[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
    int fd;

    snprintf(lock, sizeof(lock), "%s.lock", path);
    fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_warn("listen unix:%s: no lock (%s): %s", path, lock,
                 strerror(errno));
        return -1;
    }
    flock(fd, LOCK_EX);
    return fd;
}

static int
open_unix(const struct config *cfg, const struct address *a, struct stat *st)
{
    struct sockaddr_un sa;
    mode_t old;
    int fd = -1, lock, rc;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a->path);
    lock = lock_path(a->path);
    if (clear_stale(a->path, &sa) != 0)
        goto out;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_error("listen unix:%s: socket: %s", a->path, strerror(errno));
        goto out;
    }
    /* Created owner-only, opened up to listen_mode once its group is
     * set: never more open than asked, even for a moment.  (The
     * supervisor has one thread: umask is process-wide.) */
    old = umask(0177);
    rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc != 0) {
        log_error("listen unix:%s: %s", a->path, strerror(errno));
        close(fd);
        fd = -1;
        goto out;
    }
    rc = set_owner_mode(cfg, a->path, st); /* logged */
    if (rc == 0 && listen(fd, cfg->backlog) != 0) {
        log_error("listen unix:%s: %s", a->path, strerror(errno));
        rc = -1;
    }
    if (rc != 0) {
        close(fd);
        fd = -1;
        /* Only if it is still the file this process bound. */
        unlink_if_same(a->path, st);
    }
out:
    if (lock >= 0) {
        /* Not needed once the socket listens (or failed): gone again. */
        char name[sizeof(sa.sun_path) + 8];

        snprintf(name, sizeof(name), "%s.lock", a->path);
        unlink(name);
        close(lock); /* releases the flock */
    }
    return fd;
}

/* Entry i of `out` for address `a`. */
static int
open_one(struct listeners *out, int i, const struct config *cfg,
         const struct address *a, struct listeners *reuse)
{
    struct listener *l = &out->s[i];
    struct addrinfo hints, *res = NULL;
    char port[8];
    int rc;

    memset(l, 0, sizeof(*l));
    l->fd = -1;
    l->from = -1;
    if (address_copy(&l->where, a) != 0) {
        log_error("listen: out of memory");
        return -1;
    }
    for (int j = 0; reuse != NULL && j < reuse->n; j++) {
        struct listener *r = &reuse->s[j];

        if (r->fd < 0 || !address_equal(&r->where, a))
            continue;
        l->fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 3);
        if (l->fd < 0) {
            log_error("listen %s: dup: %s", r->addr, strerror(errno));
            return -1;
        }
        l->systemd = r->systemd;
        l->file = r->file;
        l->from = j; /* its unix file changes hands once all opened */
        snprintf(l->addr, sizeof(l->addr), "%s", r->addr);
        return 0;
    }
    if (a->host != NULL) {
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        snprintf(port, sizeof(port), "%d", a->port);
        rc = getaddrinfo(a->host, port, &hints, &res);
        if (rc != 0) {
            log_error("listen %s:%d: %s", a->host, a->port, gai_strerror(rc));
            return -1;
        }
    }
    l->fd = take_passed(a, res, cfg->nlistens == 1, &l->systemd);
    if (l->fd >= 0) {
        listener_address(l->fd, l->addr, sizeof(l->addr));
        char text[256];

        address_text(a, text, sizeof(text));
        log_info("listen %s: using the passed socket bound to %s", text,
                 l->addr);
        /* A previous image's unix socket: its file is this set's to
         * remove at exit (the one at the path now). */
        l->owns_path =
            a->path != NULL && !l->systemd && lstat(a->path, &l->file) == 0;
    } else {
        l->fd = a->host != NULL ? open_tcp(cfg, a, res)
                                : open_unix(cfg, a, &l->file);
        /* Only a file this set created is its to remove: never one it
         * failed to replace (another server's, or not a socket). */
        l->owns_path = a->path != NULL && l->fd >= 0;
        if (l->fd >= 0)
            listener_address(l->fd, l->addr, sizeof(l->addr));
    }
    if (res != NULL)
        freeaddrinfo(res);
    return l->fd >= 0 ? 0 : -1;
}

struct listeners *
listeners_open(const struct config *cfg, struct listeners *reuse)
{
    struct listeners *out = calloc(1, sizeof(*out));

    if (out == NULL) {
        log_error("listen: out of memory");
        return NULL;
    }
    for (int i = 0; i < cfg->nlistens; i++) {
        out->n = i + 1;
        if (open_one(out, i, cfg, &cfg->listens[i], reuse) != 0) {
            listeners_free(out);
            return NULL;
        }
    }
    return out;
}

void
listeners_hand_over(struct listeners *older, struct listeners *newer)
{
    unsigned char kept[ADDRESS_MAX] = {0};

    if (older == NULL)
        return;
    for (int i = 0; i < newer->n; i++) {
        int j = newer->s[i].from;

        if (j >= 0 && j < older->n) {
            newer->s[i].owns_path = older->s[j].owns_path;
            older->s[j].owns_path = 0;
            kept[j] = 1;
        }
    }
    /* An address no longer listed refuses new connections now: a
     * draining worker still holds its socket (not accepting), and clients
     * would otherwise wait in its backlog. */
    for (int j = 0; j < older->n; j++)
        if (!kept[j] && older->s[j].fd >= 0 && !older->s[j].systemd)
            shutdown(older->s[j].fd, SHUT_RDWR);
}

void
listeners_apply_mode(struct listeners *l, const struct config *cfg)
{
    for (int i = 0; l != NULL && i < l->n; i++) {
        struct listener *s = &l->s[i];
        struct stat now;

        if (!s->owns_path || s->where.path == NULL ||
            lstat(s->where.path, &now) != 0 || now.st_ino != s->file.st_ino ||
            now.st_dev != s->file.st_dev)
            continue;
        set_owner_mode(cfg, s->where.path, &now);
    }
}

void
listeners_shutdown(struct listeners *l)
{
    for (int i = 0; l != NULL && i < l->n; i++)
        if (l->s[i].fd >= 0 && !l->s[i].systemd)
            shutdown(l->s[i].fd, SHUT_RDWR);
}

void
listeners_free(struct listeners *l)
{
    if (l == NULL)
        return;
    for (int i = 0; i < l->n; i++) {
        struct listener *s = &l->s[i];

        if (s->owns_path && s->where.path != NULL)
            unlink_if_same(s->where.path, &s->file);
        if (s->fd >= 0)
            close(s->fd);
        address_free(&s->where);
    }
    free(l);
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
