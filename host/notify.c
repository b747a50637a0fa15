/* SPDX-License-Identifier: MIT */
/*
 * notify.c - see notify.h.
 */
#define _GNU_SOURCE
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* Main thread only. */
static struct {
    struct sockaddr_un addr;
    socklen_t addrlen; /* 0: no socket named */
    char name[sizeof(((struct sockaddr_un *)0)->sun_path) + 1]; /* for logs */
    int fd;     /* opened at the first send; -1 before */
    int failed; /* a send failed (logged once) */
    uint64_t watchdog_usec;
} nt = {.fd = -1};

/* A decimal number > 0 that fits, or 0. */
static uint64_t
parse_u64(const char *s)
{
    char *end;
    unsigned long long v;

    if (s == NULL || *s < '0' || *s > '9')
        return 0;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return 0;
    return (uint64_t)v;
}

void
notify_init(void)
{
    const char *sock = getenv("NOTIFY_SOCKET");
    size_t n = sock != NULL ? strlen(sock) : 0;
    uint64_t usec = parse_u64(getenv("WATCHDOG_USEC"));
    const char *pid = getenv("WATCHDOG_PID");

    if (sock != NULL && sock[0] == '\0')
        sock = NULL; /* empty: as if unset, as sd_notify() takes it */
    if (pid != NULL && parse_u64(pid) != (uint64_t)getpid())
        usec = 0; /* meant for another process (our parent's watchdog) */
    if (sock != NULL) {
        /* "@name": the abstract namespace, sun_path starting with a NUL
         * and as long as the name (no terminator). */
        if ((sock[0] != '/' && sock[0] != '@') || n < 2 ||
            n >= sizeof(nt.addr.sun_path)) {
            log_warn("NOTIFY_SOCKET=%.*s: not an absolute path or @name "
                     "(or too long); not notifying the service manager",
                     (int)util_utf8_prefix(sock, 200), sock);
        } else {
            nt.addr.sun_family = AF_UNIX;
            memcpy(nt.addr.sun_path, sock, n);
            memcpy(nt.name, sock, n + 1);
            if (sock[0] == '@') {
                nt.addr.sun_path[0] = '\0';
                nt.addrlen =
                    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
            } else {
                nt.addrlen = (socklen_t)sizeof(nt.addr);
            }
            nt.watchdog_usec = usec;
        }
    }
    /* Not for plugins, nor for what they start. */
    if (unsetenv("NOTIFY_SOCKET") != 0 || unsetenv("WATCHDOG_USEC") != 0 ||
        unsetenv("WATCHDOG_PID") != 0)
        log_warn("cannot clear NOTIFY_SOCKET/WATCHDOG_*: %s", strerror(errno));
}

void
notify_export(int set)
{
    char v[32];

    if (!set || nt.addrlen == 0) {
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        return;
    }
    setenv("NOTIFY_SOCKET", nt.name, 1);
    if (nt.watchdog_usec != 0) {
        snprintf(v, sizeof(v), "%llu", (unsigned long long)nt.watchdog_usec);
        setenv("WATCHDOG_USEC", v, 1);
        snprintf(v, sizeof(v), "%ld", (long)getpid());
        setenv("WATCHDOG_PID", v, 1);
    }
}

/* One datagram, never blocking. */
static void
send_text(const char *text, size_t len)
{
    ssize_t w;

    if (nt.addrlen == 0)
        return;
    if (nt.fd < 0) {
        nt.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (nt.fd < 0) {
            if (!nt.failed)
                log_debug("NOTIFY_SOCKET %s: socket: %s", nt.name,
                          strerror(errno));
            nt.failed = 1;
            return;
        }
    }
    w = sendto(nt.fd, text, len, MSG_DONTWAIT | MSG_NOSIGNAL,
               (const struct sockaddr *)&nt.addr, nt.addrlen);
    if (w < 0 && !nt.failed) {
        /* Later failures are as likely and say nothing new. */
        log_debug("NOTIFY_SOCKET %s: cannot send (%s); the service manager "
                  "misses this and maybe later notifications",
                  nt.name, strerror(errno));
        nt.failed = 1;
    }
}

/* `head` (lines joined by '\n', no newline at the end; NULL: none) and,
 * when status is not NULL, a STATUS= line. */
static void
send_with_status(const char *head, const char *status)
{
    char text[512];
    int n;

    if (nt.addrlen == 0)
        return;
    if (head == NULL)
        n = snprintf(text, sizeof(text), "STATUS=%s", status ? status : "");
    else if (status != NULL)
        n = snprintf(text, sizeof(text), "%s\nSTATUS=%s", head, status);
    else
        n = snprintf(text, sizeof(text), "%s", head);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(text))
        n = (int)sizeof(text) - 1; /* a cut status line is still one */
    send_text(text, (size_t)n);
}

/* The status READY=1 last carried, for notify_status_again(). */
static char serving_status[256];

void
notify_ready(const char *status)
{
    snprintf(serving_status, sizeof(serving_status), "%s",
             status != NULL ? status : "");
    send_with_status("READY=1", status);
}

void
notify_status_again(void)
{
    if (serving_status[0] != '\0')
        notify_status("%s", serving_status);
}

void
notify_reloading(const char *status)
{
    char head[64];

    snprintf(head, sizeof(head), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)util_mono_us());
    send_with_status(head, status);
}

void
notify_stopping(const char *status)
{
    send_with_status("STOPPING=1", status);
}

void
notify_status(const char *fmt, ...)
{
    char status[400];
    va_list ap;

    if (nt.addrlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(status, sizeof(status), fmt, ap);
    va_end(ap);
    send_with_status(NULL, status);
}

void
notify_watchdog(void)
{
    send_text("WATCHDOG=1", strlen("WATCHDOG=1"));
}

uint64_t
notify_watchdog_usec(void)
{
    return nt.watchdog_usec;
}

void
notify_close(void)
{
    if (nt.fd >= 0)
        close(nt.fd);
    nt.fd = -1;
    nt.addrlen = 0;
}
