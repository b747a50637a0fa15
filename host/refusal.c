/* SPDX-License-Identifier: MIT */
/*
 * refusal.c - see refusal.h.
 */
#include "refusal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "buf.h"
#include "jsonrpc.h"
#include "rpchost/plugin.h" /* RPCHOST_INVALID_REQUEST */
#include "util.h"

void
refusal_chunked(int fd, void *arg)
{
    struct buf b = BUF_INIT;
    char head[256], date[40], *body;
    size_t len = 0;
    struct iovec v[2];
    struct msghdr m;
    int n;

    (void)arg;
    if (fd < 0)
        return;
    rpc_write_error_detail(&b, NULL, 0, RPCHOST_INVALID_REQUEST,
                           "HTTP 413: the chunked body's framing (chunk-size "
                           "lines, extensions, empty lines) is over "
                           "max_chunk_overhead");
    body = buf_take(&b, &len);
    if (body == NULL)
        return; /* out of memory: closed without an answer */
    util_http_date(date, sizeof(date), (long long)time(NULL));
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 413 Payload Too Large\r\nDate: %s\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n",
                 date, len);
    if (n > 0 && (size_t)n < sizeof(head)) {
        v[0].iov_base = head;
        v[0].iov_len = (size_t)n;
        v[1].iov_base = body;
        v[1].iov_len = len;
        memset(&m, 0, sizeof(m));
        m.msg_iov = v;
        m.msg_iovlen = 2;
        (void)sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL); /* best effort */
    }
    free(body);
}
