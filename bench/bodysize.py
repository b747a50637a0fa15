#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bodysize.py - server CPU per MB of request against the body's size.

rpchost -j 1 with echo.so (max_body_size 8 MiB), one keep-alive connection
from this process, requests one at a time: `echo` of an array of 1,000-byte
strings, bodies of 64 KiB, 256 KiB and 1 MiB (the answer is as large: the
params come back).  For each size, requests go for SECONDS; the worker's CPU
time (every thread, /proc/PID/task/*/schedstat) over them, divided by the
MB of request bodies sent, is the cost per MB.  ROUNDS rounds, the sizes in
turn within each, so a drift of a shared machine touches every size alike;
the median per size is kept.

The growth exponent between two sizes is k = 1 + log(cost per MB ratio) /
log(size ratio) (time per request ~ size^k); linear is k = 1.  The goal of
issue #16: the cost per MB at 1 MiB within 1.1x of that at 64 KiB.

    bodysize.py BUILD_DIR [SECONDS [ROUNDS]]    (default 2 s, 3 rounds)

The server is pinned to CPU 0 and this client to CPU 1 when there are two
CPUs or more.  Bounded: each request has a 30 s timeout, the whole run
stops after 180 s.  Prints a Markdown table, then one line
"bodysize: ratio=R k=K" for bench/run.sh.  Exits 1 when a request fails.
"""
import math
import os
import statistics
import sys
import tempfile
import time

import rpchost_proc as rp

SIZES = (64 << 10, 256 << 10, 1 << 20)
DEADLINE = 180.0
STR = 1000  # bytes of each string param


def body(size):
    """An echo request of about size bytes and the answer's length."""
    head = b'{"jsonrpc":"2.0","method":"echo","id":1,"params":['
    item = b'"' + b"x" * STR + b'"'
    n = max(1, (size - len(head) - 2) // (len(item) + 1))
    params = b",".join([item] * n)
    data = head + params + b"]}"
    answer = b'{"jsonrpc":"2.0","result":[' + params + b'],"id":1}'
    return data, len(answer)


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    build = os.path.abspath(args[0])
    secs = float(args[1]) if len(args) > 1 else 2.0
    rounds = int(args[2]) if len(args) > 2 else 3
    pin = None
    if (os.cpu_count() or 1) >= 2:
        pin = "0"
        os.sched_setaffinity(0, {1})
    t_end = time.monotonic() + DEADLINE
    bodies = {s: body(s) for s in SIZES}
    per_mb = {s: [] for s in SIZES}
    reqs = {s: 0 for s in SIZES}
    with tempfile.TemporaryDirectory(prefix="rpchost-bodysize-") as tmp:
        proc, port, worker = rp.start(
            build, tmp, {"max_body_size": "8M", "max_response_size": "16M"},
            {"echo": ("echo.so", {})}, threads=1, pin=pin)
        try:
            sock = rp.connect(port)
            for s in SIZES:  # warm-up, and the answer checked once
                data, alen = bodies[s]
                got = rp.post(sock, port, data)
                if len(got) != alen:
                    sys.exit("bodysize: %d bytes: answer of %d bytes, not %d:"
                             " %r" % (s, len(got), alen, got[:200]))
            for _ in range(rounds):
                for s in SIZES:
                    data, _ = bodies[s]
                    n = 0
                    c0 = rp.cpu_ns(worker)
                    t0 = time.monotonic()
                    while n < 2 or time.monotonic() - t0 < secs:
                        if time.monotonic() > t_end:
                            sys.exit("bodysize: over %.0f s; stopped"
                                     % DEADLINE)
                        rp.post(sock, port, data)
                        n += 1
                    cpu = rp.cpu_ns(worker) - c0
                    per_mb[s].append(cpu / 1e6 / (n * len(data) / 1e6))
                    reqs[s] += n
            sock.close()
        finally:
            rp.stop(proc)
    med = {s: statistics.median(per_mb[s]) for s in SIZES}
    base = SIZES[0]
    print("| body | bytes | requests | server CPU ms / MB (median) | "
          "rounds | vs %d KiB | k from %d KiB |" % (base >> 10, base >> 10))
    print("|---:|---:|---:|---:|---|---:|---:|")
    for s in SIZES:
        r = med[s] / med[base]
        k = 1 + math.log(r) / math.log(s / base) if s != base else 1.0
        print("| %d KiB | %d | %d | %.2f | %s | %.2fx | %s |"
              % (s >> 10, len(bodies[s][0]), reqs[s], med[s],
                 " ".join("%.2f" % v for v in per_mb[s]), r,
                 "%.3f" % k if s != base else "-"))
    r = med[SIZES[-1]] / med[base]
    k = 1 + math.log(r) / math.log(SIZES[-1] / base)
    print()
    print("bodysize: ratio=%.3f k=%.3f" % (r, k))
    return 0


if __name__ == "__main__":
    sys.exit(main())
