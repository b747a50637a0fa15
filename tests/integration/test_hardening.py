# SPDX-License-Identifier: MIT
"""Production hardening of rpchost: authentication (Basic, Bearer, method
allow-lists), CORS, /healthz and /metrics, the access log and log_file."""

import base64
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import unittest

import harness
from harness import (Server, TempDir, call, example_plugins, metrics_of,
                     plugin, post_request, serve)

S = harness.SCALE
PING = b'{"jsonrpc":"2.0","method":"ping","id":1}'
ADD = b'{"jsonrpc":"2.0","method":"add","params":[2,3],"id":2}'

PASSWORD = "Pw-3xQ9-alice-s3cr3t"
TOKEN = "Tok-Zr8Kq2-bot-s3cr3t"
ORIGIN = "https://a.example"


def basic(user, password):
    raw = ("%s:%s" % (user, password)).encode("utf-8")
    return "Basic " + base64.b64encode(raw).decode("ascii")


def wait_for(predicate, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def read_response(f, head=False):
    """One HTTP response from a binary file: (status, [(name, value)],
    body), header names lower-cased and kept in order (repeats kept)."""
    line = f.readline(65537)
    if not line:
        raise EOFError("connection closed before a response")
    status = int(line.split(b" ", 2)[1])
    headers = []
    while True:
        line = f.readline(65537)
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name.strip().lower(), value.strip()))
    length = 0
    for name, value in headers:
        if name == "content-length":
            length = int(value)
    body = b"" if head or status in (204, 304) else f.read(length)
    return status, headers, body


def request_bytes(method, path, headers=(), body=None):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1"]
    if method == "POST" and not any(n.lower() == "content-type"
                                    for n, _ in headers):
        lines.append("Content-Type: application/json")
    for name, value in headers:
        lines.append("%s: %s" % (name, value))
    if body is not None:
        lines.append("Content-Length: %d" % len(body))
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + (body or b"")


def exchange(srv, method, path, headers=(), body=None, sock=None):
    """One request on a new connection (or on sock): (status, [(name,
    value)], body)."""
    own = sock is None
    s = srv.raw_socket(timeout=10 * S) if own else sock
    try:
        s.sendall(request_bytes(method, path, headers, body))
        return read_response(s.makefile("rb"), head=method == "HEAD")
    finally:
        if own:
            s.close()


def header(headers, name):
    """Every value of header `name` (lower case)."""
    return [v for n, v in headers if n == name]


def get_metrics(srv):
    status, headers, body = exchange(srv, "GET", "/metrics")
    if status != 200:
        raise AssertionError("GET /metrics: %d %r" % (status, body))
    return metrics_of(body.decode("utf-8"))


def credential(kind, name, secret):
    rc, out, err = harness.run_cli(["--" + kind, name, secret])
    if rc != 0:
        raise AssertionError("rpchost --%s %s: %r %s" % (kind, name, rc, err))
    return out


def wait_stderr(srv, text, timeout=None):
    """Wait until `text` (a str or compiled regex) is in srv.stderr."""
    def found():
        err = srv.stderr
        return (text.search(err) if hasattr(text, "search")
                else text in err)
    if not wait_for(found, 10 * S if timeout is None else timeout):
        raise AssertionError("%r not logged; stderr:\n%s" % (text,
                                                             srv.stderr))


# ---------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------

class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = TempDir()
        alice = credential("rpcauth", "alice", PASSWORD)
        bot = credential("token", "bot", TOKEN)
        # The printed sections are exactly what goes into the file.
        assert re.fullmatch(r"\[alice\]\nrpcauth = [0-9a-f]{32}\$[0-9a-f]{64}"
                            r"\n", alice), alice
        assert re.fullmatch(r"\[bot\]\ntoken = [0-9a-f]{32}\$[0-9a-f]{64}\n",
                            bot), bot
        assert PASSWORD not in alice and TOKEN not in bot
        cls.auth_path = cls.dir.write("auth.ini", alice + "\n" + bot +
                                      "methods = ping\n")
        cls.access_path = os.path.join(cls.dir.path, "access.log")
        cls.srv = serve(server={"auth_file": cls.auth_path,
                                "access_log": cls.access_path,
                                "max_header_size": "128k"},
                        extra_args=["-v"]).start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.srv.stop()
        finally:
            cls.dir.close()

    def post(self, body, auth=None):
        hdrs = [("Content-Type", "application/json")]
        if auth is not None:
            hdrs.append(("Authorization", auth))
        return exchange(self.srv, "POST", "/", hdrs, body)

    def assert_401(self, result, detail=None):
        status, headers, body = result
        self.assertEqual(status, 401, body)
        self.assertEqual(header(headers, "www-authenticate"),
                         ['Basic realm="rpchost", charset="UTF-8"',
                          'Bearer realm="rpchost"'], headers)
        err = harness.std_error(self, json.loads(body), -32600, id=None)
        if detail is not None:
            self.assertEqual(err.get("data"), detail, body)

    def assert_pong(self, result):
        status, _, body = result
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body),
                         {"jsonrpc": "2.0", "result": "pong", "id": 1})

    def test_no_credentials_is_401_with_both_challenges(self):
        self.assert_401(self.post(PING), "HTTP 401: credentials required")
        # A batch and a notification too: nothing runs unauthenticated.
        self.assert_401(self.post(b'[' + PING + b']'))
        self.assert_401(self.post(b'{"jsonrpc":"2.0","method":"ping"}'))

    def test_basic(self):
        self.assert_pong(self.post(PING, basic("alice", PASSWORD)))
        # alice has no allow-list: every method.
        status, _, body = self.post(ADD, basic("alice", PASSWORD))
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["result"], 5)
        # The scheme is case-insensitive (RFC 9110 11.1).
        self.assert_pong(self.post(PING, basic("alice", PASSWORD)
                                   .replace("Basic", "basic", 1)))

    def test_libcrypto_is_loaded_only_with_auth(self):
        # libcrypto is dlopen()ed by the first credentials file (it would
        # be over a third of an idle server's resident set otherwise).
        def maps(pid):
            with open("/proc/%d/maps" % pid) as f:
                return f.read()
        self.assertIn("libcrypto.so", maps(self.srv.worker_pid()))
        with serve() as plain:
            self.assertEqual(plain.rpc("ping")["result"], "pong")
            self.assertNotIn("libcrypto.so", maps(plain.worker_pid()))

    def test_basic_wrong(self):
        for auth in (basic("alice", "pw"), basic("alice", PASSWORD + "x"),
                     basic("alice", PASSWORD[:-1]), basic("Alice", PASSWORD),
                     basic("mallory", PASSWORD), basic("bot", TOKEN),
                     basic("alice", ""), basic("", PASSWORD)):
            with self.subTest(auth=auth):
                self.assert_401(self.post(PING, auth),
                                "HTTP 401: bad credentials")

    def test_bearer(self):
        self.assert_pong(self.post(PING, "Bearer " + TOKEN))
        self.assert_pong(self.post(PING, "Bearer " + TOKEN + " \t"))
        for auth in ("Bearer " + TOKEN + "x", "Bearer " + TOKEN[:-1],
                     "Bearer " + PASSWORD, "Bearer x" + TOKEN,
                     # Anything after the token (as for Basic).
                     "Bearer " + TOKEN + " junk", "Bearer " + TOKEN + "\tx",
                     "Bearer " + TOKEN + " " + TOKEN):
            with self.subTest(auth=auth):
                self.assert_401(self.post(PING, auth),
                                "HTTP 401: bad credentials")

    def test_allow_list_forbids_other_methods(self):
        bearer = "Bearer " + TOKEN
        status, _, body = self.post(ADD, bearer)
        self.assertEqual(status, 403, body)
        err = harness.std_error(self, json.loads(body), -32600, id=None)
        self.assertIn("add", err.get("data", ""), body)
        self.assertIn("bot", err.get("data", ""), body)

        # A batch holding one forbidden call is refused whole, before
        # anything runs: the ping in it is not counted.
        before = get_metrics(self.srv).get(
            'rpchost_rpc_calls_total{method="ping"}', 0.0)
        batch = b"[" + PING + b"," + ADD + b"]"
        status, _, body = self.post(batch, bearer)
        self.assertEqual(status, 403, body)
        harness.std_error(self, json.loads(body), -32600, id=None)
        after = get_metrics(self.srv).get(
            'rpchost_rpc_calls_total{method="ping"}', 0.0)
        self.assertEqual(after, before, "a call of a refused batch ran")
        # A forbidden notification is refused too.
        status, _, body = self.post(
            b'{"jsonrpc":"2.0","method":"add","params":[1,2]}', bearer)
        self.assertEqual(status, 403, body)
        # The allowed method alone is fine, in a batch too.
        self.assert_pong(self.post(PING, bearer))
        status, _, body = self.post(b"[" + PING + b"]", bearer)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)[0]["result"], "pong")

    def test_malformed_authorization_headers(self):
        long_b64 = base64.b64encode(b"alice:" + b"p" * 30000).decode()
        cases = [
            "", " ", "Basic", "Basic ", "Bearer", "Bearer ", "Basic !!!!",
            "Basic YWxpY2U", "Basic =AAA", "Basic ====", "Basic AA==",
            "Basic " + base64.b64encode(b"alicepw").decode(),   # no colon
            "Basic " + base64.b64encode(b":").decode(),
            "Basic " + base64.b64encode(b"alice:" + PASSWORD.encode() +
                                        b"\x00").decode(),      # NUL
            "Basic " + base64.b64encode(b"alice\x00:" +
                                        PASSWORD.encode()).decode(),
            "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
            "Basic " + base64.b64encode(PASSWORD.encode()).decode(),
            "Basic " + "A" * 40000, "Basic " + long_b64,
            "Bearer " + "x" * 40000, "Bearer " + "\t" * 100,
            "Digest username=\"alice\"", "Token " + TOKEN, TOKEN,
            "Basic\t" + base64.b64encode(b"alice:x").decode(),
            "Basicx " + base64.b64encode(("alice:" + PASSWORD)
                                         .encode()).decode(),
            "Bearer\x7f" + TOKEN, "Basic \xe9\xe9\xe9\xe9",
        ]
        for auth in cases:
            with self.subTest(auth=auth[:60], size=len(auth)):
                status, _, body = self.post(PING, auth)
                self.assertEqual(status, 401, body)
        # Two Authorization headers, one of them right: still no entry
        # unless the server picks a valid one; never a 500.
        status, _, body = exchange(
            self.srv, "POST", "/",
            [("Authorization", "Basic !!!!"),
             ("Authorization", basic("alice", PASSWORD))], PING)
        self.assertIn(status, (200, 400, 401), body)
        self.assert_pong(self.post(PING, basic("alice", PASSWORD)))

    def test_secrets_never_logged(self):
        b64 = basic("alice", PASSWORD).split()[1]
        for auth in (basic("alice", PASSWORD), "Bearer " + TOKEN,
                     basic("alice", PASSWORD + "!"), "Bearer " + TOKEN + "!",
                     basic("bot", TOKEN)):
            self.post(PING, auth)
            self.post(ADD, auth)
        self.post(b"[" + PING + b"," + ADD + b"]", "Bearer " + TOKEN)
        with open(self.access_path, encoding="utf-8", errors="replace") as f:
            access = f.read()
        self.assertIn('"POST /"', access)
        for text in (self.srv.stderr, access):
            for secret in (PASSWORD, TOKEN, b64, b64[:-4]):
                self.assertNotIn(secret, text)


class AuthReloadTest(unittest.TestCase):
    def test_sighup_reloads_the_auth_file(self):
        with TempDir() as d:
            path = d.write("auth.ini", credential("rpcauth", "alice",
                                                  PASSWORD))
            with serve(server={"auth_file": path}) as srv:
                def ping(auth):
                    return exchange(srv, "POST", "/",
                                    [("Authorization", auth)], PING)[0]

                self.assertEqual(ping(basic("alice", PASSWORD)), 200)
                self.assertEqual(ping(basic("alice", "new-pass")), 401)
                self.assertEqual(ping("Bearer " + TOKEN), 401)
                # A new password and a new user.
                d.write("auth.ini", credential("rpcauth", "alice",
                                               "new-pass") + "\n" +
                        credential("token", "bot", TOKEN))
                srv.signal(signal.SIGHUP)
                wait_stderr(srv, "reload: generation 2 serving")
                self.assertEqual(ping(basic("alice", PASSWORD)), 401)
                self.assertEqual(ping(basic("alice", "new-pass")), 200)
                self.assertEqual(ping("Bearer " + TOKEN), 200)
                # A broken auth file: the reload fails, naming the file and
                # line, and the old credentials keep working.
                d.write("auth.ini", "[alice]\nrpcauth = nothex\n")
                srv.signal(signal.SIGHUP)
                wait_stderr(srv, path + ":2:")
                time.sleep(0.1)
                self.assertEqual(ping(basic("alice", "new-pass")), 200)
                self.assertEqual(ping("Bearer " + TOKEN), 200)
                self.assertNotIn("reload: generation 3", srv.stderr)
                self.assertNotIn("new-pass", srv.stderr)
                self.assertNotIn(TOKEN, srv.stderr)


class AuthFileErrorTest(unittest.TestCase):
    def check_refused(self, text, lines, what):
        """lines: the line (or lines) the message may name."""
        if isinstance(lines, int):
            lines = (lines,)
        with TempDir() as d:
            path = d.write("auth.ini", text)
            ini = harness.ini_text({"auth_file": path},
                                   {"ping": plugin(harness.PING_SO)})
            where = re.compile("|".join(re.escape("%s:%d:" % (path, n))
                                        for n in lines))
            rc, out, err, _ = harness.run_config(ini, ["-t"])
            self.assertEqual(rc, 1, err)
            self.assertRegex(err, where)
            self.assertIn(what, err)
            # And the server refuses to start on it.
            ini_path = d.write("rpchost.ini", ini)
            rc, out, err = harness.run_cli(["-c", ini_path, "-l",
                                            "127.0.0.1:0"])
            self.assertEqual(rc, 1, err)
            self.assertRegex(err, where)
            self.assertNotIn("listening on", err)

    def test_bad_lines_refuse_startup(self):
        good = credential("rpcauth", "alice", PASSWORD)
        self.check_refused(good + "[bob]\nrpcauth = 1234$abcd\n", 4,
                           "SALT$HMAC")
        self.check_refused(good + "colour = blue\n", 3, "colour")
        # The section (line 3) or its first key (line 4).
        self.check_refused(good + "[carol]\nmethods = ping\n", (3, 4),
                           "[carol] has neither rpcauth nor token")
        self.check_refused("; comment\n" + good + "this is not ini\n", 4, "")
        self.check_refused(good + "rpcauth = " +
                           good.split(" = ")[1].strip() + "\n", 3, "twice")

    def test_missing_auth_file(self):
        with TempDir() as d:
            path = os.path.join(d.path, "nope.ini")
            ini = harness.ini_text({"auth_file": path},
                                   {"ping": plugin(harness.PING_SO)})
            rc, _, err, _ = harness.run_config(ini, ["-t"])
            self.assertEqual(rc, 1, err)
            self.assertIn(path, err)


class AuthFileModeTest(unittest.TestCase):
    """An auth_file group or others may read gets one warning line naming
    it and its mode, at startup and at every reload."""

    def stderr_with_mode(self, mode):
        with TempDir() as d:
            path = d.write("auth.ini", credential("rpcauth", "alice",
                                                  PASSWORD))
            os.chmod(path, mode)
            with serve(server={"auth_file": path}) as srv:
                srv.signal(signal.SIGHUP)
                wait_stderr(srv, "reload: generation 2 serving")
                return path, srv.stderr

    def warnings(self, text, path):
        return [l for l in text.splitlines() if " WARN " in l and path in l]

    def test_readable_by_others_warns_at_startup_and_reload(self):
        for mode in (0o644, 0o640, 0o604):
            with self.subTest(mode=oct(mode)):
                path, err = self.stderr_with_mode(mode)
                lines = self.warnings(err, path)
                self.assertEqual(len(lines), 2, err)
                for line in lines:
                    self.assertIn("mode %04o" % mode, line)
                # One before serving, one during the reload.
                self.assertLess(err.index(lines[0]),
                                err.index("listening on"))
                self.assertGreater(err.index(lines[1]),
                                   err.index("SIGHUP: reloading"))

    def test_private_file_does_not_warn(self):
        for mode in (0o600, 0o400):
            with self.subTest(mode=oct(mode)):
                path, err = self.stderr_with_mode(mode)
                self.assertEqual(self.warnings(err, path), [], err)


class ListenWarningTest(unittest.TestCase):
    """Serving beyond loopback without auth_file logs a warning."""

    def run_on_any_address(self, server_keys):
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.bind(("0.0.0.0", 0))
        port = probe.getsockname()[1]
        probe.close()
        with TempDir() as d:
            ini = d.write("rpchost.ini", harness.ini_text(
                server_keys, {"ping": plugin(harness.PING_SO)}))
            proc = subprocess.Popen(
                harness.command(["-c", ini, "-l", "0.0.0.0:%d" % port,
                                 "-j", "1"], d.path),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE)
            lines = []
            done = threading.Event()

            def drain():
                for raw in iter(proc.stderr.readline, b""):
                    lines.append(raw.decode("utf-8", "replace"))
                done.set()

            t = threading.Thread(target=drain, daemon=True)
            t.start()
            try:
                self.assertTrue(wait_for(
                    lambda: any("listening on 0.0.0.0:%d" % port in l
                                for l in lines), 10 * S), "".join(lines))
                # Reachable through loopback.
                s = socket.create_connection(("127.0.0.1", port),
                                             timeout=10 * S)
                with s:
                    s.sendall(post_request(PING, extra_headers=(
                        ["Authorization: " + basic("alice", PASSWORD)])))
                    status, _, _ = read_response(s.makefile("rb"))
                time.sleep(0.1)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    rc = proc.wait(harness.EXIT_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    rc = proc.wait()
                t.join(5)
                proc.stderr.close()
            text = "".join(lines)
            self.assertEqual(rc, 0, text)
            harness.check_sanitizers(text)
            harness.check_valgrind(d.path)
            return status, text

    def test_warning_without_auth(self):
        status, text = self.run_on_any_address({})
        self.assertEqual(status, 200, text)
        self.assertRegex(text, r"WARN .*0\.0\.0\.0 beyond loopback without "
                         r"authentication")
        self.assertIn("auth_file", text)

    def test_no_warning_with_auth(self):
        with TempDir() as d:
            path = d.write("auth.ini", credential("rpcauth", "alice",
                                                  PASSWORD))
            status, text = self.run_on_any_address({"auth_file": path})
        self.assertEqual(status, 200, text)
        self.assertNotIn("beyond loopback", text)

    def test_no_warning_on_loopback(self):
        with serve() as srv:
            self.assertEqual(srv.rpc("ping")["result"], "pong")
            self.assertNotIn("beyond loopback", srv.stderr)


# ---------------------------------------------------------------------------
# CORS
# ---------------------------------------------------------------------------

class CorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = serve(server={"cors_origins": ORIGIN}).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_preflight(self):
        status, headers, body = exchange(
            self.srv, "OPTIONS", "/",
            [("Origin", ORIGIN), ("Access-Control-Request-Method", "POST"),
             ("Access-Control-Request-Headers", "content-type")])
        self.assertEqual(status, 204, body)
        self.assertEqual(body, b"")
        self.assertEqual(header(headers, "access-control-allow-origin"),
                         [ORIGIN])
        methods = header(headers, "access-control-allow-methods")
        self.assertEqual(len(methods), 1, headers)
        self.assertIn("POST", [m.strip() for m in methods[0].split(",")])
        allowed = header(headers, "access-control-allow-headers")
        self.assertEqual(len(allowed), 1, headers)
        names = [h.strip().lower() for h in allowed[0].split(",")]
        self.assertIn("content-type", names)
        self.assertIn("authorization", names)
        self.assertEqual(header(headers, "access-control-max-age"), ["600"])
        self.assertEqual(header(headers, "vary"), ["Origin"])

    def test_post_with_allowed_origin(self):
        status, headers, body = exchange(
            self.srv, "POST", "/",
            [("Origin", ORIGIN), ("Content-Type", "application/json")], PING)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["result"], "pong")
        self.assertEqual(header(headers, "access-control-allow-origin"),
                         [ORIGIN])
        self.assertEqual(header(headers, "vary"), ["Origin"])

    def test_other_origins_get_no_cors_headers(self):
        for origin in ("https://b.example", "https://a.example.evil",
                       "http://a.example", "https://A.example", "null",
                       ORIGIN + "/", "*"):
            with self.subTest(origin=origin):
                status, headers, body = exchange(
                    self.srv, "POST", "/", [("Origin", origin)], PING)
                self.assertEqual(status, 200, body)
                self.assertEqual(
                    header(headers, "access-control-allow-origin"), [])
                status, headers, body = exchange(
                    self.srv, "OPTIONS", "/",
                    [("Origin", origin),
                     ("Access-Control-Request-Method", "POST")])
                self.assertEqual(status, 405, body)
                self.assertEqual(
                    header(headers, "access-control-allow-origin"), [])
                self.assertEqual(
                    header(headers, "access-control-allow-methods"), [])

    def test_options_without_origin_is_405(self):
        status, headers, _ = exchange(self.srv, "OPTIONS", "/")
        self.assertEqual(status, 405)
        self.assertEqual(header(headers, "access-control-allow-origin"), [])


class NoCorsTest(unittest.TestCase):
    def test_without_cors_origins(self):
        with serve() as srv:
            status, headers, body = exchange(
                srv, "OPTIONS", "/",
                [("Origin", ORIGIN),
                 ("Access-Control-Request-Method", "POST")])
            self.assertEqual(status, 405, body)
            self.assertEqual(header(headers, "allow"), ["POST"])
            self.assertEqual(
                header(headers, "access-control-allow-origin"), [])
            status, headers, body = exchange(srv, "POST", "/",
                                             [("Origin", ORIGIN)], PING)
            self.assertEqual(status, 200, body)
            self.assertEqual(
                header(headers, "access-control-allow-origin"), [])

    def test_preflight_needs_no_credentials(self):
        with TempDir() as d:
            path = d.write("auth.ini", credential("rpcauth", "alice",
                                                  PASSWORD))
            with serve(server={"cors_origins": "https://x.example, " +
                               ORIGIN, "auth_file": path}) as srv:
                status, headers, _ = exchange(
                    srv, "OPTIONS", "/",
                    [("Origin", ORIGIN),
                     ("Access-Control-Request-Method", "POST"),
                     ("Access-Control-Request-Headers", "authorization")])
                self.assertEqual(status, 204)
                self.assertEqual(
                    header(headers, "access-control-allow-origin"), [ORIGIN])
                # The real request still needs them; a 401 carries the
                # CORS headers so the browser can read it.
                status, headers, _ = exchange(srv, "POST", "/",
                                              [("Origin", ORIGIN)], PING)
                self.assertEqual(status, 401)
                self.assertEqual(
                    header(headers, "access-control-allow-origin"), [ORIGIN])
                status, headers, _ = exchange(
                    srv, "POST", "/",
                    [("Origin", ORIGIN),
                     ("Authorization", basic("alice", PASSWORD))], PING)
                self.assertEqual(status, 200)


# ---------------------------------------------------------------------------
# /healthz and /metrics
# ---------------------------------------------------------------------------

HISTOGRAM_LE = ["5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025",
                "0.005", "0.01", "0.05", "0.25", "1", "2.5", "5", "10", "30",
                "60", "+Inf"]


class HealthMetricsTest(unittest.TestCase):
    def test_healthz(self):
        with serve() as srv:
            status, headers, body = exchange(srv, "GET", "/healthz")
            self.assertEqual(status, 200, body)
            self.assertEqual(header(headers, "content-type"),
                             ["application/json"])
            self.assertEqual(json.loads(body),
                             {"status": "ok", "generation": 1})
            status, _, body = exchange(srv, "HEAD", "/healthz")
            self.assertEqual(status, 200)
            # Not on other methods; the endpoint is not the health path.
            self.assertEqual(exchange(srv, "POST", "/healthz", (),
                                      PING)[0], 404)
            self.assertEqual(exchange(srv, "GET", "/healthz/x")[0], 404)

    def test_metrics_counters_move(self):
        with serve() as srv:
            status, headers, body = exchange(srv, "GET", "/metrics")
            self.assertEqual(status, 200, body)
            self.assertEqual(header(headers, "content-type"),
                             ["text/plain; version=0.0.4; charset=utf-8"])
            text = body.decode("utf-8")
            for name, kind in (
                    ("rpchost_http_requests_total", "counter"),
                    ("rpchost_rpc_errors_total", "counter"),
                    ("rpchost_rpc_calls_total", "counter"),
                    ("rpchost_rpc_call_duration_seconds", "histogram"),
                    ("rpchost_calls_in_flight", "gauge"),
                    ("rpchost_connections", "gauge"),
                    ("rpchost_connections_total", "counter"),
                    ("rpchost_generation", "gauge"),
                    ("rpchost_reloads_total", "counter"),
                    ("rpchost_reload_failures_total", "counter"),
                    ("rpchost_draining", "gauge")):
                self.assertIn("# TYPE %s %s\n" % (name, kind), text)
                self.assertIn("# HELP %s " % name, text)
            # Every sample line is NAME{LABELS} VALUE.
            for line in text.splitlines():
                if not line.startswith("#"):
                    self.assertRegex(line, r'^(rpchost|process)_[a-z_]+'
                                     r'(\{[a-z]+="[^"]*"'
                                     r'(,[a-z]+="[^"]*")*\})? -?[0-9.e+-]+$')
            m0 = metrics_of(text)
            self.assertEqual(m0["rpchost_generation"], 1)
            self.assertEqual(m0["rpchost_draining"], 0)
            self.assertEqual(m0["rpchost_calls_in_flight"], 0)
            self.assertGreaterEqual(m0["rpchost_connections"], 1)

            for i in range(7):
                self.assertEqual(srv.rpc("ping", id=i)["result"], "pong")
            batch = [call("ping", id=10), call("ping", id=11),
                     call("nosuch", id=12), call("add", [1, 2], id=13)]
            self.assertEqual(srv.call(batch)[0], 200)
            harness.std_error(self, srv.rpc("nosuch"), -32601)
            harness.std_error(self, srv.rpc("add", ["x", 1]), -32602)
            m1 = get_metrics(srv)

            def delta(key):
                return m1.get(key, 0.0) - m0.get(key, 0.0)

            self.assertEqual(delta('rpchost_rpc_calls_total{method="ping"}'),
                             9)
            self.assertEqual(delta('rpchost_rpc_calls_total{method="add"}'),
                             2)
            self.assertEqual(delta('rpchost_rpc_errors_total{code="-32601"}'),
                             2)
            self.assertEqual(delta('rpchost_rpc_errors_total{code="-32602"}'),
                             1)
            self.assertEqual(
                delta('rpchost_http_requests_total{status="2xx"}'), 11)
            for method, calls in (("ping", 9), ("add", 2)):
                buckets = [m1['rpchost_rpc_call_duration_seconds_bucket'
                              '{method="%s",le="%s"}' % (method, le)]
                           for le in HISTOGRAM_LE]
                count = m1['rpchost_rpc_call_duration_seconds_count'
                           '{method="%s"}' % method]
                total = m1['rpchost_rpc_call_duration_seconds_sum'
                           '{method="%s"}' % method]
                self.assertEqual(count, calls)
                self.assertEqual(
                    m1['rpchost_rpc_calls_total{method="%s"}' % method],
                    count)
                self.assertEqual(buckets, sorted(buckets),
                                 "buckets not cumulative")
                self.assertEqual(buckets[-1], count)
                self.assertGreaterEqual(total, 0.0)
                self.assertLess(total, 1.0 * S * calls)

            # calls_in_flight while a sleep runs.
            done = {}

            def slow():
                done["answer"] = srv.rpc("sleep", [800])

            t = threading.Thread(target=slow)
            t.start()
            try:
                self.assertTrue(wait_for(
                    lambda: get_metrics(srv)["rpchost_calls_in_flight"] == 1,
                    2 * S), get_metrics(srv))
            finally:
                t.join(10 * S)
            self.assertEqual(done["answer"]["result"], 800)
            m2 = get_metrics(srv)
            self.assertEqual(m2["rpchost_calls_in_flight"], 0)
            self.assertEqual(m2['rpchost_rpc_calls_total{method="sleep"}'], 1)
            # The sleep took 0.8 s: in the "1" bucket, not in "0.25".
            self.assertEqual(m2['rpchost_rpc_call_duration_seconds_bucket'
                                '{method="sleep",le="0.25"}'], 0)
            self.assertEqual(m2['rpchost_rpc_call_duration_seconds_bucket'
                                '{method="sleep",le="+Inf"}'], 1)
            self.assertGreaterEqual(
                m2['rpchost_rpc_call_duration_seconds_sum{method="sleep"}'],
                0.75)
            self.assertGreaterEqual(m2["rpchost_connections_total"],
                                    m0["rpchost_connections_total"] + 10)

    def test_connections_gauge(self):
        with serve(threads=1) as srv:
            socks = [srv.raw_socket() for _ in range(3)]
            try:
                for s in socks:  # make sure each was accepted
                    s.sendall(post_request(PING))
                    self.assertEqual(read_response(s.makefile("rb"))[0], 200)
                m = get_metrics(srv)
                self.assertEqual(m["rpchost_connections"], 4)  # + this one
            finally:
                for s in socks:
                    s.close()
            # The gauge follows within a sweep (100 ms).
            self.assertTrue(wait_for(
                lambda: get_metrics(srv)["rpchost_connections"] == 1,
                2 * S), get_metrics(srv))

    def test_generation_and_reloads_after_sighup(self):
        with serve() as srv:
            m = get_metrics(srv)
            self.assertEqual((m["rpchost_generation"],
                              m["rpchost_reloads_total"],
                              m["rpchost_reload_failures_total"]), (1, 0, 0))
            srv.signal(signal.SIGHUP)
            wait_stderr(srv, "reload: generation 2 serving")
            m = get_metrics(srv)
            self.assertEqual((m["rpchost_generation"],
                              m["rpchost_reloads_total"],
                              m["rpchost_reload_failures_total"]), (2, 1, 0))
            status, _, body = exchange(srv, "GET", "/healthz")
            self.assertEqual(json.loads(body),
                             {"status": "ok", "generation": 2})
            # A failed reload is counted, and generation 2 keeps serving.
            with open(srv.ini_path, "w") as f:
                f.write("[server]\nthreads = -1\n")
            srv.signal(signal.SIGHUP)
            self.assertTrue(wait_for(
                lambda: get_metrics(srv)["rpchost_reload_failures_total"] == 1,
                10 * S), srv.stderr)
            m = get_metrics(srv)
            self.assertEqual((m["rpchost_generation"],
                              m["rpchost_reloads_total"]), (2, 1))
            self.assertEqual(srv.rpc("ping")["result"], "pong")

    def test_healthz_503_while_draining(self):
        with serve(threads=1, server={"shutdown_timeout": 10}) as srv:
            ka_health = srv.raw_socket(timeout=10 * S)
            ka_metrics = srv.raw_socket(timeout=10 * S)
            try:
                for s in (ka_health, ka_metrics):
                    status, _, body = exchange(srv, "GET", "/healthz",
                                               sock=s)
                    self.assertEqual(status, 200, body)
                result = {}

                def slow():
                    try:
                        result["r"] = exchange(
                            srv, "POST", "/", (),
                            json.dumps(call("sleep", [1500], id=9)).encode())
                    except Exception as e:  # reported below
                        result["r"] = e

                t = threading.Thread(target=slow)
                t.start()
                self.assertTrue(wait_for(
                    lambda: metrics_of(exchange(
                        srv, "GET", "/metrics", sock=ka_metrics)[2]
                        .decode())["rpchost_calls_in_flight"] == 1, 2 * S))
                srv.signal(signal.SIGTERM)
                wait_stderr(srv, "SIGTERM: shutting down")
                status, headers, body = exchange(srv, "GET", "/healthz",
                                                 sock=ka_health)
                self.assertEqual(status, 503, body)
                self.assertEqual(json.loads(body),
                                 {"status": "draining", "generation": 1})
                status, _, body = exchange(srv, "GET", "/metrics",
                                           sock=ka_metrics)
                self.assertEqual(status, 200, body)
                self.assertEqual(metrics_of(body.decode())["rpchost_draining"],
                                 1)
                t.join(10 * S)
                status, headers, body = result["r"]
                self.assertEqual(status, 200, body)
                self.assertEqual(json.loads(body)["result"], 1500)
                self.assertEqual(header(headers, "connection"), ["close"])
            finally:
                ka_health.close()
                ka_metrics.close()
            self.assertEqual(srv.wait(), 0, srv.stderr)

    def test_paths_disabled(self):
        with serve(server={"health_path": "", "metrics_path": ""}) as srv:
            for path in ("/healthz", "/metrics"):
                with self.subTest(path=path):
                    status, _, body = exchange(srv, "GET", path)
                    self.assertEqual(status, 404, body)
            self.assertEqual(srv.rpc("ping")["result"], "pong")

    def test_custom_paths(self):
        with serve(server={"health_path": "/live", "metrics_path": "/prom",
                           "endpoint": "/rpc"}) as srv:
            status, _, body = exchange(srv, "GET", "/live")
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body)["status"], "ok")
            status, headers, body = exchange(srv, "GET", "/prom")
            self.assertEqual(status, 200, body)
            self.assertIn("rpchost_generation 1\n", body.decode())
            for path in ("/healthz", "/metrics"):
                self.assertEqual(exchange(srv, "GET", path)[0], 404)
            self.assertEqual(exchange(srv, "POST", "/rpc", (), PING)[0], 200)

    def test_clashing_paths_refused(self):
        for keys in ({"endpoint": "/healthz"},
                     {"endpoint": "/m", "metrics_path": "/m"},
                     {"health_path": "/x", "metrics_path": "/x"}):
            with self.subTest(keys=keys):
                ini = harness.ini_text(keys,
                                       {"ping": plugin(harness.PING_SO)})
                rc, _, err, path = harness.run_config(ini, ["-t"])
                self.assertEqual(rc, 1, err)
                self.assertIn("must differ", err)
                self.assertIn(path, err)
        for keys in ({"health_path": "healthz"},
                     {"metrics_path": "/a b"}):
            with self.subTest(keys=keys):
                ini = harness.ini_text(keys,
                                       {"ping": plugin(harness.PING_SO)})
                rc, _, err, path = harness.run_config(ini, ["-t"])
                self.assertEqual(rc, 1, err)
                self.assertIn(path + ":2:", err)


# ---------------------------------------------------------------------------
# Access log and log_file
# ---------------------------------------------------------------------------

ACCESS_RE = re.compile(
    r'^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) 127\.0\.0\.1:(\d+) '
    r'"([A-Z]+) (\S+)" (\d{3}) (\d+) (\d+) (\d+\.\d{3})ms (\S+) (\S+)$')


def read_lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


class AccessLogTest(unittest.TestCase):
    def test_one_line_per_request(self):
        with TempDir() as d:
            path = os.path.join(d.path, "access.log")
            with serve(server={"access_log": path}) as srv:
                batch = json.dumps([call("ping", id=1), call("ping", id=2),
                                    call("add", [1, 2], id=3)]).encode()
                notif = b'{"jsonrpc":"2.0","method":"ping"}'
                requests = [
                    ("POST", "/", PING, 200, "ping"),
                    ("POST", "/", batch, 200, "batch[3]"),
                    ("POST", "/", notif, 204, "ping"),
                    ("GET", "/healthz", None, 200, "healthz"),
                    ("GET", "/metrics", None, 200, "metrics"),
                    ("POST", "/nope?x=1", PING, 404, "-"),
                    ("GET", "/", None, 405, "-"),
                    ("POST", "/", b"{bad", 200, "-"),
                ]
                answers = []
                for method, p, body, status, _ in requests:
                    st, _, out = exchange(srv, method, p, (), body)
                    self.assertEqual(st, status, out)
                    answers.append(out)
                lines = read_lines(path)
                self.assertEqual(len(lines), len(requests), lines)
                for line, (method, p, body, status, what), out in zip(
                        lines, requests, answers):
                    with self.subTest(line=line):
                        m = ACCESS_RE.match(line)
                        self.assertIsNotNone(m, line)
                        self.assertEqual(m.group(3), method)
                        self.assertEqual(m.group(4), p)
                        self.assertEqual(int(m.group(5)), status)
                        self.assertEqual(int(m.group(6)),
                                         len(body or b""))
                        self.assertEqual(int(m.group(7)), len(out))
                        self.assertLess(float(m.group(8)), 2000 * S)
                        self.assertEqual(m.group(9), what)
                        # Each request's W3C trace id (none was sent:
                        # made, a new one each time).
                        self.assertRegex(m.group(10), r"^[0-9a-f]{32}$")
                        self.assertNotEqual(int(m.group(2)), srv.port)
                # Nothing of the access log on stderr.
                self.assertNotIn('"POST /"', srv.stderr)

    def test_sigusr1_reopens_after_rename(self):
        with TempDir() as d:
            path = os.path.join(d.path, "access.log")
            with serve(server={"access_log": path}) as srv:
                self.assertEqual(srv.rpc("ping", id=1)["result"], "pong")
                self.assertEqual(len(read_lines(path)), 1)
                os.rename(path, path + ".1")
                # Until the reopen, lines go to the renamed file.
                self.assertEqual(srv.rpc("ping", id=2)["result"], "pong")
                self.assertEqual(len(read_lines(path + ".1")), 2)
                self.assertFalse(os.path.exists(path))
                srv.signal(signal.SIGUSR1)
                wait_stderr(srv, "SIGUSR1: log files reopened")
                self.assertTrue(os.path.exists(path))
                for i in range(3):
                    self.assertEqual(srv.rpc("ping", id=3 + i)["result"],
                                     "pong")
                self.assertEqual(len(read_lines(path)), 3)
                self.assertEqual(len(read_lines(path + ".1")), 2)
                for line in read_lines(path):
                    self.assertRegex(line, ACCESS_RE)
                # A second reopen without a rename keeps appending.
                srv.signal(signal.SIGUSR1)
                wait_for(lambda: srv.stderr.count("log files reopened") == 2,
                         10 * S)
                self.assertEqual(srv.rpc("ping", id=9)["result"], "pong")
                self.assertEqual(len(read_lines(path)), 4)

    def test_log_file(self):
        with TempDir() as d:
            path = os.path.join(d.path, "error.log")
            srv = serve(server={"log_file": path}).start()
            try:
                # The error log is the file from its first line on:
                # nothing on stderr once the config is read.
                self.assertTrue(wait_for(lambda: os.path.exists(path), 5 * S))
                first = "\n".join(read_lines(path))
                self.assertIn("starting", first)
                self.assertIn("plugin [ping] loaded", first)
                self.assertIn("listening on", first)
                self.assertEqual(srv.stderr, "")
                srv.signal(signal.SIGHUP)
                self.assertTrue(wait_for(
                    lambda: "reload: generation 2 serving" in
                    "\n".join(read_lines(path)), 10 * S), srv.stderr)
                self.assertNotIn("SIGHUP", srv.stderr)
                os.rename(path, path + ".1")
                srv.signal(signal.SIGUSR1)
                self.assertTrue(wait_for(lambda: os.path.exists(path),
                                         10 * S))
                self.assertTrue(wait_for(
                    lambda: "SIGUSR1: log files reopened" in
                    "\n".join(read_lines(path)), 10 * S))
                old = read_lines(path + ".1")
                srv.signal(signal.SIGHUP)
                self.assertTrue(wait_for(
                    lambda: "reload: generation 3 serving" in
                    "\n".join(read_lines(path)), 10 * S))
                self.assertEqual(read_lines(path + ".1"), old)
                self.assertNotIn("generation 3", "\n".join(old))
                self.assertEqual(srv.rpc("ping")["result"], "pong")
            finally:
                srv.stop()
            text = "\n".join(read_lines(path))
            self.assertIn("stopped", text)
            harness.check_sanitizers(text, "rpchost (log_file)")
            harness.check_sanitizers("\n".join(read_lines(path + ".1")),
                                     "rpchost (log_file)")


if __name__ == "__main__":
    unittest.main()
