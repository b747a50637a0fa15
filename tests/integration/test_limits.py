# SPDX-License-Identifier: MIT
"""Production limits of rpchost: body, header, batch, depth and response
sizes, connection and call timeouts, slow clients and max_connections."""

import json
import os
import socket
import threading
import time
import unittest

import harness
from harness import (Server, call, example_plugins, metrics_of, plugin,
                     post_request, read_http_response, serve)

S = harness.SCALE
PING = b'{"jsonrpc":"2.0","method":"ping","id":1}'
GET_METRICS = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def read_until_eof(sock):
    """Everything the peer sends until it closes (ECONNRESET counts as a
    close).  A socket timeout propagates (a failure)."""
    chunks = []
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


class BodyLimitTest(unittest.TestCase):
    """max_body_size: 413, for Content-Length and chunked bodies."""

    @classmethod
    def setUpClass(cls):
        cls.srv = serve(server={"max_body_size": "1k"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def assert_alive(self):
        conn = self.srv.connection(timeout=3 * S)
        try:
            status, _, data = self.srv.call(PING, conn=conn)
        finally:
            conn.close()
        self.assertEqual(status, 200, data)
        self.assertEqual(json.loads(data)["result"], "pong")

    def exchange(self, raw):
        """Send raw bytes; return (status, headers, body, rest) where rest
        is what follows the response until the server closes."""
        s = self.srv.raw_socket(timeout=5 * S)
        with s:
            s.sendall(raw)
            f = s.makefile("rb")
            status, headers, body, _ = read_http_response(f)
            try:
                rest = f.read()
            except (ConnectionResetError, socket.timeout) as e:
                rest = e
        return status, headers, body, rest

    def test_content_length_at_and_over_limit(self):
        # Exactly 1024 bytes: accepted.
        prefix = b'{"jsonrpc":"2.0","method":"echo","params":["'
        suffix = b'"],"id":1}'
        body = prefix + b"a" * (1024 - len(prefix) - len(suffix)) + suffix
        self.assertEqual(len(body), 1024)
        status, _, data = self.srv.call(body)
        self.assertEqual(status, 200, data)
        self.assertEqual(json.loads(data)["id"], 1)
        # One byte more: 413, and the connection is closed afterwards.
        body = prefix + b"a" * (1025 - len(prefix) - len(suffix)) + suffix
        status, _, _, rest = self.exchange(post_request(body))
        self.assertEqual(status, 413)
        self.assertEqual(rest, b"", "connection not closed after the 413")
        self.assert_alive()

    def test_announced_length_over_limit_is_refused_at_once(self):
        t0 = time.monotonic()
        status, _, _, _ = self.exchange(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Length: 100000000\r\n\r\n")
        self.assertEqual(status, 413)
        self.assertLess(time.monotonic() - t0, 2 * S)
        self.assert_alive()

    def test_chunked_single_chunk_over_limit(self):
        chunk = b"[" + b" " * 1500 + b"]"
        status, _, _, _ = self.exchange(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
            + b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk))
        self.assertEqual(status, 413)
        self.assert_alive()

    def test_chunked_many_small_chunks_over_limit(self):
        # Every chunk is small; only their sum is over the limit.
        req = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
        req += b"1\r\n[\r\n"
        for _ in range(30):
            req += b"64\r\n" + b" " * 100 + b"\r\n"
        req += b"1\r\n]\r\n0\r\n\r\n"
        status, _, _, _ = self.exchange(req)
        self.assertEqual(status, 413)
        self.assert_alive()

    def test_chunked_under_limit_is_served(self):
        body = PING
        req = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Content-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
        for i in range(0, len(body), 7):
            part = body[i:i + 7]
            req += b"%x\r\n%s\r\n" % (len(part), part)
        req += b"0\r\n\r\n"
        s = self.srv.raw_socket(timeout=5 * S)
        with s:
            s.sendall(req)
            status, _, data, _ = read_http_response(s.makefile("rb"))
        self.assertEqual(status, 200, data)
        self.assertEqual(json.loads(data)["result"], "pong")


class LargeBatchTest(unittest.TestCase):
    """A batch's answers start in one shared slab of 128 bytes a call (up
    to 4096 calls); longer answers, and the calls of bigger batches, use
    their own memory.  Every answer must come back whole either way."""

    def test_answers_inside_and_outside_the_slab(self):
        long = "x" * 300  # outgrows its 128-byte slot
        with serve(server={"max_batch": 5000}) as srv:
            for n in (4096, 5000):
                with self.subTest(n=n):
                    batch = [call("echo", [long] if i % 7 == 0 else [i],
                                  id=i) for i in range(n)]
                    status, _, data = srv.call(batch)
                    self.assertEqual(status, 200, data[:200])
                    answer = {a["id"]: a["result"] for a in json.loads(data)}
                    self.assertEqual(len(answer), n)
                    for i in range(n):
                        want = [long] if i % 7 == 0 else [i]
                        self.assertEqual(answer[i], want, i)


class ServerSideCloseTest(unittest.TestCase):
    def test_next_client_after_a_refusal_is_served(self):
        # After the server closes a connection (413, 400, Connection:
        # close, HTTP/1.0), the next client on that loop - which gets the
        # same descriptor number - must be served at once.
        cases = [
            ("413", b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Length: 100000\r\n\r\n", 413),
            ("400", b"THIS IS NOT HTTP\r\n\r\n", 400),
            ("Connection: close",
             post_request(PING, extra_headers=["Connection: close"]), 200),
            ("HTTP/1.0", post_request(PING, version="HTTP/1.0"), 200),
        ]
        with serve(server={"max_body_size": "1k"}, threads=1) as srv:
            for name, raw, expected in cases:
                with self.subTest(case=name):
                    s = srv.raw_socket(timeout=5 * S)
                    try:
                        s.sendall(raw)
                        with s.makefile("rb") as f:
                            status, _, data, _ = read_http_response(f)
                        self.assertEqual(status, expected, data)
                        conn = srv.connection(timeout=2 * S)
                        try:
                            t0 = time.monotonic()
                            status, _, data = srv.call(PING, conn=conn)
                        except socket.timeout:
                            self.fail("the next client was not served "
                                      "within %.0f s after a server-side "
                                      "close (%s)" % (2 * S, name))
                        finally:
                            conn.close()
                        self.assertEqual(status, 200, data)
                        self.assertLess(time.monotonic() - t0, 1.0 * S)
                    finally:
                        s.close()


class HeaderLimitTest(unittest.TestCase):
    def test_headers_over_max_header_size(self):
        with serve(server={"max_header_size": "1k"}) as srv:
            # Well under the limit: served.
            status, _, data = srv.call(PING, headers={"X-Pad": "a" * 400})
            self.assertEqual(status, 200, data)
            # Over it: 400 or the connection closed; never served.
            for size in (2000, 100000):
                with self.subTest(size=size):
                    s = srv.raw_socket(timeout=3 * S)
                    with s:
                        try:
                            s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1"
                                      b"\r\nX-Big: " + b"a" * size + b"\r\n"
                                      b"Content-Length: %d\r\n\r\n"
                                      % len(PING) + PING)
                        except (BrokenPipeError, ConnectionResetError):
                            pass  # closed while we were still sending
                        try:
                            status, _, data, _ = read_http_response(
                                s.makefile("rb"))
                            self.assertEqual(status, 400, data)
                        except (EOFError, ConnectionResetError):
                            pass  # closing is an acceptable refusal
            status, _, data = srv.call(PING)
            self.assertEqual(status, 200, data)


class BatchAndDepthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = serve(server={"max_batch": 3, "max_depth": 16,
                                "max_body_size": "4m"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def answer(self, body):
        status, headers, data = self.srv.call(body)
        self.assertEqual(status, 200, data)
        self.assertEqual(headers.get("content-type"), "application/json")
        return json.loads(data)

    def test_batch_at_max_batch(self):
        answer = self.answer([call("ping", id=i) for i in range(3)])
        self.assertIsInstance(answer, list)
        self.assertEqual(sorted(a["id"] for a in answer), [0, 1, 2])
        self.assertTrue(all(a["result"] == "pong" for a in answer), answer)

    def test_batch_over_max_batch(self):
        for n in (4, 5000):
            with self.subTest(n=n):
                answer = self.answer([call("ping", id=i) for i in range(n)])
                self.assertIsInstance(answer, dict, "one error object, "
                                      "not an array")
                err = harness.std_error(self, answer, -32600, id=None)
                self.assertIn("max_batch", str(err.get("data")), answer)

    def test_batch_over_max_batch_runs_nothing(self):
        def pings():
            status, _, data = self.srv.call(None, path="/metrics",
                                            method="GET")
            self.assertEqual(status, 200, data)
            return metrics_of(data.decode()).get(
                'rpchost_rpc_calls_total{method="ping"}', 0.0)

        before = pings()
        answer = self.answer([call("ping", id=i) for i in range(4)])
        harness.std_error(self, answer, -32600, id=None)
        self.assertEqual(pings(), before, "calls of a refused batch ran")

    def test_depth_at_and_over_max_depth(self):
        def nested(k):
            return b"[" * k + b"]" * k

        # The request object is level 1, params level 2.
        ok = b'{"jsonrpc":"2.0","method":"echo","params":%s,"id":1}' % (
            nested(15))
        answer = self.answer(ok)
        self.assertEqual(answer.get("result"), json.loads(nested(15)), answer)
        deep = b'{"jsonrpc":"2.0","method":"echo","params":%s,"id":1}' % (
            nested(16))
        answer = self.answer(deep)
        err = harness.std_error(self, answer, -32700, id=None)
        self.assertIn("max_depth", str(err.get("data")), answer)

    def test_million_levels_is_a_quick_parse_error(self):
        for body in (b"[" * 1000000, b'{"a":' * 200000,
                     b"[" * 500000 + b"]" * 500000):
            with self.subTest(body=body[:10], size=len(body)):
                t0 = time.monotonic()
                answer = self.answer(body)
                elapsed = time.monotonic() - t0
                err = harness.std_error(self, answer, -32700, id=None)
                self.assertIn("max_depth", str(err.get("data")), answer)
                self.assertLess(elapsed, 2.0 * S)
        self.assertEqual(self.srv.rpc("ping")["result"], "pong")


class ResponseSizeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = serve(server={"max_response_size": "1k"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def answer(self, body):
        status, _, data = self.srv.call(body)
        self.assertEqual(status, 200, data)
        self.assertLessEqual(len(data), 1024, data[:200])
        return json.loads(data)

    def test_single_answer_over_limit(self):
        small = self.answer(call("echo", ["a" * 100], id=5))
        self.assertEqual(small, {"jsonrpc": "2.0", "result": ["a" * 100],
                                 "id": 5})
        big = self.answer(call("echo", ["a" * 2000], id=6))
        harness.error_of(self, big, -32002, "Response too large", id=6)
        # A big array of numbers too.
        big = self.answer(call("echo", list(range(1000)), id="x"))
        harness.error_of(self, big, -32002, "Response too large", id="x")
        self.assertEqual(self.srv.rpc("ping")["result"], "pong")

    def test_batch_total_over_limit(self):
        # Each answer (~450 bytes) fits; the three together do not.
        batch = [call("echo", ["b" * 400], id=i) for i in range(3)]
        for item in batch:
            one = self.answer(item)
            self.assertIn("result", one)
        answer = self.answer(batch)
        self.assertIsInstance(answer, dict, "one error object for the batch")
        harness.error_of(self, answer, -32002, "Response too large",
                         id=None)
        # Two of them fit together.
        answer = self.answer(batch[:2])
        self.assertIsInstance(answer, list)
        self.assertEqual(sorted(a["id"] for a in answer), [0, 1])

    def test_one_batch_element_over_limit(self):
        answer = self.answer([call("echo", ["c" * 2000], id=1),
                              call("ping", id=2)])
        self.assertIsInstance(answer, list, answer)
        by_id = {a["id"]: a for a in answer}
        harness.error_of(self, by_id[1], -32002, "Response too large", id=1)
        self.assertEqual(by_id[2]["result"], "pong")


class TimeoutTest(unittest.TestCase):
    def test_stalled_clients_are_dropped_and_others_served(self):
        # Slowloris: several sockets each send part of a request and stall;
        # a normal client on the same (single) loop is served meanwhile and
        # each stalled socket is closed about `timeout` later.
        with serve(server={"timeout": 1}, threads=1) as srv:
            partials = [
                b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le",
                b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Length: 50\r\n\r\n{\"jsonrpc\"",
                b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n10\r\n[",
                b"POS",
                b"GET /healthz HTTP/1.1\r\n",
            ]
            socks = []
            results = {}

            def watch(i, s):
                try:
                    rest = read_until_eof(s)
                    results[i] = (time.monotonic(), rest)
                except Exception as e:  # reported below
                    results[i] = (time.monotonic(), e)

            t0 = time.monotonic()
            threads = []
            for i, p in enumerate(partials):
                s = srv.raw_socket(timeout=10 * S)
                s.sendall(p)
                socks.append(s)
                t = threading.Thread(target=watch, args=(i, s), daemon=True)
                t.start()
                threads.append(t)
            # Meanwhile a normal client is served at once, several times.
            for i in range(5):
                c0 = time.monotonic()
                status, _, data = srv.call(call("ping", id=i))
                self.assertEqual(status, 200, data)
                self.assertLess(time.monotonic() - c0, 0.5 * S)
                time.sleep(0.1)
            for t in threads:
                t.join(10 * S)
            for s in socks:
                s.close()
            self.assertEqual(sorted(results), list(range(len(partials))),
                             "some stalled sockets were never closed")
            for i, (when, rest) in results.items():
                self.assertNotIsInstance(rest, Exception,
                                         "partial %r: %r" % (partials[i],
                                                             rest))
                elapsed = when - t0
                self.assertGreater(elapsed, 0.7, partials[i])
                self.assertLess(elapsed, 3.0 * S, partials[i])
                if rest:  # a 408 (or 400) before closing is fine
                    self.assertRegex(rest, rb"^HTTP/1\.[01] 4\d\d ",
                                     partials[i])
            status, _, data = srv.call(PING)
            self.assertEqual(status, 200, data)

    def test_trickling_client_is_dropped_after_timeout(self):
        # README: a request's headers must arrive within header_timeout.
        # A client sending one header byte every 0.3 s never stays idle
        # for 1 s (evhttp's per-read `timeout`), but it must still be
        # dropped after about 1 s (plus slack), not kept open for as long
        # as it trickles.
        with serve(server={"header_timeout": 1}, threads=1) as srv:
            s = srv.raw_socket(timeout=1)
            with s:
                head = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
                s.sendall(head)
                t0 = time.monotonic()
                closed_after = None
                while time.monotonic() - t0 < 4.0 * S:
                    time.sleep(0.3)
                    try:
                        s.sendall(b"a")
                    except (BrokenPipeError, ConnectionResetError):
                        closed_after = time.monotonic() - t0
                        break
                    s.setblocking(False)
                    try:
                        data = s.recv(65536)
                        if data == b"" or data.startswith(b"HTTP/"):
                            closed_after = time.monotonic() - t0
                            break
                    except BlockingIOError:
                        pass
                    except ConnectionResetError:
                        closed_after = time.monotonic() - t0
                        break
                    finally:
                        s.setblocking(True)
                        s.settimeout(1)
                self.assertIsNotNone(
                    closed_after, "a client trickling its headers was kept "
                    "open for %.1f s with header_timeout = 1" % (4.0 * S))
                self.assertLess(closed_after, 2.5 * S)
            status, _, data = srv.call(PING)
            self.assertEqual(status, 200, data)

    def test_idle_keepalive_connection_is_closed(self):
        with serve(server={"timeout": 1}, threads=1) as srv:
            s = srv.raw_socket(timeout=10 * S)
            with s:
                s.sendall(post_request(PING))
                f = s.makefile("rb")
                status, _, data, _ = read_http_response(f)
                self.assertEqual(status, 200, data)
                t0 = time.monotonic()
                self.assertEqual(f.read(), b"")
                elapsed = time.monotonic() - t0
                self.assertGreater(elapsed, 0.7)
                self.assertLess(elapsed, 3.0 * S)


class CallTimeoutTest(unittest.TestCase):
    def test_call_timeout_answers_before_the_connection_drops(self):
        with serve(server={"call_timeout": 1, "timeout": 4},
                   threads=1) as srv:
            conn = srv.connection(timeout=10 * S)
            try:
                t0 = time.monotonic()
                status, headers, data = srv.call(
                    call("sleep", [5000], id=42), conn=conn)
                elapsed = time.monotonic() - t0
                self.assertEqual(status, 200, data)
                answer = json.loads(data)
                harness.error_of(self, answer, -32001, "Call timed out",
                                 id=42)
                self.assertGreater(elapsed, 0.8)
                self.assertLess(elapsed, 3.0 * S)
                # The keep-alive connection is still usable.
                status, _, data = srv.call(PING, conn=conn)
                self.assertEqual(status, 200, data)
                self.assertEqual(json.loads(data)["result"], "pong")
                # In a batch: only the slow call times out.
                status, _, data = srv.call(
                    [call("sleep", [5000], id=1), call("sleep", [10], id=2),
                     call("ping", id=3)], conn=conn)
                self.assertEqual(status, 200, data)
                by_id = {a["id"]: a for a in json.loads(data)}
                harness.error_of(self, by_id[1], -32001, "Call timed out")
                self.assertEqual(by_id[2]["result"], 10)
                self.assertEqual(by_id[3]["result"], "pong")
            finally:
                conn.close()
            self.assertIn("call_timeout", srv.stderr)
            m = metrics_of(srv.call(None, path="/metrics",
                                    method="GET")[2].decode())
            self.assertEqual(m.get('rpchost_rpc_errors_total{code="-32001"}'),
                             2.0, m)


class ShutdownDrainTest(unittest.TestCase):
    def test_calls_left_at_shutdown_timeout_get_32001(self):
        with serve(server={"shutdown_timeout": 1, "call_timeout": 30,
                           "timeout": 60}, threads=1) as srv:
            result = {}

            def slow():
                try:
                    result["r"] = srv.call(call("sleep", [20000], id=3))
                except Exception as e:  # reported below
                    result["r"] = e

            t = threading.Thread(target=slow)
            t.start()
            time.sleep(0.3)
            t0 = time.monotonic()
            srv.signal()
            t.join(10 * S)
            self.assertFalse(t.is_alive(), "no answer at shutdown")
            self.assertEqual(srv.wait(), 0, srv.stderr)
            self.assertNotIsInstance(
                result["r"], Exception, "README (Limits): calls still "
                "running at shutdown_timeout are answered -32001; the "
                "connection was dropped instead")
            status, headers, data = result["r"]
            self.assertEqual(status, 200, data)
            harness.error_of(self, json.loads(data), -32001,
                             "Call timed out", id=3)
            self.assertEqual(headers.get("connection"), "close")
            self.assertLess(time.monotonic() - t0, 3.0 * S)


class MaxConnectionsTest(unittest.TestCase):
    def test_fifth_client_waits_for_a_free_slot(self):
        # Four connections each running a call: none idle or slow, so no
        # room can be made (idle ones would be closed for a new client:
        # test_slow_clients.py).
        with serve(server={"max_connections": 4, "timeout": 30},
                   threads=1) as srv:
            idle = []
            ms = int(1500 * S)
            try:
                for i in range(4):
                    s = srv.raw_socket(timeout=10 * S)
                    idle.append(s)
                    s.sendall(post_request(call("sleep", [ms], id=i)))
                time.sleep(0.3 * S)

                # A fifth client: connects (the backlog), but is not served.
                fifth = srv.raw_socket(timeout=0.6)
                fifth.sendall(post_request(PING))
                t0 = time.monotonic()
                try:
                    early = fifth.recv(65536)
                except socket.timeout:
                    early = None
                self.assertIsNone(early, "the 5th connection was answered "
                                  "while 4 were busy: %r" % (early,))
                self.assertGreater(time.monotonic() - t0, 0.5)
                self.assertIn("max_connections", srv.stderr)

                # The calls end, their connections go idle: the fifth is
                # served soon after (room made by closing an idle one).
                for s in idle:
                    with s.makefile("rb") as f:
                        status, _, data, _ = read_http_response(f)
                    self.assertEqual(status, 200, data)
                t1 = time.monotonic()
                fifth.settimeout(5 * S)
                status, _, data, _ = read_http_response(fifth.makefile("rb"))
                self.assertEqual(status, 200, data)
                self.assertEqual(json.loads(data)["result"], "pong")
                self.assertLess(time.monotonic() - t1, 1.0 * S)
                idle.append(fifth)
                status, _, data = srv.call(None, path="/metrics", method="GET")
                m = metrics_of(data.decode())
                self.assertGreaterEqual(m.get("rpchost_connections_total"),
                                        5.0, m)
            finally:
                for s in idle:
                    s.close()
            # All closed: the sweep counts them out; new clients are served.
            time.sleep(0.4)
            status, _, data = srv.call(None, path="/metrics", method="GET")
            self.assertEqual(status, 200, data)
            m = metrics_of(data.decode())
            self.assertEqual(m.get("rpchost_connections"), 1.0, m)
            threads = []
            results = []

            def client():
                try:
                    results.append(srv.call(PING)[0])
                except Exception as e:  # reported below
                    results.append(repr(e))

            for _ in range(12):
                t = threading.Thread(target=client)
                t.start()
                threads.append(t)
            for t in threads:
                t.join(10 * S)
            self.assertEqual(results, [200] * 12)


if __name__ == "__main__":
    unittest.main()
