/* SPDX-License-Identifier: MIT */
/*
 * test_procstat.c - unit tests for host/procstat.c: the process_* numbers
 * are plausible for this very process (memory > 0, descriptors counted
 * as they open and close, the limit getrlimit gives, CPU time that grows
 * with work), statm parsing, and the exposition of known and unknown
 * numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "procstat.h"

static void
test_read_plausible(void **state)
{
    struct procstat ps;
    struct rlimit rl;

    (void)state;
    procstat_read(&ps);
    assert_true(ps.resident_bytes > 0);
    assert_true(ps.virtual_bytes >= ps.resident_bytes);
    assert_int_equal(ps.resident_bytes % sysconf(_SC_PAGESIZE), 0);
    assert_true(ps.open_fds >= 3); /* stdin, stdout, stderr */
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_true(ps.max_fds == (long long)rl.rlim_cur);
    assert_true(ps.cpu_seconds >= 0.0);
}

static void
test_open_fds_follow(void **state)
{
    struct procstat a, b, c;
    int fd1, fd2;

    (void)state;
    procstat_read(&a);
    fd1 = dup(2);
    fd2 = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fd1 >= 0 && fd2 >= 0);
    procstat_read(&b);
    assert_true(b.open_fds == a.open_fds + 2);
    assert_int_equal(close(fd1), 0);
    assert_int_equal(close(fd2), 0);
    procstat_read(&c);
    assert_true(c.open_fds == a.open_fds);
}

static void
test_cpu_grows(void **state)
{
    struct procstat a, b;
    struct timespec t0, t;
    volatile unsigned long x = 0;

    (void)state;
    procstat_read(&a);
    /* Spin 50 ms of wall time (bounded even on a loaded machine). */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        for (int i = 0; i < 100000; i++)
            x += (unsigned long)i;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) <
             50000000L);
    (void)x;
    procstat_read(&b);
    assert_true(b.cpu_seconds > a.cpu_seconds);
    assert_true(b.cpu_seconds - a.cpu_seconds < 60.0);
}

static void
test_count_fds_dir(void **state)
{
    char dir[] = "/tmp/test_procstat.XXXXXX";
    char path[64];
    const char *names[] = {"a", "b", "c"};

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(procstat_count_fds(dir), 0);
    for (int i = 0; i < 3; i++) {
        int fd;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(close(fd), 0);
    }
    assert_int_equal(procstat_count_fds(dir), 3);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        assert_int_equal(unlink(path), 0);
    }
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(procstat_count_fds(dir), -1);
}

static void
test_parse_statm(void **state)
{
    long long vsz = 7, rss = 7;

    (void)state;
    assert_int_equal(
        procstat_parse_statm("100 25 10 1 0 50 0\n", 4096, &vsz, &rss), 0);
    assert_true(vsz == 409600);
    assert_true(rss == 102400);
    vsz = rss = 7;
    assert_int_equal(procstat_parse_statm("", 4096, &vsz, &rss), -1);
    assert_int_equal(procstat_parse_statm("100", 4096, &vsz, &rss), -1);
    assert_int_equal(procstat_parse_statm("x 1", 4096, &vsz, &rss), -1);
    assert_int_equal(procstat_parse_statm("1 x", 4096, &vsz, &rss), -1);
    assert_int_equal(procstat_parse_statm("-1 2", 4096, &vsz, &rss), -1);
    assert_int_equal(procstat_parse_statm("1 2", 0, &vsz, &rss), -1);
    assert_true(vsz == 7 && rss == 7);
}

static void
test_render(void **state)
{
    struct procstat ps = {1 << 20, 1 << 30, 12, 1024, 1.5};
    struct buf b = BUF_INIT;
    const char *t;

    (void)state;
    procstat_render(&b, &ps, 1700000000LL);
    assert_true(buf_ok(&b));
    t = buf_cstr(&b);
    assert_non_null(strstr(t, "# TYPE process_cpu_seconds_total counter\n"
                              "process_cpu_seconds_total 1.500000\n"));
    assert_non_null(strstr(t, "# TYPE process_resident_memory_bytes gauge\n"
                              "process_resident_memory_bytes 1048576\n"));
    assert_non_null(strstr(t, "# TYPE process_virtual_memory_bytes gauge\n"
                              "process_virtual_memory_bytes 1073741824\n"));
    assert_non_null(strstr(t, "# TYPE process_open_fds gauge\n"
                              "process_open_fds 12\n"));
    assert_non_null(strstr(t, "# TYPE process_max_fds gauge\n"
                              "process_max_fds 1024\n"));
    assert_non_null(strstr(t, "# TYPE process_start_time_seconds gauge\n"
                              "process_start_time_seconds 1700000000\n"));
    assert_non_null(strstr(t, "# HELP process_open_fds "));
    buf_free(&b);

    /* Unknown numbers are left out, family and all. */
    ps.open_fds = -1;
    ps.cpu_seconds = -1.0;
    procstat_render(&b, &ps, 0);
    t = buf_cstr(&b);
    assert_null(strstr(t, "process_open_fds"));
    assert_null(strstr(t, "process_cpu_seconds_total"));
    assert_null(strstr(t, "process_start_time_seconds"));
    assert_non_null(strstr(t, "process_max_fds 1024\n"));
    buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_plausible),
        cmocka_unit_test(test_open_fds_follow),
        cmocka_unit_test(test_cpu_grows),
        cmocka_unit_test(test_count_fds_dir),
        cmocka_unit_test(test_parse_statm),
        cmocka_unit_test(test_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
