/* SPDX-License-Identifier: MIT */
/*
 * control.c - see control.h.
 */
#include "control.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pidfile.h"

static const struct {
    const char *name;
    int sig;
    const char *signame;
    int checks; /* the server reads its config on this signal */
} actions[] = {
    {"reload", SIGHUP, "SIGHUP", 1},
    {"stop", SIGTERM, "SIGTERM", 0},
    {"reopen", SIGUSR1, "SIGUSR1", 0},
    {"upgrade", SIGUSR2, "SIGUSR2", 1},
};
#define N_ACTIONS (sizeof(actions) / sizeof(actions[0]))

static int
find(const char *name)
{
    for (size_t i = 0; i < N_ACTIONS; i++)
        if (strcmp(actions[i].name, name) == 0)
            return (int)i;
    return -1;
}

int
control_signal(const char *name)
{
    int i = find(name);

    return i < 0 ? 0 : actions[i].sig;
}

int
control_checks_config(const char *name)
{
    int i = find(name);

    return i >= 0 && actions[i].checks;
}

/* The first line of /proc/PID/comm (pid 0: this process) into buf, without
 * its newline.  0, or -1 with errno (ENOENT: no such process). */
static int
read_comm(long pid, char *buf, size_t len)
{
    char path[64];
    FILE *f;
    size_t n;

    if (pid == 0)
        snprintf(path, sizeof(path), "/proc/self/comm");
    else
        snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    if (fgets(buf, (int)len, f) == NULL) {
        fclose(f);
        errno = EIO;
        return -1;
    }
    fclose(f);
    n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n')
        buf[n - 1] = '\0';
    return 0;
}

/* The file /proc/PID/exe runs (pid 0: this process), " (deleted)" cut: a
 * binary replaced on disk (SIGUSR2's upgrade) is still the program.  0 or
 * -1 (EACCES for another user's process). */
static int
read_exe(long pid, char *buf, size_t len)
{
    static const char deleted[] = " (deleted)";
    char path[64];
    ssize_t n;
    size_t d = sizeof(deleted) - 1;

    if (pid == 0)
        snprintf(path, sizeof(path), "/proc/self/exe");
    else
        snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
    n = readlink(path, buf, len - 1);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    if ((size_t)n > d && strcmp(buf + n - d, deleted) == 0)
        buf[n - d] = '\0';
    return 0;
}

/* Whether process `pid` is an rpchost: its command name is this one's
 * (the binary's file name, as the kernel keeps it), or it runs the same
 * file.  0 yes; -1 no, logged. */
static int
is_rpchost(long pid, const char *pidfile)
{
    char comm[64], own[64], exe[4096], own_exe[4096];

    if (read_comm(pid, comm, sizeof(comm)) != 0) {
        if (errno == ENOENT) {
            log_error("pidfile %s: no process %ld: the server is not "
                      "running (a stale pidfile); nothing signalled",
                      pidfile, pid);
        } else {
            log_error("pidfile %s: process %ld: %s; nothing signalled", pidfile,
                      pid, strerror(errno));
        }
        return -1;
    }
    if (read_comm(0, own, sizeof(own)) != 0)
        snprintf(own, sizeof(own), "rpchost");
    else if (strcmp(comm, own) == 0)
        return 0;
    if (read_exe(pid, exe, sizeof(exe)) == 0 &&
        read_exe(0, own_exe, sizeof(own_exe)) == 0 && strcmp(exe, own_exe) == 0)
        return 0;
    log_error("pidfile %s: process %ld is '%s', not %s: the pidfile is "
              "stale (its pid now belongs to another program); nothing "
              "signalled",
              pidfile, pid, comm, own);
    return -1;
}

int
control_send(const char *pidfile, const char *config, const char *name,
             int quiet)
{
    int i = find(name);
    long pid;

    if (i < 0) {
        log_error("-s %s: not one of reload, stop, reopen, upgrade", name);
        return -1;
    }
    if (pidfile == NULL) {
        log_error("-s %s: %s sets no [server] pidfile, so the running "
                  "server cannot be found; set pidfile, or signal it with "
                  "kill -%s PID",
                  name, config, actions[i].signame + 3);
        return -1;
    }
    if (pidfile_read(pidfile, &pid) != 0)
        return -1;
    if (pid == (long)getpid()) {
        log_error("pidfile %s: names this very process (%ld): stale; "
                  "nothing signalled",
                  pidfile, pid);
        return -1;
    }
    if (is_rpchost(pid, pidfile) != 0)
        return -1;
    if (kill((pid_t)pid, actions[i].sig) != 0) {
        log_error("-s %s: cannot signal process %ld (from %s): %s", name, pid,
                  pidfile, strerror(errno));
        return -1;
    }
    if (!quiet)
        printf("rpchost: %s: sent %s to process %ld (from %s)\n", name,
               actions[i].signame, pid, pidfile);
    return 0;
}
