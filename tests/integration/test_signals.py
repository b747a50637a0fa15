"""Shutdown on signals."""

import json
import signal
import socket
import threading
import time
import unittest

import harness
from harness import Server


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
        srv = Server(server={"shutdown_timeout": 1}).start()
        try:
            def slow_call():
                try:
                    srv.call({"jsonrpc": "2.0", "method": "sleep_ms",
                              "params": [2500], "id": 1})
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


if __name__ == "__main__":
    unittest.main()
