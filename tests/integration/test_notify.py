# SPDX-License-Identifier: MIT
"""The sd_notify protocol: what rpchost tells systemd through
$NOTIFY_SOCKET (READY, RELOADING, STOPPING, STATUS, WATCHDOG), received
here on a datagram socket of the test's own."""

import os
import signal
import socket
import threading
import time
import unittest

import harness
from harness import Server, TempDir, ini_text, plugin

# WATCHDOG_USEC the tests pass: a ping every 200 ms.
WATCHDOG_USEC = 400000
# stall_timeout of the watchdog tests: with WATCHDOG_USEC/2 below it, a
# loop counts as stuck once its sweep is this late (host/watchdog.c).
STALL_S = 1.0


class Listener:
    """An AF_UNIX datagram socket collecting (monotonic time, {key: value})
    per datagram on a thread of its own."""

    def __init__(self, address):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.1)
        self.messages = []
        self._cond = threading.Condition()
        self._done = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._done:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            fields = {}
            for line in data.decode("utf-8", "replace").split("\n"):
                key, sep, value = line.partition("=")
                if sep:
                    fields[key] = value
            with self._cond:
                self.messages.append((time.monotonic(), fields))
                self._cond.notify_all()

    def close(self):
        self._done = True
        self._thread.join(5)
        self.sock.close()

    def snapshot(self):
        with self._cond:
            return list(self.messages)

    def wait_for(self, key, value="1", after=0, timeout=None):
        """Wait for a message with key=value among messages[after:];
        return its index."""
        deadline = time.monotonic() + (timeout or 10 * harness.SCALE)
        with self._cond:
            while True:
                for i in range(after, len(self.messages)):
                    if self.messages[i][1].get(key) == value:
                        return i
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no %s=%s after message %d; got %r"
                                         % (key, value, after, self.messages))
                self._cond.wait(left)


def events(messages):
    """The state changes among messages, in order (WATCHDOG left out)."""
    out = []
    for _, m in messages:
        for key in ("READY", "RELOADING", "STOPPING"):
            if m.get(key) == "1":
                out.append(key)
    return out


def watchdogs(messages, t0=0.0, t1=float("inf")):
    return [t for t, m in messages if m.get("WATCHDOG") == "1" and t0 <= t <= t1]


class NotifyTest(unittest.TestCase):
    def setUp(self):
        self.dir = TempDir()
        self.path = os.path.join(self.dir.path, "notify.sock")
        self.listener = Listener(self.path)

    def tearDown(self):
        self.listener.close()
        self.dir.close()

    def env(self, **extra):
        env = {"NOTIFY_SOCKET": self.path, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
        env.update(extra)
        return env

    def test_lifecycle_in_order(self):
        lst = self.listener
        srv = Server(env=self.env()).start()
        try:
            i = lst.wait_for("READY")
            self.assertIn("generation 1", lst.messages[i][1].get("STATUS", ""),
                          lst.messages[i])
            self.assertEqual(srv.rpc("ping")["result"], "pong")
            # Pings at WATCHDOG_USEC / 4 while every loop is healthy.
            t0 = time.monotonic()
            time.sleep(1.0)
            n = len(watchdogs(lst.snapshot(), t0, time.monotonic()))
            self.assertGreaterEqual(n, 7, lst.snapshot())
            self.assertLessEqual(n, 13, lst.snapshot())

            before = time.monotonic()
            srv.signal(signal.SIGHUP)
            j = lst.wait_for("RELOADING", after=i + 1)
            after = time.monotonic()
            usec = int(lst.messages[j][1].get("MONOTONIC_USEC", "0"))
            # CLOCK_MONOTONIC, as Python's time.monotonic() on Linux.
            self.assertGreaterEqual(usec, int(before * 1e6) - 1000)
            self.assertLessEqual(usec, int(after * 1e6) + 1000)
            k = lst.wait_for("READY", after=j + 1)
            self.assertIn("generation 2", lst.messages[k][1].get("STATUS", ""),
                          lst.messages[k])
            self.assertEqual(srv.rpc("ping")["result"], "pong")
        finally:
            srv.stop()
        lst.wait_for("STOPPING", after=k + 1)
        time.sleep(0.3)  # nothing may follow
        msgs = lst.snapshot()
        self.assertEqual(events(msgs), ["READY", "RELOADING", "READY",
                                        "STOPPING"], msgs)
        first_ready = next(t for t, m in msgs if m.get("READY") == "1")
        stopping = next(t for t, m in msgs if m.get("STOPPING") == "1")
        self.assertFalse(watchdogs(msgs, 0, first_ready - 1e-6), msgs)
        self.assertFalse(watchdogs(msgs, stopping + 1e-6), msgs)

    @unittest.skipIf(harness.VALGRIND, "re-execution leaves valgrind")
    def test_upgrade_keeps_notifying(self):
        """SIGUSR2 re-executes the supervisor: the new image still knows
        the socket (notify_init removed it from the environment), so its
        worker says READY=1 and the watchdog pings go on."""
        lst = self.listener
        srv = Server(env=self.env()).start()
        try:
            i = lst.wait_for("READY")
            srv.signal(signal.SIGUSR2)
            j = lst.wait_for("READY", after=i + 1)
            t0 = time.monotonic()
            time.sleep(0.6)
            self.assertGreaterEqual(
                len(watchdogs(lst.snapshot(), t0, time.monotonic())), 3,
                lst.snapshot())
            self.assertIn("1 worker restart(s)",
                          lst.messages[j][1].get("STATUS", ""))
        finally:
            srv.stop()

    def test_failed_reload_is_ready_again(self):
        lst = self.listener
        srv = Server(env=self.env()).start()
        try:
            i = lst.wait_for("READY")
            plugins = harness.default_plugins()
            plugins["gone"] = plugin(os.path.join(self.dir.path, "none.so"))
            with open(srv.ini_path, "w") as f:
                f.write(ini_text({}, plugins))
            srv.signal(signal.SIGHUP)
            j = lst.wait_for("RELOADING", after=i + 1)
            k = lst.wait_for("READY", after=j + 1)
            # (stderr is read by another thread than the datagrams)
            deadline = time.monotonic() + 5 * harness.SCALE
            while ("reload failed" not in srv.stderr and
                   time.monotonic() < deadline):
                time.sleep(0.05)
            self.assertIn("reload failed", srv.stderr)
            self.assertIn("generation 1", lst.messages[k][1].get("STATUS", ""),
                          lst.messages[k])
            self.assertIn("failed", lst.messages[k][1].get("STATUS", ""),
                          lst.messages[k])
            self.assertEqual(srv.rpc("ping")["result"], "pong")
        finally:
            srv.stop()
        lst.wait_for("STOPPING", after=k + 1)
        self.assertEqual(events(lst.snapshot()),
                         ["READY", "RELOADING", "READY", "STOPPING"])

    def test_watchdog_withheld_while_a_loop_is_blocked(self):
        lst = self.listener
        block_ms = 3000
        srv = Server(env=self.env(), threads=1,
                     server={"stall_timeout": STALL_S}).start()
        try:
            lst.wait_for("READY")
            result = {}

            def blocking_call():
                result["answer"] = srv.rpc("sleep_ms", [block_ms])

            t = threading.Thread(target=blocking_call)
            time.sleep(0.5)
            t0 = time.monotonic()
            t.start()
            t.join(block_ms / 1000.0 + 10 * harness.SCALE)
            t1 = time.monotonic()
            self.assertEqual(result.get("answer", {}).get("result"), block_ms)
            # Pings resume once the loop runs again.
            deadline = time.monotonic() + 5 * harness.SCALE
            while not watchdogs(lst.snapshot(), t1) and \
                    time.monotonic() < deadline:
                time.sleep(0.05)
            msgs = lst.snapshot()
            self.assertTrue(watchdogs(msgs, 0, t0), msgs)
            self.assertTrue(watchdogs(msgs, t1), msgs)
            # None once the loop's sweep is STALL_S late (plus one interval
            # and a margin), until the call ends.
            quiet = watchdogs(msgs, t0 + STALL_S + 0.3, t1 - 0.15)
            self.assertEqual(quiet, [], "WATCHDOG=1 while the loop was "
                             "blocked (block %.2f..%.2f): %r" % (t0, t1, msgs))
            self.assertRegex(srv.stderr, r"loop 0 .*watchdog")
        finally:
            srv.stop()

    def test_watchdog_waits_for_stall_timeout(self):
        # The threshold is max(stall_timeout, WATCHDOG_USEC/2): pings go on
        # while a loop is blocked for less than stall_timeout (it is not
        # reported stalled yet), and stop once it is.
        lst = self.listener
        stall_s = 2.0
        block_ms = 3500
        srv = Server(env=self.env(), threads=1,
                     server={"stall_timeout": stall_s}).start()
        try:
            lst.wait_for("READY")
            result = {}

            def blocking_call():
                result["answer"] = srv.rpc("sleep_ms", [block_ms])

            t = threading.Thread(target=blocking_call)
            time.sleep(0.5)
            t0 = time.monotonic()
            t.start()
            t.join(block_ms / 1000.0 + 10 * harness.SCALE)
            t1 = time.monotonic()
            self.assertEqual(result.get("answer", {}).get("result"), block_ms)
            msgs = lst.snapshot()
            self.assertTrue(watchdogs(msgs, t0 + 0.3, t0 + stall_s - 0.3),
                            "no WATCHDOG=1 while the loop was blocked for "
                            "less than stall_timeout: %r" % msgs)
            quiet = watchdogs(msgs, t0 + stall_s + 0.3, t1 - 0.15)
            self.assertEqual(quiet, [], "WATCHDOG=1 while the loop was "
                             "stalled (block %.2f..%.2f): %r" % (t0, t1, msgs))
            self.assertRegex(srv.stderr, r"loop 0 stalled for")
        finally:
            srv.stop()

    def test_abstract_socket(self):
        name = "rpchost-test-%d-%d" % (os.getpid(), time.monotonic_ns())
        lst = Listener("\0" + name)
        try:
            srv = Server(env={"NOTIFY_SOCKET": "@" + name}).start()
            try:
                lst.wait_for("READY")
            finally:
                srv.stop()
            lst.wait_for("STOPPING")
        finally:
            lst.close()

    def test_invalid_socket_is_ignored(self):
        for value in ("relative/notify.sock", "vsock:2:1234", "@", "/" + "x" * 200):
            with self.subTest(value=value):
                srv = Server(env={"NOTIFY_SOCKET": value}).start()
                try:
                    self.assertEqual(srv.rpc("ping")["result"], "pong")
                    self.assertIn("NOTIFY_SOCKET", srv.stderr)
                finally:
                    srv.stop()

    def test_nobody_listening(self):
        """A socket path nobody has bound: every send fails, the server
        serves as usual, and says so once (at debug)."""
        gone = os.path.join(self.dir.path, "nobody.sock")
        srv = Server(env={"NOTIFY_SOCKET": gone,
                          "WATCHDOG_USEC": str(WATCHDOG_USEC)},
                     extra_args=["-v"]).start()
        try:
            self.assertEqual(srv.rpc("ping")["result"], "pong")
            time.sleep(0.5)  # a few watchdog pings
            srv.signal(signal.SIGHUP)
            time.sleep(0.3)
        finally:
            srv.stop()
        # Once per process: the worker's (READY=1, pings) and the
        # supervisor's (STOPPING=1).
        self.assertEqual(srv.stderr.count("NOTIFY_SOCKET %s: " % gone), 2,
                         srv.stderr)

    def test_watchdog_only_when_asked_for_this_pid(self):
        lst = self.listener
        for env in ({"WATCHDOG_USEC": None}, {"WATCHDOG_PID": "1"},
                    {"WATCHDOG_USEC": "junk"}):
            with self.subTest(env=env):
                e = self.env(**env)
                e = {k: v for k, v in e.items() if v is not None}
                n0 = len(lst.snapshot())
                srv = Server(env=e).start()
                try:
                    lst.wait_for("READY", after=n0)
                    time.sleep(0.6)
                finally:
                    srv.stop()
                lst.wait_for("STOPPING", after=n0)
                self.assertEqual(watchdogs(lst.snapshot()[n0:]), [])


if __name__ == "__main__":
    unittest.main()
