# SPDX-License-Identifier: MIT
"""nginx in front of two rpchost instances (docs/deploy.md, scale-out).

nginx (Debian's /usr/sbin/nginx, run with a private prefix in a temp
folder) balances over two rpchost on fixed loopback ports, with upstream
keep-alive and `proxy_next_upstream error timeout` as in
conf/nginx-rpchost.conf.  Under bounded keep-alive load every answer must
be right, both instances must serve, and restarting each instance in turn
(SIGTERM, drain, start again on the same port) must lose no request.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

import harness
from harness import (IO_TIMEOUT, SCALE, STARTUP_TIMEOUT, Server, TempDir,
                     free_port, plugin)

NGINX = "/usr/sbin/nginx"

CLIENTS = 4
PER_CLIENT = 500  # requests per client before the restarts begin
MAX_PER_CLIENT = 20000  # hard bound on each client


SITE = os.path.join(harness.SRC or os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "..", ".."), "conf", "nginx-rpchost.conf")

# The main config around the shipped site file; for the test only, each
# answer names the instance that gave it (X-Upstream).
NGINX_CONF = """\
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    log_format upstream '$status $upstream_addr $upstream_status';
    access_log {dir}/access.log upstream;
    add_header X-Upstream $upstream_addr always;
    include {dir}/site.conf;
}}
"""


def site_text(port, backends):
    """conf/nginx-rpchost.conf on the test's ports (or "unix:PATH"
    upstreams), with fail_timeout 1 s (instead of 5 s) so that a restarted
    instance is back sooner."""
    with open(SITE, encoding="utf-8") as f:
        text = f.read()
    names = [b if isinstance(b, str) else "127.0.0.1:%d" % b
             for b in backends]
    for old, new in (("127.0.0.1:5001", names[0]),
                     ("127.0.0.1:5002", names[1]),
                     ("listen 80;", "listen 127.0.0.1:%d;" % port),
                     ("fail_timeout=5s", "fail_timeout=1s")):
        if old not in text:
            raise AssertionError("%s has no %r" % (SITE, old))
        text = text.replace(old, new)
    return text


class Nginx:
    """nginx in the foreground with everything under a temp prefix."""

    def __init__(self, port, backends):
        self.port = port
        self.dir = TempDir()
        # Run as root, nginx's workers run as nobody: let them in.
        os.chmod(self.dir.path, 0o755)
        self.dir.write("site.conf", site_text(port, backends))
        self.conf = self.dir.write("nginx.conf",
                                   NGINX_CONF.format(dir=self.dir.path))
        self.proc = None

    def log(self, name):
        try:
            with open(os.path.join(self.dir.path, name),
                      encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def start(self):
        self.proc = subprocess.Popen(
            [NGINX, "-p", self.dir.path + "/", "-c", self.conf,
             "-e", os.path.join(self.dir.path, "error.log"),
             "-g", "daemon off; master_process on;"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("nginx exited with %r:\n%s\n%s" % (
                    self.proc.returncode, self.proc.stderr.read().decode(
                        "utf-8", "replace"), self.log("error.log")))
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError("nginx did not listen on %d:\n%s"
                             % (self.port, self.log("error.log")))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.proc.wait(10 * SCALE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        self.dir.close()


class Load:
    """CLIENTS keep-alive clients calling `add` through nginx until told to
    stop (or MAX_PER_CLIENT each); every answer is checked."""

    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.failures = []
        self.by_upstream = {}
        self.threads = [threading.Thread(target=self._client, args=(n,),
                                         daemon=True)
                        for n in range(CLIENTS)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(60 * SCALE)
        return not any(t.is_alive() for t in self.threads)

    def count(self):
        with self.lock:
            return self.ok

    def upstream_counts(self):
        with self.lock:
            return dict(self.by_upstream)

    def _client(self, n):
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=IO_TIMEOUT)
        try:
            for i in range(MAX_PER_CLIENT):
                if self.stop.is_set() and i >= PER_CLIENT:
                    break
                self._one(conn, n, i)
        finally:
            conn.close()

    def _one(self, conn, n, i):
        req = {"jsonrpc": "2.0", "method": "add", "params": [i, n],
               "id": "%d-%d" % (n, i)}
        try:
            conn.request("POST", "/", body=json.dumps(req),
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            body = resp.read()
            upstream = resp.getheader("X-Upstream", "")
            answer = json.loads(body) if resp.status == 200 else None
        except (OSError, http.client.HTTPException, ValueError) as e:
            # Only a failure of nginx itself gets here; count it and go on
            # with a fresh connection.
            conn.close()
            with self.lock:
                self.failures.append("%s: %r" % (req["id"], e))
            return
        want = {"jsonrpc": "2.0", "result": i + n, "id": req["id"]}
        with self.lock:
            if resp.status != 200 or answer != want:
                self.failures.append("%s: HTTP %d via %r: %r" % (
                    req["id"], resp.status, upstream, body[:200]))
            else:
                self.ok += 1
                self.by_upstream[upstream] = \
                    self.by_upstream.get(upstream, 0) + 1


@unittest.skipUnless(os.access(NGINX, os.X_OK),
                     "nginx is not installed (%s; Debian package nginx)"
                     % NGINX)
class NginxTest(unittest.TestCase):

    def backend(self, port):
        return Server(plugins={"ping": plugin(harness.PING_SO),
                               "calc": plugin(os.path.join(harness.PLUGINS,
                                                           "calc.so"))},
                      listen="127.0.0.1:%d" % port).start()

    def wait_for(self, load, n, what):
        deadline = time.monotonic() + 60 * SCALE
        while load.count() < n:
            if time.monotonic() > deadline:
                self.fail("load stalled before %s: %d of %d answers; "
                          "failures: %r" % (what, load.count(), n,
                                            load.failures[:5]))
            time.sleep(0.01)

    def wait_serving(self, load, addr):
        """Wait until `addr` answers through nginx again (after nginx's
        fail_timeout, passive health checks bring it back)."""
        mark = load.upstream_counts().get(addr, 0)
        deadline = time.monotonic() + 30 * SCALE
        while load.upstream_counts().get(addr, 0) <= mark + 10:
            if time.monotonic() > deadline:
                self.fail("%s got no traffic after its restart: %r"
                          % (addr, load.upstream_counts()))
            time.sleep(0.02)

    def test_balance_and_restart_without_loss(self):
        ports = [free_port(), free_port()]
        while ports[1] == ports[0]:
            ports[1] = free_port()
        addrs = ["127.0.0.1:%d" % p for p in ports]
        backends = [self.backend(p) for p in ports]
        self.addCleanup(lambda: [b.stop() for b in backends
                                 if b.proc.poll() is None])
        nginx = Nginx(free_port(), ports).start()
        self.addCleanup(nginx.stop)

        load = Load(nginx.port)
        load.start()
        try:
            # Both instances serve.
            self.wait_for(load, CLIENTS * PER_CLIENT // 2, "the restarts")
            before = load.upstream_counts()
            for a in addrs:
                self.assertGreater(before.get(a, 0), 0,
                                   "%s got no traffic: %r" % (a, before))
            # Restart each instance in turn under the load, the way
            # docs/deploy.md says: SIGTERM (it drains), start it again, and
            # restart the next only once nginx sends traffic to it again.
            for k in range(2):
                backends[k].stop()  # SIGTERM; asserts a clean exit
                time.sleep(0.2)  # requests meet the stopped instance
                backends[k] = self.backend(ports[k])
                self.wait_serving(load, addrs[k])
            mark = load.upstream_counts()
            self.wait_for(load, load.count() + 200, "the end")
        finally:
            finished = load.join()
        self.assertTrue(finished, "load clients did not finish")
        after = load.upstream_counts()
        if load.failures:
            errors = [l for l in nginx.log("error.log").splitlines()
                      if "[error]" in l or "[warn]" in l or "[crit]" in l]
            self.fail("%d failed request(s), the first: %s\n"
                      "nginx error.log (errors, the first 20):\n%s"
                      % (len(load.failures), "\n".join(load.failures[:5]),
                         "\n".join(errors[:20])))
        self.assertGreaterEqual(load.count(), CLIENTS * PER_CLIENT)
        for a in addrs:
            self.assertGreater(after.get(a, 0), mark.get(a, 0),
                               "%s got no traffic after its restart: %r -> %r"
                               % (a, mark, after))
        # nginx's own log agrees: every request went to one of the two.
        lines = [l.split() for l in nginx.log("access.log").splitlines()]
        self.assertTrue(lines)
        for a in addrs:
            self.assertTrue(any(a in l[1] for l in lines if len(l) > 1), a)
        for b in backends:
            b.stop()

    def test_healthz_through_nginx(self):
        """The site's /healthz location passes the client's Host on, as
        its JSON-RPC location does: without it nginx sent its upstream's
        name, which rpchost on loopback refuses (403)."""
        port = free_port()
        backend = self.backend(port)
        self.addCleanup(backend.stop)
        nginx = Nginx(free_port(), [port, port]).start()
        self.addCleanup(nginx.stop)
        conn = http.client.HTTPConnection("127.0.0.1", nginx.port,
                                          timeout=IO_TIMEOUT)
        try:
            conn.request("GET", "/healthz")
            resp = conn.getresponse()
            resp.read()
        finally:
            conn.close()
        self.assertEqual(resp.status, 200)

    def test_unix_socket_upstreams(self):
        """The same site with `server unix:PATH` upstreams (docs/deploy.md):
        two rpchost listening on unix sockets, every answer right, both
        serving."""
        tmp = TempDir()
        self.addCleanup(tmp.close)
        os.chmod(tmp.path, 0o755)  # nginx's workers run as nobody
        socks, backends = [], []
        for name in ("a", "b"):
            sock = os.path.join(tmp.path, name + ".sock")
            ini = tmp.write(name + ".ini", harness.ini_text(
                {}, {"ping": plugin(harness.PING_SO),
                     "calc": plugin(os.path.join(harness.PLUGINS,
                                                 "calc.so"))}).replace(
                "[server]\n", "[server]\nlisten = 127.0.0.1:0\n"
                "listen = unix:%s\nlisten_mode = 0666\n" % sock, 1))
            srv = Server(argv=lambda _, i=ini: ["-c", i]).start()
            self.addCleanup(srv._kill)
            backends.append(srv)
            socks.append("unix:" + sock)
        nginx = Nginx(free_port(), socks).start()
        self.addCleanup(nginx.stop)
        load = Load(nginx.port)
        load.start()
        try:
            self.wait_for(load, CLIENTS * 100, "the end")
        finally:
            finished = load.join()
        self.assertTrue(finished, "load clients did not finish")
        self.assertEqual(load.failures, [])
        counts = load.upstream_counts()
        for sock in socks:
            self.assertGreater(counts.get(sock, 0), 0, counts)
        for b in backends:
            b.stop()


if __name__ == "__main__":
    unittest.main()
