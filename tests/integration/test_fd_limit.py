# SPDX-License-Identifier: MIT
"""Descriptor exhaustion: max_connections is capped to what the descriptor
limit allows, and an accept() that fails (EMFILE) pauses that loop's
accepting briefly, logged at most once a second, instead of spinning."""

import os
import re
import socket
import time
import unittest

import harness
from harness import Server, fixture, plugin, PING_SO


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fd_table_size(pid):
    """The size of a process's descriptor table."""
    return harness.proc_status(pid, "FDSize")


class FdLimitTest(unittest.TestCase):
    def test_descriptor_table_sized_before_the_first_burst(self):
        # The kernel grows a descriptor table by doubling it, and in a
        # process with threads each growth waits for an RCU grace period
        # (10-20 ms here) while every accept() of every loop waits on it:
        # a fresh worker's first burst of connects overflowed the listen
        # queue.  The worker sizes its table for max_connections before it
        # accepts, and again when a reload raises max_connections.
        with Server(server={"max_connections": 3000}, nofile=8192) as srv:
            pid = srv.worker_pid()
            self.assertGreaterEqual(fd_table_size(pid), 3000)
            with open(srv.ini_path) as f:
                text = f.read()
            with open(srv.ini_path, "w") as f:
                f.write(text.replace("max_connections = 3000",
                                     "max_connections = 6000"))
            srv.signal(harness.signal.SIGHUP)
            harness.wait_log(self, srv, r"reload: generation")
            deadline = time.monotonic() + 5
            while (fd_table_size(pid) < 6000 and
                   time.monotonic() < deadline):
                time.sleep(0.05)
            self.assertGreaterEqual(fd_table_size(pid), 6000)
            self.assertEqual(srv.rpc("ping")["result"], "pong")

    def test_descriptor_table_bounded_without_max_connections(self):
        # max_connections = 0 (as many as the limit allows) under a large
        # limit: sized for 65536 connections, not for the limit (2^20
        # descriptors would be 8 MiB of kernel memory up front).
        res = harness.resource
        hard = res.getrlimit(res.RLIMIT_NOFILE)[1]
        if hard != res.RLIM_INFINITY and hard < 300000:
            try:  # root may raise it (CAP_SYS_RESOURCE), in a child
                pid = os.fork()
                if pid == 0:
                    try:
                        res.setrlimit(res.RLIMIT_NOFILE, (300000, 300000))
                        os._exit(0)
                    except (OSError, ValueError):
                        os._exit(1)
                if os.waitpid(pid, 0)[1] != 0:
                    self.skipTest("RLIMIT_NOFILE cannot reach 300000 here")
            except OSError as e:
                self.skipTest("fork: %s" % e)
        with Server(server={"max_connections": 0}, nofile=300000) as srv:
            size = fd_table_size(srv.worker_pid())
            self.assertGreaterEqual(size, 65536)
            self.assertLessEqual(size, 131072)
            self.assertEqual(srv.rpc("ping")["result"], "pong")

    def test_descriptor_table_within_the_limit(self):
        # Never beyond what RLIMIT_NOFILE allows (the table is sized with
        # a descriptor number under it).
        with Server(server={"max_connections": 10000}, nofile=512) as srv:
            self.assertLessEqual(fd_table_size(srv.worker_pid()), 512)
            self.assertEqual(srv.rpc("ping")["result"], "pong")

    def test_max_connections_capped_to_the_limit(self):
        with Server(server={"max_connections": 10000}, nofile=256) as srv:
            m = re.search(r"max_connections 10000 .*descriptor limit 256.*"
                          r"using (\d+)", srv.stderr)
            self.assertIsNotNone(m, srv.stderr)
            capped = int(m.group(1))
            self.assertGreater(capped, 64)
            self.assertLess(capped, 256)
            self.assertEqual(srv.rpc("ping")["result"], "pong")

    def test_no_cap_message_when_the_limit_suffices(self):
        with Server(server={"max_connections": 100}, nofile=4096) as srv:
            self.assertNotIn("descriptor limit", srv.stderr)

    def test_a_burst_of_slow_clients_stays_within_the_limit(self):
        # Connections closed to make room keep their descriptors for two
        # sweeps: the cap counts them, so accept() never fails and the
        # reserve stays free for reloads.
        with Server(server={"max_connections": 0,
                            "metrics_path": "/metrics"}, nofile=128) as srv:
            for _ in range(2):
                socks = []
                try:
                    for _ in range(300):
                        s = socket.socket()
                        s.setblocking(False)
                        s.connect_ex(("127.0.0.1", srv.port))
                        socks.append(s)
                    time.sleep(0.3)
                    for s in socks:
                        try:
                            s.send(b"POST / HTTP/1.1\r\n")
                        except OSError:
                            pass
                    time.sleep(1.2)
                    srv.signal(harness.signal.SIGHUP)
                    time.sleep(0.3)
                finally:
                    for s in socks:
                        s.close()
            time.sleep(0.5)
            status, _, body = srv.call(None, path="/metrics", method="GET")
            self.assertEqual(status, 200, body)
            self.assertIn("rpchost_accept_errors_total 0", body.decode())
            self.assertNotIn("Too many open files", srv.stderr)
            self.assertNotIn("reload failed", srv.stderr)
            self.assertEqual(srv.rpc("ping")["result"], "pong")

    def test_emfile_pauses_accepting_without_spinning(self):
        plugins = {"ping": plugin(PING_SO), "fdhog": plugin(fixture("fdhog"))}
        with Server(plugins=plugins, nofile=256) as srv:
            conn = srv.connection()
            hog = srv.call(harness.call("hog"), conn=conn)
            self.assertEqual(hog[0], 200, hog)
            self.assertGreater(harness.json.loads(hog[2])["result"], 0)
            # Clients the server cannot accept now: the kernel completes
            # their handshakes, accept() fails with EMFILE.
            waiting = [socket.create_connection(("127.0.0.1", srv.port),
                                                timeout=10)
                       for _ in range(8)]
            try:
                time.sleep(0.5 * harness.SCALE)
                lines0 = srv.stderr.count("\n")
                cpu0, t0 = cpu_seconds(srv.worker_pid()), time.monotonic()
                time.sleep(2.0)
                cpu = cpu_seconds(srv.worker_pid()) - cpu0
                wall = time.monotonic() - t0
                new_lines = srv.stderr.splitlines()[lines0:]
                # Spinning on accept() took well over one core here.
                self.assertLess(cpu / wall, 0.3,
                                "%.2f s of CPU in %.2f s while accept() "
                                "fails; stderr:\n%s"
                                % (cpu, wall, srv.stderr[-3000:]))
                self.assertLessEqual(len(new_lines), 2 * 3,
                                     "\n".join(new_lines[:20]))
                self.assertRegex(srv.stderr, r"accept.*(Too many open files)"
                                 r".*pausing")
                freed = srv.call(harness.call("release"), conn=conn)
                self.assertEqual(freed[0], 200, freed)
                # The waiting clients are served once descriptors are back.
                req = harness.post_request(harness.call("ping", id=5))
                for s in waiting:
                    s.sendall(req)
                for s in waiting:
                    f = s.makefile("rb")
                    status, _, body, _ = harness.read_http_response(f)
                    self.assertEqual(status, 200, body)
                    self.assertIn(b'"pong"', body)
                    f.close()
            finally:
                for s in waiting:
                    s.close()
                conn.close()


if __name__ == "__main__":
    unittest.main()
