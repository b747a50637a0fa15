"""A plugin that faults ends the process as before (the same signal, for
systemd or a supervisor to see), but not silently: one line says the
signal and what every loop was running - method, plugin, generation, for
how long (host/fatal.h)."""

import re
import unittest

import harness
from harness import Server, fixture, plugin, PING_SO


@unittest.skipIf(harness.ASAN, "AddressSanitizer reports faults itself")
@unittest.skipIf(harness.VALGRIND, "valgrind reports faults itself")
class FatalSignalTest(unittest.TestCase):
    def die_of(self, method, signum, name):
        plugins = {"ping": plugin(PING_SO), "fault": plugin(fixture("fault"))}
        srv = Server(plugins=plugins).start()
        try:
            self.assertEqual(srv.rpc("ping")["result"], "pong")
            try:
                srv.call(harness.call(method))
            except OSError:
                pass  # the connection died with the process
            rc = srv.wait()
            self.assertEqual(rc, -signum, srv.stderr)
            lines = [l for l in srv.stderr.splitlines() if "killed by" in l]
            self.assertEqual(len(lines), 1, srv.stderr)
            line = lines[0]
            self.assertIn("FATAL killed by signal %d (%s) in loop "
                          % (signum, name), line)
            self.assertRegex(line, r"loop \d: method %s \(plugin \[fault\], "
                             r"generation 1\) for \d+\.\d{3} s" % method)
            # Every loop is accounted for.
            self.assertEqual(len(re.findall(r"; loop \d: ", line)), 2, line)
        finally:
            srv._kill()

    def test_segfault_in_a_reloads_init(self):
        plugins = {"ping": plugin(PING_SO), "fault": plugin(fixture("fault"))}
        srv = Server(plugins=plugins).start()
        try:
            plugins["fault"]["crash_in_init"] = True
            with open(srv.ini_path, "w") as f:
                f.write(harness.ini_text({}, plugins))
            srv.signal(harness.signal.SIGHUP)
            rc = srv.wait()
            self.assertEqual(rc, -11, srv.stderr)
            lines = [l for l in srv.stderr.splitlines() if "killed by" in l]
            self.assertEqual(len(lines), 1, srv.stderr)
            self.assertIn("(SIGSEGV) in the reload thread", lines[0])
        finally:
            srv._kill()

    def test_segfault(self):
        self.die_of("segfault", 11, "SIGSEGV")

    def test_abort(self):
        self.die_of("abort", 6, "SIGABRT")


if __name__ == "__main__":
    unittest.main()
