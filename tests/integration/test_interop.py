# SPDX-License-Identifier: MIT
"""Interoperability with independent JSON-RPC implementations, both ways:

  - Python's standard library speaking raw JSON-RPC over http.client calls
    rpchost;
  - jayson (a well-known JSON-RPC library for node, installed from npm by
    this test into a cache directory) as a CLIENT calls rpchost, and as a
    SERVER is called by rpccall.

So rpchost and rpccall agree with the world, not only with each other.
The jayson tests are skipped (with the reason) only when node or npm are
absent; a failing `npm install` is a test failure.
"""

import http.client
import json
import os
import subprocess
import threading
import unittest

from harness import SCALE, Server, TempDir, check_sanitizers
from sdkutil import BUILD, NODE_MISSING, examples_plugins, npm_dir

RPCCALL = os.path.join(BUILD, "rpccall") if BUILD else ""
NODE_TIMEOUT = 60 * SCALE
JAYSON = "jayson@4"


def jayson_dir():
    """A directory with node_modules/jayson (sdkutil.npm_dir)."""
    return npm_dir("npm-interop", [JAYSON])


SKIP_REASON = ("node and npm are needed for the jayson interop tests "
               "(Debian: apt-get install nodejs npm)")

# A jayson client: runs the calls named in its argument against rpchost and
# prints one JSON object with what it got.
CLIENT_JS = r"""
const jayson = require('jayson');
const port = parseInt(process.argv[2], 10);
const client = jayson.Client.http({host: '127.0.0.1', port: port});
function call(method, params, id) {
  return new Promise((resolve, reject) => {
    client.request(method, params, id, (err, response) => {
      if (err) reject(err); else resolve(response);
    });
  });
}
(async () => {
  const out = {};
  out.ping = await call('ping', [], 1);
  out.subtract = await call('subtract', [42, 23], 2);
  out.named = await call('subtract', {subtrahend: 23, minuend: 42}, 'n-3');
  out.error = await call('no_such_method', [], 4);
  out.divide = await call('divide', [1, 0], 5);
  const n = await call('ping', [], null);
  out.notification = n === undefined ? null : n;
  const batch = [
    client.request('add', [1, 2], 10, false),
    client.request('echo', {k: 'v'}, 'e', false),
    client.request('ping', [], null, false),
    client.request('nope', [], 11, false),
  ];
  out.batch = await new Promise((resolve, reject) => {
    client.request(batch, (err, responses) => {
      if (err) reject(err); else resolve(responses);
    });
  });
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""

# A jayson server: prints its port, serves until stdin closes.
SERVER_JS = r"""
const jayson = require('jayson');
const notified = [];
const server = new jayson.Server({
  ping: (args, cb) => cb(null, 'pong'),
  subtract: (args, cb) => {
    if (Array.isArray(args)) return cb(null, args[0] - args[1]);
    return cb(null, args.minuend - args.subtrahend);
  },
  echo: (args, cb) => cb(null, args),
  fail: (args, cb) => cb({code: 42, message: 'it failed', data: {why: 'test'}}),
  note: (args, cb) => { notified.push(args); cb(); },
  notified: (args, cb) => cb(null, notified),
});
const http = server.http();
http.listen(0, '127.0.0.1', () => {
  process.stdout.write(http.address().port + '\n');
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
"""


class StdlibClientTest(unittest.TestCase):
    """Python's standard library as the client: raw JSON-RPC over one
    keep-alive http.client connection."""

    def test_stdlib_client(self):
        with Server(plugins=examples_plugins()) as srv:
            conn = http.client.HTTPConnection("127.0.0.1", srv.port,
                                              timeout=10 * SCALE)

            def post(obj):
                conn.request("POST", "/", body=json.dumps(obj),
                             headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                return r.status, json.loads(data) if data else None

            self.assertEqual(post({"jsonrpc": "2.0", "method": "ping",
                                   "id": 1}),
                             (200, {"jsonrpc": "2.0", "result": "pong",
                                    "id": 1}))
            self.assertEqual(post({"jsonrpc": "2.0", "method": "subtract",
                                   "params": {"minuend": 42,
                                              "subtrahend": 23},
                                   "id": "x"})[1]["result"], 19)
            self.assertEqual(post({"jsonrpc": "2.0", "method": "ping"}),
                             (204, None))
            status, ans = post({"jsonrpc": "2.0", "method": "nope", "id": 2})
            self.assertEqual(ans["error"]["code"], -32601)
            status, ans = post([{"jsonrpc": "2.0", "method": "add",
                                 "params": [1, 2], "id": 1},
                                {"jsonrpc": "2.0", "method": "ping"},
                                {"jsonrpc": "2.0", "method": "nope",
                                 "id": 2}])
            by_id = {a["id"]: a for a in ans}
            self.assertEqual(len(ans), 2)
            self.assertEqual(by_id[1]["result"], 3)
            self.assertEqual(by_id[2]["error"]["code"], -32601)
            conn.close()


# jsonrpclib-pelix, Debian's python3-jsonrpclib-pelix (a JSON-RPC 2.0
# client library, sending Content-Type application/json-rpc), lives in the
# system's Python, which may not be the one running these tests.
SYSTEM_PYTHON = "/usr/bin/python3"
JSONRPCLIB_CLIENT = r"""
import sys
import jsonrpclib
proxy = jsonrpclib.ServerProxy("http://127.0.0.1:%s/" % sys.argv[1])
print(proxy.ping(), proxy.add(2, 3), proxy.subtract(minuend=42,
                                                    subtrahend=23))
try:
    proxy.nope()
except jsonrpclib.ProtocolError as e:
    print("error", e.args[0][0])
"""


def jsonrpclib_missing():
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", "import jsonrpclib"],
                              capture_output=True, timeout=30).returncode != 0
    except OSError:
        return True


@unittest.skipIf(jsonrpclib_missing(), "python3-jsonrpclib-pelix is not "
                 "installed (tools/deps.sh test installs it)")
class JsonrpclibClientTest(unittest.TestCase):
    """A third-party Python client library calling rpchost."""

    def test_jsonrpclib_client(self):
        with Server(plugins=examples_plugins()) as srv:
            out = subprocess.run(
                [SYSTEM_PYTHON, "-c", JSONRPCLIB_CLIENT, str(srv.port)],
                capture_output=True, text=True, timeout=30 * SCALE)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout.split(),
                             ["pong", "5", "19", "error", "-32601"],
                             out.stdout + out.stderr)


    def test_jsonrpclib_notification(self):
        """jsonrpclib takes only HTTP 200 (a 204 raises TransportError):
        notification_status = 200 is for such clients."""
        script = r"""
import sys
import jsonrpclib
proxy = jsonrpclib.ServerProxy("http://127.0.0.1:%s/" % sys.argv[1])
try:
    print("notify", proxy._notify.ping())
except jsonrpclib.jsonrpc.TransportError as e:
    print("raised", e.args[1])
    # (and its connection is left unusable: a new proxy)
    proxy = jsonrpclib.ServerProxy("http://127.0.0.1:%s/" % sys.argv[1])
print(proxy.ping())
"""
        for status, want in (("200", ["notify", "None", "pong"]),
                             (None, ["raised", "204", "pong"])):
            with self.subTest(notification_status=status):
                server = {"notification_status": status} if status else {}
                with Server(plugins=examples_plugins(), server=server) as srv:
                    out = subprocess.run(
                        [SYSTEM_PYTHON, "-c", script, str(srv.port)],
                        capture_output=True, text=True, timeout=30 * SCALE)
                self.assertEqual(out.returncode, 0, out.stderr)
                self.assertEqual(out.stdout.split(), want,
                                 out.stdout + out.stderr)


class NotificationStatusTest(unittest.TestCase):
    """notification_status = 200: an empty 200 (Content-Length 0, no
    Content-Type) where 204 would be, for single and batched
    notifications; answers with a body are unchanged."""

    def test_empty_200(self):
        with Server(server={"notification_status": 200}) as srv:
            conn = http.client.HTTPConnection("127.0.0.1", srv.port,
                                              timeout=10 * SCALE)
            for body in ({"jsonrpc": "2.0", "method": "ping"},
                         [{"jsonrpc": "2.0", "method": "ping"},
                          {"jsonrpc": "2.0", "method": "nope"}]):
                conn.request("POST", "/", body=json.dumps(body),
                             headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                self.assertEqual((r.status, r.read()), (200, b""))
                self.assertEqual(r.getheader("Content-Length"), "0")
                self.assertIsNone(r.getheader("Content-Type"))
            conn.request("POST", "/", body=json.dumps(
                {"jsonrpc": "2.0", "method": "ping", "id": 1}),
                headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.getheader("Content-Type"), "application/json")
            self.assertEqual(json.loads(r.read())["result"], "pong")
            conn.close()


@unittest.skipIf(NODE_MISSING, SKIP_REASON)
class JaysonClientTest(unittest.TestCase):
    """jayson's client calling rpchost."""

    def test_jayson_client(self):
        base = jayson_dir()
        with TempDir() as d, Server(plugins=examples_plugins()) as srv:
            script = d.write("client.js", CLIENT_JS)
            env = dict(os.environ,
                       NODE_PATH=os.path.join(base, "node_modules"))
            p = subprocess.run(["node", script, str(srv.port)],
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=NODE_TIMEOUT, env=env)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            out = json.loads(p.stdout)
        self.assertEqual(out["ping"], {"jsonrpc": "2.0", "result": "pong",
                                       "id": 1})
        self.assertEqual(out["subtract"]["result"], 19)
        self.assertEqual(out["named"], {"jsonrpc": "2.0", "result": 19,
                                        "id": "n-3"})
        self.assertEqual(out["error"]["error"]["code"], -32601)
        self.assertEqual(out["error"]["id"], 4)
        self.assertEqual(out["divide"]["error"],
                         {"code": 1, "message": "Division by zero"})
        self.assertIsNone(out["notification"])
        by_id = {a["id"]: a for a in out["batch"]}
        self.assertEqual(sorted(by_id, key=str), [10, 11, "e"])
        self.assertEqual(by_id[10]["result"], 3)
        self.assertEqual(by_id["e"]["result"], {"k": "v"})
        self.assertEqual(by_id[11]["error"]["code"], -32601)


@unittest.skipIf(NODE_MISSING, SKIP_REASON)
class RpccallAgainstJaysonTest(unittest.TestCase):
    """rpccall calling jayson's server."""

    @classmethod
    def setUpClass(cls):
        if not RPCCALL or not os.path.isfile(RPCCALL):
            raise AssertionError("rpccall is not built (RPCHOST_BUILD=%r)"
                                 % BUILD)
        base = jayson_dir()
        cls.dir = TempDir()
        script = cls.dir.write("server.js", SERVER_JS)
        env = dict(os.environ, NODE_PATH=os.path.join(base, "node_modules"))
        cls.proc = subprocess.Popen(["node", script], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=env)
        line = [None]

        def read_port():
            line[0] = cls.proc.stdout.readline()

        t = threading.Thread(target=read_port, daemon=True)
        t.start()
        t.join(NODE_TIMEOUT)
        if not line[0] or not line[0].strip().isdigit():
            cls.proc.kill()
            cls.proc.wait(10)
            cls.dir.close()
            raise AssertionError("the jayson server did not start: %r %r"
                                 % (line[0], cls.proc.stderr.read()))
        cls.url = "http://127.0.0.1:%d/" % int(line[0])

    @classmethod
    def tearDownClass(cls):
        try:
            cls.proc.stdin.close()
            cls.proc.wait(10)
        except subprocess.TimeoutExpired:
            cls.proc.kill()
            cls.proc.wait(10)
        cls.dir.close()

    def rpccall(self, *args, input_bytes=None):
        p = subprocess.run([RPCCALL] + [str(a) for a in args],
                           input=input_bytes,
                           stdin=None if input_bytes is not None
                           else subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=NODE_TIMEOUT)
        err = p.stderr.decode()
        check_sanitizers(err, "rpccall")
        return p.returncode, p.stdout.decode(), err

    def test_result(self):
        self.assertEqual(self.rpccall(self.url, "ping"), (0, "pong\n", ""))
        rc, out, err = self.rpccall("-v", self.url, "subtract", 42, 23)
        self.assertEqual((rc, out), (0, "19\n"), err)
        self.assertIn("<-- ", err)
        self.assertIn("(200 OK)", err)

    def test_named_params(self):
        rc, out, err = self.rpccall(self.url, "subtract", "minuend=42",
                                    "subtrahend=23")
        self.assertEqual((rc, out), (0, "19\n"), err)
        rc, out, err = self.rpccall("--id", "s-1", self.url, "echo", "a=1",
                                    "b=text")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out), {"a": 1, "b": "text"})

    def test_error_exits_1(self):
        rc, out, err = self.rpccall(self.url, "fail")
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("error 42: it failed", err)
        self.assertIn('"why":"test"', err)
        rc, out, err = self.rpccall(self.url, "no_such_method")
        self.assertEqual(rc, 1)
        self.assertIn("error -32601", err)

    def test_notification(self):
        rc, out, err = self.rpccall("--notify", self.url, "note", "marker-1")
        self.assertEqual((rc, out), (0, ""), err)
        rc, out, err = self.rpccall(self.url, "notified")
        self.assertEqual(rc, 0, err)
        self.assertIn(["marker-1"], json.loads(out))

    def test_batch(self):
        reqs = [{"jsonrpc": "2.0", "method": "subtract", "params": [9, 4],
                 "id": 1},
                {"jsonrpc": "2.0", "method": "note", "params": ["b"]},
                {"jsonrpc": "2.0", "method": "echo", "params": {"x": [1]},
                 "id": "two"},
                {"jsonrpc": "2.0", "method": "fail", "id": 3}]
        rc, out, err = self.rpccall("--batch", "-", self.url,
                                    input_bytes=json.dumps(reqs).encode())
        self.assertEqual(rc, 1, err)
        answers = json.loads(out)
        self.assertEqual([a["id"] for a in answers], [1, "two", 3])
        self.assertEqual(answers[0]["result"], 5)
        self.assertEqual(answers[1]["result"], {"x": [1]})
        self.assertEqual(answers[2]["error"]["code"], 42)


if __name__ == "__main__":
    unittest.main()
