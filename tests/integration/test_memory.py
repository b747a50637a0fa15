# SPDX-License-Identifier: MIT
"""Memory given back (issue #16): a request body is freed once parsed,
so every call that outlives it (deferred, queued behind a concurrency cap,
in a batch) must still answer with its own id; and after a burst of
pending calls and their connections the worker gives the memory malloc
kept back to the system (host/memtrim.c: a debug line "gave back"), and
its resident set comes back near where it was (a loose bound here;
bench/deferred.py measures it)."""

import json
import os
import threading
import time
import unittest

import harness
from harness import Server, plugin, post_request, wait_log
from sdkutil import raw_connect, read_answer, shipped


def sleep_plugins():
    return {"sleep": plugin(shipped("sleep"))}


def sleep_call(ms, id):
    return {"jsonrpc": "2.0", "method": "sleep", "params": [ms], "id": id}


def pending_burst(test, srv, n, ms, while_pending=None):
    """n connections, each with a pending sleep(ms) call; once all are
    sent, while_pending() (its value is returned); then every answer is
    read and checked, and the connections closed."""
    socks = []
    value = None
    try:
        for i in range(n):
            s = raw_connect(srv.port)
            s.sendall(post_request(sleep_call(ms, i)))
            socks.append(s)
        if while_pending is not None:
            value = while_pending()
        for i, s in enumerate(socks):
            status, _, body = read_answer(s)
            test.assertEqual((status, body["id"]), (200, i), body)
    finally:
        for s in socks:
            s.close()
    return value


class BodyFreedTest(unittest.TestCase):
    def test_deferred_batch_keeps_ids(self):
        with Server(plugins=sleep_plugins(), threads=1) as srv:
            ids = ["deferred-%d-%s" % (i, "x" * 40 * i) for i in range(5)]
            s = raw_connect(srv.port)
            try:
                s.sendall(post_request([sleep_call(50 * i, id)
                                        for i, id in enumerate(ids)]))
                status, _, body = read_answer(s)
            finally:
                s.close()
            self.assertEqual(status, 200, body)
            self.assertEqual(sorted(a["id"] for a in body), sorted(ids))
            self.assertTrue(all("result" in a for a in body), body)

    def test_queued_call_keeps_its_id(self):
        # The second call waits in sleep's queue (cap 1) after its body
        # was freed: it must answer with its own id.
        with Server(plugins=sleep_plugins(), threads=1,
                    server={"method_concurrency": "sleep:1"}) as srv:
            first = raw_connect(srv.port)
            second = raw_connect(srv.port)
            out = {}
            try:
                first.sendall(post_request(sleep_call(400, "first")))
                second.sendall(post_request(
                    sleep_call(0, "queued-" + "q" * 200)))

                def read(name, s):
                    out[name] = read_answer(s)
                threads = [threading.Thread(target=read, args=a)
                           for a in (("first", first), ("second", second))]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            finally:
                first.close()
                second.close()
            self.assertEqual(out["first"][2]["id"], "first", out)
            self.assertEqual(out["second"][2]["id"], "queued-" + "q" * 200,
                             out)
            self.assertEqual(out["second"][2]["result"], 0, out)


@unittest.skipIf(harness.ASAN, "under ASan its allocator replaces malloc's "
                 "arenas: there is nothing for malloc_trim to give back")
class TrimTest(unittest.TestCase):
    def test_gives_back_after_a_burst(self):
        # 600 connections, each with a pending call (about 5 KB each),
        # then closed: more than memtrim's 1 MiB comes free at once.
        n = 600
        with Server(plugins=sleep_plugins(), threads=1,
                    server={"log_level": "debug"}) as srv:
            pending_burst(self, srv, n, 300)
            wait_log(self, srv, r"DEBUG +memory: \d+ KiB free in malloc's "
                     r"arenas after a burst; gave back -?\d+ KiB")


@unittest.skipIf(harness.ASAN or os.environ.get("RPCHOST_VALGRIND"),
                 "another allocator: malloc's arenas are not what is resident")
class ResidentAfterBurstTest(unittest.TestCase):
    def test_resident_set_comes_back(self):
        # 3,000 connections, each with a pending call, answered and closed
        # at once: the worker's RSS grows by ~15 MB.  A few seconds later
        # it is back within 2x of before (issue #16's goal is 1.5x, which
        # bench/deferred.py measures).  Before: 5-10x, held by libevent's
        # per-descriptor entries and the allocator caches scattered among
        # the burst's free pages, and by a trim made while the burst's
        # last connections were still closing.  (The final value varies
        # from run to run with where the burst's last blocks landed: at
        # 5,000 connections 1.5-1.9x after this session's changes, so the
        # bound here is loose; the unit tests test_evmem and test_ptrindex
        # check the mechanisms.)
        n = 3000
        with Server(plugins=sleep_plugins(), nofile=8192) as srv:
            pid = srv.worker_pid()
            self.assertEqual(srv.rpc("sleep", [0])["result"], 0)
            time.sleep(1.5)
            before = harness.proc_status(pid, "VmRSS")
            peak = pending_burst(
                self, srv, n, 500,
                while_pending=lambda: harness.proc_status(pid, "VmRSS"))
            self.assertGreater(peak, before + 5000, "the burst took memory")
            deadline = time.monotonic() + 8
            after = harness.proc_status(pid, "VmRSS")
            while after > 2 * before and time.monotonic() < deadline:
                time.sleep(0.25)
                after = harness.proc_status(pid, "VmRSS")
            self.assertLessEqual(after, 2 * before,
                                 "RSS %d KiB before, %d at the peak, %d after"
                                 % (before, peak, after))


@unittest.skipIf(harness.ASAN or os.environ.get("RPCHOST_VALGRIND"),
                 "another allocator: malloc's arenas are not what is resident")
class CloseBurstTest(unittest.TestCase):
    def test_idle_connections_closing_at_once(self):
        # 2,000 idle keep-alive connections closed at once.  The read that
        # meets a close used to take an 8 KiB buffer chain each, held
        # until the connection was retired: the worker's peak RSS grew by
        # ~8 MB.  An idle connection's reads now take at most 1 KiB.
        n = 2000
        with Server(plugins={"ping": harness.plugin(harness.PING_SO)},
                    nofile=8192) as srv:
            pid = srv.worker_pid()
            socks = []
            try:
                for _ in range(n):
                    s = raw_connect(srv.port)
                    s.sendall(post_request({"jsonrpc": "2.0",
                                            "method": "ping", "id": 1}))
                    socks.append(s)
                for s in socks:
                    status, _, body = read_answer(s)
                    self.assertEqual(body["result"], "pong", body)
                time.sleep(0.3)
                peak = harness.proc_status(pid, "VmHWM")
            finally:
                for s in socks:
                    s.close()
            time.sleep(1.0)
            growth = harness.proc_status(pid, "VmHWM") - peak
            self.assertLess(growth, 3000, "peak RSS grew by %d KiB while "
                            "%d idle connections closed" % (growth, n))
            self.assertEqual(srv.rpc("ping")["result"], "pong")


if __name__ == "__main__":
    unittest.main()
