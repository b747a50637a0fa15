# SPDX-License-Identifier: MIT
"""The stall watchdog: a loop kept by a plugin call past stall_timeout is
reported (a log line naming the method and plugin, /healthz 503 naming the
loop, rpchost_loop_stalled 1), takes no new connections meanwhile, and is
reported recovered when the call returns; SIGTERM with a loop stuck for
good still ends the process, with status 1 and a line naming the call.

The spinning call runs on whichever loop accepted its connection; the
tests find out which from /healthz, then send pings on new connections,
which accept balancing gives to the other loop."""

import json
import re
import signal
import threading
import time
import unittest

import harness
from harness import Server, plugin

STALL_S = 1  # stall_timeout of these tests
SHUTDOWN_S = 1  # their shutdown_timeout


def plugins():
    return {"ping": plugin(harness.PING_SO),
            "spin": plugin(harness.fixture("spin"))}


def start():
    return Server(plugins=plugins(), threads=2,
                  server={"stall_timeout": STALL_S,
                          "shutdown_timeout": SHUTDOWN_S}).start()


def health(srv):
    status, _, body = srv.call(None, path="/healthz", method="GET")
    return status, json.loads(body)


def stalled_series(srv):
    status, _, body = srv.call(None, path="/metrics", method="GET")
    assert status == 200, body
    return {k: v for k, v in harness.metrics_of(body.decode()).items()
            if k.startswith("rpchost_loop_stalled")}


def call_in_background(srv, method, params=None):
    """Start a call on a connection of its own; returns (thread, result),
    result["answer"] set once it is answered."""
    result = {}

    def run():
        try:
            conn = srv.connection(timeout=60 * harness.SCALE)
            status, _, data = srv.call(harness.call(method, params, id=7),
                                       conn=conn)
            result["answer"] = (status, json.loads(data))
        except Exception as e:  # the process may end under it
            result["error"] = repr(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, result


def settle():
    """Give a call just sent the time to start spinning.  A request sent
    together with it could be accepted by the same loop in the same turn,
    and wait behind the spin: connections a loop took before it stalled
    stay with it."""
    time.sleep(0.3 * harness.SCALE)


def wait_until(pred, timeout, step=0.05):
    """pred()'s first true value within timeout seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(step)


def stalled_health(srv):
    status, body = health(srv)
    return (status, body) if status == 503 else None


class StallTest(unittest.TestCase):
    def test_stall_reported_while_others_serve_then_recovered(self):
        spin_ms = int(2500 * harness.SCALE)
        srv = start()
        try:
            self.assertEqual(health(srv)[0], 200)
            self.assertEqual(set(stalled_series(srv).values()), {0.0})
            t0 = time.monotonic()
            t, result = call_in_background(srv, "spin_ms", [spin_ms])
            settle()

            # Reported within stall_timeout (+ the check's period and a
            # margin): 503 naming the loop.
            got = wait_until(lambda: stalled_health(srv),
                             STALL_S + 1.0 * harness.SCALE)
            self.assertIsNotNone(got, "no 503 within %.1f s; stderr:\n%s"
                                 % (STALL_S + 1.0 * harness.SCALE,
                                    srv.stderr))
            took = time.monotonic() - t0
            self.assertGreaterEqual(took, STALL_S - 0.1)
            status, body = got
            self.assertEqual(body["status"], "stalled", body)
            self.assertEqual(len(body["stalled_loops"]), 1, body)
            loop = body["stalled_loops"][0]
            self.assertIn(loop, (0, 1), body)
            self.assertIsInstance(body["generation"], int, body)

            series = stalled_series(srv)
            self.assertEqual(series, {
                'rpchost_loop_stalled{loop="%d"}' % loop: 1.0,
                'rpchost_loop_stalled{loop="%d"}' % (1 - loop): 0.0}, series)

            # No new connections for it: pings on new connections are all
            # answered (by the other loop) while the spin goes on.
            for i in range(20):
                p0 = time.monotonic()
                answer = srv.rpc("ping", id=i)
                self.assertEqual(answer["result"], "pong", answer)
                self.assertLess(time.monotonic() - p0, 0.5 * harness.SCALE)
            self.assertTrue(t.is_alive(), "the spin ended too soon to tell")
            self.assertNotIn("answer", result)

            # One log line per stall, naming the method and the plugin.
            line = re.search(r"loop %d stalled for [\d.]+ s in method "
                             r"spin_ms \(plugin \[spin\], generation 1\)"
                             % loop, srv.stderr)
            self.assertIsNotNone(line, srv.stderr)

            t.join(spin_ms / 1000.0 + 10 * harness.SCALE)
            self.assertEqual(result.get("answer"),
                             (200, {"jsonrpc": "2.0", "result": spin_ms,
                                    "id": 7}), result)
            # Recovered: 200 again, stalled 0, logged once.
            ok = wait_until(lambda: health(srv)[0] == 200,
                            1.0 * harness.SCALE)
            self.assertTrue(ok, srv.stderr)
            self.assertEqual(health(srv)[1]["status"], "ok")
            self.assertTrue(wait_until(
                lambda: set(stalled_series(srv).values()) == {0.0},
                1.0 * harness.SCALE), stalled_series(srv))
            self.assertTrue(wait_until(
                lambda: re.search(r"loop %d recovered after [\d.]+ s" % loop,
                                  srv.stderr), 1.0 * harness.SCALE),
                srv.stderr)
            self.assertEqual(srv.stderr.count("loop %d stalled for" % loop),
                             1, srv.stderr)
            self.assertEqual(srv.rpc("ping")["result"], "pong")
        finally:
            srv.stop()

    def test_no_stall_flag_left_once_the_drain_begins(self):
        # The watchdog stops at SIGTERM (loops that finish draining stop
        # sweeping): a loop reported stalled before must not stay flagged.
        p = plugins()
        p["sleep"] = plugin(harness.PLUGINS + "/sleep.so")
        srv = Server(plugins=p, threads=2,
                     server={"stall_timeout": STALL_S,
                             "shutdown_timeout": 10}).start()
        try:
            spin_t, _ = call_in_background(
                srv, "spin_ms", [int(2500 * harness.SCALE)])
            settle()
            self.assertIsNotNone(wait_until(
                lambda: 1.0 in stalled_series(srv).values(),
                (STALL_S + 1) * harness.SCALE))
            # Both on the loop that still serves.
            keep = srv.connection()
            self.assertEqual(srv.call(harness.call("ping"), conn=keep)[0],
                             200)
            sleep_t, _ = call_in_background(
                srv, "sleep", [int(4000 * harness.SCALE)])
            settle()
            srv.signal(signal.SIGTERM)
            spin_t.join(10 * harness.SCALE)
            time.sleep(0.5)
            status, _, body = srv.call(None, path="/metrics", method="GET",
                                       conn=keep)
            self.assertEqual(status, 200, body)
            series = {k: v for k, v in
                      harness.metrics_of(body.decode()).items()
                      if k.startswith("rpchost_loop_stalled")}
            self.assertEqual(set(series.values()), {0.0}, series)
            sleep_t.join(15 * harness.SCALE)
            keep.close()
            self.assertEqual(srv.wait(), 0, srv.stderr)
        finally:
            srv._kill()

    def test_short_calls_are_not_stalls(self):
        # Half of stall_timeout on a loop: nothing is reported.
        srv = start()
        try:
            answer = srv.rpc("spin_ms", [int(STALL_S * 1000 / 2)])
            self.assertEqual(answer["result"], STALL_S * 1000 / 2, answer)
            time.sleep(0.3)
            self.assertEqual(health(srv)[0], 200)
            self.assertNotIn("stalled", srv.stderr)
        finally:
            srv.stop()

    def test_sigterm_with_a_stuck_loop_exits_1_naming_it(self):
        srv = start()
        try:
            t, result = call_in_background(srv, "spin")
            settle()
            got = wait_until(lambda: stalled_health(srv),
                             STALL_S + 1.0 * harness.SCALE)
            self.assertIsNotNone(got, srv.stderr)
            loop = got[1]["stalled_loops"][0]

            t0 = time.monotonic()
            srv.signal(signal.SIGTERM)
            limit = SHUTDOWN_S + 2.0 * harness.SCALE
            rc = srv.wait(timeout=limit + 5)
            took = time.monotonic() - t0
            self.assertIsNotNone(rc, "still running %.1f s after SIGTERM; "
                                 "stderr:\n%s" % (took, srv.stderr))
            self.assertEqual(rc, 1, srv.stderr)
            self.assertLess(took, limit, srv.stderr)
            # The drain's time first, then about a second for the loops.
            self.assertGreaterEqual(took, SHUTDOWN_S, srv.stderr)
            self.assertRegex(srv.stderr,
                             r"loop %d stuck for [\d.]+ s in method spin "
                             r"\(plugin \[spin\], generation 1\)" % loop)
            self.assertIn("exiting with status 1", srv.stderr)
            self.assertNotIn("answer", result)
            harness.check_sanitizers(srv.stderr)
        finally:
            srv._kill()  # a stuck Server does not stop cleanly


if __name__ == "__main__":
    unittest.main()
