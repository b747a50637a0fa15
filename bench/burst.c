/* SPDX-License-Identifier: MIT */
/*
 * burst.c - a connect burst: N non-blocking connects to 127.0.0.1:PORT at
 * once, one small request on each as soon as it is connected, and the time
 * until every connection has its answer.  A connection is answered only
 * after the server accept()ed it, so the time to the last answer bounds the
 * time to accept them all from above (it adds one request's work per
 * connection, which is small next to an accept).  A connection whose
 * handshake was dropped (listen queue full: the kernel drops the SYN or the
 * final ACK) is retried by the kernel after the initial RTO of 1 s, so a
 * drop shows as answers after about 1 s.
 *
 *   burst PORT N [TIMEOUT_S] [PATH]
 *
 * PATH (default /) is requested with POST and a JSON-RPC ping; "GET:PATH"
 * sends a GET instead (e.g. GET:/healthz).  Prints one line of key=value:
 *   n, connected (handshakes the client saw complete), answered, failed,
 *   t_connect_ms (the last connect done), t_all_ms (the last answer),
 *   p50_ms, p99_ms (answer times), over_1s (answers after 1 s), wall_ms.
 * Exits 0 when every connection was answered before TIMEOUT_S (default 10),
 * 1 otherwise; 2 on a usage or setup error.  Bounded by TIMEOUT_S; every
 * socket is closed on exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { ST_CONNECTING, ST_READING, ST_DONE, ST_FAILED };

struct conn {
    int fd;
    int state;
    size_t got;     /* bytes of the answer read so far */
    double t_conn;  /* ms from the start, when the handshake completed */
    double t_ans;   /* ms from the start, when the answer was complete */
    char head[512]; /* the start of the answer, to find its end */
};

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* 1 when c->head holds a whole answer (headers and Content-Length bytes). */
static int
answer_complete(const struct conn *c)
{
    const char *end = memmem(c->head, c->got, "\r\n\r\n", 4);
    const char *cl;
    long len = 0;

    if (end == NULL)
        return 0;
    cl = strcasestr(c->head, "\r\ncontent-length:");
    if (cl != NULL && cl < end)
        len = strtol(cl + 17, NULL, 10);
    return (size_t)(end + 4 - c->head) + (size_t)len <= c->got;
}

int
main(int argc, char **argv)
{
    int port, n, timeout_s, ep, i, left, connected = 0, answered = 0;
    int failed = 0, over_1s = 0;
    const char *path = argc > 4 ? argv[4] : "/";
    char req[512];
    size_t reqlen;
    struct sockaddr_in sa;
    struct conn *cs;
    struct epoll_event ev, evs[256];
    double t0, t_connect = 0, t_all = 0, *times;
    struct rlimit rl;

    if (argc < 3) {
        fprintf(stderr, "usage: burst PORT N [TIMEOUT_S] [PATH|GET:PATH]\n");
        return 2;
    }
    port = (int)strtol(argv[1], NULL, 10);
    n = (int)strtol(argv[2], NULL, 10);
    timeout_s = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 10;
    if (port <= 0 || port > 65535 || n <= 0 || timeout_s <= 0) {
        fprintf(stderr, "burst: bad arguments\n");
        return 2;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 16) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)n + 16) {
            fprintf(stderr, "burst: ulimit -n %lu is below %d\n",
                    (unsigned long)rl.rlim_cur, n + 16);
            return 2;
        }
    }
    if (strncmp(path, "GET:", 4) == 0) {
        snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", path + 4,
                 port);
    } else {
        static const char ping[] =
            "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}";
        snprintf(req, sizeof(req),
                 "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 path, port, sizeof(ping) - 1, ping);
    }
    reqlen = strlen(req);

    cs = calloc((size_t)n, sizeof(*cs));
    times = calloc((size_t)n, sizeof(*times));
    ep = epoll_create1(0);
    if (cs == NULL || times == NULL || ep < 0) {
        perror("burst");
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    /* Every connect first, so they arrive together; epoll afterwards. */
    t0 = now_ms();
    for (i = 0; i < n; i++) {
        struct conn *c = &cs[i];
        int one = 1;

        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (c->fd < 0) {
            c->state = ST_FAILED;
            failed++;
            continue;
        }
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
            errno != EINPROGRESS) {
            close(c->fd);
            c->fd = -1;
            c->state = ST_FAILED;
            failed++;
            continue;
        }
        c->state = ST_CONNECTING;
    }
    for (i = 0; i < n; i++) {
        if (cs[i].state == ST_FAILED)
            continue;
        ev.events = EPOLLOUT | EPOLLIN;
        ev.data.u32 = (unsigned)i;
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }

    left = n - failed;
    while (left > 0) {
        double t = now_ms();
        int k, j;

        if (t - t0 > timeout_s * 1e3)
            break;
        k = epoll_wait(ep, evs, 256, 100);
        for (j = 0; j < k; j++) {
            struct conn *c = &cs[evs[j].data.u32];
            int err = 0;
            socklen_t el = sizeof(err);
            ssize_t r;

            t = now_ms();
            if (c->state == ST_CONNECTING) {
                if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 ||
                    err != 0 || write(c->fd, req, reqlen) != (ssize_t)reqlen) {
                    c->state = ST_FAILED;
                    failed++;
                    left--;
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    continue;
                }
                c->t_conn = t - t0;
                connected++;
                if (c->t_conn > t_connect)
                    t_connect = c->t_conn;
                c->state = ST_READING;
                ev.events = EPOLLIN;
                ev.data.u32 = evs[j].data.u32;
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                continue;
            }
            if (c->state != ST_READING)
                continue;
            r = read(c->fd, c->head + c->got, sizeof(c->head) - 1 - c->got);
            if (r > 0) {
                c->got += (size_t)r;
                c->head[c->got] = '\0';
                if (!answer_complete(c) && c->got < sizeof(c->head) - 1)
                    continue;
                c->t_ans = t - t0;
                times[answered++] = c->t_ans;
                if (c->t_ans > t_all)
                    t_all = c->t_ans;
                if (c->t_ans > 1000)
                    over_1s++;
                c->state = ST_DONE;
            } else if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            } else {
                c->state = ST_FAILED; /* closed or reset before answering */
                failed++;
            }
            left--;
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        }
    }
    qsort(times, (size_t)answered, sizeof(*times), cmp_double);
    printf("n=%d connected=%d answered=%d failed=%d t_connect_ms=%.1f "
           "t_all_ms=%.1f p50_ms=%.1f p99_ms=%.1f over_1s=%d wall_ms=%.1f\n",
           n, connected, answered, failed, t_connect, t_all,
           answered ? times[answered / 2] : 0.0,
           answered ? times[(answered * 99) / 100 - (answered >= 100)] : 0.0,
           over_1s, now_ms() - t0);
    for (i = 0; i < n; i++)
        if (cs[i].fd >= 0)
            close(cs[i].fd);
    close(ep);
    free(cs);
    free(times);
    return answered == n ? 0 : 1;
}
