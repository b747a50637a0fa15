#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""deferred.py - memory of pending deferred calls, and after them.

rpchost at its default threads with sleep.so; the worker's resident set
(VmRSS) is read before, while N calls to `sleep(MS)` are pending, and
SETTLE seconds after they have all been answered and their connections
closed.  Two shapes:

  conns    N connections, one call on each: the cost of a pending call
           with its connection (evhttp's connection and request, the
           bufferevent, the call).
  batches  N / 1000 connections, a batch of 1000 calls on each: the cost
           of a pending call alone (the connection shared).

KiB per pending call = (RSS while pending - RSS before) / N.  Goals of
issue #16: <= 2 KiB per pending deferred call; RSS SETTLE s after the burst
within 1.5x of its value before.  "Before" is read once the fresh server
has answered one call: the code a first request runs (libc's, libevent's,
the plugin's) is mapped then, ~0.2 MB of shared file pages that a server
in service holds anyway and that no burst gives back (measured with
/proc/PID/pagemap: the kernel maps 64 KiB around each first-touched code
page).  Pending is known from /metrics
(rpchost_calls_in_flight reaching N), bounded by a wait of MS / 2.

    deferred.py BUILD_DIR [N [MS [SETTLE]]]   (5000, 4000 ms, 3 s)

Bounded: every socket has a timeout, the run stops after 120 s.  Prints a
Markdown table, then "deferred: SHAPE per_call_kib=K after_ratio=R" lines
for bench/run.sh.  Exits 1 when a call is not answered.
"""
import json
import os
import re
import resource
import selectors
import socket
import sys
import tempfile
import time

import rpchost_proc as rp

DEADLINE = 120.0


def in_flight(port):
    """rpchost_calls_in_flight from /metrics (summed), or -1."""
    try:
        with socket.create_connection(("127.0.0.1", port), 2) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Connection: close\r\n\r\n")
            buf = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
    except OSError:
        return -1
    vals = re.findall(rb"(?m)^rpchost_calls_in_flight(?:\{[^}]*\})? (\S+)",
                      buf)
    return int(sum(float(v) for v in vals)) if vals else -1


def request(port, ms, calls):
    if calls == 1:
        body = json.dumps({"jsonrpc": "2.0", "method": "sleep", "id": 1,
                           "params": [ms]}).encode()
    else:
        body = json.dumps([{"jsonrpc": "2.0", "method": "sleep", "id": i,
                            "params": [ms]} for i in range(calls)]).encode()
    return (b"POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (port, len(body)) + body)


def shape(build, tmp, name, n, per_conn, ms, settle, t_end):
    """One shape on a fresh server: returns a dict of the figures."""
    proc, port, worker = rp.start(build, tmp, {"max_batch": 1000},
                                  {"sleep": ("sleep.so", {})})
    socks = []
    sel = selectors.DefaultSelector()
    try:
        time.sleep(0.3)
        # One call answered first (see the head).
        with socket.create_connection(("127.0.0.1", port), 10) as s:
            s.sendall(request(port, 0, 1))
            got = b""
            while b'"result"' not in got:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        time.sleep(0.5)
        before = rp.rss_kib(worker)
        sup_before = rp.rss_kib(proc.pid)
        req = request(port, ms, per_conn)
        conns = n // per_conn
        t0 = time.monotonic()
        for _ in range(conns):
            s = socket.create_connection(("127.0.0.1", port), 10)
            s.sendall(req)
            s.setblocking(False)
            socks.append(s)
            sel.register(s, selectors.EVENT_READ, bytearray())
        sent = time.monotonic() - t0
        # Until the server holds every call (or half the sleep is over).
        pending = -1
        while time.monotonic() - t0 < ms / 2000.0:
            pending = in_flight(port)
            if pending >= n:
                break
            time.sleep(0.05)
        during = max(rp.rss_kib(worker) for _ in range(3))
        # Every answer, then close.
        left = conns
        answered = 0
        while left > 0 and time.monotonic() < t_end:
            for key, _ in sel.select(1.0):
                s, buf = key.fileobj, key.data
                try:
                    chunk = s.recv(1 << 20)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                buf += chunk
                end = buf.find(b"\r\n\r\n")
                m = re.search(rb"(?im)^content-length:\s*(\d+)",
                              bytes(buf[:end])) if end >= 0 else None
                if chunk and not (m and len(buf) >= end + 4 + int(m.group(1))):
                    continue
                if chunk:
                    answered += buf.count(b'"result":%d' % ms)
                sel.unregister(s)
                s.close()
                left -= 1
        done = time.monotonic() - t0
        time.sleep(settle)
        after = rp.rss_kib(worker)
        return {"shape": name, "n": n, "conns": conns, "before": before,
                "during": during, "after": after, "pending": pending,
                "answered": answered, "sent_s": sent, "done_s": done,
                "sup": sup_before}
    finally:
        for s in socks:
            s.close()
        sel.close()
        rp.stop(proc)


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    build = os.path.abspath(args[0])
    n = int(args[1]) if len(args) > 1 else 5000
    ms = int(args[2]) if len(args) > 2 else 4000
    settle = float(args[3]) if len(args) > 3 else 3.0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1024), hard))
    t_end = time.monotonic() + DEADLINE
    rows = []
    with tempfile.TemporaryDirectory(prefix="rpchost-deferred-") as tmp:
        rows.append(shape(build, tmp, "conns", n, 1, ms, settle, t_end))
        rows.append(shape(build, tmp, "batches", n, 1000, ms, settle, t_end))
    print("| shape | calls | connections | worker RSS before | while pending |"
          " KiB per pending call | %g s after | after / before | answered |"
          % settle)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    ok = True
    for r in rows:
        per = (r["during"] - r["before"]) / r["n"]
        ratio = r["after"] / r["before"] if r["before"] else 0
        print("| %s | %d | %d | %d KiB | %d KiB | %.2f | %d KiB | %.2fx | %d |"
              % (r["shape"], r["n"], r["conns"], r["before"], r["during"],
                 per, r["after"], ratio, r["answered"]))
        r["per"], r["ratio"] = per, ratio
        ok = ok and r["answered"] == r["n"]
    print()
    for r in rows:
        print("- %s: calls pending when RSS was read: %d (/metrics), sent in "
              "%.2f s, all answered after %.2f s; supervisor RSS %d KiB"
              % (r["shape"], r["pending"], r["sent_s"], r["done_s"], r["sup"]))
    print()
    for r in rows:
        print("deferred: %s per_call_kib=%.3f after_ratio=%.3f"
              % (r["shape"], r["per"], r["ratio"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
