# SPDX-License-Identifier: MIT
"""SIGHUP reload against the real rpchost: new plugins, removed methods, a
rebuilt .so at the same path, broken configs of every kind (the old set
keeps answering), reloads under concurrent keep-alive load, a deferred call
spanning a reload, and 200 reloads without growth in fds, mappings or
memory."""

import http.client
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from harness import Server, fixture, ini_text, plugin, run_cli, wait_log

SDK_INCLUDE = os.path.join(harness.SRC, "sdk", "include")
CALC_SO = os.path.join(harness.PLUGINS, "calc.so")
SLEEP_SO = os.path.join(harness.PLUGINS, "sleep.so")
SLOWINIT_SO = fixture("slowinit")

VERSION_C = r"""
#include <rpchost/plugin.h>
static const rpchost_api *api;
static int
ver(rpchost_call *c, const cJSON *p, void *s)
{
    (void)p;
    (void)s;
    return api->result(c, cJSON_CreateString(VERSION));
}
static int
init(rpchost_plugin *pl, const rpchost_api *a, void **s)
{
    static const rpchost_method m = {.name = "version", .handler = ver};
    (void)s;
    api = a;
    return api->register_method(pl, &m);
}
RPCHOST_PLUGIN_DEFINE("version", VERSION, init, NULL);
"""


def build_version_plugin(path, version):
    """Compile the version plugin answering `version` into path, replacing
    the file atomically (as an operator should)."""
    d = os.path.dirname(path)
    src = os.path.join(d, "version.c")
    with open(src, "w") as f:
        f.write(VERSION_C)
    tmp = path + ".new"
    subprocess.run(["cc", "-std=c11", "-fPIC", "-shared",
                    "-fvisibility=hidden", "-DVERSION=\"%s\"" % version,
                    "-I" + SDK_INCLUDE, src, "-lcjson", "-o", tmp],
                   check=True, timeout=60)
    os.replace(tmp, path)


def wait_builds_done(testcase, server, timeout=None):
    """Wait until every build started has ended (served or failed), twice
    in a row 0.2 s apart: a build coalesced from SIGHUPs starts right
    after the previous one ends."""
    deadline = time.monotonic() + (timeout or 30 * harness.SCALE)
    quiet = 0
    while time.monotonic() < deadline:
        err = server.stderr
        started = len(re.findall(r": reloading ", err))
        ended = len(re.findall(r"reload: generation \d+ serving|"
                               r"reload failed", err))
        quiet = quiet + 1 if started == ended else 0
        if quiet == 2:
            return
        time.sleep(0.2)
    testcase.fail("builds still running; stderr:\n%s" % server.stderr)


class ReloadTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="rpchost-reload-")
        self.addCleanup(self.tmp.cleanup)

    def rewrite(self, server, plugins, server_keys=None):
        with open(server.ini_path, "w") as f:
            f.write(ini_text(server_keys or {}, plugins))

    def reload(self, server, n, ok=True):
        """SIGHUP and wait for the n-th reload outcome line."""
        server.signal(signal.SIGHUP)
        wait_log(self, server, r"reload: generation|reload failed", n)
        last = [l for l in server.stderr.splitlines()
                if "reload: generation" in l or "reload failed" in l][-1]
        if ok:
            self.assertIn("reload: generation", last)
        else:
            self.assertIn("reload failed", last)
        return last

    def test_add_remove_and_swap(self):
        vso = os.path.join(self.tmp.name, "version.so")
        build_version_plugin(vso, "one")
        plugins = {"ping": plugin(harness.PING_SO), "version": plugin(vso)}
        with Server(plugins=plugins) as s:
            self.assertEqual(s.rpc("version")["result"], "one")
            self.assertEqual(s.rpc("add", [1, 2])["error"]["code"], -32601)

            # Add a plugin.
            plugins["calc"] = plugin(CALC_SO)
            self.rewrite(s, plugins)
            line = self.reload(s, 1)
            self.assertIn("generation 2", line)
            self.assertIn("+add", line)
            self.assertEqual(s.rpc("add", [1, 2])["result"], 3)

            # Remove a method (the whole ping plugin).
            del plugins["ping"]
            self.rewrite(s, plugins)
            line = self.reload(s, 2)
            self.assertIn("-ping", line)
            self.assertEqual(s.rpc("ping")["error"]["code"], -32601)
            self.assertEqual(s.rpc("add", [2, 2])["result"], 4)

            # A rebuilt .so at the same path runs its new code.
            build_version_plugin(vso, "two")
            self.reload(s, 3)
            self.assertEqual(s.rpc("version")["result"], "two")

            # rpc.discover reflects the current set.
            doc = s.rpc("rpc.discover")["result"]
            names = {m["name"] for m in doc["methods"]}
            self.assertEqual(names, {"version", "add", "subtract", "divide",
                                     "sum"})
            wait_log(self, s, r"generation 1 finalised")
            wait_log(self, s, r"generation 2 finalised")

    def test_broken_configs_keep_old_generation(self):
        plugins = {"ping": plugin(harness.PING_SO)}
        bad = [
            ("syntax", "[server]\nthis is not ini\n", "syntax error"),
            ("unknown key", "[server]\nbogus = 1\n", "unknown key 'bogus'"),
            ("bad value", "[server]\nmax_batch = 0\n", "max_batch"),
            ("missing file", ini_text({}, {"x": plugin("/nonexistent.so")}),
             "cannot open plugin"),
            ("abi", ini_text({}, {"n": plugin(fixture("newabi"))}),
             "ABI 2"),
            ("init", ini_text({}, {"i": plugin(fixture("initfail"))}),
             "cannot reach database"),
            ("duplicate", ini_text({}, {"ping": plugin(harness.PING_SO),
                                        "dup": plugin(fixture("dup"))}),
             "already registered"),
        ]
        with Server(plugins=plugins) as s:
            n = 0
            for what, text, reason in bad:
                with self.subTest(what=what):
                    with open(s.ini_path, "w") as f:
                        f.write(text)
                    # rpchost -t predicts the failure.
                    rc, _, err = run_cli(["-t", "-c", s.ini_path])
                    self.assertEqual(rc, 1, err)
                    n += 1
                    line = self.reload(s, n, ok=False)
                    self.assertIn(reason, line)
                    self.assertIn("generation 1 keeps serving", line)
                    self.assertEqual(s.rpc("ping")["result"], "pong")
            # A good config after all that still reloads.
            self.rewrite(s, {"ping": plugin(harness.PING_SO),
                             "calc": plugin(CALC_SO)})
            rc, out, err = run_cli(["-t", "-c", s.ini_path])
            self.assertEqual(rc, 0, err)
            n += 1
            self.assertIn("generation 2", self.reload(s, n))
            self.assertEqual(s.rpc("add", [20, 22])["result"], 42)

    def test_truncated_plugin_keeps_old_generation(self):
        """A plugin file caught half-written (cut at 8 KiB, as cp leaves it
        for a moment) is refused by name; the old generation keeps
        serving; once the file is whole a later SIGHUP works."""
        so = os.path.join(self.tmp.name, "calc.so")
        with open(CALC_SO, "rb") as f:
            whole = f.read()
        with open(so, "wb") as f:
            f.write(whole)
        with Server(plugins={"calc": plugin(so)}) as s:
            self.assertEqual(s.rpc("add", [1, 2])["result"], 3)
            for n, cut in enumerate((8192, 0, 64), 1):
                with open(so, "r+b") as f:  # in place, like cp
                    f.truncate(0)
                    f.write(whole[:cut])
                line = self.reload(s, n, ok=False)
                self.assertIn("[calc] path = %s: " % so, line)
                self.assertIn("generation 1 keeps serving", line)
                self.assertEqual(s.rpc("add", [2, 3])["result"], 5)
            with open(so, "r+b") as f:
                f.write(whole)
            self.assertIn("generation 2 serving", self.reload(s, 4))
            self.assertEqual(s.rpc("add", [20, 22])["result"], 42)
            wait_log(self, s, r"generation 1 finalised")

    def test_writable_plugin_warned_at_each_reload(self):
        """A plugin file others may write is named in a warning at startup
        and again at every reload (the file may have changed in between);
        it keeps loading."""
        so = os.path.join(self.tmp.name, "calc.so")
        with open(CALC_SO, "rb") as src, open(so, "wb") as dst:
            dst.write(src.read())
        os.chmod(so, 0o666)
        warning = r"WARN .*plugin \[calc\] %s: .*writable by" % re.escape(so)
        with Server(plugins={"calc": plugin(so)}) as s:
            wait_log(self, s, warning, 1)
            self.reload(s, 1)
            wait_log(self, s, warning, 2)
            os.chmod(so, 0o644)
            self.reload(s, 2)
            self.assertEqual(len(re.findall(warning, s.stderr)), 2,
                             s.stderr)
            self.assertEqual(s.rpc("add", [1, 1])["result"], 2)

    def test_live_settings_and_restart_only_settings(self):
        # No -l/-j here: those would override the file's listen/threads.
        with Server(plugins={"ping": plugin(harness.PING_SO)},
                    server={"listen": "127.0.0.1:0", "threads": 2},
                    argv=lambda ini: ["-c", ini]) as s:
            self.rewrite(s, {"ping": plugin(harness.PING_SO)},
                         {"endpoint": "/rpc", "max_batch": 2,
                          "listen": "127.0.0.1:0", "threads": 2,
                          "pidfile": os.path.join(self.tmp.name, "x.pid")})
            self.reload(s, 1)
            # (listen and threads changes start a new worker instead:
            # test_supervisor.)
            self.assertIn("pidfile change needs a restart", s.stderr)
            status, _, _ = s.call({"jsonrpc": "2.0", "method": "ping",
                                   "id": 1})
            self.assertEqual(status, 404)
            status, _, body = s.call({"jsonrpc": "2.0", "method": "ping",
                                      "id": 1}, path="/rpc")
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["result"], "pong")
            batch = [{"jsonrpc": "2.0", "method": "ping", "id": i}
                     for i in range(3)]
            status, _, body = s.call(batch, path="/rpc")
            self.assertEqual(json.loads(body)["error"]["code"], -32600)

    def test_pidfile(self):
        pidfile = os.path.join(self.tmp.name, "rpchost.pid")
        with Server(plugins={"ping": plugin(harness.PING_SO)},
                    server={"pidfile": pidfile}) as s:
            with open(pidfile) as f:
                pid = int(f.read().strip())
            self.assertEqual(pid, s.proc.pid)
            os.kill(pid, signal.SIGHUP)
            wait_log(self, s, r"reload: generation 2")
        self.assertFalse(os.path.exists(pidfile))

    @unittest.skipIf(harness.VALGRIND, "valgrind is slower than call_timeout")
    def test_deferred_call_spans_reload(self):
        plugins = {"ping": plugin(harness.PING_SO),
                   "sleep": plugin(SLEEP_SO)}
        with Server(plugins=plugins) as s:
            result = {}

            def slow():
                result["answer"] = s.rpc("sleep", [800 * harness.SCALE], id=7)

            t = threading.Thread(target=slow)
            t.start()
            time.sleep(0.2)
            # Remove the sleep plugin while its call is pending.
            self.rewrite(s, {"ping": plugin(harness.PING_SO)})
            self.reload(s, 1)
            self.assertEqual(s.rpc("sleep", [1])["error"]["code"], -32601)
            self.assertNotIn("generation 1 finalised", s.stderr)
            t.join(30)
            self.assertEqual(result["answer"],
                             {"jsonrpc": "2.0", "result": 800 * harness.SCALE,
                              "id": 7})
            # Only now may the old generation go.
            wait_log(self, s, r"generation 1 finalised")

    def test_reloads_under_load(self):
        """50 SIGHUPs at 10 per second while 4 keep-alive clients call
        ping and add: not one failed or wrong answer."""
        vso = os.path.join(self.tmp.name, "version.so")
        build_version_plugin(vso, "v")
        plugins = {"ping": plugin(harness.PING_SO), "calc": plugin(CALC_SO),
                   "version": plugin(vso)}
        with Server(plugins=plugins) as s:
            stop = threading.Event()
            errors = []
            counts = []

            def client(k):
                conn = s.connection()
                n = 0
                try:
                    while not stop.is_set() and n < 100000:
                        body = json.dumps([
                            {"jsonrpc": "2.0", "method": "ping", "id": n},
                            {"jsonrpc": "2.0", "method": "add",
                             "params": [n, k], "id": "a%d" % n}])
                        conn.request("POST", "/", body=body, headers={
                            "Content-Type": "application/json"})
                        resp = conn.getresponse()
                        data = resp.read()
                        answers = {a["id"]: a for a in json.loads(data)}
                        if (resp.status != 200
                                or answers[n].get("result") != "pong"
                                or answers["a%d" % n].get("result") != n + k):
                            errors.append((resp.status, data))
                        n += 1
                except Exception as e:  # any failure counts
                    errors.append(repr(e))
                finally:
                    conn.close()
                    counts.append(n)

            threads = [threading.Thread(target=client, args=(k,))
                       for k in range(4)]
            for t in threads:
                t.start()
            for i in range(50):
                s.signal(signal.SIGHUP)
                time.sleep(0.1)
            # Each SIGHUP starts a build or, when one runs (builds slower
            # than 100 ms: valgrind), coalesces into one more after it;
            # SIGHUPs that reach the supervisor faster than it forwards
            # them (valgrind again) merge into one, as any process's do.
            wait_log(self, s, r"SIGHUP: (reloading|generation \d+ is still)",
                     5, timeout=30 * harness.SCALE)
            wait_builds_done(self, s)
            stop.set()
            for t in threads:
                t.join(30)
            self.assertEqual(errors, [])
            self.assertGreater(sum(counts), 100)
            self.assertNotIn("reload failed", s.stderr)

    @unittest.skipIf(harness.VALGRIND, "valgrind's own memory grows")
    def test_no_growth_over_200_reloads(self):
        vso = os.path.join(self.tmp.name, "version.so")
        build_version_plugin(vso, "v")
        plugins = {"ping": plugin(harness.PING_SO), "calc": plugin(CALC_SO),
                   "version": plugin(vso)}

        def usage(pid):
            fds = len(os.listdir("/proc/%d/fd" % pid))
            with open("/proc/%d/maps" % pid) as f:
                maps = sum(1 for _ in f)
            with open("/proc/%d/status" % pid) as f:
                rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
            return fds, maps, rss

        with Server(plugins=plugins) as s:
            done = 0

            def reloads(n):
                nonlocal done
                for _ in range(n):
                    s.signal(signal.SIGHUP)
                    done += 1
                    wait_log(self, s, r"generation \d+ finalised", done)
                self.assertEqual(s.rpc("ping")["result"], "pong")

            reloads(50)
            before = usage(s.worker_pid())
            reloads(150)
            after = usage(s.worker_pid())
            # A client connection may be open or not at either moment; a
            # leak would show as one fd (or mapping) per reload: +150.
            self.assertLessEqual(after[0], before[0] + 2,
                                 "open fds grew: %r -> %r" % (before, after))
            if harness.ASAN:
                return  # ASan's allocator maps and keeps memory by design
            self.assertLessEqual(after[1], before[1] + 2,
                                 "mappings grew: %r -> %r" % (before, after))
            # RSS may wobble with the allocator; a leak of even 1 KiB per
            # reload would add 150 KiB.
            self.assertLess(after[2] - before[2], 150,
                            "RSS grew from %d to %d KiB" % (before[2],
                                                           after[2]))


@unittest.skipIf(harness.VALGRIND, "the init windows are timed for native "
                 "and sanitizer builds")
class SlowInitReloadTest(unittest.TestCase):
    """A reload whose plugin init is slow runs on the reload thread: the
    main thread keeps handling signals, the old generation keeps serving,
    and SIGHUPs received meanwhile coalesce into one more reload."""

    INIT_MS = int(1500 * harness.SCALE)

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="rpchost-reload-")
        self.addCleanup(self.tmp.cleanup)

    def test_old_generation_and_sigusr1_during_a_slow_init(self):
        access = os.path.join(self.tmp.name, "access.log")
        keys = {"access_log": access}
        plugins = {"ping": plugin(harness.PING_SO)}
        with Server(plugins=plugins, server=keys) as s:
            plugins["slow"] = plugin(SLOWINIT_SO, init_ms=self.INIT_MS)
            with open(s.ini_path, "w") as f:
                f.write(ini_text(keys, plugins))
            s.signal(signal.SIGHUP)
            wait_log(self, s, r"\[slow\] init started")
            # The old generation answers while the new one is built.
            for i in range(20):
                self.assertEqual(s.rpc("ping", id=i)["result"], "pong")
            self.assertEqual(s.rpc("slowinit")["error"]["code"], -32601)
            # SIGUSR1 is handled too: the rotated access log is reopened.
            os.rename(access, access + ".1")
            s.signal(signal.SIGUSR1)
            wait_log(self, s, r"SIGUSR1: log files reopened")
            self.assertEqual(s.rpc("ping", id=99)["result"], "pong")
            def logged():
                if not os.path.exists(access):
                    return ""
                with open(access) as f:
                    return f.read()

            deadline = time.monotonic() + 5 * harness.SCALE
            while "POST /" not in logged() and time.monotonic() < deadline:
                time.sleep(0.02)
            self.assertIn("POST /", logged())
            # All of that happened while init was still sleeping.
            self.assertNotIn("[slow] init done", s.stderr)
            self.assertNotIn("reload: generation 2", s.stderr)
            # Then the new generation serves.
            wait_log(self, s, r"reload: generation 2 serving",
                     timeout=self.INIT_MS / 1000.0 + 10 * harness.SCALE)
            self.assertEqual(s.rpc("slowinit")["result"], self.INIT_MS)
            self.assertEqual(s.rpc("ping")["result"], "pong")

    def test_sighups_during_a_build_coalesce_into_one(self):
        plugins = {"ping": plugin(harness.PING_SO)}
        with Server(plugins=plugins) as s:
            plugins["slow"] = plugin(SLOWINIT_SO, init_ms=self.INIT_MS)
            self.rewrite(s, plugins)
            s.signal(signal.SIGHUP)
            wait_log(self, s, r"\[slow\] init started")
            # Three more while that init sleeps.
            for _ in range(3):
                s.signal(signal.SIGHUP)
                time.sleep(0.05)
            wait_log(self, s, r"SIGHUP: .*follows", 3)
            self.assertNotIn("[slow] init done", s.stderr)
            # The running build, then exactly one more.
            wait_log(self, s, r"reload: generation 3 serving",
                     timeout=2 * self.INIT_MS / 1000.0 + 10 * harness.SCALE)
            time.sleep(0.5)  # a third build would have started by now
            err = s.stderr
            self.assertEqual(err.count("[slow] init started"), 2, err)
            self.assertEqual(len(re.findall(r"reload: generation \d+ serving",
                                            err)), 2, err)
            self.assertNotIn("generation 4", err)
            self.assertEqual(s.rpc("slowinit")["result"], self.INIT_MS)
            status, _, body = s.call(None, path="/metrics", method="GET")
            self.assertEqual(status, 200, body)
            m = harness.metrics_of(body.decode())
            self.assertEqual(m["rpchost_reloads_total"], 2, body)
            self.assertEqual(m["rpchost_generation"], 3, body)

    def rewrite(self, server, plugins):
        with open(server.ini_path, "w") as f:
            f.write(ini_text({}, plugins))


if __name__ == "__main__":
    unittest.main()
