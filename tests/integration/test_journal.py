# SPDX-License-Identifier: MIT
"""Log lines for the journal: when stderr is the stream systemd named in
$JOURNAL_STREAM (DEV:INODE), each line is "<N>text" (N the syslog
priority) without a timestamp; otherwise lines are as always."""

import os
import re
import signal
import time
import unittest

import harness
from harness import Server, TempDir, ini_text, plugin, wait_stderr

STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
                     r"(ERROR|WARN |INFO |DEBUG) ")
PREFIXED = re.compile(r"^<([3467])>(?!\d{4}-)")


def journal_is_stderr():
    """In the child, once its stderr is the harness's pipe: name that pipe
    in JOURNAL_STREAM, as systemd names the journal's socket."""
    st = os.fstat(2)
    os.environ["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)


def journal_is_elsewhere():
    st = os.fstat(2)
    os.environ["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino + 1)


class JournalTest(unittest.TestCase):
    def test_priority_prefixes(self):
        srv = Server(preexec=journal_is_stderr, extra_args=["-v"]).start()
        try:
            self.assertEqual(srv.rpc("ping")["result"], "pong")
            plugins = harness.default_plugins()
            plugins["gone"] = plugin("/nonexistent/gone.so")
            with open(srv.ini_path, "w") as f:
                f.write(ini_text({}, plugins))
            srv.signal(signal.SIGHUP)
            wait_stderr(srv, r"^<3>reload failed")
        finally:
            srv.stop()
        lines = srv.stderr.splitlines()
        prios = set()
        for line in lines:
            m = PREFIXED.match(line)
            self.assertIsNotNone(m, "line without a priority prefix (or "
                                 "with a timestamp): %r" % line)
            prios.add(m.group(1))
        self.assertRegex(srv.stderr, r"(?m)^<6>listening on 127\.0\.0\.1:")
        self.assertRegex(srv.stderr, r"(?m)^<6>stopped$")
        self.assertEqual(prios, {"3", "6", "7"}, srv.stderr)

    def test_other_stream_keeps_timestamps(self):
        for preexec in (journal_is_elsewhere, None):
            with self.subTest(journal=preexec):
                env = None if preexec else {"JOURNAL_STREAM": "junk"}
                srv = Server(preexec=preexec, env=env).start()
                try:
                    self.assertEqual(srv.rpc("ping")["result"], "pong")
                finally:
                    srv.stop()
                for line in srv.stderr.splitlines():
                    self.assertRegex(line, STAMPED)

    def test_log_file_is_not_the_journal(self):
        """log_file takes every line from the first, with timestamps
        (lines before it is opened, a config's own errors, would go to the
        journal with prefixes: there are none here)."""
        with TempDir() as d:
            path = os.path.join(d.path, "rpchost.log")
            srv = Server(preexec=journal_is_stderr,
                         server={"log_file": path}).start()
            try:
                self.assertEqual(srv.rpc("ping")["result"], "pong")
            finally:
                srv.stop()
            self.assertEqual(srv.stderr, "")
            with open(path, encoding="utf-8") as f:
                text = f.read()
            self.assertIn("listening on", text)
            self.assertIn("stopped", text)
            for line in text.splitlines():
                self.assertRegex(line, STAMPED)


if __name__ == "__main__":
    unittest.main()
