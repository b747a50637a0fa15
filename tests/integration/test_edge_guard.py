# SPDX-License-Identifier: MIT
"""What the HTTP edge refuses before any method runs: a POST whose
Content-Type is not JSON (415; a browser can send text/plain cross-site
without a preflight), a Host that is not allowed (403; DNS rebinding), and
ambiguous credentials (two Authorization headers: 400)."""

import json
import shutil
import subprocess
import unittest

import harness
from harness import Server, TempDir, serve

PING = json.dumps(harness.call("ping")).encode()


def raw_exchange(srv, head_lines, body=PING, version="HTTP/1.1"):
    """Send one POST / with exactly these header lines (plus
    Content-Length); returns (status, headers, body)."""
    head = ["POST / %s" % version] + list(head_lines)
    head.append("Content-Length: %d" % len(body))
    data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
    s = srv.raw_socket()
    try:
        s.sendall(data)
        f = s.makefile("rb")
        status, headers, answer, _ = harness.read_http_response(f)
        f.close()
        return status, headers, answer
    finally:
        s.close()


class ContentTypeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def post(self, ctype):
        lines = ["Host: 127.0.0.1"]
        if ctype is not None:
            lines.append("Content-Type: " + ctype)
        return raw_exchange(self.srv, lines)

    def test_json_types_are_served(self):
        for ctype in ("application/json", "application/json; charset=utf-8",
                      "Application/JSON", "application/json ;charset=UTF-8",
                      "application/json-rpc", "application/jsonrequest"):
            with self.subTest(ctype=ctype):
                status, _, body = self.post(ctype)
                self.assertEqual(status, 200, body)
                self.assertEqual(json.loads(body)["result"], "pong")

    def test_other_types_get_415(self):
        # text/plain and the form types are what a web page may POST to
        # any origin without a CORS preflight; curl's -d sends the first
        # form type.
        for ctype in ("text/plain", "text/plain;charset=UTF-8",
                      "application/x-www-form-urlencoded",
                      "multipart/form-data; boundary=x", "application/jsonx",
                      "application/xml", "json", "", None):
            with self.subTest(ctype=ctype):
                status, headers, body = self.post(ctype)
                self.assertEqual(status, 415, body)
                err = harness.std_error(self, json.loads(body), -32600,
                                        id=None)
                self.assertIn("Content-Type", err.get("data", ""))
                self.assertIn("application/json", err.get("data", ""))

    def test_get_endpoints_need_no_type(self):
        status, _, body = self.srv.call(None, path="/healthz", method="GET")
        self.assertIn(status, (200, 404), body)


@unittest.skipUnless(shutil.which("curl"), "curl not installed")
class CurlTest(unittest.TestCase):
    """The README's curl examples, as written."""

    def test_curl_with_and_without_the_header(self):
        with Server() as srv:
            url = "http://127.0.0.1:%d/" % srv.port
            body = '{"jsonrpc":"2.0","method":"ping","id":1}'
            out = subprocess.run(
                ["curl", "-s", "-H", "Content-Type: application/json", "-d",
                 body, url], capture_output=True, text=True, timeout=30)
            self.assertEqual(out.stdout, '{"jsonrpc":"2.0","result":"pong",'
                             '"id":1}')
            out = subprocess.run(
                ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-d",
                 body, url], capture_output=True, text=True, timeout=30)
            self.assertEqual(out.stdout, "415")


class HostTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(server={"health_path": "/healthz",
                                 "metrics_path": "/metrics"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def post(self, *hosts, version="HTTP/1.1"):
        lines = ["Host: " + h for h in hosts]
        lines.append("Content-Type: application/json")
        return raw_exchange(self.srv, lines, version=version)

    def test_loopback_names_are_allowed(self):
        port = self.srv.port
        for host in ("127.0.0.1", "127.0.0.1:%d" % port, "localhost",
                     "LOCALHOST:%d" % port, "[::1]", "[::1]:%d" % port,
                     "127.1.2.3:80"):
            with self.subTest(host=host):
                status, _, body = self.post(host)
                self.assertEqual(status, 200, body)

    def test_other_hosts_get_403(self):
        # A page on evil.example rebinding its name to 127.0.0.1 sends
        # its own name as Host.
        for host in ("evil.example", "evil.example:%d" % self.srv.port,
                     "localhost.evil.example", "127.0.0.1.evil.example",
                     "10.0.0.1", "", "[::1"):
            with self.subTest(host=host):
                status, _, body = self.post(host)
                self.assertEqual(status, 403, body)
                err = harness.std_error(self, json.loads(body), -32600,
                                        id=None)
                self.assertIn("allowed_hosts", err.get("data", ""))

    def test_get_endpoints_check_the_host_too(self):
        for path in ("/healthz", "/metrics"):
            with self.subTest(path=path):
                status, _, body = self.srv.call(
                    None, path=path, method="GET",
                    headers={"Host": "evil.example"})
                self.assertEqual(status, 403, body)

    def test_no_host_passes(self):
        # HTTP/1.0 allows it, and no browser sends a request without one.
        status, _, body = self.post(version="HTTP/1.0")
        self.assertEqual(status, 200, body)

    def test_two_hosts_get_400(self):
        status, _, body = self.post("127.0.0.1", "evil.example")
        self.assertEqual(status, 400, body)


class AllowedHostsTest(unittest.TestCase):
    def test_star_allows_any(self):
        with Server(server={"allowed_hosts": "*"}) as srv:
            for host in ("evil.example", "", "[::1", "x" * 300):
                with self.subTest(host=host[:20]):
                    status, _, body = srv.call(harness.call("ping"),
                                               headers={"Host": host})
                    self.assertEqual(status, 200, body)

    def test_a_list_replaces_the_loopback_default(self):
        with Server(server={"allowed_hosts": "rpc.example.com, Other.Example"
                            }) as srv:
            for host, want in (("rpc.example.com", 200),
                               ("RPC.example.com:8545", 200),
                               ("other.example", 200),
                               ("localhost", 403), ("example.com", 403)):
                with self.subTest(host=host):
                    status, _, body = srv.call(harness.call("ping"),
                                               headers={"Host": host})
                    self.assertEqual(status, want, body)

    def test_bad_value_is_refused_at_startup(self):
        # A port in an item would never match (the Host's is ignored).
        for value in ("a b", "127.0.0.1:5301", "localhost:80, x"):
            with self.subTest(value=value):
                rc, _, err, path = harness.run_config(harness.ini_text(
                    {"allowed_hosts": value}, harness.default_plugins()),
                    ["-t"])
                self.assertEqual(rc, 1, err)
                self.assertIn("allowed_hosts", err)

    def test_root_dot_is_ignored(self):
        with Server(server={"allowed_hosts": "rpc.example.com."}) as srv:
            for host in ("rpc.example.com", "rpc.example.com.:80"):
                with self.subTest(host=host):
                    status, _, body = srv.call(harness.call("ping"),
                                               headers={"Host": host})
                    self.assertEqual(status, 200, body)


class HeaderNameTest(unittest.TestCase):
    """Field names must be tokens: evhttp would keep "Content-Length " (a
    space before the colon) as a name of its own and read no body, while
    a proxy in front may have framed the request by it (smuggling)."""

    def test_space_before_colon_gets_400(self):
        inner = harness.post_request(harness.call("ping"))
        with Server() as srv:
            for name in ("Content-Length ", "Content-Length\t",
                         "Transfer-Encoding ", "Host ", "Authorization ",
                         "Content-Type\t"):
                with self.subTest(name=name):
                    value = ("chunked" if name.startswith("Transfer")
                             else "127.0.0.1" if name.startswith("Host")
                             else str(len(inner)))
                    status, headers, body = raw_exchange(
                        srv, ["Host: 127.0.0.1",
                              "Content-Type: application/json",
                              "%s: %s" % (name, value)], body=inner)
                    self.assertEqual(status, 400, body)
                    self.assertIn("token", json.loads(body)["error"]["data"])
                    self.assertEqual(headers.get("connection"), "close")

    def test_two_content_types_get_400(self):
        with Server() as srv:
            status, _, body = raw_exchange(
                srv, ["Host: 127.0.0.1", "Content-Type: text/plain",
                      "Content-Type: application/json"])
            self.assertEqual(status, 400, body)


class AbsoluteFormTest(unittest.TestCase):
    """An absolute-form target names the host (RFC 9112 3.2.2)."""

    def test_target_host_is_checked(self):
        with Server() as srv:
            for target, want in (("http://evil.example/", 403),
                                 ("http://127.0.0.1:%d/" % srv.port, 200),
                                 # A rebound page's fetch of
                                 # http://evil.example//127.0.0.1/ sends
                                 # this with Host: evil.example.
                                 ("//127.0.0.1/", 400)):
                with self.subTest(target=target):
                    body = PING
                    host = "evil.example" if target[1] == "/" else "127.0.0.1"
                    data = ("POST %s HTTP/1.1\r\nHost: %s\r\n"
                            "Content-Type: application/json\r\n"
                            "Content-Length: %d\r\n\r\n"
                            % (target, host, len(body))).encode() + body
                    s = srv.raw_socket()
                    try:
                        s.sendall(data)
                        f = s.makefile("rb")
                        status, _, answer, _ = harness.read_http_response(f)
                        f.close()
                    finally:
                        s.close()
                    self.assertEqual(status, want, answer)


class AuthorizationHeaderTest(unittest.TestCase):
    def test_two_authorization_headers_get_400(self):
        with TempDir() as d:
            rc, out, err = harness.run_cli(["--token", "bot", "t" * 32])
            self.assertEqual(rc, 0, err)
            path = d.write("auth.ini", out)
            with serve(server={"auth_file": path}) as srv:
                good = "Authorization: Bearer " + "t" * 32
                status, _, body = raw_exchange(
                    srv, ["Host: 127.0.0.1", "Content-Type: application/json",
                          good])
                self.assertEqual(status, 200, body)
                for second in (good, "Authorization: Basic eDp5"):
                    status, _, body = raw_exchange(
                        srv, ["Host: 127.0.0.1",
                              "Content-Type: application/json", good, second])
                    self.assertEqual(status, 400, body)
                    err = harness.std_error(self, json.loads(body), -32600,
                                            id=None)
                    self.assertIn("Authorization", err.get("data", ""))


if __name__ == "__main__":
    unittest.main()
