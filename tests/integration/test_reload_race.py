# SPDX-License-Identifier: MIT
"""SIGHUP racing a non-atomic rewrite of a plugin file, under load.

One thread rewrites calc.so in place over and over the way cp does
(truncate, then write in chunks) and the way install does (unlink, create,
write in chunks); the main thread sends 1,000 SIGHUPs, each one after the
previous reload's outcome was logged, so every one is a real reload that
may catch the file half-written; client threads call `add` on keep-alive
connections all along.  rpchost must never die (a truncated file mapped by
dlopen is SIGBUS), no call may fail, every refused reload names the file
and keeps the old generation serving, and once the rewriting stops a last
SIGHUP with the whole file succeeds.  Bounded: 1,000 reloads, 127.0.0.1
only, about 10 s plain (30 s under ASan).
"""

import json
import os
import re
import signal
import tempfile
import threading
import time
import unittest

import harness
from harness import Server, plugin

CALC_SO = os.path.join(harness.PLUGINS, "calc.so")
HUPS = 1000
CLIENTS = 3
CHUNK = 4096  # bytes per write(); calc.so is about 25 KiB
OUTCOME_RE = re.compile(r"reload: generation \d+ serving|reload failed")


def outcomes(server):
    """The reload outcome lines logged so far, in order."""
    return [l for l in server.stderr.splitlines() if OUTCOME_RE.search(l)]


def outcome_count(server):
    """How many reload outcomes were logged so far (cheap: polled)."""
    text = server.stderr
    return text.count("reload: generation") + text.count("reload failed")


class ReloadRaceTest(unittest.TestCase):

    def hup_and_wait(self, server, count, before=0):
        """Send `count` SIGHUPs, each after the previous one's outcome was
        logged (`before` outcomes were logged already); fail at once if
        rpchost dies."""
        wait = 10 * harness.SCALE
        for i in range(before + 1, before + count + 1):
            server.signal(signal.SIGHUP)
            deadline = time.monotonic() + wait
            while outcome_count(server) < i:
                rc = server.proc.poll()
                if rc is not None:
                    self.fail("rpchost died at SIGHUP %d, exit status %d "
                              "(-7: SIGBUS); stderr tail:\n%s"
                              % (i, rc, server.stderr[-3000:]))
                if time.monotonic() > deadline:
                    self.fail("no outcome of SIGHUP %d within %.0f s"
                              % (i, wait))
                time.sleep(0.0005)

    @unittest.skipIf(harness.VALGRIND, "1,000 reloads are too slow under "
                     "valgrind")
    def test_hups_racing_a_rewrite_under_load(self):
        tmp = tempfile.TemporaryDirectory(prefix="rpchost-race-")
        self.addCleanup(tmp.cleanup)
        so = os.path.join(tmp.name, "calc.so")
        with open(CALC_SO, "rb") as f:
            whole = f.read()
        with open(so, "wb") as f:
            f.write(whole)

        with Server(plugins={"calc": plugin(so)}) as s:
            stop = threading.Event()  # the clients
            stop_rewriting = threading.Event()
            errors = []
            calls = [0] * CLIENTS
            rewrites = {"cp": 0, "install": 0}

            def client(k):
                conn = s.connection()
                n = 0
                try:
                    while not stop.is_set():
                        conn.request("POST", "/", body=json.dumps(
                            {"jsonrpc": "2.0", "method": "add",
                             "params": [n, k], "id": n}), headers={
                                 "Content-Type": "application/json"})
                        resp = conn.getresponse()
                        data = resp.read()
                        if (resp.status != 200 or json.loads(data) !=
                                {"jsonrpc": "2.0", "result": n + k, "id": n}):
                            errors.append((resp.status, data))
                        n += 1
                except Exception as e:  # a dead server, a reset: all count
                    errors.append(repr(e))
                finally:
                    conn.close()
                    calls[k] = n

            def write_chunks(fd):
                for off in range(0, len(whole), CHUNK):
                    os.write(fd, whole[off:off + CHUNK])
                    time.sleep(0.0002)

            def rewriter():
                # Every pass ends with the whole file in place, so the file
                # is whole once this thread has stopped.
                while not stop_rewriting.is_set():
                    if rewrites["cp"] <= rewrites["install"]:
                        fd = os.open(so, os.O_WRONLY | os.O_TRUNC)
                        rewrites["cp"] += 1
                    else:
                        os.unlink(so)
                        fd = os.open(so, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                                     0o644)
                        rewrites["install"] += 1
                    try:
                        write_chunks(fd)
                    finally:
                        os.close(fd)
                    time.sleep(0.001)  # whole for a moment

            writer = threading.Thread(target=rewriter)
            threads = [threading.Thread(target=client, args=(k,))
                       for k in range(CLIENTS)]
            for t in threads + [writer]:
                t.start()
            try:
                self.hup_and_wait(s, HUPS)
                stop_rewriting.set()
                writer.join(30)
                # The file is whole again: one more reload must succeed.
                self.hup_and_wait(s, 1, HUPS)
                self.assertRegex(outcomes(s)[-1],
                                 r"reload: generation \d+ serving")
                self.assertEqual(s.rpc("add", [20, 22])["result"], 42)
            finally:
                stop_rewriting.set()
                stop.set()
                for t in threads + [writer]:
                    t.join(30)

            lines = outcomes(s)
            refused = [l for l in lines if "reload failed" in l]
            self.assertEqual(errors, [])
            self.assertGreater(min(calls), 10)  # load all along
            # The race was real: some reloads caught the file half-written;
            # each refusal names the file and keeps a generation serving.
            self.assertGreater(len(refused), 0)
            for line in refused:
                self.assertIn("[calc] path = %s: " % so, line)
                self.assertRegex(line, r"generation \d+ keeps serving")
            reasons = {}
            for line in refused:
                why = line.split("[calc] path = %s: " % so, 1)[1]
                why = re.sub(r"\d+", "N", why.split(";")[0].split(":")[0])
                reasons[why] = reasons.get(why, 0) + 1
            print("%d reloads: %d served, %d refused; %d cp and %d install "
                  "rewrites; %d calls; refused for: %s"
                  % (len(lines), len(lines) - len(refused), len(refused),
                     rewrites["cp"], rewrites["install"], sum(calls),
                     reasons))


if __name__ == "__main__":
    unittest.main()
