# SPDX-License-Identifier: MIT
"""rpchost -s NAME (nginx -s): the server running on a config, found
through its pidfile, signalled: reload and upgrade only after -t's check
passes, nothing when the pidfile is stale; and -q, a quiet -t or -s."""

import os
import subprocess
import time
import unittest

from harness import (PING_SO, SCALE, Server, TempDir, ini_text, plugin,
                     run_cli, wait_stderr)


def error_lines(err):
    return [line for line in err.splitlines() if line.strip()]


class SignalTest(unittest.TestCase):
    def setUp(self):
        self.srv = Server(server={"pidfile": "rpchost.pid"}).start()
        self.pidfile = os.path.join(os.path.dirname(self.srv.ini_path),
                                    "rpchost.pid")

    def tearDown(self):
        self.srv.stop()

    def ctl(self, *args):
        return run_cli(["-c", self.srv.ini_path] + list(args))

    def test_reload_reopen_stop(self):
        rc, out, err = self.ctl("-s", "reload")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, "rpchost: reload: sent SIGHUP to process %d "
                         "(from %s)\n" % (self.srv.proc.pid, self.pidfile))
        self.assertEqual(err, "")
        wait_stderr(self.srv, r"reload: generation 2 serving")
        rc, out, err = self.ctl("-q", "-s", "reopen")
        self.assertEqual((rc, out, err), (0, "", ""))
        wait_stderr(self.srv, r"SIGUSR1: log files reopened")
        rc, out, err = self.ctl("--signal", "stop")
        self.assertEqual(rc, 0, err)
        self.assertIn("sent SIGTERM", out)
        self.assertEqual(self.srv.wait(), 0, self.srv.stderr)
        # Gone with its pidfile: nothing to signal.
        rc, out, err = self.ctl("-s", "reload")
        self.assertEqual(rc, 1)
        self.assertIn("is the server running", err)

    def test_a_config_that_fails_the_check_is_not_signalled(self):
        with open(self.srv.ini_path, "a", encoding="utf-8") as f:
            f.write("\n[broken]\npath = /nonexistent/broken.so\n")
        for action in ("reload", "upgrade"):
            with self.subTest(action=action):
                rc, out, err = self.ctl("-s", action)
                self.assertEqual(rc, 1, err)
                self.assertEqual(out, "")
                self.assertIn("broken.so", err)
                self.assertIn("-s %s: the config failed the check; nothing "
                              "signalled" % action, err)
        time.sleep(0.3 * SCALE)
        self.assertNotIn("reload", self.srv.stderr)
        self.assertNotIn("SIGUSR2", self.srv.stderr)
        # reopen and stop need only the pidfile from the config.
        rc, out, err = self.ctl("-s", "reopen")
        self.assertEqual(rc, 0, err)
        wait_stderr(self.srv, r"SIGUSR1: log files reopened")
        self.assertEqual(self.srv.rpc("ping")["result"], "pong")

    def test_stale_pidfile(self):
        with open(self.pidfile, encoding="ascii") as f:
            real = f.read()
        # A pid that no process has: one reaped just now.
        gone = subprocess.Popen(["true"])
        gone.wait()
        # A pid the system gave to another program.
        other = subprocess.Popen(["sleep", "60"])
        try:
            for pid, why in ((gone.pid, "no process %d" % gone.pid),
                             (other.pid, "process %d is 'sleep', not "
                              % other.pid)):
                with open(self.pidfile, "w", encoding="ascii") as f:
                    f.write("%d\n" % pid)
                for action in ("stop", "reload"):
                    with self.subTest(pid=pid, action=action):
                        rc, out, err = self.ctl("-s", action)
                        self.assertEqual(rc, 1, err)
                        self.assertIn(why, err)
                        self.assertIn("nothing signalled", err)
                        self.assertEqual(out, "")
            self.assertIsNone(other.poll())
            for junk in ("", "abc\n", "1\n", "12 13\n", "-5\n"):
                with self.subTest(junk=junk):
                    with open(self.pidfile, "w", encoding="ascii") as f:
                        f.write(junk)
                    rc, out, err = self.ctl("-s", "stop")
                    self.assertEqual(rc, 1, err)
                    self.assertIn("does not hold a process id", err)
        finally:
            other.kill()
            other.wait()
            with open(self.pidfile, "w", encoding="ascii") as f:
                f.write(real)
        self.assertEqual(self.srv.rpc("ping")["result"], "pong")


class SignalWithoutServerTest(unittest.TestCase):
    def test_no_pidfile_key(self):
        with TempDir() as d:
            path = d.write("t.ini", ini_text({}, {"ping": plugin(PING_SO)}))
            for action in ("reload", "stop", "reopen", "upgrade"):
                with self.subTest(action=action):
                    rc, out, err = run_cli(["-c", path, "-s", action])
                    self.assertEqual(rc, 1, err)
                    self.assertIn("sets no [server] pidfile", err)
                    self.assertEqual(len(error_lines(err)), 1, err)

    def test_usage(self):
        with TempDir() as d:
            path = d.write("t.ini", ini_text({"pidfile": "x.pid"},
                                             {"ping": plugin(PING_SO)}))
            for args in (["-s", "restart"], ["-s", "reload", "-t"],
                         ["-q"], ["-s"]):
                with self.subTest(args=args):
                    rc, out, err = run_cli(["-c", path] + args)
                    self.assertEqual(rc, 2, err)
                    self.assertIn("rpchost", err.splitlines()[0], err)


class QuietTest(unittest.TestCase):
    def test_quiet_test_config(self):
        with TempDir() as d:
            good = d.write("good.ini", ini_text({"listen": "127.0.0.1:0"},
                                                {"ping": plugin(PING_SO)}))
            for args in (["-t", "-q"], ["--test-config", "--quiet"]):
                with self.subTest(args=args):
                    rc, out, err = run_cli(["-c", good] + args)
                    self.assertEqual((rc, out, err), (0, "", ""))
            rc, out, err = run_cli(["-c", good, "-t"])
            self.assertEqual(rc, 0, err)
            self.assertIn("config %s: ok" % good, out)
            bad = d.write("bad.ini", ini_text(
                {}, {"ping": plugin("/nonexistent/ping.so")}))
            rc, out, err = run_cli(["-c", bad, "-t", "-q"])
            self.assertEqual((rc, out), (1, ""))
            self.assertIn("/nonexistent/ping.so", err)
            self.assertEqual(len(error_lines(err)), 1, err)


if __name__ == "__main__":
    unittest.main()
