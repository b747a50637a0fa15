# SPDX-License-Identifier: MIT
"""A plugin that faults kills its worker process, not the service: the
worker's last word names the signal and what every loop was running
(host/fatal.h), the supervisor logs the death with the same details read
from the memory they share, and starts a new worker at once on the same
listening socket (host/supervisor.h), from the last config that loaded."""

import http.client
import re
import threading
import time
import unittest

import harness
from harness import Server, fixture, plugin, PING_SO, wait_log


def wait_for(testcase, what, pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.02)
    testcase.fail("timed out waiting for " + what)


def metric(srv, name):
    status, _, body = srv.call(None, path="/metrics", method="GET")
    m = re.search(r"^%s (\d+)" % re.escape(name), body.decode(), re.M)
    return int(m.group(1)) if m else None


@unittest.skipIf(harness.ASAN, "AddressSanitizer reports faults itself")
@unittest.skipIf(harness.VALGRIND, "valgrind reports faults itself")
class CrashRecoveryTest(unittest.TestCase):
    def crash_with(self, method, signum, name):
        plugins = {"ping": plugin(PING_SO), "fault": plugin(fixture("fault"))}
        with Server(plugins=plugins) as srv:
            self.assertEqual(srv.rpc("ping")["result"], "pong")
            first = srv.worker_pid()
            try:
                srv.call(harness.call(method))
            except OSError:
                pass  # the connection died with the worker
            # The worker's own report (fatal.h) ...
            wait_log(self, srv, r"FATAL killed by signal %d \(%s\)"
                     % (signum, name))
            line = [l for l in srv.stderr.splitlines()
                    if "FATAL killed by" in l][0]
            self.assertRegex(line, r"loop \d: method %s \(plugin \[fault\], "
                             r"generation 1\) for \d+\.\d{3} s" % method)
            self.assertEqual(len(re.findall(r"; loop \d: ", line)), 2, line)
            # ... and the supervisor's, which outlives it.
            wait_log(self, srv, r"supervisor: worker %d killed by signal %d"
                     % (first, signum))
            sup = [l for l in srv.stderr.splitlines()
                   if "supervisor: worker %d killed" % first in l][0]
            self.assertRegex(sup, r"loop \d in method %s \(plugin \[fault\], "
                             r"generation 1\) for \d+\.\d s" % method)
            self.assertIn("starting another", sup)
            # The service is back within a second, on the same port.
            t0 = time.monotonic()
            wait_for(self, "a new worker", lambda: srv.worker_pid() != first,
                     5)
            self.assertEqual(srv.rpc("ping")["result"], "pong")
            self.assertLess(time.monotonic() - t0, 1.0)
            self.assertEqual(metric(srv, 'rpchost_worker_restarts_total'
                                    '{reason="crash"}'), 1)

    def test_segfault(self):
        self.crash_with("segfault", 11, "SIGSEGV")

    def test_abort(self):
        self.crash_with("abort", 6, "SIGABRT")

    def test_crash_under_load(self):
        """Clients keep calling from several threads, each call on a new
        connection; a worker dies: no connection is refused (the socket
        stays open), the only failed calls are those in flight on the dead
        worker (at most one per client), and every client gets answers
        again."""
        plugins = {"ping": plugin(PING_SO), "fault": plugin(fixture("fault"))}
        with Server(plugins=plugins) as srv:
            stop = threading.Event()
            stats = {"ok": 0, "refused": 0, "failed": 0, "after": 0}
            crashed = threading.Event()
            lock = threading.Lock()

            def client():
                while not stop.is_set():
                    try:
                        r = srv.rpc("ping")
                        key = "ok" if r.get("result") == "pong" else "failed"
                    except ConnectionRefusedError:
                        key = "refused"
                    except (OSError, http.client.HTTPException, ValueError):
                        key = "failed"
                    with lock:
                        stats[key] += 1
                        if crashed.is_set() and key == "ok":
                            stats["after"] += 1

            threads = [threading.Thread(target=client) for _ in range(4)]
            for t in threads:
                t.start()
            time.sleep(0.5)
            try:
                srv.call(harness.call("segfault"))
            except OSError:
                pass
            crashed.set()
            wait_log(self, srv, r"supervisor: worker \d+ killed by signal 11")
            time.sleep(1.0)
            stop.set()
            for t in threads:
                t.join(30)
            self.assertEqual(stats["refused"], 0, stats)
            self.assertLessEqual(stats["failed"], len(threads), stats)
            self.assertGreater(stats["after"], 20, stats)

    def test_restart_serves_the_last_config_that_loaded(self):
        """A reload whose plugin init segfaults kills the worker; the new
        one serves the config that loaded before, though the file on disk
        still holds the crashing one."""
        plugins = {"ping": plugin(PING_SO), "fault": plugin(fixture("fault"))}
        with Server(plugins=plugins) as srv:
            plugins["fault"]["crash_in_init"] = True
            with open(srv.ini_path, "w") as f:
                f.write(harness.ini_text({}, plugins))
            srv.signal(harness.signal.SIGHUP)
            wait_log(self, srv, r"FATAL killed by signal 11 \(SIGSEGV\) in "
                     r"the reload thread")
            wait_log(self, srv, r"supervisor: worker \d+ killed by signal 11")
            wait_log(self, srv, r"supervisor: worker \d+ serves")
            self.assertEqual(srv.rpc("ping")["result"], "pong")
            self.assertEqual(metric(srv, 'rpchost_worker_restarts_total'
                                    '{reason="crash"}'), 1)

    def test_crash_loop_backs_off(self):
        """A worker that dies 300 ms after each start: restarted at once
        the first time, then after a backoff that doubles; never given
        up; SIGTERM during a backoff stops at once."""
        plugins = {"ping": plugin(PING_SO),
                   "fault": plugin(fixture("fault"), crash_after_ms=300)}
        srv = Server(plugins=plugins).start()
        try:
            wait_log(self, srv, r"the next starts in 0\.50 s", timeout=20)
            wait_log(self, srv, r"the next starts in 1\.00 s", timeout=20)
            self.assertIn("the next starts in 0.25 s", srv.stderr)
            # Counted in the metrics of a worker that lives long enough.
            def restarts():
                try:
                    n = metric(srv, 'rpchost_worker_restarts_total'
                                    '{reason="crash"}')
                except (OSError, http.client.HTTPException):
                    return False
                return n is not None and n >= 3
            wait_for(self, "rpchost_worker_restarts_total >= 3", restarts, 20)
            srv.signal()
            self.assertIsNotNone(srv.wait(10), srv.stderr)
        finally:
            srv._kill()


if __name__ == "__main__":
    unittest.main()
