# SPDX-License-Identifier: MIT
"""The client side: the rpccall command and the C client library
(tests/client_c/client_check), against the real rpchost serving the
shipped example plugins (ping, calc, echo, the deliberately slow sleep),
and against small stdlib servers for transport failures, keep-alive and
unix-domain sockets (rpccall --unix-socket, rpchost_client_set_unix_socket).
Also the installed client: rpccall beside rpchost, the library through
find_package(rpchost) -> rpchost::client and pkg-config rpchost-client."""

import http.server
import json
import os
import shutil
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
import unittest

from harness import ASAN, SCALE, Server, TempDir, check_sanitizers
from sdkutil import BUILD, examples_plugins

RPCCALL = os.path.join(BUILD, "rpccall") if BUILD else ""
CHECK = os.path.join(BUILD, "tests", "client_c", "client_check") \
    if BUILD else ""
RUN_TIMEOUT = 60 * SCALE


def run(args, input_bytes=None, timeout=None, env=None):
    """Run a program; returns (rc, stdout, stderr) as text; rc None when it
    had to be killed.  Sanitizer reports raise AssertionError."""
    try:
        p = subprocess.run(args, input=input_bytes,
                           stdin=None if input_bytes is not None
                           else subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout or RUN_TIMEOUT, env=env)
    except subprocess.TimeoutExpired as e:
        return None, "", "timed out: %s\n%s" % (args, e.stderr)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    check_sanitizers(err, " ".join(args))
    return p.returncode, out, err


def rpccall(*args, **kw):
    return run([RPCCALL] + [str(a) for a in args], **kw)


def closed_port():
    """A local port with nothing listening on it."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ThreadingUnixHTTPServer(socketserver.ThreadingMixIn,
                              socketserver.UnixStreamServer):
    daemon_threads = True


class StubServer:
    """A tiny HTTP/1.1 server on 127.0.0.1, or on the unix socket
    unix_path, for cases rpchost never produces.  handler(body_bytes,
    headers) -> (status, headers, body bytes) or the string "garbage" /
    "close".  idle_timeout: close a kept-alive connection idle that long
    (seconds).  Counts connections, records request headers and paths."""

    def __init__(self, handler, unix_path=None, idle_timeout=None):
        outer = self
        self.handler = handler
        self.connections = 0
        self.requests = []
        self.paths = []
        self.unix_path = unix_path

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = idle_timeout

            def setup(self):
                super().setup()
                with outer.lock:
                    outer.connections += 1

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    outer.requests.append((dict(self.headers), body))
                    outer.paths.append(self.path)
                answer = outer.handler(body, self.headers)
                if answer == "garbage":
                    self.wfile.write(b"THIS IS NOT HTTP\r\n\r\n")
                    self.close_connection = True
                    return
                if answer == "close":
                    self.close_connection = True
                    return
                status, hdrs, data = answer
                try:
                    self.send_response(status)
                    for k, v in hdrs.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (a timeout test)
                    self.close_connection = True

        self.lock = threading.Lock()
        if unix_path is not None:
            self.httpd = ThreadingUnixHTTPServer(unix_path, Handler)
            self.url = "http://localhost/"
        else:
            self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                         Handler)
            self.httpd.daemon_threads = True
            self.port = self.httpd.server_address[1]
            self.url = "http://127.0.0.1:%d/" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.unix_path is not None:
            os.unlink(self.unix_path)
        return False


def pong(body, headers):
    req = json.loads(body)
    return 200, {"Content-Type": "application/json"}, json.dumps(
        {"jsonrpc": "2.0", "result": "pong", "id": req.get("id")}).encode()


def small_rpc(body, headers):
    """ping, echo and sleep([ms]), single or in a batch; a notification
    (or a batch of them) gets 204."""
    def one(req):
        method, params = req.get("method"), req.get("params")
        if method == "sleep":
            time.sleep(params[0] / 1000.0)
            answer = {"result": params[0]}
        elif method in ("ping", "echo"):
            answer = {"result": "pong" if method == "ping" else params}
        else:
            answer = {"error": {"code": -32601,
                                "message": "Method not found"}}
        if "id" not in req:
            return None
        return dict(answer, jsonrpc="2.0", id=req["id"])

    req = json.loads(body)
    if isinstance(req, list):
        answer = [a for a in map(one, req) if a is not None] or None
    else:
        answer = one(req)
    if answer is None:
        return 204, {}, b""
    return 200, {"Content-Type": "application/json"}, \
        json.dumps(answer).encode()


class ClientTestBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for path in (RPCCALL, CHECK):
            if not path or not os.path.isfile(path):
                raise AssertionError("%s is not built (RPCHOST_BUILD=%r)"
                                     % (path, BUILD))
        cls.srv = Server(plugins=examples_plugins(),
                         server={"call_timeout": 10}).start()
        cls.url = "http://127.0.0.1:%d/" % cls.srv.port

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()


class RpccallTest(ClientTestBase):
    def ok(self, *args, **kw):
        rc, out, err = rpccall(*args, **kw)
        self.assertEqual(rc, 0, "rpccall %s: %r %r" % (args, out, err))
        return out, err

    def test_ping_prints_the_string(self):
        out, err = self.ok(self.url, "ping")
        self.assertEqual(out, "pong\n")
        self.assertEqual(err, "")

    def test_verbose_shows_the_wire(self):
        out, err = self.ok("-v", self.url, "ping")
        self.assertEqual(out, "pong\n")
        lines = err.splitlines()
        self.assertEqual(len(lines), 2, err)
        self.assertTrue(lines[0].startswith("--> "), err)
        self.assertEqual(json.loads(lines[0][4:]),
                         {"jsonrpc": "2.0", "method": "ping", "id": 1})
        self.assertTrue(lines[1].startswith("<-- "), err)
        self.assertTrue(lines[1].endswith(" (200 OK)"), err)
        self.assertEqual(json.loads(lines[1][4:-len(" (200 OK)")]),
                         {"jsonrpc": "2.0", "result": "pong", "id": 1})

    def test_positional_and_named_params(self):
        self.assertEqual(self.ok(self.url, "subtract", 42, 23)[0], "19\n")
        self.assertEqual(self.ok(self.url, "subtract", "subtrahend=23",
                                 "minuend=42")[0], "19\n")
        self.assertEqual(self.ok("-p", '{"minuend": 1, "subtrahend": 3}',
                                 self.url, "subtract")[0], "-2\n")
        # Negative numbers are params, not options (options end at URL).
        self.assertEqual(self.ok(self.url, "add", -5, 2)[0], "-3\n")

    def test_values_json_else_strings(self):
        out = self.ok(self.url, "echo", "hello", '"quoted"', "[1,2]", "null",
                      "true", "1.5", "a b")[0]
        self.assertEqual(json.loads(out),
                         ["hello", "quoted", [1, 2], None, True, 1.5, "a b"])
        out = self.ok(self.url, "echo", "s=text", "n=5", 'o={"k":[1]}',
                      'q="5"')[0]
        self.assertEqual(json.loads(out),
                         {"s": "text", "n": 5, "o": {"k": [1]}, "q": "5"})

    def test_non_string_results_print_as_json(self):
        out = self.ok(self.url, "echo", 'x={"a":[1,"two",null]}')[0]
        self.assertEqual(json.loads(out), {"x": {"a": [1, "two", None]}})

    def test_id_option(self):
        out, err = self.ok("-v", "--id", "abc", self.url, "ping")
        self.assertIn('"id":"abc"', err)
        self.assertEqual(out, "pong\n")
        out, err = self.ok("-v", "--id", "77", self.url, "ping")
        self.assertIn('"id":77', err.splitlines()[1])

    def test_notification(self):
        rc, out, err = rpccall("-v", "--notify", self.url, "ping")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, "")
        lines = err.splitlines()
        self.assertEqual(json.loads(lines[0][4:]),
                         {"jsonrpc": "2.0", "method": "ping"})
        self.assertEqual(lines[1], "<-- (204 No Content)")

    def test_rpc_errors_exit_1(self):
        rc, out, err = rpccall(self.url, "no_such_method")
        self.assertEqual((rc, out), (1, ""))
        self.assertEqual(err, "rpccall: error -32601: Method not found\n")
        rc, out, err = rpccall(self.url, "divide", 1, 0)
        self.assertEqual(rc, 1)
        self.assertIn("error 1: Division by zero", err)
        rc, out, err = rpccall(self.url, "subtract", 1, "x")
        self.assertEqual(rc, 1)
        self.assertIn("error -32602: Invalid params", err)
        self.assertIn("data: \"param 'subtrahend'", err)

    def test_batch_file_and_stdin(self):
        reqs = [{"jsonrpc": "2.0", "method": "ping", "id": "a"},
                {"method": "subtract", "params": [5, 3], "id": 7},
                {"method": "ping"},
                {"method": "sleep", "params": {"ms": 20}, "id": 8}]
        with TempDir() as d:
            path = d.write("batch.json", json.dumps(reqs))
            out = self.ok("--batch", path, self.url)[0]
        self.assertEqual(json.loads(out), [
            {"jsonrpc": "2.0", "result": "pong", "id": "a"},
            {"jsonrpc": "2.0", "result": 2, "id": 7},
            {"jsonrpc": "2.0", "result": 20, "id": 8}])
        reqs.append({"method": "nope", "id": 9})
        rc, out, err = rpccall("-b", "-", self.url,
                               input_bytes=json.dumps(reqs).encode())
        self.assertEqual(rc, 1, err)
        answers = json.loads(out)
        self.assertEqual(answers[3]["error"]["code"], -32601)
        self.assertEqual(answers[3]["id"], 9)
        self.assertIn("1 of 4 calls answered with an error", err)
        # Only notifications: nothing to print.
        rc, out, err = rpccall("-b", "-", self.url, input_bytes=json.dumps(
            [{"method": "ping"}, {"method": "ping"}]).encode())
        self.assertEqual((rc, out), (0, ""), err)

    def test_usage_errors_exit_2(self):
        cases = [[], [self.url], ["--bogus", self.url, "ping"],
                 [self.url, "echo", "1", "a=2"],
                 ["--timeout", "soon", self.url, "ping"],
                 ["--timeout", "0", self.url, "ping"],
                 ["-H", "NoColon", self.url, "ping"],
                 ["--id", "{}", self.url, "ping"],
                 ["-p", "5", self.url, "echo"],
                 ["ftp://127.0.0.1/", "ping"],
                 ["--batch", "/nonexistent/x.json", self.url],
                 ["--batch", "-", self.url, "extra"]]
        for args in cases:
            with self.subTest(args=args):
                rc, out, err = rpccall(*args, input_bytes=b"[]")
                self.assertEqual(rc, 2, (out, err))
                self.assertTrue(err.startswith("rpccall: "), err)
        rc, out, err = rpccall("-b", "-", self.url, input_bytes=b"[1]")
        self.assertEqual(rc, 2, err)
        self.assertIn("request 0", err)
        rc, out, err = rpccall("--help")
        self.assertEqual(rc, 0)
        self.assertIn("usage: rpccall", out)

    def test_timeout_against_slow_method(self):
        t0 = time.monotonic()
        rc, out, err = rpccall("--timeout", "0.3", self.url, "sleep", 5000)
        took = time.monotonic() - t0
        self.assertEqual(rc, 3, err)
        self.assertIn("timed out", err)
        self.assertLess(took, 3 * SCALE)
        self.assertEqual(self.ok("--timeout", "5", self.url, "sleep",
                                 50)[0], "50\n")

    def test_refused(self):
        rc, out, err = rpccall("http://127.0.0.1:%d/" % closed_port(), "ping")
        self.assertEqual((rc, out), (3, ""))
        self.assertIn("cannot connect to 127.0.0.1:", err)
        self.assertIn("refused", err)

    def test_http_error_status_exits_3_with_its_json_rpc_body(self):
        # rpchost answers a wrong path with HTTP 404 and a -32600 body:
        # the error is printed, with the status, and the exit status is
        # 3 (the request reached no method), not 1.
        rc, out, err = rpccall(self.url + "nowhere", "ping")
        self.assertEqual((rc, out), (3, ""), err)
        self.assertIn("error -32600: Invalid Request (HTTP 404)", err)
        rc, out, err = rpccall("-b", "-", self.url + "nowhere",
                               input_bytes=b'[{"method":"ping","id":1}]')
        self.assertEqual((rc, out), (3, ""), err)
        self.assertIn("(HTTP 404)", err)
        # Any server's: a JSON-RPC error as the body of a 4xx or 5xx.
        body = (b'{"jsonrpc":"2.0","error":{"code":-32000,"message":'
                b'"busy"},"id":1}')
        for status in (400, 429, 500, 503):
            with self.subTest(status=status):
                with StubServer(lambda b, h, st=status: (
                        st, {"Content-Type": "application/json"},
                        body)) as stub:
                    rc, out, err = rpccall(stub.url, "ping")
                self.assertEqual((rc, out), (3, ""), err)
                self.assertIn("error -32000: busy (HTTP %d)" % status, err)

    def test_transport_failures_exit_3(self):
        cases = {
            "garbage": ("garbage", "HTTP"),
            "not json": ((200, {"Content-Type": "text/html"},
                          b"<html>hi</html>"), "not JSON"),
            "http 500": ((500, {}, b"oops"), "HTTP 500"),
            "empty": ((200, {}, b""), "empty answer"),
            "wrong id": ((200, {}, b'{"jsonrpc":"2.0","result":1,"id":99}'),
                         "does not match"),
            "no result": ((200, {}, b'{"jsonrpc":"2.0","id":1}'),
                          "neither"),
            "closed": ("close", "connection"),
        }
        for name, (answer, text) in cases.items():
            with self.subTest(case=name):
                with StubServer(lambda b, h, a=answer: a) as stub:
                    rc, out, err = rpccall("-t", "5", stub.url, "ping")
                self.assertEqual(rc, 3, (out, err))
                self.assertEqual(out, "")
                self.assertIn(text, err)
                self.assertEqual(len(err.splitlines()), 1, err)

    def test_headers(self):
        with StubServer(pong) as stub:
            out = self.ok("-H", "Authorization: Bearer s3cret", "-H",
                          "X-Trace:  abc", stub.url + "rpc?x=1", "ping")[0]
            self.assertEqual(out, "pong\n")
            headers, body = stub.requests[0]
        self.assertEqual(headers.get("Authorization"), "Bearer s3cret")
        self.assertEqual(headers.get("X-Trace"), "abc")
        self.assertEqual(headers.get("Content-Type"), "application/json")
        self.assertEqual(headers.get("Host"), "127.0.0.1:%d" % stub.port)


def secret_file(d, name, text, mode=0o600):
    path = d.write(name, text)
    os.chmod(path, mode)
    return path


class RpccallAuthTest(unittest.TestCase):
    """-u, --user-file and --token-file against rpchost with an auth_file
    (credentials made by rpchost --rpcauth and --token), and the exit
    status of its 401."""

    PASSWORD = "correct horse:battery"  # a ':' in a password is allowed
    TOKEN = "tok-0123456789abcdef"

    @classmethod
    def setUpClass(cls):
        if not RPCCALL or not os.path.isfile(RPCCALL):
            raise AssertionError("rpccall is not built")
        cls.dir = TempDir()
        made = []
        for kind, name, secret in (("rpcauth", "alice", cls.PASSWORD),
                                   ("token", "bot", cls.TOKEN)):
            rc, out, err = run([harness_bin(), "--" + kind, name, secret])
            assert rc == 0, err
            made.append(out)
        cls.auth = cls.dir.write("auth.ini", "\n".join(made))
        cls.srv = Server(server={"auth_file": cls.auth}).start()
        cls.url = "http://127.0.0.1:%d/" % cls.srv.port

    @classmethod
    def tearDownClass(cls):
        try:
            cls.srv.stop()
        finally:
            cls.dir.close()

    def test_without_credentials_401_exits_3(self):
        rc, out, err = rpccall(self.url, "ping")
        self.assertEqual((rc, out), (3, ""), err)
        self.assertIn("(HTTP 401)", err)
        rc, out, err = rpccall("-n", self.url, "ping")
        self.assertEqual((rc, out), (3, ""), err)
        self.assertIn("401", err)

    def test_user(self):
        rc, out, err = rpccall("-u", "alice:" + self.PASSWORD, self.url,
                               "ping")
        self.assertEqual((rc, out, err), (0, "pong\n", ""))
        rc, out, err = rpccall("--user", "alice:wrong", self.url, "ping")
        self.assertEqual((rc, out), (3, ""), err)
        self.assertIn("(HTTP 401)", err)

    def test_user_is_blanked_in_the_process_arguments(self):
        # rpccall's own argv, read from /proc while it waits on a stub
        # that answers late.
        seen = []

        def late(body, headers):
            time.sleep(0.3 * SCALE)
            return pong(body, headers)

        with StubServer(late) as stub:
            p = subprocess.Popen([RPCCALL, "-u", "alice:s3cr3t-pw", stub.url,
                                  "ping"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            deadline = time.monotonic() + 5 * SCALE
            while not stub.requests and time.monotonic() < deadline:
                time.sleep(0.01)
            with open("/proc/%d/cmdline" % p.pid, "rb") as f:
                seen.append(f.read())
            out, err = p.communicate(timeout=RUN_TIMEOUT)
            self.assertEqual((p.returncode, out), (0, b"pong\n"), err)
            self.assertEqual(stub.requests[0][0].get("Authorization"),
                             "Basic YWxpY2U6czNjcjN0LXB3")
        self.assertNotIn(b"s3cr3t", seen[0])
        self.assertIn(b"-u", seen[0])

    def test_user_file_and_token_file(self):
        with TempDir() as d:
            user = secret_file(d, "user", "alice:%s\n" % self.PASSWORD)
            crlf = secret_file(d, "crlf", "alice:%s\r\nmore\n"
                               % self.PASSWORD)
            token = secret_file(d, "token", self.TOKEN + "\n")
            bare = secret_file(d, "bare", self.TOKEN)
            for args in (["--user-file", user], ["--user-file", crlf],
                         ["--token-file", token], ["--token-file", bare]):
                with self.subTest(args=args):
                    rc, out, err = rpccall(*args, self.url, "ping")
                    self.assertEqual((rc, out, err), (0, "pong\n", ""))
            rc, out, err = rpccall("--token-file", "-", self.url, "ping",
                                   input_bytes=self.TOKEN.encode() + b"\n")
            self.assertEqual((rc, out, err), (0, "pong\n", ""))
            wrong = secret_file(d, "wrong", "not-the-token\n")
            rc, out, err = rpccall("--token-file", wrong, self.url, "ping")
            self.assertEqual((rc, out), (3, ""), err)
            self.assertIn("(HTTP 401)", err)

    def test_a_file_others_can_read_is_used_with_a_warning(self):
        with TempDir() as d:
            path = secret_file(d, "token", self.TOKEN + "\n", 0o644)
            rc, out, err = rpccall("--token-file", path, self.url, "ping")
        self.assertEqual((rc, out), (0, "pong\n"), err)
        self.assertEqual(err, "rpccall: warning: --token-file: %s can be "
                         "read by group or others (chmod 600 it)\n" % path)

    def test_usage(self):
        with TempDir() as d:
            token = secret_file(d, "token", self.TOKEN + "\n")
            empty = secret_file(d, "empty", "\nsecret\n")
            nocolon = secret_file(d, "nocolon", "alice\n")
            cases = [["-u", "alice"], ["--user-file", nocolon],
                     ["--token-file", empty],
                     ["--token-file", "/nonexistent/token"],
                     ["-u", "a:b", "--token-file", token],
                     ["--user-file", token, "--token-file", token],
                     ["--token-file", token, "-H", "authorization: x"],
                     ["--token-file", "-", "-b", "-"]]
            for args in cases:
                with self.subTest(args=args):
                    call = [self.url] if "-b" in args else [self.url, "ping"]
                    rc, out, err = rpccall(*args, *call, input_bytes=b"")
                    self.assertEqual((rc, out), (2, ""), err)
                    self.assertTrue(err.startswith("rpccall: "), err)
                    self.assertNotIn(self.TOKEN, err)


def harness_bin():
    from harness import BIN
    return BIN


class LibraryTest(ClientTestBase):
    def check(self, *args, url=None):
        rc, out, err = run([CHECK, url or self.url] + [str(a) for a in args])
        self.assertEqual(rc, 0, "client_check %s:\n%s" % (args, err))
        self.assertIn("all checks passed", err)

    def test_blocking_call_shapes(self):
        self.check("sync")

    def test_1000_async_calls_on_one_loop(self):
        self.check("async", 1000)

    def test_timeouts(self):
        self.check("timeout")

    def test_free_cancels_pending_calls(self):
        self.check("cancel")

    def test_refused(self):
        self.check("refused", url="http://127.0.0.1:%d/" % closed_port())

    def test_keepalive_reuses_one_connection(self):
        with StubServer(pong) as stub:
            self.check("keepalive", 20, url=stub.url)
            # One connection for the blocking calls, one for the async
            # ones: 40 requests.
            self.assertEqual(len(stub.requests), 40)
            self.assertEqual(stub.connections, 2)

    def test_calls_after_the_server_closed_idle_connections(self):
        # The blocking client's loop does not run between calls, so only
        # the check before reusing a connection sees that it is closed.
        with StubServer(pong, idle_timeout=IDLE) as stub:
            self.check("reconnect", 5, int(IDLE * 3000), url=stub.url)
            self.assertEqual(len(stub.requests), 20)
            self.assertEqual(stub.connections, 4)


IDLE = 0.5 * SCALE  # the stub servers' keep-alive idle timeout


class UnixSocketTest(unittest.TestCase):
    """rpccall --unix-socket and the library on a unix socket, against
    StubServer on one in a temporary directory (issue #13)."""

    def setUp(self):
        for path in (RPCCALL, CHECK):
            if not path or not os.path.isfile(path):
                raise AssertionError("%s is not built (RPCHOST_BUILD=%r)"
                                     % (path, BUILD))
        self.tmp = TempDir()
        self.addCleanup(self.tmp.close)
        self.sock = os.path.join(self.tmp.path, "rpc.sock")

    def stub(self, handler=small_rpc, **kw):
        return StubServer(handler, unix_path=self.sock, **kw)

    def check(self, *args, sock=None):
        rc, out, err = run([CHECK, "--unix-socket", sock or self.sock,
                            "http://localhost/"] + [str(a) for a in args])
        self.assertEqual(rc, 0, "client_check %s:\n%s" % (args, err))
        self.assertIn("all checks passed", err)

    def test_rpccall_gets_pong(self):
        with self.stub() as stub:
            rc, out, err = rpccall("--unix-socket", self.sock,
                                   "http://localhost/", "ping")
            self.assertEqual((rc, out, err), (0, "pong\n", ""))
            rc, out, err = rpccall("--unix-socket", self.sock,
                                   "http://rpc.example:8080/api?x=1", "echo",
                                   "a=1")
            self.assertEqual((rc, json.loads(out)), (0, {"a": 1}), err)
        # The URL gives the Host header and the path, as with curl.
        self.assertEqual(stub.requests[0][0].get("Host"), "localhost")
        self.assertEqual(stub.requests[1][0].get("Host"), "rpc.example:8080")
        self.assertEqual(stub.paths, ["/", "/api?x=1"])

    def test_rpccall_unreachable_socket(self):
        missing = os.path.join(self.tmp.path, "missing.sock")
        rc, out, err = rpccall("--unix-socket", missing, "http://localhost/",
                               "ping")
        self.assertEqual((rc, out), (3, ""))
        self.assertEqual(err, "rpccall: connection failed: cannot connect to "
                         "unix socket %s: No such file or directory\n"
                         % missing)
        # A socket file nobody listens on.
        s = socket.socket(socket.AF_UNIX)
        s.bind(self.sock)
        s.close()
        rc, out, err = rpccall("--unix-socket", self.sock,
                               "http://localhost/", "ping")
        self.assertEqual(rc, 3, err)
        self.assertIn("unix socket %s: Connection refused" % self.sock, err)
        for bad in ("", "/" + "x" * 200):
            rc, out, err = rpccall("--unix-socket", bad, "http://localhost/",
                                   "ping")
            self.assertEqual(rc, 2, err)
            self.assertTrue(err.startswith("rpccall: --unix-socket: "), err)
        rc, out, err = rpccall("--help")
        self.assertIn("--unix-socket PATH", out)

    def test_library_keepalive(self):
        with self.stub() as stub:
            self.check("keepalive", 20)
        self.assertEqual(len(stub.requests), 40)
        self.assertEqual(stub.connections, 2)

    def test_library_calls_after_the_server_closed_connections(self):
        with self.stub(idle_timeout=IDLE) as stub:
            self.check("reconnect", 5, int(IDLE * 3000))
        self.assertEqual(len(stub.requests), 20)
        self.assertEqual(stub.connections, 4)

    def test_library_pool(self):
        with self.stub() as stub:
            self.check("pool", 40)
        self.assertEqual(len(stub.requests), 40)
        self.assertEqual(stub.connections, 4)
        # Connection: close on every answer: evhttp connects again by
        # itself for the calls queued on each connection.
        def closing(body, headers):
            status, hdrs, data = small_rpc(body, headers)
            return status, dict(hdrs, Connection="close"), data
        with self.stub(closing) as stub:
            self.check("pool", 40)
        self.assertEqual(stub.connections, 40)

    def test_library_timeouts(self):
        with self.stub():
            self.check("timeout")

    def test_library_unreachable_socket(self):
        self.check("refused", sock=os.path.join(self.tmp.path, "no.sock"))


@unittest.skipIf(ASAN, "sanitizer builds are not installed")
class InstalledClientTest(unittest.TestCase):
    """`cmake --install`, then build a client out of tree both ways."""

    PROGRAM = r"""
#include <stdio.h>
#include <string.h>
#include <rpchost/client.h>
int main(int argc, char **argv)
{
    rpchost_client *c;
    rpchost_client_result r = {0};
    if (argc < 2 || rpchost_client_new(&c, argv[1], NULL) != 0)
        return 2;
    rpchost_client_call(c, "ping", NULL, NULL, &r);
    if (r.rc != RPCHOST_CLIENT_OK)
        fprintf(stderr, "%s\n", rpchost_client_strerror(r.rc));
    else
        printf("%s\n", r.result->valuestring);
    rpchost_client_result_clear(&r);
    rpchost_client_free(c);
    return 0;
}
"""
    CMAKE = """cmake_minimum_required(VERSION 3.16)
project(pingc C)
find_package(rpchost REQUIRED)
add_executable(pingc pingc.c)
target_link_libraries(pingc PRIVATE rpchost::client)
"""

    @classmethod
    def setUpClass(cls):
        for tool in ("cmake", "cc", "pkg-config", "nm"):
            if shutil.which(tool) is None:
                raise AssertionError("%s is needed for this test" % tool)
        cls.tmp = tempfile.mkdtemp(prefix="rpchost-client-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        rc, out, err = run(["cmake", "--install", BUILD, "--prefix",
                            cls.prefix], timeout=300)
        if rc != 0:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise AssertionError("cmake --install failed:\n%s%s" % (out, err))
        cls.srv = Server().start()
        cls.url = "http://127.0.0.1:%d/" % cls.srv.port

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def find(self, name):
        for root, _, files in os.walk(self.prefix):
            if name in files:
                return os.path.join(root, name)
        self.fail("%s not installed under %s" % (name, self.prefix))

    def test_installed_rpccall(self):
        rc, out, err = run([os.path.join(self.prefix, "bin", "rpccall"),
                            self.url, "ping"])
        self.assertEqual((rc, out), (0, "pong\n"), err)

    def test_exports_only_the_public_api(self):
        so = self.find("librpchost_client.so")
        out = subprocess.run(["nm", "-D", "--defined-only", so],
                             stdout=subprocess.PIPE, check=True,
                             timeout=60).stdout.decode()
        names = {line.split()[-1] for line in out.splitlines()
                 if len(line.split()) >= 3}
        names -= {"_init", "_fini", "_edata", "_end", "__bss_start"}
        self.assertTrue(names, out)
        for n in names:
            self.assertTrue(n.startswith("rpchost_client_"), n)
        self.assertIn("rpchost_client_call_async", names)

    def test_build_with_cmake_package(self):
        src = os.path.join(self.tmp, "cm")
        os.makedirs(src, exist_ok=True)
        with open(os.path.join(src, "pingc.c"), "w") as f:
            f.write(self.PROGRAM)
        with open(os.path.join(src, "CMakeLists.txt"), "w") as f:
            f.write(self.CMAKE)
        rc, out, err = run(["cmake", "-S", src, "-B",
                            os.path.join(src, "b"),
                            "-DCMAKE_PREFIX_PATH=" + self.prefix],
                           timeout=300)
        self.assertEqual(rc, 0, out + err)
        rc, out, err = run(["cmake", "--build", os.path.join(src, "b")],
                           timeout=300)
        self.assertEqual(rc, 0, out + err)
        rc, out, err = run([os.path.join(src, "b", "pingc"), self.url])
        self.assertEqual((rc, out), (0, "pong\n"), err)

    def test_build_with_pkg_config(self):
        pc = self.find("rpchost-client.pc")
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pc))
        src = os.path.join(self.tmp, "pc")
        os.makedirs(src, exist_ok=True)
        with open(os.path.join(src, "pingc.c"), "w") as f:
            f.write(self.PROGRAM)
        rc, flags, err = run(["pkg-config", "--cflags", "--libs",
                              "rpchost-client"], env=env)
        self.assertEqual(rc, 0, err)
        libdir = os.path.dirname(self.find("librpchost_client.so"))
        exe = os.path.join(src, "pingc")
        rc, out, err = run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror",
                            os.path.join(src, "pingc.c"), "-o", exe] +
                           flags.split() + ["-Wl,-rpath," + libdir],
                           timeout=300)
        self.assertEqual(rc, 0, out + err)
        rc, out, err = run([exe, self.url])
        self.assertEqual((rc, out), (0, "pong\n"), err)


if __name__ == "__main__":
    unittest.main()
