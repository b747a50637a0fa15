# SPDX-License-Identifier: MIT
"""The call context and call hooks (plugin ABI 2), with the hooked.so
fixture (tests/plugins/hooked.c) and the shipped audit plugin: what a
handler sees of its call (peer, transport, credential, headers, batch
position, W3C trace), on_call hooks that go on, answer, suspend and resume
or fail, in config order, on_done with every call's outcome, and the
trace id in the access log and in the audit file."""

import base64
import json
import os
import re
import socket
import time
import unittest

import harness
from harness import Server, TempDir, error_of, fixture, plugin

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACE_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
PASSWORD = "Pw-7hooks-alice-s3cr3t"


def wait_for(predicate, timeout, step=0.02):
    deadline = time.monotonic() + timeout * harness.SCALE
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def hooked_plugins(**extra):
    plugins = {"ping": plugin(harness.PING_SO),
               "hooked": plugin(fixture("hooked"))}
    plugins.update(extra)
    return plugins


def body(method, params=None, id=1):
    req = {"jsonrpc": "2.0", "method": method, "id": id}
    if params is not None:
        req["params"] = params
    return req


class ContextTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = TempDir()
        cls.access = os.path.join(cls.dir.path, "access.log")
        cls.srv = Server(plugins=hooked_plugins(),
                         server={"access_log": cls.access}).start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.srv.stop()
        finally:
            cls.dir.close()

    def ctx(self, method="ctx", headers=None, batch=False):
        req = [body(method, id=1), body(method, id=2)] if batch else \
            body(method)
        status, _, data = self.srv.call(req, headers=headers)
        self.assertEqual(status, 200, data)
        ans = json.loads(data)
        if batch:
            return [a["result"] for a in sorted(ans, key=lambda a: a["id"])]
        self.assertIn("result", ans, ans)
        return ans["result"]

    def test_peer_transport_and_no_credential(self):
        c = self.ctx()
        self.assertRegex(c["peer"], r"^127\.0\.0\.1:\d+$")
        self.assertEqual(c["transport"], 1)  # RPCHOST_TRANSPORT_TCP
        self.assertIsNone(c["credential"])
        self.assertEqual((c["index"], c["count"]), (0, 1))

    def test_header_by_name(self):
        c = self.ctx(headers={"X-Test": "hello"})
        self.assertEqual(c["x_test"], "hello")
        self.assertNotIn("x_test", self.ctx())

    def test_batch_position(self):
        a, b = self.ctx(batch=True)
        self.assertEqual((a["index"], a["count"]), (0, 2))
        self.assertEqual((b["index"], b["count"]), (1, 2))
        # One request, one trace.
        self.assertEqual(a["trace_id"], b["trace_id"])

    def test_trace_continued_from_traceparent(self):
        c = self.ctx(headers={"traceparent": TRACEPARENT})
        m = TRACE_RE.match(c["traceparent"])
        self.assertIsNotNone(m, c)
        self.assertEqual(m.group(1), "4bf92f3577b34da6a3ce929d0e0e4736")
        self.assertNotEqual(m.group(2), "00f067aa0ba902b7")  # our own span
        self.assertEqual(m.group(3), "01")
        self.assertEqual(c["trace_id"], m.group(1))

    def test_trace_made_when_absent_or_invalid(self):
        seen = set()
        for hdr in (None, {"traceparent": "00-xyz"},
                    {"traceparent": "00-" + "0" * 32 + "-00f067aa0ba902b7-01"}):
            c = self.ctx(headers=hdr)
            m = TRACE_RE.match(c["traceparent"])
            self.assertIsNotNone(m, c)
            self.assertEqual(c["trace_id"], m.group(1))
            seen.add(m.group(1))
        self.assertEqual(len(seen), 3)

    def test_deferred_call_reads_its_context_from_a_thread(self):
        c = self.ctx("ctx_later", headers={"traceparent": TRACEPARENT,
                                           "X-Test": "gone"})
        self.assertRegex(c["peer"], r"^127\.0\.0\.1:\d+$")
        self.assertEqual(c["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736")
        # Headers only inside the handler.
        self.assertNotIn("x_test", c)

    def test_trace_id_in_the_access_log(self):
        self.ctx(headers={"traceparent": TRACEPARENT})
        want = "4bf92f3577b34da6a3ce929d0e0e4736"

        def logged():
            with open(self.access) as f:
                return any(want in line and " ctx" in line for line in f)
        self.assertTrue(wait_for(logged, 10), open(self.access).read())


class HooksTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = TempDir()
        cls.order = os.path.join(cls.dir.path, "order")
        plugins = hooked_plugins(second=plugin(fixture("hooked"), name="B",
                                               order_file=cls.order))
        plugins["hooked"]["order_file"] = cls.order
        cls.srv = Server(plugins=plugins, threads=1).start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.srv.stop()
        finally:
            cls.dir.close()

    def test_hooks_run_in_config_order(self):
        open(self.order, "w").close()
        self.assertIn("result", self.srv.rpc("ctx"))
        with open(self.order) as f:
            self.assertEqual(f.read(), "AB")

    def test_reject(self):
        ans = self.srv.rpc("blocked")
        error_of(self, ans, -31050, "blocked by hook", id=1)
        # The first hook answered: the second never ran.
        self.assertEqual(ans["error"]["data"], "A")

    def test_reject_in_a_batch_member_only(self):
        status, _, data = self.srv.call([body("blocked", id=1),
                                         body("ping", id=2)])
        self.assertEqual(status, 200)
        ans = {a["id"]: a for a in json.loads(data)}
        self.assertEqual(ans[1]["error"]["code"], -31050)
        self.assertEqual(ans[2]["result"], "pong")

    def test_suspend_and_resume(self):
        # slowcheck is no method: resumed after 50 ms, the lookup answers.
        ans = self.srv.rpc("slowcheck")
        error_of(self, ans, -32601, id=1)

    def test_suspend_then_deny(self):
        ans = self.srv.rpc("denylater")
        error_of(self, ans, -31051, "denied later by hook", id=1)

    def test_suspend_does_not_block_the_loop(self):
        s = socket.create_connection(("127.0.0.1", self.srv.port))
        try:
            s.sendall(harness.post_request(body("slowcheck", id=7)))
            # Meanwhile, on the same loops, pings answer.
            for i in range(5):
                self.assertEqual(self.srv.rpc("ping", id=i)["result"], "pong")
            f = s.makefile("rb")
            status, _, data, _ = harness.read_http_response(f)
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(data)["error"]["code"], -32601)
        finally:
            s.close()

    def test_failing_hook_is_internal_error(self):
        ans = self.srv.rpc("hookfail")
        error_of(self, ans, -32603, id=1)
        harness.wait_stderr(self.srv, r"on_call hook of plugin \[hooked\] "
                            r"failed: .*\[trace [0-9a-f]{32}\]")

    def test_on_done_sees_every_call(self):
        before = self.srv.rpc("done_stats")["result"]
        self.srv.rpc("ping")
        self.srv.rpc("no.such.method")
        self.srv.call({"jsonrpc": "2.0", "method": "ping"})  # notification
        self.srv.call([body("ping", id=1), body("blocked", id=2)])
        after = self.srv.rpc("done_stats")["result"]
        self.assertEqual(after["total"] - before["total"], 5)
        self.assertEqual(after["ok"] - before["ok"], 3)
        self.assertEqual(after["errors"] - before["errors"], 2)
        self.assertEqual(after["bad_duration"], 0)


class CredentialTest(unittest.TestCase):
    def test_credential_and_unix_transport(self):
        with TempDir() as d:
            rc, out, err = harness.run_cli(["--rpcauth", "alice", PASSWORD])
            self.assertEqual(rc, 0, err)
            auth = d.write("auth.ini", out)
            sock = os.path.join(d.path, "rpc.sock")
            # Two listen lines: the harness's one value per key, joined.
            srv = Server(plugins=hooked_plugins(), listen=None,
                         server={"auth_file": auth,
                                 "listen": "127.0.0.1:0\nlisten = unix:" +
                                 sock})
            with srv:
                hdr = {"Authorization": "Basic " + base64.b64encode(
                    ("alice:" + PASSWORD).encode()).decode()}
                status, _, data = srv.call(body("ctx"), headers=hdr)
                self.assertEqual(status, 200, data)
                c = json.loads(data)["result"]
                self.assertEqual(c["credential"], "alice")
                self.assertEqual(c["transport"], 1)
                u = socket.socket(socket.AF_UNIX)
                u.settimeout(harness.IO_TIMEOUT)
                u.connect(sock)
                u.sendall(harness.post_request(
                    body("ctx"),
                    extra_headers=["Authorization: " + hdr["Authorization"]]))
                status, _, data, _ = harness.read_http_response(
                    u.makefile("rb"))
                u.close()
                c = json.loads(data)["result"]
                self.assertEqual(c["transport"], 2)
                self.assertEqual(c["peer"], "unix:uid=%d" % os.getuid())


class AuditTest(unittest.TestCase):
    """plugins/audit.c: one JSON line per call to its file."""

    def test_lines_and_rotation(self):
        with TempDir() as d:
            path = os.path.join(d.path, "audit.log")
            plugins = {"ping": plugin(harness.PING_SO),
                       "audit": plugin(os.path.join(harness.PLUGINS,
                                                    "audit.so"), file=path)}
            with Server(plugins=plugins) as srv:
                status, _, _ = srv.call(body("ping"),
                                        headers={"traceparent": TRACEPARENT})
                self.assertEqual(status, 200)
                srv.rpc("no.such")
                srv.call([body("ping", id=1), body("ping", id=2)])
                srv.call({"jsonrpc": "2.0", "method": "ping"})
                odd = 'q"b\\s\x01\n\u00e9'
                srv.rpc(odd)

                def lines(p):
                    if not os.path.exists(p):
                        return []
                    with open(p) as f:
                        return [json.loads(x) for x in f.read().splitlines()]
                self.assertTrue(wait_for(lambda: len(lines(path)) == 6, 10),
                                lines(path))
                got = lines(path)
                first = got[0]
                self.assertEqual(first["method"], "ping")
                self.assertEqual(first["code"], 0)
                self.assertRegex(first["peer"], r"^127\.0\.0\.1:\d+$")
                self.assertIsNone(first["credential"])
                self.assertEqual(first["trace_id"],
                                 "4bf92f3577b34da6a3ce929d0e0e4736")
                self.assertIsInstance(first["duration_us"], (int, float))
                self.assertRegex(first["time"],
                                 r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
                self.assertEqual(got[1]["code"], -32601)
                self.assertEqual(got[1]["method"], "no.such")
                # A batch's members share the request's trace.
                self.assertEqual(got[2]["trace_id"], got[3]["trace_id"])
                self.assertNotEqual(got[2]["trace_id"], got[1]["trace_id"])
                # Any method name a client sends gives a valid line.
                self.assertEqual(got[5]["method"], odd)
                self.assertEqual(got[5]["code"], -32601)
                # Rotation: the file moved away, a new one follows.
                os.rename(path, path + ".1")
                time.sleep(1.1)
                srv.rpc("ping")
                self.assertTrue(wait_for(lambda: len(lines(path)) == 1, 10))
                self.assertEqual(len(lines(path + ".1")), 6)

    def test_long_method_name(self):
        # A method name longer than the line is cut, and the line stays
        # one valid JSON object within its buffer (every field there).
        with TempDir() as d:
            path = os.path.join(d.path, "audit.log")
            plugins = {"audit": plugin(os.path.join(harness.PLUGINS,
                                                    "audit.so"), file=path)}
            with Server(plugins=plugins) as srv:
                names = ["m" * n for n in (900, 950, 960, 2000, 60000)]
                # Cut at a character's start, whichever byte the room
                # ends at.
                names += ["mm" + "\u00e9" * 400, "mmm" + "\u00e9" * 400,
                          "mmm" + "\u20ac" * 400]
                for name in names:
                    status, _, _ = srv.call(body(name))
                    self.assertEqual(status, 200)

                def lines():
                    if not os.path.exists(path):
                        return []
                    with open(path, encoding="utf-8") as f:
                        return f.read().splitlines()
                self.assertTrue(
                    wait_for(lambda: len(lines()) == len(names), 10), lines())
                for text in lines():
                    line = json.loads(text)
                    self.assertTrue(line["method"].startswith("mm"), line)
                    self.assertRegex(line["peer"], r"^127\.0\.0\.1:\d+$")
                    self.assertIsNone(line["credential"])
                    self.assertRegex(line["trace_id"], r"^[0-9a-f]{32}$")
                    self.assertEqual(line["code"], -32601)
            harness.check_sanitizers(srv.stderr)

    def test_file_is_required(self):
        plugins = {"audit": plugin(os.path.join(harness.PLUGINS, "audit.so"))}
        rc, _, err, _ = harness.run_config(harness.ini_text(None, plugins),
                                          ["-t"])
        self.assertNotEqual(rc, 0)
        self.assertIn("missing required key 'file'", err)


if __name__ == "__main__":
    unittest.main()
