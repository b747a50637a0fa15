# SPDX-License-Identifier: MIT
"""Chunked request bodies: what one costs the server is bounded by its
data, however the client cuts it.

- A body sent a chunk a packet held a 1 KiB buffer chain a chunk (3 MB for
  a 3 KB body): host/evmove.c copies a few bytes where libevent moved the
  chain.
- A body sent as one endless chunk-size line held every byte and cost
  loop time in the square of its length (64 MB and 26 s of CPU), and one
  sent as endless empty lines cost loop time until request_timeout:
  host/framing.c follows the framing and the connection is answered 413
  once it goes over max_chunk_overhead.
- Bodies within the bound, small chunks and extensions included, are
  served as before."""

import json
import os
import re
import select
import socket
import time
import unittest

import harness
from harness import Server, read_http_response

ECHO_SO = os.path.join(harness.PLUGINS, "echo.so")
HEAD = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
        b"application/json\r\nTransfer-Encoding: chunked\r\n\r\n")


# ASan's allocator holds freed memory in quarantine, and valgrind's is
# its own: the resident set tells nothing there.
RSS_TELLS = not (harness.ASAN or harness.VALGRIND)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(f.read().split("VmRSS:")[1].split()[0])


def echo_body(text):
    return json.dumps({"jsonrpc": "2.0", "method": "echo",
                       "params": [text], "id": 1}).encode()


def chunked(body, size, ext=b""):
    """body as chunks of `size` bytes, each size line with ext after it."""
    out = b""
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out += b"%x%s\r\n%s\r\n" % (len(piece), ext, piece)
    return out + b"0\r\n\r\n"


def connect(srv):
    s = socket.create_connection(("127.0.0.1", srv.port),
                                 timeout=harness.IO_TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def stream_until_answer(s, piece, limit):
    """Send piece after piece (at most `limit` bytes) until the server
    answers or stops reading; the bytes sent."""
    sent = 0
    while sent < limit:
        if select.select([s], [], [], 0)[0]:
            break
        try:
            s.sendall(piece)
        except OSError:  # the server closed; its answer may be waiting
            break
        sent += len(piece)
    return sent


def refused_behind_an_answer(test, srv):
    """The next request's framing goes over in what came with the one
    before, or while its answer was written (evhttp reads on meanwhile):
    refused once evhttp is done with that answer, which arrives whole
    first (where the bound is small, the refusal comes from within
    evhttp's end of the answer, and was made after it)."""
    ping = json.dumps({"jsonrpc": "2.0", "method": "ping",
                       "id": 3}).encode()
    with connect(srv) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                  b"application/json\r\nContent-Length: %d\r\n\r\n%s"
                  % (len(ping), ping) + HEAD + b"\r\n" * 20000)
        f = s.makefile("rb")
        status, _, body, _ = read_http_response(f)
        test.assertEqual(status, 200)
        test.assertEqual(json.loads(body)["result"], "pong")
        status, _, body, _ = read_http_response(f)
        test.assertEqual(status, 413)
        test.assertIn("max_chunk_overhead",
                      json.loads(body)["error"]["data"])
    status, _, body = srv.call({"jsonrpc": "2.0", "method": "ping", "id": 4})
    test.assertEqual(json.loads(body)["result"], "pong")


class ChunkedTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(plugins={"echo": harness.plugin(ECHO_SO),
                                  "ping": harness.plugin(harness.PING_SO)},
                         server={"metrics_path": "/metrics"},
                         threads=1).start()
        cls.worker = cls.srv.worker_pid()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def answer(self, s):
        status, _, body, _ = read_http_response(s.makefile("rb"))
        return status, body

    def assert_refused(self, s):
        status, body = self.answer(s)
        self.assertEqual(status, 413)
        err = json.loads(body)["error"]
        self.assertEqual(err["code"], -32600)
        self.assertIn("max_chunk_overhead", err["data"])
        # The connection is closed after the answer.
        s.settimeout(harness.IO_TIMEOUT)
        try:
            while s.recv(65536):
                pass
        except ConnectionResetError:
            pass

    def assert_served(self):
        """Another client is answered at once."""
        status, _, body = self.srv.call(
            {"jsonrpc": "2.0", "method": "ping", "id": 9})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["result"], "pong")

    def test_chunk_a_packet_holds_about_its_size(self):
        text = "x" * 2940
        body = echo_body(text)
        before = rss_kib(self.worker)
        with connect(self.srv) as s:
            s.sendall(HEAD)
            for i in range(len(body)):
                s.sendall(b"%s1\r\n%s" % (b"\r\n" if i else b"",
                                          body[i:i + 1]))
                time.sleep(0.0003)
            time.sleep(0.2)
            grown = rss_kib(self.worker) - before
            s.sendall(b"\r\n0\r\n\r\n")
            status, answer = self.answer(s)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(answer)["result"], [text])
        # 3 MB before evmove.c (a 1 KiB chain a chunk).
        if RSS_TELLS:
            self.assertLess(grown, 1024, "worker RSS grew %d KiB" % grown)

    def test_endless_size_line_is_refused(self):
        before = rss_kib(self.worker)
        with connect(self.srv) as s:
            s.sendall(HEAD + b"1")
            stream_until_answer(s, b"0" * 4096, 8 << 20)
            self.assert_refused(s)
        if RSS_TELLS:
            self.assertLess(rss_kib(self.worker) - before, 1024)
        self.assert_served()

    def test_endless_empty_lines_are_refused(self):
        with connect(self.srv) as s:
            s.sendall(HEAD)
            stream_until_answer(s, b"\r\n" * 2048, 8 << 20)
            self.assert_refused(s)
        self.assert_served()

    def test_long_extensions_on_small_chunks_are_refused(self):
        with connect(self.srv) as s:
            s.sendall(HEAD)
            stream_until_answer(s, b"1 " + b"e" * 4000 + b"\r\nx\r\n",
                                8 << 20)
            self.assert_refused(s)

    def refusals(self):
        status, _, body = self.srv.call(None, path="/metrics", method="GET")
        self.assertEqual(status, 200)
        m = re.search(r'rpchost_connections_closed_total\{loop="0",'
                      r'reason="chunk_overhead"\} (\d+)', body.decode())
        self.assertIsNotNone(m)
        return int(m.group(1))

    def test_metrics_count_refusals(self):
        time.sleep(0.3)  # earlier tests' refusals counted (each sweep adds)
        before = self.refusals()
        with connect(self.srv) as s:
            s.sendall(HEAD + b"1")
            stream_until_answer(s, b"0" * 4096, 8 << 20)
            self.assert_refused(s)
        time.sleep(0.3)  # the next sweep counts it
        self.assertEqual(self.refusals(), before + 1)

    def test_headers_ended_by_a_nul_line(self):
        """evhttp ends the headers at a line whose first byte is a NUL:
        the body after it is followed too."""
        with connect(self.srv) as s:
            s.sendall(HEAD[:-2] + b"\0\r\n1")
            stream_until_answer(s, b"0" * 4096, 8 << 20)
            self.assert_refused(s)
        self.assert_served()

    def test_refused_behind_a_pipelined_answer(self):
        refused_behind_an_answer(self, self.srv)


    def test_bodies_within_the_bound_are_served(self):
        text = "y" * 20000
        body = echo_body(text)
        cases = [
            chunked(body, 1),                     # 20k one-byte chunks
            chunked(body, 3, b" " + b"e" * 9),    # extensions after a space
            chunked(body, 4096, b" " + b"e" * 8000),
            chunked(body, len(body)),
            b"0000000000000000000000%x\r\n%s\r\n0\r\n\r\n" % (len(body), body),
            b"0x%x\r\n%s\r\n\r\n\r\n0\r\n\r\n" % (len(body), body),
        ]
        for wire in cases:
            with connect(self.srv) as s:
                s.sendall(HEAD + wire)
                status, answer = self.answer(s)
                self.assertEqual(status, 200, wire[:40])
                self.assertEqual(json.loads(answer)["result"], [text])

    def test_pipelined_after_a_chunked_body(self):
        ping = json.dumps({"jsonrpc": "2.0", "method": "ping",
                           "id": 2}).encode()
        with connect(self.srv) as s:
            s.sendall(HEAD + chunked(echo_body("z"), 2)
                      + b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                      b"application/json\r\nContent-Length: %d\r\n\r\n%s"
                      % (len(ping), ping))
            f = s.makefile("rb")
            first = read_http_response(f)
            second = read_http_response(f)
        self.assertEqual(json.loads(first[2])["result"], ["z"])
        self.assertEqual(json.loads(second[2])["result"], "pong")


class ConfiguredBoundTest(unittest.TestCase):
    def test_smallest_bound_behind_a_pipelined_answer(self):
        with Server(plugins={"ping": harness.plugin(harness.PING_SO)},
                    server={"max_chunk_overhead": 256}) as srv:
            refused_behind_an_answer(self, srv)

    def test_max_chunk_overhead(self):
        with Server(plugins={"echo": harness.plugin(ECHO_SO)},
                    server={"max_chunk_overhead": "1k"}) as srv:
            body = echo_body("w" * 4000)
            with connect(srv) as s:
                s.sendall(HEAD + chunked(body, 512, b" " + b"e" * 900))
                status, _, answer, _ = read_http_response(s.makefile("rb"))
                self.assertEqual(status, 200)
            with connect(srv) as s:
                s.sendall(HEAD + b"1 " + b"e" * 1100 + b"\r\n")
                status, _, answer, _ = read_http_response(s.makefile("rb"))
                self.assertEqual(status, 413)
                self.assertIn("max_chunk_overhead",
                              json.loads(answer)["error"]["data"])


if __name__ == "__main__":
    unittest.main()
