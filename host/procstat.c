/* SPDX-License-Identifier: MIT */
/*
 * procstat.c - see procstat.h.
 */
#include "procstat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

int
procstat_parse_statm(const char *text, long page_size, long long *virtual_bytes,
                     long long *resident_bytes)
{
    unsigned long long pages[2];
    const char *p = text;

    if (page_size <= 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        char *end;
        while (*p == ' ')
            p++;
        if (*p < '0' || *p > '9') /* strtoull would take "-1" */
            return -1;
        errno = 0;
        pages[i] = strtoull(p, &end, 10);
        if (errno != 0 || end == p)
            return -1;
        if (pages[i] > (unsigned long long)(LLONG_MAX / page_size))
            return -1;
        p = end;
    }
    *virtual_bytes = (long long)pages[0] * page_size;
    *resident_bytes = (long long)pages[1] * page_size;
    return 0;
}

/* Read /proc/self/statm into *ps's memory fields (left -1 on failure). */
static void
read_statm(struct procstat *ps)
{
    char text[256];
    size_t len = 0;
    long page = sysconf(_SC_PAGESIZE);
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return;
    while (len < sizeof(text) - 1) {
        ssize_t n = read(fd, text + len, sizeof(text) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            return;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    text[len] = '\0';
    procstat_parse_statm(text, page, &ps->virtual_bytes, &ps->resident_bytes);
}

long long
procstat_count_fds(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    long long n = 0;
    char own[24] = "";

    if (d == NULL)
        return -1;
    if (dirfd(d) >= 0)
        snprintf(own, sizeof(own), "%d", dirfd(d));
    for (;;) {
        errno = 0;
        e = readdir(d);
        if (e == NULL)
            break;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        /* The descriptor opendir() holds is listed too: not counted. */
        if (strcmp(e->d_name, own) == 0)
            continue;
        n++;
    }
    if (errno != 0) {
        int saved = errno;
        closedir(d);
        errno = saved;
        return -1;
    }
    closedir(d);
    return n;
}

void
procstat_read(struct procstat *ps)
{
    struct rlimit rl;
    struct rusage ru;

    ps->resident_bytes = -1;
    ps->virtual_bytes = -1;
    ps->max_fds = -1;
    ps->cpu_seconds = -1.0;
    read_statm(ps);
    ps->open_fds = procstat_count_fds("/proc/self/fd");
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        ps->max_fds = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > LLONG_MAX
                          ? LLONG_MAX
                          : (long long)rl.rlim_cur;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        ps->cpu_seconds =
            (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
            (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* One family of a single sample, HELP and TYPE included. */
static void
family(struct buf *out, const char *name, const char *type, const char *help)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One gauge family and its sample, unless v is unknown (negative). */
static void
gauge(struct buf *out, const char *name, const char *help, long long v)
{
    if (v < 0)
        return;
    family(out, name, "gauge", help);
    buf_printf(out, "%s %lld\n", name, v);
}

void
procstat_render(struct buf *out, const struct procstat *ps,
                long long start_time)
{
    if (ps->cpu_seconds >= 0) {
        family(out, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.");
        buf_printf(out, "process_cpu_seconds_total %.6f\n", ps->cpu_seconds);
    }
    gauge(out, "process_resident_memory_bytes",
          "Resident memory size in bytes.", ps->resident_bytes);
    gauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
          ps->virtual_bytes);
    gauge(out, "process_open_fds", "Number of open file descriptors.",
          ps->open_fds);
    gauge(out, "process_max_fds", "Maximum number of open file descriptors.",
          ps->max_fds);
    gauge(out, "process_start_time_seconds",
          "Start time of the process since unix epoch in seconds.",
          start_time != 0 ? start_time : -1);
}
