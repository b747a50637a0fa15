#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""params_scaling.py - time per request against the count of params.

Posts calc's `sum` with 1k, 3k, 10k, 30k and 100k numbers to a freshly
started rpchost (-j 1, calc.so, 127.0.0.1) and prints the median time per
request for each count and the growth exponent k of time ~ count^k, fitted
by least squares over the five counts (and from the first count to the
last alone).  When it started rpchost itself, also the worker's CPU time
per param (every thread, /proc/PID/task/*/schedstat, over the timed
requests) and its ratio from the first count to the last: issue #16's goal
is the cost per param at 100k within 1.1x of that at 1k.  k near 1 is
linear: the goal of issue #11 is k <= 1.1.  A handler that walked from the
head of the params for each one (what cJSON_GetArrayItem() does) makes k
about 2.

Requests go one at a time on one keep-alive connection; the bodies are
encoded before timing.  Bounded: REPEAT requests per count (default 9;
more for the smaller counts, up to REPEAT x 25 at 1k),
each with a 30 s timeout, and the whole run gives up after 120 s.

    params_scaling.py BUILD_DIR [REPEAT]       start rpchost from BUILD_DIR
    params_scaling.py --port PORT [REPEAT]     use a running rpchost on
                                               127.0.0.1:PORT serving calc
Exits 1 when a request fails or k > 1.1.
"""
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import rpchost_proc as rp

COUNTS = (1000, 3000, 10000, 30000, 100000)
GOAL = 1.1
DEADLINE = 120.0


def body(n):
    numbers = ",".join(str(i % 10) for i in range(n))
    return ('{"jsonrpc":"2.0","method":"sum","id":1,"params":[%s]}'
            % numbers).encode(), 45 * (n // 10) + sum(range(n % 10))


def post(sock, port, data):
    """One POST on sock; returns the answer's body."""
    sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                 b"Content-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % (port, len(data)) + data)
    buf = b""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            m = re.search(rb"(?im)^content-length:\s*(\d+)", buf[:end])
            need = end + 4 + (int(m.group(1)) if m else 0)
            if len(buf) >= need:
                return buf[end + 4:need]
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("connection closed")
        buf += chunk


def start(build, tmp):
    """rpchost -j 1 with calc.so on a free port, its log in tmp; returns
    (process, port)."""
    ini = os.path.join(tmp, "rpc.ini")
    log = os.path.join(tmp, "rpchost.log")
    with open(ini, "w", encoding="utf-8") as f:
        f.write("[server]\n[calc]\npath = %s\n"
                % os.path.join(build, "plugins", "calc.so"))
    with open(log, "wb") as err:
        proc = subprocess.Popen([os.path.join(build, "rpchost"), "-c", ini,
                                 "-l", "127.0.0.1:0", "-j", "1"],
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and proc.poll() is None:
        with open(log, "rb") as f:
            m = re.search(rb"listening on 127\.0\.0\.1:(\d+)", f.read())
        if m:
            return proc, int(m.group(1))
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    sys.exit("params_scaling: rpchost did not start; see %s" % log)


def fit(points):
    """Least-squares slope of log(time) against log(count)."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return (sum((x - mx) * (y - my) for x, y in zip(xs, ys)) /
            sum((x - mx) ** 2 for x in xs))


def main():
    args = sys.argv[1:]
    proc = None
    worker = None
    tmp = tempfile.TemporaryDirectory(prefix="rpchost-scaling-")
    if len(args) >= 2 and args[0] == "--port":
        port, rest = int(args[1]), args[2:]
    elif len(args) >= 1 and not args[0].startswith("-"):
        proc, port = start(os.path.abspath(args[0]), tmp.name)
        worker = rp.worker_of(proc.pid, time.monotonic() + 5)
        rest = args[1:]
    else:
        sys.exit(__doc__)
    repeat = int(rest[0]) if rest else 9
    t_end = time.monotonic() + DEADLINE
    points = []
    try:
        sock = socket.create_connection(("127.0.0.1", port), 30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        print("| params | body bytes | median ms / request | us / param |"
              " server CPU us / param |")
        print("|---:|---:|---:|---:|---:|")
        for n in COUNTS:
            data, want = body(n)
            times = []
            c0 = 0
            # Smaller bodies get more requests, so that each count's CPU
            # time is long enough to be read well (a quarter of the last's).
            reps = max(repeat, repeat * COUNTS[-1] // n // 4)
            for i in range(reps + 1):  # the first one warms up
                if i == 1 and worker is not None:
                    c0 = rp.cpu_ns(worker)
                if time.monotonic() > t_end:
                    sys.exit("params_scaling: over %.0f s; stopped" % DEADLINE)
                t0 = time.perf_counter()
                answer = post(sock, port, data)
                times.append(time.perf_counter() - t0)
                if answer != (b'{"jsonrpc":"2.0","result":%d,"id":1}' % want):
                    sys.exit("params_scaling: sum of %d: %r" % (n, answer[:200]))
            cpu = ((rp.cpu_ns(worker) - c0) / 1e3 / reps / n
                   if worker is not None else None)
            t = statistics.median(times[1:])
            points.append((n, t, cpu))
            print("| %d | %d | %.3f | %.3f | %s |"
                  % (n, len(data), t * 1e3, t * 1e6 / n,
                     "%.4f" % cpu if cpu is not None else "-"))
        sock.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(15)
        tmp.cleanup()
    k = fit([(n, t) for n, t, _ in points])
    k_ends = (math.log(points[-1][1] / points[0][1]) /
              math.log(points[-1][0] / points[0][0]))
    print()
    print("growth exponent (time ~ params^k), %d..%d params: k = %.3f fitted "
          "over the %d counts, %.3f from the first to the last; goal k <= %.1f:"
          " %s" % (COUNTS[0], COUNTS[-1], k, len(points), k_ends, GOAL,
                   "met" if max(k, k_ends) <= GOAL else "NOT met"))
    if worker is not None and points[0][2]:
        print()
        print("server CPU per param, %d params / %d params: %.3f (goal <= "
              "1.1: %s)" % (COUNTS[-1], COUNTS[0],
                            points[-1][2] / points[0][2],
                            "met" if points[-1][2] / points[0][2] <= 1.1
                            else "NOT met"))
    return 0 if max(k, k_ends) <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
