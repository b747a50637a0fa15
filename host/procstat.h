/* SPDX-License-Identifier: MIT */
/*
 * procstat.h - the process's own numbers for /metrics: the `process_*`
 * series of the Prometheus client conventions (resident and virtual
 * memory, open and maximum descriptors, CPU time, start time).
 *
 * Linux: memory from /proc/self/statm, descriptors from /proc/self/fd,
 * CPU time from getrusage(RUSAGE_SELF), the descriptor limit from
 * getrlimit(RLIMIT_NOFILE).  Each number is read on its own; one that
 * cannot be read is marked unknown (-1) and its series left out, the
 * others still rendered.
 *
 * Threads: every function may run on any thread and keeps no state; they
 * read only the calling process's own files.  Cost: a few small reads of
 * in-memory procfs files, except procstat_count_fds, which is O(open
 * descriptors) (one getdents entry per descriptor, ~1 us each: 9 ms at
 * 10000 measured, during which the calling loop serves nothing else).
 */
#ifndef HOST_PROCSTAT_H
#define HOST_PROCSTAT_H

#include "buf.h"

struct procstat {
    long long resident_bytes; /* -1: unknown */
    long long virtual_bytes;  /* -1: unknown */
    long long open_fds;       /* -1: unknown */
    long long max_fds;        /* RLIMIT_NOFILE soft limit; -1: unknown */
    double cpu_seconds;       /* user + system; < 0: unknown */
};

/* Fill *ps with the calling process's numbers now (unknown ones -1). */
void procstat_read(struct procstat *ps);

/* Parse the text of /proc/PID/statm ("size resident shared ..." in pages)
 * into bytes with `page_size`.  Returns 0, or -1 (outputs untouched) when
 * the first two fields are not numbers or page_size is not positive.
 * Pure. */
int procstat_parse_statm(const char *text, long page_size,
                         long long *virtual_bytes, long long *resident_bytes);

/* The number of entries of directory `dir` other than ".", ".." and the
 * descriptor that reading it holds open itself (when `dir` is
 * /proc/self/fd, the process's open descriptors).  -1 if it cannot be
 * opened or read (errno set). */
long long procstat_count_fds(const char *dir);

/* Append the process_* families of *ps (unknown ones left out) and
 * process_start_time_seconds = `start_time` (unix seconds; left out when
 * 0) to `out` in Prometheus text format.  `out`'s failure latches. */
void procstat_render(struct buf *out, const struct procstat *ps,
                     long long start_time);

#endif
