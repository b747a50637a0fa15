/* SPDX-License-Identifier: MIT */
/*
 * pidfile.c - see pidfile.h.
 */
#include "pidfile.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int
pidfile_write(const char *path)
{
    char text[32], tmp[4096];
    FILE *f;
    int n;

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
    return 0;
}

int
pidfile_check(const char *path, const char *config)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);

    if (n >= sizeof(dir))
        n = sizeof(dir) - 1;
    memcpy(dir, slash == NULL ? "." : path, n);
    dir[n] = '\0';
    if (access(dir, W_OK | X_OK) == 0)
        return 0;
    log_error("%s: pidfile %s: cannot write in %s: %s", config, path, dir,
              strerror(errno));
    return -1;
}

int
pidfile_read(const char *path, long *pid)
{
    char text[32], *end = text;
    FILE *f = fopen(path, "r");
    size_t n;
    long v;

    if (f == NULL) {
        log_error("pidfile %s: %s%s", path, strerror(errno),
                  errno == ENOENT ? " (is the server running, with this "
                                    "config?)"
                                  : "");
        return -1;
    }
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    if (n > 0 && text[n - 1] == '\n')
        text[--n] = '\0';
    errno = 0;
    v = n > 0 && text[0] >= '0' && text[0] <= '9' ? strtol(text, &end, 10) : 0;
    if (n == 0 || errno != 0 || *end != '\0' || v <= 1 || v > INT_MAX) {
        log_error("pidfile %s: does not hold a process id", path);
        return -1;
    }
    *pid = v;
    return 0;
}
