/* SPDX-License-Identifier: MIT */
/*
 * upgrade.c - see upgrade.h.
 */
#define _GNU_SOURCE
#include "upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "notify.h"
#include "util.h"

#define UPGRADE_ENV "RPCHOST_UPGRADE"

int
upgrade_check(const char *exe)
{
    long long deadline = util_mono_ms() + UPGRADE_CHECK_MS;
    int status = 0, devnull;
    pid_t pid, done;

    pid = fork();
    if (pid == 0) {
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        execl(exe, exe, "--version", (char *)NULL);
        _exit(127);
    }
    if (pid < 0) {
        log_error("SIGUSR2: fork: %s; not upgrading", strerror(errno));
        return -1;
    }
    while ((done = waitpid(pid, &status, WNOHANG)) == 0 &&
           util_mono_ms() < deadline)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        log_error("SIGUSR2: %s --version did not finish within %d ms; not "
                  "upgrading",
                  exe, UPGRADE_CHECK_MS);
        return -1;
    }
    if (done < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        log_error("SIGUSR2: %s --version failed (%s %d); not upgrading: the "
                  "running binary goes on",
                  exe,
                  done < 0            ? "error"
                  : WIFEXITED(status) ? "exit status"
                                      : "signal",
                  done < 0            ? errno
                  : WIFEXITED(status) ? WEXITSTATUS(status)
                                      : WTERMSIG(status));
        return -1;
    }
    return 0;
}

void
upgrade_exec(const struct upgrade *u, const char *text, size_t len,
             const char *exe, char *const *argv)
{
    char env[512];
    int mfd, off;

    mfd = memfd_create("rpchost-config", 0); /* inherited on purpose */
    if (mfd < 0 || write(mfd, text, len) != (ssize_t)len) {
        log_error("SIGUSR2: cannot keep the config for the new binary: %s",
                  strerror(errno));
        if (mfd >= 0)
            close(mfd);
        return;
    }
    off = snprintf(env, sizeof(env), "config=%d,listen=", mfd);
    for (int i = 0; i < u->nlisten; i++)
        off += snprintf(env + off, sizeof(env) - (size_t)off, "%s%d%c",
                        i ? ":" : "", u->listen_fd[i],
                        u->listen_systemd[i] ? 's' : 'o');
    off += snprintf(env + off, sizeof(env) - (size_t)off, ",restarts=");
    for (int r = 0; r < RESTART_NREASONS; r++)
        off += snprintf(env + off, sizeof(env) - (size_t)off, "%s%lu",
                        r ? ":" : "", u->restarts[r]);
    off += snprintf(env + off, sizeof(env) - (size_t)off, ",workers=");
    /* Each worker with its state: 's' serving, 'd' draining. */
    for (int i = 0; i < u->nworkers; i++)
        off += snprintf(env + off, sizeof(env) - (size_t)off, "%s%ld%c",
                        i ? ":" : "", (long)u->pids[i],
                        u->draining[i] ? 'd' : 's');
    if (setenv(UPGRADE_ENV, env, 1) != 0) {
        log_error("SIGUSR2: %s; not upgrading", strerror(errno));
        close(mfd);
        return;
    }
    notify_export(1);
    for (int i = 0; i < u->nlisten; i++)
        fcntl(u->listen_fd[i], F_SETFD, 0);
    log_info("SIGUSR2: re-executing %s", exe);
    execv(exe, argv);
    log_error("SIGUSR2: cannot execute %s: %s; the running binary goes on", exe,
              strerror(errno));
    for (int i = 0; i < u->nlisten; i++)
        fcntl(u->listen_fd[i], F_SETFD, FD_CLOEXEC);
    unsetenv(UPGRADE_ENV);
    notify_export(0);
    close(mfd);
}

/* The value of `key=` in the variable, or NULL. */
static const char *
field(const char *env, const char *key)
{
    size_t n = strlen(key);

    for (const char *p = env; p != NULL && *p; p = strchr(p, ',')) {
        if (*p == ',')
            p++;
        if (strncmp(p, key, n) == 0 && p[n] == '=')
            return p + n + 1;
    }
    return NULL;
}

/* A descriptor number from the variable, or -1. */
static int
fd_field(const char *env, const char *key)
{
    const char *v = field(env, key);
    char *end;
    long fd;

    if (v == NULL)
        return -1;
    fd = strtol(v, &end, 10);
    return end != v && fd >= 0 && fd < 65536 ? (int)fd : -1;
}

struct config *
upgrade_config(const char *file)
{
    const char *env = getenv(UPGRADE_ENV);
    struct config *c = NULL;
    char err[1024], *text;
    int fd = env != NULL ? fd_field(env, "config") : -1;
    off_t len;

    if (fd < 0)
        return NULL;
    len = lseek(fd, 0, SEEK_END);
    if (len < 0 || len > CONFIG_MAX_TEXT)
        return NULL;
    text = malloc((size_t)len + 1);
    if (text == NULL || pread(fd, text, (size_t)len, 0) != (ssize_t)len ||
        config_parse(file, text, (size_t)len, &c, err, sizeof(err)) != 0) {
        free(text);
        return NULL;
    }
    free(text);
    log_warn("SIGUSR2: serving the config the previous binary served");
    return c;
}

int
upgrade_take(struct upgrade *u)
{
    const char *env = getenv(UPGRADE_ENV), *v;
    int fd;

    memset(u, 0, sizeof(*u));
    if (env == NULL)
        return 0;
    /* "listen=3s:4o": each socket, 's' socket activation's, 'o' ours. */
    for (v = field(env, "listen"); v != NULL && *v >= '0' && *v <= '9';) {
        char *end;
        long n = strtol(v, &end, 10);

        if (n >= 0 && n < 65536 && u->nlisten < ADDRESS_MAX) {
            u->listen_fd[u->nlisten] = (int)n;
            u->listen_systemd[u->nlisten] = *end == 's';
            u->nlisten++;
        }
        v = strpbrk(v, ":,");
        v = v != NULL && *v == ':' ? v + 1 : NULL;
    }
    if ((fd = fd_field(env, "config")) >= 0)
        close(fd);
    v = field(env, "restarts");
    for (int r = 0; r < RESTART_NREASONS && v != NULL; r++) {
        u->restarts[r] = strtoul(v, NULL, 10);
        v = strchr(v, ':');
        v = v ? v + 1 : NULL;
    }
    for (v = field(env, "workers"); v != NULL && *v && *v != ',';) {
        char *end;
        long pid = strtol(v, &end, 10);

        if (pid > 0 && u->nworkers < UPGRADE_MAX_WORKERS) {
            u->pids[u->nworkers] = (pid_t)pid;
            u->draining[u->nworkers] = *end == 'd';
            u->nworkers++;
        }
        v = strpbrk(v, ":,");
        v = v != NULL && *v == ':' ? v + 1 : NULL;
    }
    unsetenv(UPGRADE_ENV);
    return 1;
}
