# SPDX-License-Identifier: MIT
"""log_format = json: every line of the error log (stderr and log_file)
and of the access log is one JSON object; SIGHUP switches the format."""

import json
import os
import re
import signal
import unittest

import harness
from harness import Server, TempDir, ini_text, plugin, wait_log

STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ACCESS_KEYS = {"time", "peer", "method", "uri", "status", "in", "out", "ms",
               "call", "trace_id"}

# Method names and a URI that a careless formatter would break JSON with:
# quotes, backslashes, newlines, control characters, invalid UTF-8.
HOSTILE_METHODS = ['a"b', "back\\slash", "new\nline", "ctl\x01\x1f\x7f",
                   "caf\u00e9 \u20ac"]
HOSTILE_BODY = b'{"jsonrpc":"2.0","method":"x\xff\xfe","id":1}'


def json_lines(testcase, raw, what):
    """Each line of bytes `raw`: strict UTF-8, one JSON object; a list."""
    text = raw.decode("utf-8")  # strict: invalid UTF-8 fails the test
    out = []
    for line in text.splitlines():
        try:
            obj = json.loads(line)
        except ValueError as e:
            testcase.fail("%s: not JSON (%s): %r" % (what, e, line))
        testcase.assertIsInstance(obj, dict, line)
        testcase.assertRegex(obj["time"], TIME)
        out.append(obj)
    return out


def check_log_objects(testcase, objs):
    for o in objs:
        testcase.assertIn(o["level"], ("error", "warn", "info", "debug"))
        testcase.assertIsInstance(o["msg"], str)
        testcase.assertLessEqual(set(o), {"time", "level", "plugin", "msg"})


def make_calls(testcase, srv):
    testcase.assertEqual(srv.rpc("ping")["result"], "pong")
    for m in HOSTILE_METHODS:
        testcase.assertEqual(srv.rpc(m)["error"]["code"], -32601)
    status, _, _ = srv.call(HOSTILE_BODY)
    testcase.assertEqual(status, 200)
    status, _, _ = srv.call([harness.call("ping", id=1),
                             harness.call("ping", id=2)])
    testcase.assertEqual(status, 200)
    with srv.raw_socket() as sock:
        sock.sendall(b'GET /no"such\xff\x01path HTTP/1.1\r\n'
                     b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n")
        f = sock.makefile("rb")
        status = harness.read_http_response(f)[0]
        f.close()
    testcase.assertGreaterEqual(status, 400)
    return 2 + len(HOSTILE_METHODS) + 2  # requests made


class LogFormatTest(unittest.TestCase):
    def test_json_everywhere(self):
        with TempDir() as d:
            log = os.path.join(d.path, "rpchost.log")
            access = os.path.join(d.path, "access.log")
            plugins = harness.default_plugins()
            plugins["slow"] = plugin(harness.fixture("slowinit"), init_ms=1)
            srv = Server(plugins=plugins, extra_args=["-v"],
                         server={"log_format": "json", "log_file": log,
                                 "access_log": access}).start()
            try:
                n = make_calls(self, srv)
                # SIGUSR1 and a reload log too; both after the calls.
                srv.signal(signal.SIGUSR1)
                srv.signal(signal.SIGHUP)
                self._wait_file(log, "reload: generation")
            finally:
                srv.stop()
            stderr_objs = json_lines(self, srv.stderr.encode("utf-8"),
                                     "stderr")
            with open(log, "rb") as f:
                file_objs = json_lines(self, f.read(), log)
            with open(access, "rb") as f:
                access_objs = json_lines(self, f.read(), access)
        objs = stderr_objs + file_objs
        check_log_objects(self, objs)
        msgs = [o["msg"] for o in objs]
        self.assertTrue(any(m.startswith("listening on") for m in msgs))
        self.assertTrue(any(o["level"] == "debug" for o in objs))
        # A plugin's api->log names the plugin in its own member.
        slow = [o for o in objs if o.get("plugin") == "slow"]
        self.assertTrue(any(o["msg"].startswith("init started")
                            for o in slow), objs)
        self.assertEqual(len(access_objs), n, access_objs)
        for o in access_objs:
            self.assertEqual(set(o), ACCESS_KEYS)
            # Each request's W3C trace id (made: none was sent).
            self.assertRegex(o["trace_id"], r"^[0-9a-f]{32}$")
            self.assertIsInstance(o["status"], int)
            self.assertIsInstance(o["in"], int)
            self.assertIsInstance(o["out"], int)
            self.assertIsInstance(o["ms"], (int, float))
            self.assertRegex(o["peer"], r"^127\.0\.0\.1:\d+$")
        self.assertEqual(access_objs[0]["method"], "POST")
        self.assertEqual(access_objs[0]["uri"], "/")
        self.assertEqual(access_objs[0]["status"], 200)
        self.assertEqual(access_objs[0]["call"], "ping")
        self.assertEqual([o["call"] for o in access_objs[1:6]],
                         HOSTILE_METHODS)
        self.assertIsNone(access_objs[6]["call"])  # no call: not JSON
        self.assertEqual(access_objs[7]["call"], "batch[2]")
        self.assertEqual(access_objs[-1]["method"], "GET")
        self.assertEqual(access_objs[-1]["uri"], '/no"such\ufffd\x01path')

    def test_sighup_switches_format(self):
        """text, then json, then text again, by SIGHUP: the error log
        and the access log both switch."""
        with TempDir() as d:
            access = os.path.join(d.path, "access.log")
            keys = {"access_log": access}
            srv = Server(server=keys).start()
            try:
                self.assertEqual(srv.rpc("ping")["result"], "pong")
                for fmt, done in (("json", r'^\{.*"msg":"reload: gen'),
                                  ("text", r"Z INFO  reload: gen")):
                    keys["log_format"] = fmt
                    with open(srv.ini_path, "w") as f:
                        f.write(ini_text(keys, srv.plugins))
                    srv.signal(signal.SIGHUP)
                    wait_log(self, srv, done)
                    self.assertEqual(srv.rpc("ping")["result"], "pong")
            finally:
                srv.stop()
            with open(access, "rb") as f:
                access_lines = f.read().decode("utf-8").splitlines()
        lines = srv.stderr.splitlines()
        kinds = []
        for line in lines:
            if line.startswith("{"):
                json_lines(self, line.encode("utf-8"), "stderr")
                kinds.append("json")
            else:
                self.assertRegex(line, STAMPED)
                kinds.append("text")
        # text until the switch, some JSON, text again at the end.
        first = kinds.index("json")
        self.assertNotIn("json", kinds[:first])
        self.assertEqual(kinds[-1], "text")
        self.assertRegex(lines[-1], r"INFO  stopped$")
        self.assertEqual(len(access_lines), 3, access_lines)
        text_line = (r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z '
                     r'127\.0\.0\.1:\d+ "POST /" 200 \d+ \d+ '
                     r'\d+\.\d{3}ms ping [0-9a-f]{32}$')
        self.assertRegex(access_lines[0], text_line)
        o = json_lines(self, access_lines[1].encode("utf-8"), "access")[0]
        self.assertEqual((o["method"], o["uri"], o["status"], o["call"]),
                         ("POST", "/", 200, "ping"))
        self.assertRegex(access_lines[2], text_line)

    @unittest.skipIf(harness.ASAN, "AddressSanitizer reports faults itself")
    @unittest.skipIf(harness.VALGRIND, "valgrind reports faults itself")
    def test_fault_line_is_json(self):
        """The line fatal.c writes from its signal handler too."""
        plugins = {"ping": plugin(harness.PING_SO),
                   "fault": plugin(harness.fixture("fault"))}
        with Server(plugins=plugins, server={"log_format": "json"}) as srv:
            try:
                srv.call(harness.call("segfault"))
            except OSError:
                pass  # the connection died with the worker
            wait_log(self, srv, r'"level":"fatal","msg":"killed by signal 11')
            wait_log(self, srv, r"supervisor: worker \d+ killed")
            self.assertEqual(srv.rpc("ping")["result"], "pong")
        objs = json_lines(self, srv.stderr.encode("utf-8"), "stderr")
        fatal = [o for o in objs if o["level"] == "fatal"]
        self.assertEqual(len(fatal), 1, objs)
        self.assertRegex(fatal[0]["msg"], r"loop \d: method segfault "
                         r"\(plugin \[fault\], generation 1\)")

    def _wait_file(self, path, text):
        deadline = harness.time.monotonic() + 10 * harness.SCALE
        while harness.time.monotonic() < deadline:
            with open(path, encoding="utf-8", errors="replace") as f:
                if text in f.read():
                    return
            harness.time.sleep(0.02)
        self.fail("no %r in %s" % (text, path))

