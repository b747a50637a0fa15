# SPDX-License-Identifier: MIT
"""The supervisor process (host/supervisor.h): graceful worker replacement
and upgrades, under load from several clients.

  - SIGUSR2 re-executes the binary on disk in the same pid and replaces
    the worker: 0 failed calls, the new binary serving afterwards;
  - SIGHUP with a changed `threads` or `listen` starts a new worker
    instead of "needs a restart": 0 failed calls;
  - a loop stuck past stall_restart: a new worker serves, the old one
    drains its healthy loops and ends with SIGABRT;
  - socket activation: the socket systemd would pass as fd 3;
  - the pidfile holds the supervisor's pid, and signals go there."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from harness import Server, plugin, PING_SO, wait_log, free_port


class Load:
    """Client threads calling ping until stopped, half on keep-alive
    connections (they follow Connection: close), half on a new connection
    per call; every failure is kept."""

    def __init__(self, port_of, n=4):
        self.port_of = port_of  # () -> the port to call now
        self.stop_ev = threading.Event()
        self.ok = 0
        self.failures = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i % 2,))
                        for i in range(n)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        for t in self.threads:
            t.join(30)

    def one(self, conn):
        body = json.dumps({"jsonrpc": "2.0", "method": "ping", "id": 1})
        conn.request("POST", "/", body,
                     {"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200 or json.loads(data).get("result") != "pong":
            raise AssertionError("%d %r" % (resp.status, data))
        if resp.getheader("Connection", "").lower() == "close":
            conn.close()

    def run(self, keepalive):
        conn = None
        while not self.stop_ev.is_set():
            try:
                if conn is None or not keepalive:
                    conn = http.client.HTTPConnection(
                        "127.0.0.1", self.port_of(), timeout=10)
                self.one(conn)
                with self.lock:
                    self.ok += 1
                if not keepalive:
                    conn.close()
            except Exception as e:  # noqa: BLE001 - every failure counts
                with self.lock:
                    self.failures.append(repr(e))
                conn = None
            time.sleep(0.002)


@unittest.skipIf(harness.VALGRIND, "re-execution leaves valgrind")
class UpgradeTest(unittest.TestCase):
    def test_sigusr2_under_load(self):
        tmp = tempfile.TemporaryDirectory(prefix="rpchost-upgrade-")
        self.addCleanup(tmp.cleanup)
        exe = os.path.join(tmp.name, "rpchost")
        shutil.copy2(harness.BIN, exe)
        srv = Server(plugins={"ping": plugin(PING_SO)}, threads=2,
                     server={"shutdown_timeout": 2})
        real_bin = harness.BIN
        harness.BIN = exe  # what the Server runs
        self.addCleanup(setattr, harness, "BIN", real_bin)
        with srv:
            first = srv.worker_pid()
            ino_before = os.stat("/proc/%d/exe" % srv.proc.pid).st_ino
            with Load(lambda: srv.port) as load:
                time.sleep(0.5)
                # A new binary, installed as package managers do: a new
                # file renamed over the old one.
                shutil.copy2(real_bin, exe + ".new")
                os.rename(exe + ".new", exe)
                srv.signal(signal.SIGUSR2)
                wait_log(self, srv, r"SIGUSR2: re-executing")
                wait_log(self, srv, r"supervisor: worker \d+ serves")
                wait_log(self, srv, r"old worker %d finished draining" % first,
                         timeout=20)
                time.sleep(0.3)
            self.assertEqual(load.failures[:3], [], srv.stderr)
            self.assertNotIn("matches no listen entry", srv.stderr)
            self.assertGreater(load.ok, 100)
            # The same process runs the new file now.
            self.assertFalse(os.readlink("/proc/%d/exe" % srv.proc.pid)
                             .endswith("(deleted)"))
            self.assertEqual(os.stat("/proc/%d/exe" % srv.proc.pid).st_ino,
                             os.stat(exe).st_ino)
            self.assertNotEqual(ino_before, os.stat(exe).st_ino)
            self.assertNotEqual(srv.worker_pid(), first)
            status, _, body = srv.call(None, path="/metrics", method="GET")
            self.assertIn('rpchost_worker_restarts_total{reason="upgrade"} 1',
                          body.decode())


    def test_sigusr2_with_a_binary_that_cannot_start(self):
        """A new file that execs but fails (here a script exiting 3) is
        found by its --version before the supervisor re-executes it: the
        running binary and worker go on."""
        tmp = tempfile.TemporaryDirectory(prefix="rpchost-upgrade-")
        self.addCleanup(tmp.cleanup)
        exe = os.path.join(tmp.name, "rpchost")
        shutil.copy2(harness.BIN, exe)
        real_bin = harness.BIN
        harness.BIN = exe
        self.addCleanup(setattr, harness, "BIN", real_bin)
        with Server(plugins={"ping": plugin(PING_SO)}) as srv:
            first = srv.worker_pid()
            with open(exe + ".new", "w") as f:
                f.write("#!/bin/sh\nexit 3\n")
            os.chmod(exe + ".new", 0o755)
            os.rename(exe + ".new", exe)
            srv.signal(signal.SIGUSR2)
            wait_log(self, srv, r"--version failed \(exit status 3\); not "
                     r"upgrading")
            self.assertEqual(srv.worker_pid(), first)
            self.assertEqual(srv.rpc("ping")["result"], "pong")
            # systemctl kill without --kill-whom=main: the worker ignores it.
            os.kill(first, signal.SIGUSR2)
            time.sleep(0.3)
            self.assertEqual(srv.worker_pid(), first)
            self.assertNotIn("killed by signal", srv.stderr)


class ReplaceTest(unittest.TestCase):
    def rewrite(self, srv, server):
        with open(srv.ini_path, "w") as f:
            f.write(harness.ini_text(server, {"ping": plugin(PING_SO)}))

    def test_threads_change_under_load(self):
        server = {"listen": "127.0.0.1:0", "threads": 2,
                  "shutdown_timeout": 2}
        with Server(plugins={"ping": plugin(PING_SO)}, server=server,
                    argv=lambda ini: ["-c", ini]) as srv:
            first = srv.worker_pid()
            with Load(lambda: srv.port) as load:
                time.sleep(0.5)
                server["threads"] = 3
                self.rewrite(srv, server)
                srv.signal(signal.SIGHUP)
                wait_log(self, srv, r"SIGHUP: listen 127\.0\.0\.1:0, threads "
                         r"3: starting a new worker")
                wait_log(self, srv, r"old worker %d finished draining" % first,
                         timeout=20 * harness.SCALE)
                time.sleep(0.3)
            self.assertEqual(load.failures, [])
            self.assertGreater(load.ok, 50)
            self.assertNotIn("needs a restart", srv.stderr)
            status, _, body = srv.call(None, path="/metrics", method="GET")
            text = body.decode()
            self.assertEqual(len(re.findall(r'rpchost_loop_stalled\{loop=',
                                            text)), 3, text)
            self.assertIn('rpchost_worker_restarts_total{reason="reload"} 1',
                          text)

    def test_listen_change(self):
        server = {"listen": "127.0.0.1:0", "threads": 2,
                  "shutdown_timeout": 1}
        with Server(plugins={"ping": plugin(PING_SO)}, server=server,
                    argv=lambda ini: ["-c", ini]) as srv:
            old_port = srv.port
            new_port = free_port()
            server["listen"] = "127.0.0.1:%d" % new_port
            self.rewrite(srv, server)
            srv.signal(signal.SIGHUP)
            wait_log(self, srv, r"listening on 127\.0\.0\.1:%d" % new_port)
            wait_log(self, srv, r"old worker \d+ finished draining",
                     timeout=20 * harness.SCALE)
            srv.port = new_port
            self.assertEqual(srv.rpc("ping")["result"], "pong")
            # The old socket is closed with its last worker.
            with self.assertRaises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", old_port), 2)

    def test_broken_config_is_left_to_the_worker(self):
        """A SIGHUP whose config does not parse changes nothing: the worker
        reports the error, as before the supervisor."""
        with Server(plugins={"ping": plugin(PING_SO)}) as srv:
            first = srv.worker_pid()
            with open(srv.ini_path, "a") as f:
                f.write("\n[server]\nthreads = many\n")
            srv.signal(signal.SIGHUP)
            wait_log(self, srv, r"reload failed|threads")
            time.sleep(0.3)
            self.assertEqual(srv.worker_pid(), first)
            self.assertEqual(srv.rpc("ping")["result"], "pong")

    def test_pidfile_is_the_supervisors(self):
        tmp = tempfile.TemporaryDirectory(prefix="rpchost-pid-")
        self.addCleanup(tmp.cleanup)
        pidfile = os.path.join(tmp.name, "rpchost.pid")
        with Server(plugins={"ping": plugin(PING_SO)},
                    server={"pidfile": pidfile}) as srv:
            with open(pidfile) as f:
                self.assertEqual(int(f.read()), srv.proc.pid)
            self.assertNotEqual(srv.worker_pid(), srv.proc.pid)
        self.assertFalse(os.path.exists(pidfile))


class StartupSignalTest(unittest.TestCase):
    """Signals that reach a worker while it loads its plugins wait until
    it handles them (it starts with them blocked) instead of killing it."""

    def slow(self):
        return {"ping": plugin(PING_SO),
                "slow": plugin(harness.fixture("slowinit"), init_ms=1500)}

    def test_sighup_and_sigusr1_while_starting(self):
        srv = Server(plugins=self.slow())
        t = threading.Thread(target=srv.start)
        t.start()
        deadline = time.monotonic() + 10
        while ("init started" not in (srv.stderr if srv.proc else "")
               and time.monotonic() < deadline):
            time.sleep(0.02)
        srv.signal(signal.SIGUSR1)
        srv.signal(signal.SIGHUP)
        t.join(30)
        try:
            self.assertEqual(srv.rpc("ping")["result"], "pong")
            wait_log(self, srv, r"reload: generation 2")
            self.assertNotIn("killed by signal", srv.stderr)
        finally:
            srv.stop()

    def test_sigterm_while_starting_is_a_clean_stop(self):
        srv = Server(plugins=self.slow())
        t = threading.Thread(target=lambda: self.assertRaises(
            AssertionError, srv.start))
        t.start()
        deadline = time.monotonic() + 10
        while ((srv.proc is None or "init started" not in srv.stderr)
               and time.monotonic() < deadline):
            time.sleep(0.02)
        srv.signal(signal.SIGTERM)
        self.assertEqual(srv.wait(30), 0, srv.stderr)
        t.join(30)
        srv._kill()


class CrashLoopReloadTest(unittest.TestCase):
    @unittest.skipIf(harness.ASAN or harness.VALGRIND,
                     "the fault fixture kills the worker")
    def test_sighup_with_a_fixed_config_ends_a_crash_loop(self):
        plugins = {"ping": plugin(PING_SO),
                   "fault": plugin(harness.fixture("fault"),
                                   crash_after_ms=300)}
        srv = Server(plugins=plugins).start()
        try:
            wait_log(self, srv, r"the next starts in", timeout=20)
            del plugins["fault"]
            with open(srv.ini_path, "w") as f:
                f.write(harness.ini_text({}, plugins))
            # During a backoff (or a short-lived worker): either way the
            # fixed config serves from now on.
            srv.signal(signal.SIGHUP)
            time.sleep(2.5)
            self.assertEqual(srv.rpc("ping")["result"], "pong")
            n = srv.stderr.count("killed by signal 11")
            time.sleep(1.0)
            self.assertEqual(srv.stderr.count("killed by signal 11"), n,
                             srv.stderr)
        finally:
            srv.signal()
            srv.wait(20)
            srv._kill()


class FailedReplacementTest(unittest.TestCase):
    def test_listen_change_whose_worker_fails_keeps_the_old(self):
        """A SIGHUP moving listen whose new worker fails to start: the old
        worker and socket go on, the new socket is closed, and a later
        SIGHUP back to the old config changes nothing."""
        server = {"listen": "127.0.0.1:0", "threads": 1}
        with Server(plugins={"ping": plugin(PING_SO)}, server=server,
                    argv=lambda ini: ["-c", ini]) as srv:
            first = srv.worker_pid()
            new_port = free_port()
            with open(srv.ini_path, "w") as f:
                f.write(harness.ini_text(
                    dict(server, listen="127.0.0.1:%d" % new_port),
                    {"ping": plugin(PING_SO),
                     "bad": plugin(harness.fixture("initfail"))}))
            srv.signal(signal.SIGHUP)
            wait_log(self, srv, r"the new worker \d+ exited with status 1 "
                     r"before it served; the running worker keeps serving")
            self.assertEqual(srv.worker_pid(), first)
            self.assertEqual(srv.rpc("ping")["result"], "pong")
            with self.assertRaises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", new_port), 2)
            with open(srv.ini_path, "w") as f:
                f.write(harness.ini_text(server, {"ping": plugin(PING_SO)}))
            srv.signal(signal.SIGHUP)
            wait_log(self, srv, r"reload: generation 2")
            self.assertEqual(srv.worker_pid(), first)


@unittest.skipIf(harness.ASAN, "AddressSanitizer reports the abort itself")
@unittest.skipIf(harness.VALGRIND, "valgrind is too slow for the stall timing")
class StallRestartTest(unittest.TestCase):
    def test_stalled_worker_is_replaced(self):
        plugins = {"ping": plugin(PING_SO),
                   "spin": plugin(harness.fixture("spin"))}
        with Server(plugins=plugins, threads=2,
                    server={"stall_timeout": 1, "stall_restart": 2,
                            "shutdown_timeout": 1}) as srv:
            first = srv.worker_pid()

            def spin():
                try:
                    srv.call(harness.call("spin"),
                             conn=srv.connection(timeout=30))
                except Exception:  # noqa: BLE001 - it never answers
                    pass
            threading.Thread(target=spin, daemon=True).start()
            wait_log(self, srv, r"loop \d stalled for")
            # The other loop answers meanwhile.
            self.assertEqual(srv.rpc("ping")["result"], "pong")
            wait_log(self, srv, r"asking the supervisor for a new worker")
            wait_log(self, srv, r"supervisor: worker \d+ serves")
            wait_log(self, srv, r"old worker %d killed by signal 6" % first,
                     timeout=15)
            self.assertRegex(srv.stderr, r"loop \d in method spin \(plugin "
                             r"\[spin\], generation 1\)")
            self.assertNotEqual(srv.worker_pid(), first)
            self.assertEqual(srv.rpc("ping")["result"], "pong")
            status, _, body = srv.call(None, path="/metrics", method="GET")
            self.assertIn('rpchost_worker_restarts_total{reason="stall"} 1',
                          body.decode())


@unittest.skipIf(harness.VALGRIND or harness.ASAN,
                 "the sanitizers report the abort themselves")
class WatchdogAbortTest(unittest.TestCase):
    def test_sigabrt_to_the_supervisor_aborts_the_worker(self):
        """systemd's watchdog sends SIGABRT to the main pid: the core worth
        having is the worker's (its stuck loop), so the supervisor passes
        it on, then exits 134."""
        srv = Server(plugins={"ping": plugin(PING_SO)}).start()
        try:
            worker = srv.worker_pid()
            srv.signal(signal.SIGABRT)
            self.assertEqual(srv.wait(20), 134, srv.stderr)
            self.assertIn("supervisor: worker %d killed by signal 6" % worker,
                          srv.stderr)
        finally:
            srv._kill()


class SocketActivationTest(unittest.TestCase):
    def test_socket_passed_as_fd_3(self):
        """A launcher as systemd: a listening socket as fd 3, LISTEN_FDS=1,
        LISTEN_PID the server's pid, LISTEN_FDNAMES its name."""
        tmp = tempfile.TemporaryDirectory(prefix="rpchost-activation-")
        self.addCleanup(tmp.cleanup)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        port = sock.getsockname()[1]
        ini = os.path.join(tmp.name, "rpc.ini")
        with open(ini, "w") as f:
            f.write(harness.ini_text({"listen": "127.0.0.1:%d" % port,
                                      "threads": 1},
                                     {"ping": plugin(PING_SO)}))
        # systemd's own copy.  Made before rpchost starts: a Python socket
        # object sets its (shared) file description's O_NONBLOCK flag.
        keep = sock.dup()
        # The shell keeps its pid across exec: LISTEN_PID=$$ is rpchost's.
        script = ('exec 3<&%d; export LISTEN_FDS=1 LISTEN_PID=$$ '
                  'LISTEN_FDNAMES=rpc; exec "$@"' % sock.fileno())
        cmd = ["sh", "-c", script, "sh"] + harness.command(
            ["-c", ini], tmp.name)
        proc = subprocess.Popen(cmd, pass_fds=(sock.fileno(),),
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        sock.close()
        try:
            lines = []
            deadline = time.monotonic() + harness.STARTUP_TIMEOUT
            while time.monotonic() < deadline:
                line = proc.stderr.readline().decode()
                if not line:
                    break
                lines.append(line)
                if "listening on" in line:
                    break
            text = "".join(lines)
            self.assertIn("socket activation: 1 socket(s) passed", text)
            self.assertIn("using the passed socket bound to 127.0.0.1:%d"
                          % port, text)
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port,
                                                  timeout=10)
                conn.request("POST", "/", json.dumps(harness.call("ping")),
                             {"Content-Type": "application/json"})
                answer = json.loads(conn.getresponse().read())
                conn.close()
            except OSError as e:
                proc.send_signal(signal.SIGTERM)
                proc.wait(harness.EXIT_TIMEOUT)
                self.fail("%r; stderr:\n%s%s" % (
                    e, text, proc.stderr.read().decode()))
            self.assertEqual(answer["result"], "pong")
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(harness.EXIT_TIMEOUT), 0)
            # systemd's socket is left listening for the next start.
            self.assertEqual(keep.getsockopt(socket.SOL_SOCKET,
                                             socket.SO_ACCEPTCONN), 1)
            keep.close()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()


if __name__ == "__main__":
    unittest.main()
