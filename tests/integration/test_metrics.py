# SPDX-License-Identifier: MIT
"""/metrics beyond rpchost's own counters (issue #12): rpchost_build_info,
the process_* series of the Prometheus client conventions, latency buckets
that reach past call_timeout, and the whole exposition as promtool checks
it."""

import os
import re
import shutil
import subprocess
import time
import unittest

import harness
from harness import call, metrics_of, serve
from test_hardening import PING, exchange, get_metrics, read_response, wait_for

S = harness.SCALE

# Upper bounds of rpchost_rpc_call_duration_seconds, in order.
HISTOGRAM_LE = ["5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025",
                "0.005", "0.01", "0.05", "0.25", "1", "2.5", "5", "10", "30",
                "60", "+Inf"]


def scrape(srv, sock=None):
    """The text of GET /metrics (asserting 200)."""
    status, _, body = exchange(srv, "GET", "/metrics", sock=sock)
    if status != 200:
        raise AssertionError("GET /metrics: %d %r" % (status, body))
    return body.decode("utf-8")


class BuildInfoTest(unittest.TestCase):
    def test_build_info_is_the_version_printed(self):
        rc, out, err = harness.run_cli(["--version"])
        self.assertEqual(rc, 0, err)
        found = re.match(r"rpchost (\S+) \(plugin ABI (\d+),", out)
        self.assertIsNotNone(found, out)
        version, abi = found.groups()
        with serve() as srv:
            text = scrape(srv)
        self.assertIn("# TYPE rpchost_build_info gauge\n", text)
        self.assertIn("# HELP rpchost_build_info ", text)
        samples = [l for l in text.splitlines()
                   if l.startswith("rpchost_build_info")]
        self.assertEqual(samples, ['rpchost_build_info{version="%s",abi="%s"}'
                                   ' 1' % (version, abi)])


class ProcessSeriesTest(unittest.TestCase):
    def test_process_series_sane(self):
        before = time.time()
        with serve(nofile=512) as srv:
            text = scrape(srv)
            for name, kind in (("process_cpu_seconds_total", "counter"),
                               ("process_resident_memory_bytes", "gauge"),
                               ("process_virtual_memory_bytes", "gauge"),
                               ("process_open_fds", "gauge"),
                               ("process_max_fds", "gauge"),
                               ("process_start_time_seconds", "gauge")):
                self.assertIn("# TYPE %s %s\n" % (name, kind), text)
                self.assertIn("# HELP %s " % name, text)
            m = metrics_of(text)
            self.assertGreater(m["process_resident_memory_bytes"], 0)
            self.assertGreaterEqual(m["process_virtual_memory_bytes"],
                                    m["process_resident_memory_bytes"])
            self.assertEqual(m["process_max_fds"], 512)
            # stdio, the listening socket, the loops' descriptors, this one.
            self.assertGreaterEqual(m["process_open_fds"], 5)
            self.assertLessEqual(m["process_open_fds"], 512)
            self.assertGreaterEqual(m["process_cpu_seconds_total"], 0)
            # One start time under both names, whole seconds since the epoch.
            self.assertEqual(m["process_start_time_seconds"],
                             m["rpchost_start_time_seconds"])
            self.assertGreaterEqual(m["process_start_time_seconds"],
                                    int(before) - 1)
            self.assertLessEqual(m["process_start_time_seconds"],
                                 time.time() + 1)
            # CPU time does not go back as calls run.
            for i in range(200):
                self.assertEqual(srv.rpc("ping", id=i)["result"], "pong")
            m2 = get_metrics(srv)
            self.assertGreaterEqual(m2["process_cpu_seconds_total"],
                                    m["process_cpu_seconds_total"])

    def test_open_fds_follow_connections(self):
        extra = 8
        with serve(threads=1) as srv:
            ka = srv.raw_socket(timeout=10 * S)
            socks = []
            try:
                # Only this keep-alive connection open (the harness's own
                # probes closed and swept out).
                self.assertTrue(wait_for(
                    lambda: metrics_of(scrape(srv, ka))[
                        "rpchost_connections"] == 1, 5 * S))
                fds0 = metrics_of(scrape(srv, ka))["process_open_fds"]
                for _ in range(extra):
                    s = srv.raw_socket(timeout=10 * S)
                    socks.append(s)
                    s.sendall(harness.post_request(PING))
                    self.assertEqual(read_response(s.makefile("rb"))[0], 200)
                fds1 = metrics_of(scrape(srv, ka))["process_open_fds"]
                self.assertGreaterEqual(fds1, fds0 + extra)
                for s in socks:
                    s.close()
                socks = []
                # Closed connections give their descriptors back.
                self.assertTrue(wait_for(
                    lambda: metrics_of(scrape(srv, ka))[
                        "process_open_fds"] <= fds0, 5 * S),
                    scrape(srv, ka))
            finally:
                for s in socks:
                    s.close()
                ka.close()


class LatencyBucketsTest(unittest.TestCase):
    def test_buckets_reach_past_call_timeout(self):
        with serve() as srv:
            self.assertEqual(srv.rpc("sleep", [1200])["result"], 1200)
            m = get_metrics(srv)
        key = 'rpchost_rpc_call_duration_seconds_bucket{method="sleep",le="%s"}'
        buckets = [m[key % le] for le in HISTOGRAM_LE]
        self.assertEqual(buckets, sorted(buckets), "buckets not cumulative")
        # 1.2 s: past the old last bucket (1 s), inside 2.5 s.
        self.assertEqual(m[key % "1"], 0)
        self.assertEqual(m[key % "2.5"], 1)
        self.assertEqual(m[key % "+Inf"], 1)
        # Exactly these bounds: none missing, none extra.
        les = sorted(set(re.findall(
            r'rpchost_rpc_call_duration_seconds_bucket\{method="sleep",'
            r'le="([^"]+)"\}', "\n".join(m))), key=HISTOGRAM_LE.index)
        self.assertEqual(les, HISTOGRAM_LE)

    def test_timed_out_call_in_its_bucket(self):
        # A call cut off by call_timeout (1 s) lands in the 2.5 s bucket.
        with serve(server={"call_timeout": 1}) as srv:
            harness.error_of(self, srv.rpc("sleep", [3000]), -32001)
            m = get_metrics(srv)
        key = 'rpchost_rpc_call_duration_seconds_bucket{method="sleep",le="%s"}'
        self.assertEqual(m[key % "0.25"], 0)
        self.assertEqual(m[key % "2.5"], 1)
        self.assertEqual(
            m['rpchost_rpc_errors_total{code="-32001"}'], 1)


@unittest.skipUnless(shutil.which("promtool"),
                     "promtool not installed (Debian: apt-get install "
                     "prometheus)")
class PromtoolTest(unittest.TestCase):
    def test_exposition_passes_promtool(self):
        with serve() as srv:
            for i in range(5):
                self.assertEqual(srv.rpc("ping", id=i)["result"], "pong")
            harness.std_error(self, srv.rpc("nosuch"), -32601)
            harness.std_error(self, srv.rpc("add", ["x", 1]), -32602)
            self.assertEqual(srv.call([call("ping", id=1),
                                       call("nosuch", id=2)])[0], 200)
            self.assertEqual(srv.rpc("sleep", [50])["result"], 50)
            self.assertEqual(exchange(srv, "GET", "/nosuch")[0], 404)
            text = scrape(srv)
        proc = subprocess.run(["promtool", "check", "metrics"],
                              input=text.encode("utf-8"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=30 * S)
        report = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        self.assertEqual(proc.returncode, 0, report + "\n" + text)
        self.assertEqual(report.strip(), "", report)


if __name__ == "__main__":
    unittest.main()
