# SPDX-License-Identifier: MIT
"""Several listeners (host/listener.c): `listen` given several times, TCP
and unix-domain sockets, each served by every loop; a unix socket gets
listen_mode and listen_group, replaces a stale socket file only when
nothing answers on it, refuses any other file, is removed at exit, keeps
its file across worker restarts, needs no Host check, and is named
unix:uid=N in the access log."""

import grp
import http.client
import json
import os
import re
import signal
import socket
import stat
import subprocess
import tempfile
import time
import unittest

import harness
from harness import Server, plugin, PING_SO, wait_log, free_port


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def ping_unix(path, host="localhost", conn=None):
    own = conn is None
    conn = conn or UnixHTTPConnection(path)
    try:
        conn.request("POST", "/", json.dumps(harness.call("ping")),
                     {"Content-Type": "application/json", "Host": host})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")
    finally:
        if own:
            conn.close()


class ListenersTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="rpchost-listen-")
        self.addCleanup(self.tmp.cleanup)
        self.sock = os.path.join(self.tmp.name, "rpc.sock")

    def start(self, listens, access_log=None, **server):
        lines = ["[server]", "threads = 2"]
        lines += ["listen = %s" % l for l in listens]
        for k, v in server.items():
            lines.append("%s = %s" % (k, v))
        if access_log:
            lines.append("access_log = %s" % access_log)
        lines += ["", "[ping]", "path = %s" % PING_SO, ""]
        ini = os.path.join(self.tmp.name, "rpc.ini")
        with open(ini, "w") as f:
            f.write("\n".join(lines))
        srv = Server(argv=lambda _: ["-c", ini])
        srv.start()
        self.addCleanup(srv._kill)
        return srv, ini

    def test_tcp_and_unix_together(self):
        port2 = free_port()
        log = os.path.join(self.tmp.name, "access.log")
        srv, _ = self.start(["127.0.0.1:0", "127.0.0.1:%d" % port2,
                             "unix:" + self.sock], access_log=log)
        self.assertRegex(srv.stderr, r"listening on 127\.0\.0\.1:\d+, "
                         r"127\.0\.0\.1:%d, unix:%s," % (port2,
                                                          re.escape(self.sock)))
        self.assertEqual(srv.rpc("ping")["result"], "pong")
        srv2 = http.client.HTTPConnection("127.0.0.1", port2, timeout=10)
        srv2.request("POST", "/", json.dumps(harness.call("ping")),
                     {"Content-Type": "application/json"})
        self.assertEqual(json.loads(srv2.getresponse().read())["result"],
                         "pong")
        srv2.close()
        # Keep-alive over the unix socket, and no Host check there: a name
        # a TCP request from a browser page could not use.
        conn = UnixHTTPConnection(self.sock)
        for host in ("localhost", "attacker.example"):
            status, answer = ping_unix(self.sock, host=host, conn=conn)
            self.assertEqual((status, answer["result"]), (200, "pong"))
        conn.close()
        mode = stat.S_IMODE(os.stat(self.sock).st_mode)
        self.assertEqual(mode, 0o660)
        self.assertTrue(stat.S_ISSOCK(os.stat(self.sock).st_mode))
        srv.stop()
        # The socket file goes with the server.
        self.assertFalse(os.path.exists(self.sock))
        with open(log) as f:
            text = f.read()
        self.assertIn("unix:uid=%d " % os.getuid(), text)
        self.assertRegex(text, r"127\.0\.0\.1:\d+ \"POST /\"")

    @unittest.skipUnless(os.environ.get("RPCHOST_BUILD") and os.access(
        os.path.join(os.environ.get("RPCHOST_BUILD", ""), "rpccall"),
        os.X_OK), "rpccall is not built")
    def test_rpccall_over_the_unix_socket(self):
        """rpccall --unix-socket against rpchost itself, end to end."""
        srv, _ = self.start(["127.0.0.1:0", "unix:" + self.sock])
        rpccall = os.path.join(os.environ["RPCHOST_BUILD"], "rpccall")
        out = subprocess.run([rpccall, "--unix-socket", self.sock,
                              "http://localhost/", "ping"],
                             capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.decode().strip(), "pong")
        srv.stop()

    def test_stop_leaves_a_newer_servers_socket_file(self):
        """The file at the path is removed at exit only if it is still the
        one this server bound: not another server's that took the path."""
        srv, ini = self.start(["127.0.0.1:0", "unix:" + self.sock])
        os.unlink(self.sock)  # an operator's mistake
        other = os.path.join(self.tmp.name, "other.ini")
        with open(ini) as f:
            text = f.read()
        with open(other, "w") as f:
            f.write(text)
        two = Server(argv=lambda _: ["-c", other]).start()
        self.addCleanup(two._kill)
        srv.stop()
        self.assertTrue(os.path.exists(self.sock))
        self.assertEqual(ping_unix(self.sock)[1]["result"], "pong")
        two.stop()
        self.assertFalse(os.path.exists(self.sock))

    def test_a_full_backlog_is_in_use_not_a_hang(self):
        """The stale check never blocks: a server whose backlog is full is
        in use (startup refused at once), not a reason to wait."""
        busy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        busy.bind(self.sock)
        busy.listen(0)
        queued = []
        for _ in range(4):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(self.sock)
            except (BlockingIOError, OSError):
                pass
            queued.append(c)
        try:
            ini = os.path.join(self.tmp.name, "busy.ini")
            with open(ini, "w") as f:
                f.write("[server]\nlisten = unix:%s\n\n[ping]\npath = %s\n"
                        % (self.sock, PING_SO))
            t0 = time.monotonic()
            rc, _, err = harness.run_cli(["-c", ini], timeout=20)
            self.assertEqual(rc, 1, err)
            self.assertIn("another process answers on it", err)
            self.assertLess(time.monotonic() - t0, 10)
        finally:
            for c in queued:
                c.close()
            busy.close()

    def test_removed_tcp_address_refuses_at_once(self):
        """A SIGHUP that drops an address: its port refuses new
        connections while the old worker still drains a slow call."""
        port2 = free_port()
        srv, ini = self.start(["127.0.0.1:0", "127.0.0.1:%d" % port2],
                              shutdown_timeout=5)
        with open(ini) as f:
            text = f.read()
        with open(ini, "a") as f:
            f.write("[sleep]\npath = %s\n"
                    % os.path.join(harness.PLUGINS, "sleep.so"))
        srv.signal(signal.SIGHUP)
        wait_log(self, srv, r"reload: generation 2")
        slow = http.client.HTTPConnection("127.0.0.1", port2, timeout=30)
        slow.request("POST", "/", json.dumps(harness.call("sleep", [3000])),
                     {"Content-Type": "application/json"})
        time.sleep(0.3)
        with open(ini, "w") as f:
            f.write(text.replace("listen = 127.0.0.1:%d\n" % port2, "")
                    + "[sleep]\npath = %s\n"
                    % os.path.join(harness.PLUGINS, "sleep.so"))
        srv.signal(signal.SIGHUP)
        wait_log(self, srv, r"supervisor: worker \d+ serves")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port2), 2)
        # The call in flight on the old worker is still answered.
        self.assertEqual(json.loads(slow.getresponse().read())["result"],
                         3000)
        slow.close()
        srv.stop()

    def test_sighup_changes_the_mode(self):
        srv, ini = self.start(["127.0.0.1:0", "unix:" + self.sock])
        self.assertEqual(stat.S_IMODE(os.stat(self.sock).st_mode), 0o660)
        with open(ini, "a") as f:
            f.write("")
        with open(ini) as f:
            text = f.read()
        with open(ini, "w") as f:
            f.write(text.replace("[server]\n",
                                 "[server]\nlisten_mode = 0600\n", 1))
        srv.signal(signal.SIGHUP)
        wait_log(self, srv, r"reload: generation 2")
        self.assertEqual(stat.S_IMODE(os.stat(self.sock).st_mode), 0o600)
        srv.stop()

    def test_mode_and_group(self):
        group = grp.getgrgid(os.getgid()).gr_name
        srv, _ = self.start(["127.0.0.1:0", "unix:" + self.sock],
                            listen_mode="0600", listen_group=group)
        st = os.stat(self.sock)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_gid, os.getgid())
        self.assertEqual(ping_unix(self.sock)[1]["result"], "pong")
        srv.stop()

    def test_stale_socket_replaced_live_one_refused(self):
        # A socket file nothing answers on (a crashed server's): replaced.
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(self.sock)
        stale.close()
        srv, ini = self.start(["127.0.0.1:0", "unix:" + self.sock])
        self.assertIn("removing a stale socket file", srv.stderr)
        self.assertEqual(ping_unix(self.sock)[1]["result"], "pong")
        srv.stop()

    def test_in_use_and_not_a_socket_are_refused(self):
        srv, ini = self.start(["127.0.0.1:0", "unix:" + self.sock])
        other = os.path.join(self.tmp.name, "other.ini")
        with open(ini) as f:
            text = f.read()
        with open(other, "w") as f:
            f.write(text)
        two = Server(argv=lambda _: ["-c", other])
        with self.assertRaises(AssertionError):
            two.start()
        self.assertIn("another process answers on it", two.stderr)
        self.assertEqual(two.returncode if two.returncode is not None
                         else two.proc.wait(10), 1)
        two._kill()
        # The running server's socket file is left alone.
        self.assertEqual(ping_unix(self.sock)[1]["result"], "pong")
        srv.stop()
        plain = os.path.join(self.tmp.name, "plain")
        with open(plain, "w") as f:
            f.write("not a socket")
        with open(other, "w") as f:
            f.write(text.replace(self.sock, plain))
        three = Server(argv=lambda _: ["-c", other])
        with self.assertRaises(AssertionError):
            three.start()
        three._kill()
        self.assertIn("a file that is not a socket is there", three.stderr)
        with open(plain) as f:
            self.assertEqual(f.read(), "not a socket")

    def test_sighup_adds_and_removes_a_unix_socket(self):
        srv, ini = self.start(["127.0.0.1:0"])
        first = srv.worker_pid()
        with open(ini) as f:
            text = f.read()
        with open(ini, "w") as f:
            f.write(text.replace("listen = 127.0.0.1:0\n",
                                 "listen = 127.0.0.1:0\nlisten = unix:%s\n"
                                 % self.sock))
        srv.signal(signal.SIGHUP)
        wait_log(self, srv, r"old worker %d finished draining" % first,
                 timeout=30 * harness.SCALE)
        self.assertEqual(ping_unix(self.sock)[1]["result"], "pong")
        # The TCP socket was shared, not reopened: same port, still served.
        self.assertEqual(srv.rpc("ping")["result"], "pong")
        second = srv.worker_pid()
        with open(ini, "w") as f:
            f.write(text)
        srv.signal(signal.SIGHUP)
        wait_log(self, srv, r"old worker %d finished draining" % second,
                 timeout=30 * harness.SCALE)
        self.assertFalse(os.path.exists(self.sock))
        self.assertEqual(srv.rpc("ping")["result"], "pong")
        srv.stop()

    @unittest.skipIf(harness.ASAN or harness.VALGRIND,
                     "the fault fixture kills the worker")
    def test_unix_socket_survives_a_worker_crash(self):
        srv, ini = self.start(["127.0.0.1:0", "unix:" + self.sock])
        with open(ini) as f:
            lines_ini = f.read()
        lines_ini += "[fault]\npath = %s\n" % harness.fixture("fault")
        with open(ini, "w") as f:
            f.write(lines_ini)
        srv.signal(signal.SIGHUP)
        wait_log(self, srv, r"reload: generation 2")
        ino = os.stat(self.sock).st_ino
        try:
            srv.call(harness.call("segfault"))
        except OSError:
            pass
        wait_log(self, srv, r"supervisor: worker \d+ killed by signal 11")
        wait_log(self, srv, r"supervisor: worker \d+ serves")
        self.assertEqual(os.stat(self.sock).st_ino, ino)
        self.assertEqual(ping_unix(self.sock)[1]["result"], "pong")
        srv.stop()


if __name__ == "__main__":
    unittest.main()
