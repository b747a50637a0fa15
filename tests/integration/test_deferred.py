# SPDX-License-Identifier: MIT
"""Deferred calls (answered later from a timer or a plugin thread), the
call deadline, shutdown and disconnects with calls pending, and serialised
methods.  Uses the shipped ping/sleep plugins and tests/plugins_sdk's
deferred.so and serial.so."""

import json
import signal
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from harness import (IO_TIMEOUT, SCALE, Server, check_sanitizers, error_of,
                     post_request, std_error)
from sdkutil import (RpcOnServer, Stopwatch, plugin, raw_connect,
                     read_answer, request, rpc_on, sdk_fixture, send_raw,
                     shipped)

ESTATE = -4


def deferred_plugins():
    return {"ping": plugin(shipped("ping")),
            "sleep": plugin(shipped("sleep")),
            "deferred": plugin(sdk_fixture("deferred"))}


class DeferredTest(RpcOnServer, unittest.TestCase):
    """One event loop (-j 1): a pending deferred call must not block it."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(plugins=deferred_plugins(), threads=1).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_sleep_does_not_block_the_loop(self):
        port = self.srv.port
        out = {}

        def slow():
            t = Stopwatch()
            out["answer"] = rpc_on(port, "sleep", [300], id="slow")
            out["elapsed"] = t()
            out["done_at"] = time.monotonic()

        th = threading.Thread(target=slow)
        th.start()
        time.sleep(0.05)
        ping_done = []
        for i in range(5):
            t = Stopwatch()
            ans = rpc_on(port, "ping", None, id=i)
            self.assertEqual(ans.get("result"), "pong", ans)
            self.assertLess(t(), 0.2 * SCALE, "a ping waited for the sleep")
            ping_done.append(time.monotonic())
        th.join(IO_TIMEOUT)
        self.assertFalse(th.is_alive())
        self.assertEqual(out["answer"],
                         {"jsonrpc": "2.0", "result": 300, "id": "slow"})
        self.assertGreaterEqual(out["elapsed"], 0.299)
        if not SCALE > 1:
            # Every ping finished while the sleep was still pending.
            self.assertLess(max(ping_done), out["done_at"])

    def test_later_and_thread(self):
        for method in ("later", "thread"):
            with self.subTest(method=method):
                t = Stopwatch()
                self.assertEqual(self.result(method, [150]), 150)
                self.assertGreaterEqual(t(), 0.149)
                self.assertEqual(self.result(method, {"ms": 0}), 0)
                err = std_error(self, self.rpc(method, ["x"]), -32602)
                self.assertIn("'ms'", err["data"])

    def test_batch_waits_for_longest(self):
        batch = [request("sleep", [300], 1), request("sleep", [100], 2),
                 request("later", [200], 3), request("ping", None, 4),
                 request("thread", [250], 5),
                 {"jsonrpc": "2.0", "method": "sleep", "params": [50]},
                 request("fail_after_defer", None, 6),
                 request("nosuch", None, 7)]
        t = Stopwatch()
        status, _, body = self.srv.call(batch)
        elapsed = t()
        self.assertEqual(status, 200, body)
        answers = json.loads(body)
        self.assertIsInstance(answers, list)
        by_id = {a["id"]: a for a in answers}
        self.assertEqual(len(by_id), len(answers), answers)
        self.assertEqual(set(by_id), {1, 2, 3, 4, 5, 6, 7})
        self.assertEqual(by_id[1]["result"], 300)
        self.assertEqual(by_id[2]["result"], 100)
        self.assertEqual(by_id[3]["result"], 200)
        self.assertEqual(by_id[4]["result"], "pong")
        self.assertEqual(by_id[5]["result"], 250)
        std_error(self, by_id[6], -32603, id=6)
        std_error(self, by_id[7], -32601, id=7)
        self.assertGreaterEqual(elapsed, 0.299)

    def test_batch_of_only_deferred_notifications(self):
        batch = [{"jsonrpc": "2.0", "method": "sleep", "params": [100]},
                 {"jsonrpc": "2.0", "method": "thread", "params": [50]}]
        t = Stopwatch()
        status, _, body = self.srv.call(batch)
        self.assertEqual(status, 204, body)
        self.assertEqual(body, b"")
        self.assertGreaterEqual(t(), 0.099)

    def test_many_concurrent_sleeps(self):
        # 200 sleep(200) calls, each on its own connection, all sent before
        # any answer is read: all pending at once on one loop.
        port = self.srv.port
        socks = []
        t = Stopwatch()
        try:
            for i in range(200):
                socks.append(send_raw(port, request("sleep", [200], i)))
            for i, s in enumerate(socks):
                status, _, ans = read_answer(s)
                self.assertEqual(status, 200)
                self.assertEqual(ans, {"jsonrpc": "2.0", "result": 200,
                                       "id": i})
        finally:
            for s in socks:
                s.close()
        elapsed = t()
        self.assertGreaterEqual(elapsed, 0.199)
        # Run one after the other they would take 40 s.
        self.assertLess(elapsed, 5 * SCALE)

    def test_many_threads_concurrently(self):
        # Threads answering at once, some (ms = 0) possibly before their
        # handler has returned.
        port = self.srv.port
        before = self.result("threads_started")

        def one(i):
            return rpc_on(port, "thread", [i % 3 * 20], id=i)

        with ThreadPoolExecutor(16) as ex:
            answers = list(ex.map(one, range(100)))
        for i, ans in enumerate(answers):
            self.assertEqual(ans, {"jsonrpc": "2.0", "result": i % 3 * 20,
                                   "id": i})
        self.assertEqual(self.result("threads_started") - before, 100)

    def test_timer_from_another_thread_refused(self):
        self.assertEqual(self.result("timer_from_thread", [10]),
                         {"timer_rc": ESTATE})

    def test_fail_after_defer(self):
        ans = self.rpc("fail_after_defer", None, 9)
        err = std_error(self, ans, -32603, id=9)
        self.assertNotIn("data", err)
        self.assertEqual(self.result("ping"), "pong")

    def test_answer_twice(self):
        self.assertEqual(self.result("twice"), "first")
        self.assertEqual(self.result("last_rc"), ESTATE)
        self.assertEqual(self.result("twice_sync"), "first")
        self.assertEqual(self.result("last_rc"), ESTATE)

    def test_misuse_rcs(self):
        self.assertEqual(self.result("probe"),
                         {"timer_before_defer": ESTATE, "defer": 0,
                          "defer_again": ESTATE})

    def test_deferred_notification(self):
        status, _, body = self.srv.call(
            {"jsonrpc": "2.0", "method": "later", "params": [50]})
        self.assertEqual(status, 204, body)
        self.assertEqual(self.result("last_rc"), 0)

    def test_client_disconnects_while_pending(self):
        port = self.srv.port
        for method in ("sleep", "later", "thread"):
            s = send_raw(port, request(method, [150], 1))
            s.close()
        s = send_raw(port, [request("sleep", [100], 1),
                            request("thread", [120], 2)])
        s.close()
        # Half-close: the request is complete, then the client goes.
        s = raw_connect(port)
        s.sendall(post_request(request("thread", [100], 3)))
        s.shutdown(1)
        s.close()
        time.sleep(0.4)
        for i in range(3):
            self.assertEqual(self.result("ping", None, i), "pong")
        self.assertEqual(self.result("later", [10]), 10)
        check_sanitizers(self.srv.stderr)


class DeadlineTest(unittest.TestCase):
    """[server] call_timeout answers -32001 first; late answers are
    harmless."""

    def test_late_answers(self):
        with Server(plugins=deferred_plugins(), threads=1,
                    server={"call_timeout": 0.2}) as srv:
            port = srv.port
            t = Stopwatch()
            ans = rpc_on(port, "late", [600], id="L")
            elapsed = t()
            err = error_of(self, ans, -32001, "Call timed out", id="L")
            self.assertNotIn("data", err)
            self.assertGreaterEqual(elapsed, 0.199)
            self.assertLess(elapsed, 0.55 * SCALE)
            # A thread answering late, and a batch with a late member.
            ans = rpc_on(port, "thread", [500], id="T")
            error_of(self, ans, -32001, "Call timed out", id="T")
            status, _, body = srv.call([request("late", [500], 1),
                                        request("ping", None, 2),
                                        request("sleep", [50], 3)])
            self.assertEqual(status, 200)
            by_id = {a["id"]: a for a in json.loads(body)}
            error_of(self, by_id[1], -32001, "Call timed out", id=1)
            self.assertEqual(by_id[2]["result"], "pong")
            self.assertEqual(by_id[3]["result"], 50)
            # Wait for every late answer, then the server still works.
            time.sleep(0.6)
            self.assertEqual(rpc_on(port, "ping")["result"], "pong")
            self.assertEqual(rpc_on(port, "last_rc")["result"], ESTATE)
            self.assertEqual(rpc_on(port, "later", [100])["result"], 100)
            self.assertIn("call_timeout", srv.stderr)
        # Server.__exit__: SIGTERM, exit 0, no sanitizer report.

    def test_deferred_notifications_time_out_silently(self):
        with Server(plugins=deferred_plugins(), threads=1,
                    server={"call_timeout": 0.2}) as srv:
            t = Stopwatch()
            status, _, body = srv.call(
                [{"jsonrpc": "2.0", "method": "late", "params": [600]},
                 {"jsonrpc": "2.0", "method": "thread", "params": [600]}])
            self.assertEqual(status, 204, body)
            self.assertEqual(body, b"")
            self.assertLess(t(), 0.55 * SCALE)
            time.sleep(0.6)
            self.assertEqual(rpc_on(srv.port, "last_rc")["result"], ESTATE)

    def test_sigterm_with_late_timer_pending(self):
        # The deadline answered; the plugin's timer (3 s) is still set.
        # SIGTERM stops at once: pending timers run at teardown, their
        # answers are dropped, fini runs, exit 0.
        srv = Server(plugins=deferred_plugins(), threads=1,
                     server={"call_timeout": 0.2}).start()
        try:
            ans = rpc_on(srv.port, "late", [3000])
            error_of(self, ans, -32001, "Call timed out")
            t = Stopwatch()
            srv.signal(signal.SIGTERM)
            self.assertEqual(srv.wait(), 0, srv.stderr)
            self.assertLess(t(), 2.5 * SCALE, "waited for the late timer")
            check_sanitizers(srv.stderr)
            self.assertIn("deferred fini: joined", srv.stderr)
        finally:
            srv.stop()

    def test_sigterm_with_late_thread_pending(self):
        # The deadline answered; the plugin's thread answers 1 s later,
        # well within shutdown_timeout (10 s).  README: SIGTERM calls every
        # plugin's finaliser; the SDK guide: fini runs after the plugin's
        # last call finished.  So rpchost must wait for the late answer and
        # then run fini (which joins the thread), and exit 0.
        srv = Server(plugins=deferred_plugins(), threads=1,
                     server={"call_timeout": 0.2}).start()
        try:
            ans = rpc_on(srv.port, "thread", [1000])
            error_of(self, ans, -32001, "Call timed out")
            srv.signal(signal.SIGTERM)
            self.assertEqual(srv.wait(), 0, srv.stderr)
            check_sanitizers(srv.stderr)
            self.assertIn("deferred fini: joined 1 thread(s)", srv.stderr,
                          "the plugin's fini never ran: rpchost exited "
                          "while a deferred call was still held by the "
                          "plugin")
        finally:
            srv.stop()

    def test_late_answer_after_client_left(self):
        with Server(plugins=deferred_plugins(), threads=1,
                    server={"call_timeout": 0.2}) as srv:
            s = send_raw(srv.port, request("late", [400], 1))
            s.close()
            s = send_raw(srv.port, request("thread", [400], 2))
            time.sleep(0.3)
            s.close()  # after the deadline answered, before the plugin
            time.sleep(0.4)
            self.assertEqual(rpc_on(srv.port, "ping")["result"], "pong")
            self.assertEqual(rpc_on(srv.port, "last_rc")["result"], ESTATE)


class TwiceTest(unittest.TestCase):
    """A plugin answering a deferred call twice, in every interleaving the
    SDK allows: the first answer wins, every later one returns
    RPCHOST_ESTATE and touches nothing that was freed (issue #11, item 7:
    before, ASan found a heap-use-after-free in claim(), the memory freed
    by batch_unref()).  Run under the ASan build to see that; call_timeout
    is 0.5 s."""

    def tally(self, port):
        return rpc_on(port, "tally")["result"]

    def test_every_interleaving(self):
        with Server(plugins=deferred_plugins(), threads=2,
                    server={"call_timeout": 0.5}) as srv:
            port = srv.port
            ok = estate = 0
            # One plugin thread, twice in a row, in time.
            for i, ms in enumerate((0, 20)):
                self.assertEqual(self.result(port, "twice_thread", [ms], i),
                                 "first")
                ok, estate = ok + 1, estate + 1
            # Both answers after the deadline answered -32001.
            error_of(self, rpc_on(port, "twice_thread", [800], id="d"),
                     -32001, "Call timed out", id="d")
            estate += 2
            # An answer, then another once the request was answered (and
            # its memory freed).
            self.assertEqual(self.result(port, "twice_after", [100], 3),
                             "first")
            ok, estate = ok + 1, estate + 1
            # The same as members of a batch, and as a notification.
            status, _, body = srv.call([request("twice_after", [50], 4),
                                        request("twice_thread", [0], 5),
                                        request("ping", None, 6)])
            self.assertEqual(status, 200, body)
            by_id = {a["id"]: a.get("result") for a in json.loads(body)}
            self.assertEqual(by_id, {4: "first", 5: "first", 6: "pong"})
            status, _, body = srv.call({"jsonrpc": "2.0",
                                        "method": "twice_after",
                                        "params": [50]})
            self.assertEqual(status, 204, body)
            ok, estate = ok + 3, estate + 3
            # Two threads at once, the second from 0 to 3 ms later: the
            # second lands before, during and after the first answer's
            # work and the request's end.
            for us in (0, 0, 0, 10, 50, 100, 200, 500, 1000, 3000):
                self.assertIn(self.result(port, "race", [us], us), (0, 1))
                ok, estate = ok + 1, estate + 1
            # Every late answer given (the last about 0.4 s from now).
            deadline = time.monotonic() + 5 * SCALE
            while time.monotonic() < deadline:
                got = self.tally(port)
                if got["ok"] + got["estate"] + got["other"] >= ok + estate:
                    break
                time.sleep(0.05)
            self.assertEqual(self.tally(port),
                             {"ok": ok, "estate": estate, "other": 0})
            self.assertEqual(rpc_on(port, "ping")["result"], "pong")
        # Server.__exit__: SIGTERM, exit 0, no sanitizer report.

    def result(self, port, method, params, id):
        ans = rpc_on(port, method, params, id)
        self.assertNotIn("error", ans, ans)
        self.assertEqual(ans.get("id"), id, ans)
        return ans["result"]


class ShutdownTest(unittest.TestCase):
    """SIGTERM while deferred calls are pending."""

    def pending_then_sigterm(self, method, ms=500, server=None):
        srv = Server(plugins=deferred_plugins(), threads=1,
                     server=server).start()
        try:
            s = send_raw(srv.port, request(method, [ms], "p"))
            time.sleep(0.1)
            srv.signal(signal.SIGTERM)
            try:
                answer = read_answer(s)
            except (EOFError, OSError) as e:
                answer = e
            finally:
                s.close()
            rc = srv.wait()
            self.assertEqual(rc, 0, "exit status after SIGTERM; stderr:\n%s"
                             % srv.stderr)
            check_sanitizers(srv.stderr)
            return answer, srv.stderr
        finally:
            srv.stop()

    def test_pending_sleep_answered(self):
        for method in ("sleep", "later", "thread"):
            with self.subTest(method=method):
                answer, err = self.pending_then_sigterm(method)
                self.assertIn("deferred fini: joined", err)
                self.assertIsInstance(answer, tuple, answer)
                status, headers, ans = answer
                self.assertEqual(status, 200)
                self.assertEqual(ans, {"jsonrpc": "2.0", "result": 500,
                                       "id": "p"})
                self.assertEqual(headers.get("connection", "").lower(),
                                 "close")

    def test_pending_past_shutdown_timeout(self):
        # The drain gives up; pending timers then run at once.  The exit
        # is clean either way; the client gets the answer or a close.
        for method in ("sleep", "later"):
            with self.subTest(method=method):
                t = Stopwatch()
                answer, err = self.pending_then_sigterm(
                    method, ms=5000, server={"shutdown_timeout": 0.3})
                self.assertLess(t(), 4 * SCALE)
                if isinstance(answer, tuple):
                    self.assertEqual(answer[2]["id"], "p")

    def test_fini_runs(self):
        # deferred.so's fini joins its threads; a clean stop after thread
        # calls must not hang or report anything.
        srv = Server(plugins=deferred_plugins(), threads=2).start()
        try:
            for i in range(5):
                self.assertEqual(rpc_on(srv.port, "thread", [i])["result"], i)
            srv.signal(signal.SIGTERM)
            self.assertEqual(srv.wait(), 0, srv.stderr)
            check_sanitizers(srv.stderr)
            fini = [line for line in srv.stderr.splitlines()
                    if "deferred fini: joined" in line]
            self.assertEqual(len(fini), 1, srv.stderr)  # once
            self.assertIn("[deferred]", fini[0])
        finally:
            srv.stop()


def wait_for(srv, text, timeout=5.0, count=1):
    """Wait until `text` appears `count` times in srv's stderr."""
    deadline = time.monotonic() + timeout * SCALE
    while time.monotonic() < deadline:
        if srv.stderr.count(text) >= count:
            return True
        time.sleep(0.02)
    return False


class ReloadTest(unittest.TestCase):
    """SIGHUP while deferred calls are pending: they finish on their own
    generation, whose fini runs after its last call (README, Reload)."""

    def test_pending_calls_survive_reload(self):
        srv = Server(plugins=deferred_plugins(), threads=1).start()
        try:
            socks = [send_raw(srv.port, request(m, [600], m))
                     for m in ("sleep", "later", "thread")]
            time.sleep(0.1)
            srv.signal(signal.SIGHUP)
            self.assertTrue(wait_for(srv, "reload: generation 2 serving"),
                            srv.stderr)
            # The new generation serves while the old calls are pending.
            self.assertEqual(rpc_on(srv.port, "later", [10])["result"], 10)
            self.assertNotIn("deferred fini", srv.stderr)
            for s in socks:
                status, _, ans = read_answer(s)
                s.close()
                self.assertEqual(status, 200)
                self.assertEqual(ans["result"], 600, ans)
            # The old generation's fini, once, after its last call.
            self.assertTrue(wait_for(srv, "deferred fini: joined 1 thread"),
                            srv.stderr)
            self.assertEqual(rpc_on(srv.port, "ping")["result"], "pong")
            srv.signal(signal.SIGTERM)
            self.assertEqual(srv.wait(), 0, srv.stderr)
            check_sanitizers(srv.stderr)
            self.assertEqual(srv.stderr.count("deferred fini: joined"), 2,
                             srv.stderr)
        finally:
            srv.stop()

    def test_late_answer_after_reload(self):
        # The deadline answered; the plugin's thread answers after a reload
        # replaced its generation: the old generation is finalised then.
        srv = Server(plugins=deferred_plugins(), threads=1,
                     server={"call_timeout": 0.2}).start()
        try:
            error_of(self, rpc_on(srv.port, "thread", [700]), -32001,
                     "Call timed out")
            srv.signal(signal.SIGHUP)
            self.assertTrue(wait_for(srv, "reload: generation 2 serving"),
                            srv.stderr)
            self.assertNotIn("deferred fini", srv.stderr)
            self.assertTrue(wait_for(srv, "deferred fini: joined 1 thread"),
                            srv.stderr)
            self.assertEqual(rpc_on(srv.port, "ping")["result"], "pong")
        finally:
            srv.stop()


class SerialTest(unittest.TestCase):
    """serial.so: serialised methods never run twice at once."""

    THREADS = 8
    CALLS = 20

    def hammer(self, port, methods):
        def worker(k):
            out = []
            for i in range(self.CALLS):
                m = methods[(k + i) % len(methods)]
                out.append(rpc_on(port, m, None, id=k * 1000 + i))
            return out

        with ThreadPoolExecutor(self.THREADS) as ex:
            return [a for part in ex.map(worker, range(self.THREADS))
                    for a in part]

    def test_method_serial(self):
        with Server(plugins={"serial": plugin(sdk_fixture("serial"))},
                    threads=4) as srv:
            answers = self.hammer(srv.port, ["crit"])
            self.assertEqual(len(answers), self.THREADS * self.CALLS)
            for a in answers:
                # api->defer() is allowed for a serialised method: its
                # concurrency slot is held until the answer.
                self.assertEqual(a.get("result"), 0, a)
            self.assertEqual(rpc_on(srv.port, "max_seen")["result"], 1)
            self.assertEqual(rpc_on(srv.port, "late_serial_rc")["result"],
                             ESTATE)
            # Control: the same load on the unserialised twin overlaps,
            # so the load above could have caught a missing lock.
            free = 1
            for _ in range(3):
                self.hammer(srv.port, ["free_crit"])
                free = rpc_on(srv.port, "free_max_seen")["result"]
                if free > 1:
                    break
            self.assertGreater(free, 1, "no concurrency at all: the serial "
                               "check proves nothing")

    def test_plugin_serial(self):
        with Server(plugins={"serial": plugin(sdk_fixture("serial"),
                                              plugin_serial=True)},
                    threads=4) as srv:
            answers = self.hammer(srv.port, ["s1", "s2"])
            self.assertEqual(len(answers), self.THREADS * self.CALLS)
            for a in answers:
                self.assertEqual(a.get("result"), 0, a)
            self.assertEqual(rpc_on(srv.port, "max_seen")["result"], 1)
            doc = rpc_on(srv.port, "rpc.discover")["result"]
            self.assertEqual({m["name"] for m in doc["methods"]},
                             {"s1", "s2", "max_seen"})


if __name__ == "__main__":
    unittest.main()
