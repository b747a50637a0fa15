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
            self.assertNotIn("accept", srv.stderr)
        finally:
            srv.stop()


if __name__ == "__main__":
    unittest.main()
