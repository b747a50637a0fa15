# SPDX-License-Identifier: MIT
"""Cancellation (plugin.h, ABI 2: on_cancel, call_cancelled): a waiting
call is cancelled when its client goes away, at call_timeout and at the end
of a shutdown's drain; its plugin is told (on_cancel on the call's loop,
call_cancelled from any thread), its timers are dropped, and a later
answer of its own gets RPCHOST_ESTATE.  Uses tests/plugins/cancel.so and
the shipped sleep.  No timing is asserted: what must happen soon is polled
for with a generous timeout, far below call_timeout."""

import json
import signal
import socket
import time
import unittest

from harness import (IO_TIMEOUT, SCALE, Server, check_sanitizers, error_of,
                     fixture, metrics_of, plugin, post_request,
                     read_http_response, wait_log)
from sdkutil import read_answer, request, rpc_on, send_raw, shipped

ESTATE = -4
LONG_MS = 60000  # longer than any test: only a cancellation ends it


def cancel_plugins():
    return {"cancel": plugin(fixture("cancel")),
            "sleep": plugin(shipped("sleep")),
            "ping": plugin(shipped("ping"))}


def poll(fn, what, timeout=None):
    """Wait until fn() is true (IO_TIMEOUT unless `timeout`)."""
    deadline = time.monotonic() + (timeout or IO_TIMEOUT)
    while time.monotonic() < deadline:
        if fn():
            return
        time.sleep(0.02)
    raise AssertionError("never: " + what)


class DisconnectTest(unittest.TestCase):
    """A client that goes away cancels its waiting calls at once: long
    before call_timeout (10 minutes here)."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(plugins=cancel_plugins(), threads=1,
                         server={"call_timeout": 600,
                                 "log_level": "debug"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        # A cancelled call with on_cancel is released by the host: none is
        # left for the plugins to answer at exit.
        if "plugins still hold deferred calls" in cls.srv.stderr:
            raise AssertionError("calls left held:\n" + cls.srv.stderr)

    def stats(self):
        ans = rpc_on(self.srv.port, "stats", None, "s")
        self.assertIn("result", ans, ans)
        return ans["result"]

    def in_flight(self):
        _, _, body = self.srv.call(None, path="/metrics", method="GET")
        return metrics_of(body.decode())["rpchost_calls_in_flight"]

    def wait_stat(self, key, value):
        poll(lambda: self.stats()[key] >= value,
             "%s reached %d: %r" % (key, value, self.stats()))

    def test_disconnect_cancels_and_drops_the_timer(self):
        before = self.stats()
        s = send_raw(self.srv.port, request("wait", [1500], 1))
        time.sleep(0.1)  # deferred by now (a ping would show it too)
        s.close()
        self.wait_stat("cancelled", before["cancelled"] + 1)
        poll(lambda: self.in_flight() == 0, "no call in flight")
        # Past the timer's 1.5 s: it was dropped, never ran.
        time.sleep(1.7)
        self.assertEqual(self.stats()["fired"], before["fired"])
        check_sanitizers(self.srv.stderr)

    def test_disconnect_cancels_the_shipped_sleep(self):
        s = send_raw(self.srv.port, request("sleep", [LONG_MS], 1))
        time.sleep(0.1)
        s.close()
        wait_log(self, self.srv, r"sleep\(%d\) cancelled: timer stopped"
                 % LONG_MS)
        wait_log(self, self.srv, r"method sleep: the client went away")

    def test_batch_members_all_cancelled(self):
        before = self.stats()
        s = send_raw(self.srv.port, [request("wait", [LONG_MS], 1),
                                     request("ping", None, 2),
                                     request("wait", [LONG_MS], 3)])
        time.sleep(0.1)
        s.close()
        self.wait_stat("cancelled", before["cancelled"] + 2)

    def test_reset_cancels(self):
        # An abortive close (RST, no FIN) is noticed too.
        before = self.stats()
        s = send_raw(self.srv.port, request("wait", [LONG_MS], 1))
        time.sleep(0.1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
        self.wait_stat("cancelled", before["cancelled"] + 1)

    def test_polled_from_a_thread(self):
        before = self.stats()
        s = send_raw(self.srv.port, request("poll", [LONG_MS], 1))
        time.sleep(0.1)
        s.close()
        self.wait_stat("polled", before["polled"] + 1)
        poll(lambda: self.stats()["late_rc"] == ESTATE, "late answer ESTATE")

    def test_suspended_call_cancelled(self):
        before = self.stats()
        s = send_raw(self.srv.port, request("held", [LONG_MS], 1))
        time.sleep(0.1)
        s.close()
        self.wait_stat("hook_cancelled", before["hook_cancelled"] + 1)

    def test_resumed_call_answers(self):
        ans = rpc_on(self.srv.port, "held", [20])
        self.assertEqual(ans.get("result"), "held", ans)

    def test_pipelined_request_is_not_a_close(self):
        # The next request arrives while the first waits: bytes to read,
        # not a close.  Both are answered; nothing is cancelled.
        before = self.stats()
        s = send_raw(self.srv.port, request("wait", [600], 1))
        time.sleep(0.2)
        s.sendall(post_request(request("ping", None, 2)))
        f = s.makefile("rb")
        try:
            for want in ({"jsonrpc": "2.0", "result": 600, "id": 1},
                         {"jsonrpc": "2.0", "result": "pong", "id": 2}):
                status, _, body, _ = read_http_response(f)
                self.assertEqual(status, 200)
                self.assertEqual(json.loads(body), want)
        finally:
            f.close()
            s.close()
        self.assertEqual(self.stats()["cancelled"], before["cancelled"])

    def test_close_after_a_pipelined_request_cancels(self):
        # Unread bytes wait on the socket (the watch then looks at it from
        # time to time): a close behind them is still noticed.
        before = self.stats()
        s = send_raw(self.srv.port, request("wait", [LONG_MS], 1))
        time.sleep(0.2)
        s.sendall(post_request(request("ping", None, 2)))
        time.sleep(0.3)
        s.close()
        self.wait_stat("cancelled", before["cancelled"] + 1)

    def test_answered_call_is_not_cancelled(self):
        before = self.stats()
        s = send_raw(self.srv.port, request("wait", [50], 1))
        status, _, ans = read_answer(s)
        s.close()
        self.assertEqual(ans.get("result"), 50, ans)
        time.sleep(0.2)
        self.assertEqual(self.stats()["cancelled"], before["cancelled"])

    def test_on_cancel_rcs(self):
        ans = rpc_on(self.srv.port, "probe")
        self.assertEqual(ans.get("result"),
                         {"before_defer": ESTATE, "after_defer": 0,
                          "again": 0, "cancelled": 0}, ans)
        poll(lambda: self.stats()["after_answer"] == ESTATE,
             "on_cancel after the answer: ESTATE")


class TimeoutTest(unittest.TestCase):
    """call_timeout cancels: -32001 to the client, on_cancel run, the timer
    dropped, a late answer ESTATE."""

    def test_timeout_cancels(self):
        with Server(plugins=cancel_plugins(), threads=1,
                    server={"call_timeout": 0.2}) as srv:
            ans = rpc_on(srv.port, "wait", [1000])
            error_of(self, ans, -32001, "Call timed out")
            wait_log(self, srv, r"cancel fixture: wait\(1000\) cancelled")
            time.sleep(1.2)
            st = rpc_on(srv.port, "stats")["result"]
            self.assertEqual(st["fired"], 0, st)
            # A call_cancelled poller sees it and answers late.
            ans = rpc_on(srv.port, "poll", [LONG_MS])
            error_of(self, ans, -32001, "Call timed out")
            poll(lambda: rpc_on(srv.port, "stats")["result"]["polled"] == 1,
                 "the poller saw the cancellation")
            poll(lambda: rpc_on(srv.port, "stats")["result"]["late_rc"]
                 == ESTATE, "its answer ESTATE")
            # Registered after the cancellation: run soon, posted.
            ans = rpc_on(srv.port, "unwatched", [400])
            error_of(self, ans, -32001, "Call timed out")
            poll(lambda: rpc_on(srv.port, "stats")["result"]["late"] == 1,
                 "the late registration ran")
            # ... but never after the plugin's answer, given before the
            # posted fn came round.
            ans = rpc_on(srv.port, "unwatched_answer", [400])
            error_of(self, ans, -32001, "Call timed out")
            poll(lambda: rpc_on(srv.port, "stats")["result"]["late_rc"]
                 == ESTATE, "its answer ESTATE")
            time.sleep(0.5)
            self.assertEqual(rpc_on(srv.port, "stats")["result"]["late"], 1)
            check_sanitizers(srv.stderr)


class DrainTest(unittest.TestCase):
    """The end of a shutdown's drain cancels what still waits."""

    def test_drain_end_cancels(self):
        srv = Server(plugins=cancel_plugins(), threads=1,
                     server={"call_timeout": 600,
                             "shutdown_timeout": 0.3}).start()
        try:
            s = send_raw(srv.port, request("wait", [LONG_MS], 1))
            time.sleep(0.1)
            srv.signal(signal.SIGTERM)
            status, _, ans = read_answer(s)
            s.close()
            error_of(self, ans, -32001, "Call timed out")
            self.assertEqual(srv.wait(), 0, srv.stderr)
            self.assertIn("cancel fixture: wait(%d) cancelled" % LONG_MS,
                          srv.stderr)
            self.assertNotIn("plugins still hold deferred calls",
                             srv.stderr)
            check_sanitizers(srv.stderr)
        finally:
            srv.stop()


if __name__ == "__main__":
    unittest.main()
