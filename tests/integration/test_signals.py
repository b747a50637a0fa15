# SPDX-License-Identifier: MIT
"""Shutdown on signals."""

import json
import re
import os
import signal
import socket
import threading
import time
import unittest

import harness
from harness import Server, fixture, ini_text, plugin, wait_stderr


def reload_to_slow_init(srv, server_keys, init_ms):
    """Rewrite srv's config to add a plugin whose init takes init_ms, send
    SIGHUP and wait until that init runs (on the reload thread)."""
    plugins = harness.default_plugins()
    plugins["slow"] = plugin(fixture("slowinit"), init_ms=init_ms)
    with open(srv.ini_path, "w") as f:
        f.write(ini_text(server_keys, plugins))
    srv.signal(signal.SIGHUP)
    wait_stderr(srv, r"\[slow\] init started")


def call_in_background(srv, ms, result):
    """Start a sleep_ms(ms) call on a thread (it blocks its loop); the
    answer goes into result["status"], ["answer"] (or ["error"])."""
    def run():
        try:
            status, _, data = srv.call({"jsonrpc": "2.0", "method": "sleep_ms",
                                        "params": [ms], "id": 7})
            result["status"] = status
            result["answer"] = json.loads(data)
        except Exception as e:  # reported by the test
            result["error"] = repr(e)

    t = threading.Thread(target=run)
    t.start()
    return t


class SignalTest(unittest.TestCase):
    def test_sigterm_idle(self):
        srv = Server().start()
        try:
            self.assertEqual(srv.rpc("ping")["result"], "pong")
            t0 = time.monotonic()
            srv.signal(signal.SIGTERM)
            rc = srv.wait()
            self.assertIsNotNone(rc, "no exit after SIGTERM; stderr:\n%s"
                                 % srv.stderr)
            self.assertEqual(rc, 0, srv.stderr)
            self.assertLess(time.monotonic() - t0, 5.0 * harness.SCALE)
        finally:
            srv.stop()  # asserts status 0 and no sanitizer reports

    def test_sigterm_right_after_start(self):
        srv = Server().start()
        try:
            srv.signal(signal.SIGTERM)
            self.assertEqual(srv.wait(), 0, srv.stderr)
        finally:
            srv.stop()

    def test_sigint(self):
        srv = Server().start()
        try:
            srv.signal(signal.SIGINT)
            self.assertEqual(srv.wait(), 0, srv.stderr)
        finally:
            srv.stop()

    def test_sigterm_with_call_in_flight(self):
        srv = Server().start()
        try:
            result = {}

            def slow_call():
                try:
                    status, _, data = srv.call(
                        {"jsonrpc": "2.0", "method": "sleep_ms",
                         "params": [1000], "id": 7})
                    result["status"] = status
                    result["answer"] = json.loads(data)
                    result["done"] = time.monotonic()
                except Exception as e:  # reported below
                    result["error"] = repr(e)

            t = threading.Thread(target=slow_call)
            t.start()
            time.sleep(0.3)  # the call is now sleeping in the plugin
            self.assertTrue(t.is_alive())
            srv.signal(signal.SIGTERM)
            rc = srv.wait()
            exited = time.monotonic()
            t.join(10 * harness.SCALE)
            self.assertFalse(t.is_alive(), "the call never got an answer")
            self.assertNotIn("error", result,
                             "call in flight lost at shutdown: %s\n"
                             "stderr:\n%s" % (result, srv.stderr))
            self.assertEqual(result["status"], 200)
            self.assertEqual(result["answer"],
                             {"jsonrpc": "2.0", "result": 1000, "id": 7})
            self.assertLessEqual(result["done"], exited)
            self.assertEqual(rc, 0, srv.stderr)
        finally:
            srv.stop()

    def test_sigterm_with_idle_keepalive_connection(self):
        # An open, idle keep-alive connection must not hold up shutdown
        # until the (30 s) connection timeout.
        srv = Server().start()
        try:
            conn = srv.connection()
            status, _, data = srv.call(
                {"jsonrpc": "2.0", "method": "ping", "id": 1}, conn=conn)
            self.assertEqual(status, 200, data)
            s = srv.raw_socket()
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Le")
            t0 = time.monotonic()
            srv.signal(signal.SIGTERM)
            rc = srv.wait(timeout=8 * harness.SCALE)
            self.assertIsNotNone(rc, "idle connections held up shutdown; "
                                 "stderr:\n%s" % srv.stderr)
            self.assertEqual(rc, 0, srv.stderr)
            self.assertLess(time.monotonic() - t0, 5 * harness.SCALE)
            conn.close()
            s.close()
        finally:
            srv.stop()

    def test_sigterm_call_longer_than_shutdown_timeout(self):
        # A call that blocks its loop past shutdown_timeout, but less than
        # a second past it (longer counts as stuck: test_stall.py).
        srv = Server(server={"shutdown_timeout": 1}).start()
        try:
            def slow_call():
                try:
                    srv.call({"jsonrpc": "2.0", "method": "sleep_ms",
                              "params": [1500], "id": 1})
                except Exception:  # either outcome is fine here
                    pass

            t = threading.Thread(target=slow_call)
            t.start()
            time.sleep(0.3)
            srv.signal(signal.SIGTERM)
            rc = srv.wait(timeout=15 * harness.SCALE)
            t.join(15 * harness.SCALE)
            self.assertIsNotNone(rc, "no exit; stderr:\n%s" % srv.stderr)
            self.assertEqual(rc, 0, srv.stderr)
        finally:
            srv.stop()

    def test_second_sigterm_ends_the_drain_at_once(self):
        """A second SIGTERM (half a second or more after the first) ends
        the worker at once, however long its drain would take."""
        plugins = harness.default_plugins()
        plugins["sleep"] = plugin(os.path.join(harness.PLUGINS, "sleep.so"))
        srv = Server(plugins=plugins,
                     server={"shutdown_timeout": 20}).start()
        try:
            conn = srv.connection(timeout=30)
            conn.request("POST", "/", json.dumps(harness.call("sleep",
                                                              [8000])),
                         {"Content-Type": "application/json"})
            time.sleep(0.3)
            srv.signal(signal.SIGTERM)
            time.sleep(0.8)
            t0 = time.monotonic()
            srv.signal(signal.SIGTERM)
            rc = srv.wait(timeout=10)
            self.assertEqual(rc, 128 + signal.SIGTERM, srv.stderr)
            self.assertLess(time.monotonic() - t0, 5)
            conn.close()
        finally:
            srv._kill()

    def test_double_sigterm(self):
        srv = Server().start()
        try:
            srv.signal(signal.SIGTERM)
            srv.signal(signal.SIGTERM)
            self.assertEqual(srv.wait(), 0, srv.stderr)
        finally:
            srv.stop()

    def test_no_new_connections_after_shutdown(self):
        srv = Server().start()
        port = srv.port
        try:
            srv.signal(signal.SIGTERM)
            self.assertEqual(srv.wait(), 0, srv.stderr)
        finally:
            srv.stop()
        with self.assertRaises(OSError):
            s = socket.create_connection(("127.0.0.1", port),
                                                 timeout=2)
            s.close()


class SlowReloadSignalTest(unittest.TestCase):
    """Signals while a reload runs a slow plugin init: the build runs off
    the signal-handling thread, so SIGTERM is acted on at once."""

    def test_sigterm_during_a_stuck_init(self):
        # The init would take a minute: the drain must not wait for it.
        keys = {"shutdown_timeout": 1}
        srv = Server(server=keys).start()
        try:
            reload_to_slow_init(srv, keys, 60000)
            result = {}
            t = call_in_background(srv, 500, result)
            time.sleep(0.2)  # the call now runs on the old generation
            t0 = time.monotonic()
            srv.signal(signal.SIGTERM)
            rc = srv.wait(timeout=10 * harness.SCALE)
            took = time.monotonic() - t0
            t.join(10 * harness.SCALE)
            self.assertIsNotNone(rc, "no exit while init runs; stderr:\n%s"
                                 % srv.stderr)
            self.assertEqual(rc, 0, srv.stderr)
            # shutdown_timeout + 1 s (sanitizer builds get more).
            self.assertLess(took, 1.0 + 1.0 * harness.SCALE, srv.stderr)
            self.assertEqual(result.get("status"), 200, result)
            self.assertEqual(result.get("answer"),
                             {"jsonrpc": "2.0", "result": 500, "id": 7})
            # One line says which reload was left behind.
            lines = [l for l in srv.stderr.splitlines() if "abandon" in l]
            self.assertEqual(len(lines), 1, srv.stderr)
            self.assertIn("generation 2", lines[0])
            self.assertIn(srv.ini_path, lines[0])
            self.assertIn("plugin [slow]'s init", lines[0])
            self.assertNotIn("init done", srv.stderr)
            self.assertNotIn("generation 2 serving", srv.stderr)
        finally:
            srv.stop()

    def test_build_finishing_during_the_drain_never_serves(self):
        keys = {"shutdown_timeout": 10}
        srv = Server(server=keys).start()
        try:
            result = {}
            call_ms = int(2000 * harness.SCALE)
            t = call_in_background(srv, call_ms, result)
            time.sleep(0.2)
            reload_to_slow_init(srv, keys, int(700 * harness.SCALE))
            srv.signal(signal.SIGTERM)
            rc = srv.wait(timeout=20 * harness.SCALE)
            t.join(10 * harness.SCALE)
            self.assertEqual(rc, 0, srv.stderr)
            self.assertEqual(result.get("answer"),
                             {"jsonrpc": "2.0", "result": call_ms, "id": 7},
                             srv.stderr)
            err = srv.stderr
            # The new generation was built while the old one drained,
            # finalised (its plugins' fini ran) and never served.
            self.assertIn("[slow] init done", err)
            self.assertIn("generation 2 finalised", err)
            self.assertIn("[slow] fini", err)
            self.assertNotIn("generation 2 serving", err)
            self.assertNotIn("abandon", err)
        finally:
            srv.stop()


if __name__ == "__main__":
    unittest.main()
