# SPDX-License-Identifier: MIT
"""A graceful stop closes the listening socket at once: new clients are
refused (a load balancer fails over) while calls in flight still finish."""

import json
import signal
import socket
import threading
import time
import unittest

import harness
from harness import Server, serve


class DrainTest(unittest.TestCase):
    def test_listening_stops_when_the_drain_begins(self):
        srv = serve(server={"shutdown_timeout": 10}).start()
        try:
            result = {}
            ms = int(1500 * harness.SCALE)

            def slow_call():
                try:
                    status, _, data = srv.call(harness.call("sleep", [ms],
                                                            id=3))
                    result["answer"] = (status, json.loads(data))
                except Exception as e:  # reported below
                    result["error"] = repr(e)

            t = threading.Thread(target=slow_call)
            t.start()
            time.sleep(0.3 * harness.SCALE)
            srv.signal(signal.SIGTERM)
            time.sleep(0.3 * harness.SCALE)
            self.assertIsNone(srv.proc.poll(), "exited before the call ended")
            # The port no longer accepts: refused, not left hanging.
            with self.assertRaises(ConnectionRefusedError):
                s = socket.create_connection(("127.0.0.1", srv.port),
                                             timeout=2)
                s.close()
            t.join(10 * harness.SCALE)
            self.assertEqual(result.get("answer"),
                             (200, {"jsonrpc": "2.0", "result": ms,
                                    "id": 3}), result)
            self.assertEqual(srv.wait(), 0, srv.stderr)
            self.assertNotIn(": accept: ", srv.stderr)  # not the path
        finally:
            srv.stop()

    def test_idle_connections_are_not_left_hanging(self):
        # A loop with nothing in flight ends at once: its keep-alive
        # connections are closed (their clients fail over), not left
        # unanswered until the last loop is done.
        srv = serve(server={"shutdown_timeout": 10}).start()
        try:
            idle = [srv.raw_socket() for _ in range(6)]
            for s in idle:
                s.sendall(harness.post_request(harness.call("ping")))
                f = s.makefile("rb")
                self.assertEqual(harness.read_http_response(f)[0], 200)
                f.close()
            busy = threading.Thread(target=lambda: srv.call(
                harness.call("sleep", [int(3000 * harness.SCALE)])))
            busy.start()
            time.sleep(0.3 * harness.SCALE)
            srv.signal(signal.SIGTERM)
            time.sleep(0.3 * harness.SCALE)
            for i, s in enumerate(idle):
                with self.subTest(conn=i):
                    s.settimeout(1.0 * harness.SCALE)
                    t0 = time.monotonic()
                    try:
                        s.sendall(b"GET /healthz HTTP/1.1\r\n"
                                  b"Host: 127.0.0.1\r\n\r\n")
                        f = s.makefile("rb")
                        status = harness.read_http_response(f)[0]
                        f.close()
                    except (EOFError, ConnectionResetError,
                            BrokenPipeError):
                        status = "closed"
                    except socket.timeout:
                        status = "no answer"
                    self.assertIn(status, (503, "closed"))
                    self.assertLess(time.monotonic() - t0,
                                    1.0 * harness.SCALE)
            busy.join(10 * harness.SCALE)
            self.assertEqual(srv.wait(), 0, srv.stderr)
        finally:
            for s in idle:
                s.close()
            srv.stop()


if __name__ == "__main__":
    unittest.main()
