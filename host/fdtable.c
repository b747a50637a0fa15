/* SPDX-License-Identifier: MIT */
/*
 * fdtable.c - see fdtable.h.
 */
#define _GNU_SOURCE
#include "fdtable.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

/* Descriptors kept for everything but connections: the listening socket,
 * logs, the pidfile, each loop's epoll and eventfd, plugins (their files,
 * and two generations' copies during a reload) and what plugins open. */
#define FD_RESERVE_BASE 64
#define FD_RESERVE_PER_LOOP 4

/* Connections the table is sized for when max_connections is 0 (as many
 * as the descriptor limit allows, which is often 2^20 or more: 8 MiB of
 * kernel memory for a table sized for it up front).  Beyond it the table
 * grows as the connections come, as it would without this file. */
#define FD_TABLE_UNBOUNDED 65536

static long
fd_reserve(const struct config *cfg)
{
    return FD_RESERVE_BASE + FD_RESERVE_PER_LOOP * (long)cfg->threads;
}

long
fd_connection_cap(const struct config *cfg)
{
    struct rlimit rl;
    long reserve = fd_reserve(cfg), cap;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 &&
            getrlimit(RLIMIT_NOFILE, &rl) != 0)
            return 0;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)LONG_MAX / 2)
        return 0;
    cap = (long)rl.rlim_cur - reserve;
    if (cap < 1)
        cap = 1;
    if (cfg->max_connections == 0 || cfg->max_connections > cap)
        log_warn("max_connections %d%s is more than the descriptor limit "
                 "%llu allows; using %ld (%ld kept for logs, loops and "
                 "plugins; raise the limit: ulimit -n, LimitNOFILE=)",
                 cfg->max_connections,
                 cfg->max_connections == 0 ? " (no limit)" : "",
                 (unsigned long long)rl.rlim_cur, cap, reserve);
    return cap;
}

void
fd_table_reserve(const struct config *cfg, long conn_cap)
{
    long conns = cfg->max_connections, want;
    struct rlimit rl;
    int fd, high;

    if (conns == 0)
        conns = FD_TABLE_UNBOUNDED;
    if (conn_cap > 0 && conns > conn_cap)
        conns = conn_cap;
    want = conns + fd_reserve(cfg);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)want > rl.rlim_cur)
        want = (long)rl.rlim_cur;
    if (want > INT_MAX)
        want = INT_MAX;
    /* A descriptor numbered want - 1 makes the kernel size the table for
     * it (rounded up to a power of two); closing it leaves the size. */
    fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log_debug("descriptor table not sized: /dev/null: %s", strerror(errno));
        return;
    }
    high = fd >= want - 1 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, (int)want - 1);
    if (high < 0 && fd < want - 1)
        log_debug("descriptor table not sized for %ld: %s", want,
                  strerror(errno));
    else
        log_debug("descriptor table sized for %ld descriptors", want);
    if (high >= 0)
        close(high);
    close(fd);
}
