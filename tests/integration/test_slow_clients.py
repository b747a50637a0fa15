# SPDX-License-Identifier: MIT
"""Slow and idle clients cannot lock others out: a request's headers must
arrive within header_timeout and the whole request within request_timeout
(however the bytes trickle in), a loop at its share of max_connections
makes room by closing the oldest idle keep-alive connection (or, under
pressure, the slowest request), and the listen backlog is the configured
one.  Also with Debian's slowhttptest, at more connections than
max_connections."""

import json
import shutil
import socket
import subprocess
import threading
import time
import unittest

import harness
from harness import Server, serve

S = harness.SCALE
PING = harness.post_request(harness.call("ping"))


def closed_within(s, seconds, trickle=b"", every=0.2):
    """Send `trickle` one byte at a time every `every` seconds until the
    server closes the connection; the seconds it took, or None if it was
    still open after `seconds`."""
    t0 = time.monotonic()
    s.settimeout(every)
    i = 0
    while time.monotonic() - t0 < seconds:
        try:
            if i < len(trickle):
                s.sendall(trickle[i:i + 1])
                i += 1
            data = s.recv(4096)
            if data == b"":
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t0
    return None


def ping_on(s):
    s.sendall(PING)
    f = s.makefile("rb")
    try:
        status, _, body, _ = harness.read_http_response(f)
    finally:
        f.close()
    return status, body


def ping_on_rest(s):
    """The answer to a request already sent on s."""
    f = s.makefile("rb")
    try:
        status, _, body, _ = harness.read_http_response(f)
    finally:
        f.close()
    return status, body


class DeadlineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = serve(server={"header_timeout": 1, "request_timeout": 2,
                                "timeout": 30}).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_trickled_headers_are_cut_at_header_timeout(self):
        # One byte every 0.2 s restarts an idle timeout forever; the
        # header deadline counts from the request's first byte.
        s = self.srv.raw_socket()
        try:
            took = closed_within(s, 6 * S, PING[:-4] * 2)
            self.assertIsNotNone(took, "a slowloris client was never "
                                 "dropped")
            self.assertGreater(took, 0.8)
            self.assertLess(took, 2.5 * S)
        finally:
            s.close()

    def test_silent_connection_is_cut_at_header_timeout(self):
        s = self.srv.raw_socket()
        try:
            took = closed_within(s, 6 * S)
            self.assertIsNotNone(took)
            self.assertLess(took, 2.5 * S)
        finally:
            s.close()

    def test_trickled_body_is_cut_at_request_timeout(self):
        body = json.dumps(harness.call("echo", ["x" * 100])).encode()
        head = PING.split(b"\r\n\r\n")[0].replace(
            b"Content-Length: %d" % (len(PING.split(b"\r\n\r\n")[1])),
            b"Content-Length: %d" % len(body)) + b"\r\n\r\n"
        s = self.srv.raw_socket()
        try:
            s.sendall(head)
            took = closed_within(s, 8 * S, body)
            self.assertIsNotNone(took, "a slow body was never dropped")
            # Past header_timeout (the headers were complete), cut at
            # request_timeout.
            self.assertGreater(took, 1.5)
            self.assertLess(took, 3.5 * S)
        finally:
            s.close()

    def test_pipelined_partial_request_is_cut_at_header_timeout(self):
        # The next request's first bytes came with the previous one: they
        # were in the buffer before its answer went out.
        s = self.srv.raw_socket()
        try:
            s.sendall(PING + b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            f = s.makefile("rb")
            status, _, body, _ = harness.read_http_response(f)
            f.close()
            self.assertEqual(status, 200, body)
            took = closed_within(s, 6 * S)
            self.assertIsNotNone(took, "never cut")
            self.assertLess(took, 2.0 * S)
        finally:
            s.close()

    def test_pipelined_request_with_complete_headers_gets_request_timeout(
            self):
        body = json.dumps(harness.call("echo", ["x" * 40])).encode()
        second = harness.post_request(body)
        head_len = second.index(b"\r\n\r\n") + 4
        s = self.srv.raw_socket()
        try:
            s.sendall(PING + second[:head_len + 5])
            f = s.makefile("rb")
            status, _, answer, _ = harness.read_http_response(f)
            f.close()
            self.assertEqual(status, 200, answer)
            took = closed_within(s, 6 * S, second[head_len + 5:], every=0.12)
            # Its headers were complete: request_timeout (2 s), not
            # header_timeout (1 s), ends it.
            self.assertIsNotNone(took, "never cut")
            self.assertGreater(took, 1.5)
        finally:
            s.close()

    def test_idle_keepalive_outlives_header_timeout(self):
        s = self.srv.raw_socket()
        try:
            self.assertEqual(ping_on(s)[0], 200)
            # Idle between requests: governed by `timeout` only, not by
            # either deadline (nor counted from the accept).
            time.sleep(2.5)
            self.assertEqual(ping_on(s)[0], 200)
            time.sleep(1.2)
            self.assertEqual(ping_on(s)[0], 200)
        finally:
            s.close()

    def test_a_slow_but_complete_request_is_answered(self):
        s = self.srv.raw_socket()
        try:
            for i in range(0, len(PING), len(PING) // 4 + 1):
                s.sendall(PING[i:i + len(PING) // 4 + 1])
                time.sleep(0.15)
            f = s.makefile("rb")
            status, _, body, _ = harness.read_http_response(f)
            f.close()
            self.assertEqual(status, 200, body)
        finally:
            s.close()


class SlowReaderTest(unittest.TestCase):
    def test_answer_not_taken_is_cut_at_response_timeout(self):
        # A client that asks for a large answer and reads it a trickle at
        # a time restarts evhttp's write timeout with every byte.
        with serve(server={"max_body_size": "16m", "response_timeout": 1.5,
                           "metrics_path": "/metrics"}) as srv:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
            s.connect(("127.0.0.1", srv.port))
            try:
                s.sendall(harness.post_request(
                    harness.call("echo", ["x" * (8 << 20)])))
                t0 = time.monotonic()
                closed = None
                s.settimeout(0.25)
                while time.monotonic() - t0 < 8 * S:
                    # The server resets the connection: the error shows
                    # although unread bytes are still queued here.
                    if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                        closed = time.monotonic() - t0
                        break
                    try:
                        data = s.recv(16)
                    except socket.timeout:
                        continue
                    except ConnectionResetError:
                        data = b""
                    if data == b"":
                        closed = time.monotonic() - t0
                        break
                    time.sleep(0.25)
                self.assertIsNotNone(closed, "a slow reader was never cut")
                self.assertLess(closed, 4.0 * S)
            finally:
                s.close()
            status, _, body = srv.call(None, path="/metrics", method="GET")
            self.assertRegex(body.decode(), r'reason="response_timeout"\} 1')


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class InputBoundTest(unittest.TestCase):
    def test_input_is_bounded_while_an_answer_is_written(self):
        # evhttp reads on while it writes an answer, and nothing takes
        # what arrives: a client that does not read its answer but keeps
        # sending must not grow the server's memory without bound.
        with serve(server={"max_body_size": "4m",
                           "response_timeout": 30}) as srv:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", srv.port))
            try:
                s.sendall(harness.post_request(
                    harness.call("echo", ["x" * (3 << 20)])))
                time.sleep(0.5 * S)
                before = rss_kib(srv.worker_pid())
                s.setblocking(False)
                junk = b"x" * 65536
                sent = 0
                t0 = time.monotonic()
                while sent < (200 << 20) and time.monotonic() - t0 < 3:
                    try:
                        sent += s.send(junk)
                    except BlockingIOError:
                        time.sleep(0.01)
                time.sleep(0.3)
                grown = rss_kib(srv.worker_pid()) - before
                self.assertLess(grown, 40 << 10,
                                "RSS grew %d KiB while %d bytes were sent"
                                % (grown, sent))
            finally:
                s.close()


class HeldUpLoopTest(unittest.TestCase):
    def test_deadline_counts_from_when_the_loop_saw_the_request(self):
        # A plugin holds the only loop for 2 s; a request that starts
        # arriving meanwhile must not be cut at once when the loop is
        # back (its header deadline is 1 s).
        with Server(server={"header_timeout": 1}, threads=1) as srv:
            a = srv.raw_socket()
            b = srv.raw_socket()
            try:
                self.assertEqual(ping_on(a)[0], 200)
                b.sendall(harness.post_request(harness.call("sleep_ms",
                                                            [2000])))
                time.sleep(0.5)
                a.sendall(PING[:30])
                time.sleep(1.8)  # the loop is back after about 1.5 s
                a.sendall(PING[30:])
                status, body = ping_on_rest(a)
                self.assertEqual(status, 200, body)
            finally:
                a.close()
                b.close()


class MakeRoomTest(unittest.TestCase):
    def test_oldest_idle_keepalive_makes_room(self):
        with serve(server={"max_connections": 4, "header_timeout": 30,
                           "request_timeout": 30}, threads=1) as srv:
            conns = [srv.raw_socket() for _ in range(4)]
            try:
                for s in conns:
                    self.assertEqual(ping_on(s)[0], 200)
                    time.sleep(0.05)
                # The first accepted is now the most recently idle; the
                # second has been idle longest.
                self.assertEqual(ping_on(conns[0])[0], 200)
                t0 = time.monotonic()
                with srv.raw_socket() as s:
                    self.assertEqual(ping_on(s)[0], 200)
                self.assertLess(time.monotonic() - t0, 0.5 * S)
                self.assertIsNotNone(closed_within(conns[1], 2 * S))
                for s in (conns[0], conns[2], conns[3]):
                    self.assertEqual(ping_on(s)[0], 200)
            finally:
                for s in conns:
                    s.close()

    def test_slowest_request_makes_room_under_pressure(self):
        with serve(server={"max_connections": 4, "header_timeout": 30,
                           "request_timeout": 30}, threads=1) as srv:
            slow = [srv.raw_socket() for _ in range(4)]
            try:
                for s in slow:
                    s.sendall(PING[:20])
                time.sleep(1.3)
                t0 = time.monotonic()
                with srv.raw_socket() as s:
                    self.assertEqual(ping_on(s)[0], 200)
                self.assertLess(time.monotonic() - t0, 1.0 * S)
            finally:
                for s in slow:
                    s.close()

    def test_metrics_count_closed_connections(self):
        with serve(server={"header_timeout": 1, "metrics_path": "/metrics"}
                   ) as srv:
            with srv.raw_socket() as s:
                self.assertIsNotNone(closed_within(s, 5 * S))
            status, _, body = srv.call(None, path="/metrics", method="GET")
            self.assertEqual(status, 200)
            self.assertRegex(body.decode(),
                             r'rpchost_connections_closed_total\{loop="\d+",'
                             r'reason="header_timeout"\} 1')


def listen_backlog(port):
    out = subprocess.run(["ss", "-ltnH", "sport = :%d" % port],
                         capture_output=True, text=True, check=True).stdout
    return int(out.split()[2])  # Send-Q of a listening socket: the backlog


@unittest.skipUnless(shutil.which("ss"), "ss (iproute2) not installed")
class BacklogTest(unittest.TestCase):
    def test_default_backlog_is_1024(self):
        with Server() as srv:
            self.assertEqual(listen_backlog(srv.port), 1024)

    def test_configured_backlog(self):
        with Server(server={"backlog": 300}) as srv:
            self.assertEqual(listen_backlog(srv.port), 300)


class Prober:
    """A normal client: a ping on a new connection every 0.25 s; records
    how long each took (None: failed)."""

    def __init__(self, srv):
        self.srv = srv
        self.times = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                status, _, body = self.srv.call(harness.call("ping"))
                ok = status == 200 and b"pong" in body
            except OSError:
                ok = False
            self.times.append(time.monotonic() - t0 if ok else None)
            self.stop.wait(0.25)


@unittest.skipUnless(shutil.which("slowhttptest"),
                     "slowhttptest not installed")
class SlowHTTPTest(unittest.TestCase):
    """slowhttptest with more connections than max_connections: a normal
    client keeps getting answers within a second."""

    def attack(self, mode_args):
        with serve(server={"max_connections": 128, "header_timeout": 10,
                           "request_timeout": 30}) as srv:
            prober = Prober(srv)
            cmd = ["slowhttptest", "-c", "400", "-r", "100", "-i", "1",
                   "-l", "8", "-p", "3", "-v", "0",
                   "-u", "http://127.0.0.1:%d/" % srv.port] + mode_args
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            prober.thread.start()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            prober.stop.set()
            prober.thread.join(10)
            times = prober.times
            self.assertGreater(len(times), 20)
            failed = [t for t in times if t is None]
            self.assertEqual(failed, [], times)
            self.assertLess(max(times), 1.0 * S, times)

    def test_slow_headers(self):
        self.attack(["-H"])

    def test_slow_body(self):
        self.attack(["-B", "-f", "application/json", "-s", "100000"])

    def test_slow_read(self):
        self.attack(["-X", "-k", "8", "-n", "1", "-w", "1", "-y", "16",
                     "-z", "1"])


if __name__ == "__main__":
    unittest.main()
