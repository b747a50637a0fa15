# SPDX-License-Identifier: MIT
"""Admission control (#14): rate per peer and per credential, concurrency
caps per method (SERIAL among them, without blocking a loop), trusted
proxies, reload, the metric and the config errors."""

import json
import os
import re
import signal
import socket
import threading
import time
import unittest

import harness
from harness import (Server, TempDir, error_of, metrics_of, plugin,
                     run_config, serve, wait_log)
from sdkutil import sdk_fixture

PING = {"jsonrpc": "2.0", "method": "ping", "id": 1}
NOTE = {"jsonrpc": "2.0", "method": "ping"}
SLEEP_SO = os.path.join(harness.PLUGINS, "sleep.so")
PING_SO = harness.PING_SO




def limited(testcase, answer, limit):
    err = error_of(testcase, answer, -32005, "Limit exceeded")
    testcase.assertEqual(err["data"]["limit"], limit, answer)
    return err


class RatePerPeerTest(unittest.TestCase):
    def test_single_call_429_retry_after(self):
        with serve(server={"rate_per_peer": "2/m",
                           "rate_per_peer_burst": 2,
                           "metrics_path": "/metrics"}) as srv:
            for i in range(2):
                self.assertEqual(srv.rpc("ping")["result"], "pong")
            status, hdr, body = srv.call(PING)
            self.assertEqual(status, 429, body)
            self.assertGreaterEqual(int(hdr["retry-after"]), 1)
            self.assertLessEqual(int(hdr["retry-after"]), 30)
            err = limited(self, json.loads(body), "rate_per_peer")
            self.assertGreater(err["data"]["retry_after"], 0)
            # A batch: 200, each refused member answered -32005.
            status, _, body = srv.call([PING, dict(PING, id=2)])
            self.assertEqual(status, 200, body)
            for a in json.loads(body):
                limited(self, a, "rate_per_peer")
            # A refused notification alone: 429 without a body.
            status, hdr, body = srv.call(NOTE)
            self.assertEqual(status, 429)
            self.assertIn("retry-after", hdr)
            _, _, text = srv.call(None, path="/metrics", method="GET")
            m = metrics_of(text.decode())
            self.assertEqual(
                m['rpchost_rpc_limited_total{method="ping",'
                  'limit="rate_per_peer"}'], 4, text)

    def test_batch_members_and_notifications_count(self):
        with serve(server={"rate_per_peer": "3/m",
                           "rate_per_peer_burst": 3}) as srv:
            batch = [dict(PING, id=i) for i in range(5)]
            status, _, body = srv.call(batch)
            self.assertEqual(status, 200)
            answers = sorted(json.loads(body), key=lambda a: a["id"])
            self.assertEqual([a.get("result") for a in answers[:3]],
                             ["pong"] * 3)
            for a in answers[3:]:
                limited(self, a, "rate_per_peer")
        with serve(server={"rate_per_peer": "2/m",
                           "rate_per_peer_burst": 2}) as srv:
            for _ in range(2):
                self.assertEqual(srv.call(NOTE)[0], 204)
            self.assertEqual(srv.call(PING)[0], 429)


class RatePerCredentialTest(unittest.TestCase):
    def test_per_credential(self):
        with TempDir() as d:
            text = ""
            for name, tok in (("a", "a" * 32), ("b", "b" * 32)):
                rc, out, err = harness.run_cli(["--token", name, tok])
                self.assertEqual(rc, 0, err)
                text += out
            path = d.write("auth.ini", text)
            with serve(server={"auth_file": path,
                               "rate_per_credential": "2/m",
                               "rate_per_credential_burst": 2}) as srv:
                ha = {"Authorization": "Bearer " + "a" * 32}
                hb = {"Authorization": "Bearer " + "b" * 32}
                for _ in range(2):
                    self.assertEqual(srv.call(PING, headers=ha)[0], 200)
                status, _, body = srv.call(PING, headers=ha)
                self.assertEqual(status, 429)
                limited(self, json.loads(body), "rate_per_credential")
                # Same peer, another credential: its own bucket.
                self.assertEqual(srv.call(PING, headers=hb)[0], 200)


def sleep_plugins():
    return {"ping": plugin(PING_SO), "sleep": plugin(SLEEP_SO)}


class ConcurrencyTest(unittest.TestCase):
    def start_sleep(self, srv, ms, out):
        def run():
            out.append(srv.call({"jsonrpc": "2.0", "method": "sleep",
                                 "params": [ms], "id": 9}))
        t = threading.Thread(target=run)
        t.start()
        return t

    def wait_in_flight(self, srv, out):
        """Until the call started by start_sleep holds its slot."""
        while not out:
            _, _, text = srv.call(None, path="/metrics", method="GET")
            if metrics_of(text.decode())["rpchost_calls_in_flight"] >= 1:
                return
        self.fail("the sleep call ended before it was seen: %r" % out)

    def test_refused_when_full(self):
        with serve(plugins=sleep_plugins(),
                   server={"method_concurrency": "sleep:1",
                           "concurrency_queue": 0,
                           "metrics_path": "/metrics"}) as srv:
            out = []
            t = self.start_sleep(srv, 1500, out)
            self.wait_in_flight(srv, out)
            status, _, body = srv.call({"jsonrpc": "2.0", "method": "sleep",
                                        "params": [0], "id": 2})
            t.join()
            self.assertEqual(status, 429, body)
            limited(self, json.loads(body), "concurrency")
            self.assertEqual(out[0][0], 200)
            # Settled: the slot is free again; other methods never capped.
            self.assertEqual(srv.rpc("sleep", [0])["result"], 0)
            self.assertEqual(srv.rpc("ping")["result"], "pong")
            _, _, text = srv.call(None, path="/metrics", method="GET")
            self.assertIn('rpchost_rpc_limited_total{method="sleep",'
                          'limit="concurrency"}', text.decode())

    def test_queued_runs_after(self):
        with serve(plugins=sleep_plugins(),
                   server={"method_concurrency": "sleep:1",
                           "metrics_path": "/metrics"}) as srv:
            out = []
            t = self.start_sleep(srv, 800, out)
            self.wait_in_flight(srv, out)
            # Queued behind it: answered after it (nothing in flight
            # then), not refused.
            self.assertEqual(srv.rpc("sleep", [0])["result"], 0)
            _, _, text = srv.call(None, path="/metrics", method="GET")
            self.assertEqual(
                metrics_of(text.decode())["rpchost_calls_in_flight"], 0)
            t.join()
            self.assertEqual(out[0][0], 200)


class HandOverTest(unittest.TestCase):
    def test_slot_handed_over_between_loops(self):
        # A call leaving its slot hands it to the first queued call, whose
        # own loop runs it (a post).  The leaving loop used to clear the
        # queued call's post after posting it: the other loop could have
        # run it, answered, and freed its batch (and the post, a second
        # time) in between.  Many hand-overs between two loops, then a
        # clean exit (the harness fails on a crash at SIGTERM).
        with Server(plugins=sleep_plugins(), threads=2,
                    server={"method_concurrency": "sleep:1",
                            "concurrency_queue": 64}) as srv:
            errors = []

            def client(k):
                conn = srv.connection()
                try:
                    for i in range(40):
                        status, _, body = srv.call(
                            {"jsonrpc": "2.0", "method": "sleep",
                             "params": [i % 2], "id": i}, conn=conn)
                        if status != 200 or \
                                json.loads(body).get("result") != i % 2:
                            errors.append((k, i, status, body))
                finally:
                    conn.close()
            threads = [threading.Thread(target=client, args=(k,))
                       for k in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])

    def test_queued_call_between_plugins_outlives_its_request(self):
        # A call between plugins (relay -> sleep) queued for sleep's slot
        # is an inner request of its own: its loop's edge does not count
        # it.  Its client leaving cancels the outer call, and at SIGTERM
        # that loop then had nothing in flight and stopped at once; the
        # slot, handed over when the other loop's sleep was answered at
        # the shutdown timeout, went to a loop that was gone ("a queued
        # call's loop is gone"): the inner call never ran, relay never got
        # its answer, and the worker exited holding it (leaks).
        plugins = {"sleep": plugin(SLEEP_SO),
                   "relay": plugin(sdk_fixture("relay"))}
        with Server(plugins=plugins, threads=2,
                    server={"method_concurrency": "sleep:1",
                            "concurrency_queue": 64,
                            "shutdown_timeout": 0.5}) as srv:
            holder = socket.create_connection(("127.0.0.1", srv.port),
                                              timeout=10)
            holder.sendall(harness.post_request(
                {"jsonrpc": "2.0", "method": "sleep", "params": [60000],
                 "id": 1}))
            time.sleep(0.2)
            # On both loops (connections are spread over them).
            for i in range(6):
                s = socket.create_connection(("127.0.0.1", srv.port),
                                             timeout=10)
                s.sendall(harness.post_request(
                    {"jsonrpc": "2.0", "method": "relay",
                     "params": ["sleep", [1], 0], "id": i}))
                time.sleep(0.1)
                s.close()
            time.sleep(0.3)
            srv.stop()
            holder.close()
            self.assertNotIn("a queued call's loop is gone", srv.stderr)


class SerialTest(unittest.TestCase):
    def test_serial_does_not_block_other_loop(self):
        with Server(plugins={"serial": plugin(sdk_fixture("serial")),
                             "ping": plugin(PING_SO)}, threads=2) as srv:
            slow_done = threading.Event()
            ping_before = threading.Event()
            started = threading.Event()

            def slow():
                started.set()
                srv.rpc("slow_crit", [2000])
                slow_done.set()

            def queued():
                srv.rpc("slow_crit", [0])

            def ping():
                if srv.rpc("ping")["result"] == "pong" and \
                        not slow_done.is_set():
                    ping_before.set()
            ts = [threading.Thread(target=slow)]
            ts[0].start()
            started.wait()
            # Serial calls on several connections: some on the other loop,
            # which under the former mutex blocked that loop too.
            ts += [threading.Thread(target=queued) for _ in range(6)]
            for t in ts[1:]:
                t.start()
            ps = [threading.Thread(target=ping) for _ in range(8)]
            for t in ps:
                t.start()
            for t in ps + ts:
                t.join()
            self.assertTrue(ping_before.is_set(),
                            "no ping answered while a serial call ran")


class TrustedProxiesTest(unittest.TestCase):
    def test_forwarded_for(self):
        xff = lambda a: {"X-Forwarded-For": "6.6.6.6, " + a}
        with serve(server={"rate_per_peer": "1/m",
                           "trusted_proxies": "127.0.0.1, 10.0.0.0/8"}) as srv:
            self.assertEqual(srv.call(PING, headers=xff("198.51.100.1"))[0],
                             200)
            self.assertEqual(srv.call(PING, headers=xff("198.51.100.1"))[0],
                             429)
            self.assertEqual(srv.call(PING, headers=xff("198.51.100.2"))[0],
                             200)
            self.assertEqual(srv.call(PING, headers={
                "X-Real-IP": "198.51.100.3"})[0], 200)
        # Control: without trusted_proxies the headers are ignored.
        with serve(server={"rate_per_peer": "1/m"}) as srv:
            self.assertEqual(srv.call(PING, headers=xff("198.51.100.1"))[0],
                             200)
            self.assertEqual(srv.call(PING, headers=xff("198.51.100.2"))[0],
                             429)


class ReloadTest(unittest.TestCase):
    def rewrite(self, srv, rate):
        with open(srv.ini_path, "w") as f:
            f.write(harness.ini_text(
                server={"rate_per_peer": rate},
                plugins=harness.default_plugins()))

    def test_sighup(self):
        with serve(server={"rate_per_peer": "1/m"}) as srv:
            self.assertEqual(srv.call(PING)[0], 200)
            self.assertEqual(srv.call(PING)[0], 429)
            # Unchanged: the bucket is kept.
            self.rewrite(srv, "1/m")
            srv.signal(signal.SIGHUP)
            wait_log(self, srv, r"reload: generation 2 serving")
            self.assertEqual(srv.call(PING)[0], 429)
            # Changed: the new limit applies.
            self.rewrite(srv, "1000/s")
            srv.signal(signal.SIGHUP)
            wait_log(self, srv, r"reload: generation 3 serving")
            for _ in range(20):
                self.assertEqual(srv.call(PING)[0], 200)


class ConfigErrorTest(unittest.TestCase):
    def check(self, key, value, pattern):
        ini = harness.ini_text(server={key: value},
                               plugins=harness.default_plugins())
        rc, _, err, path = run_config(ini, ["-t"])
        self.assertNotEqual(rc, 0, err)
        self.assertRegex(err, re.escape(path) + r":2: " + pattern)

    def test_errors(self):
        self.check("rate_per_peer", "10/d", r"rate_per_peer: '10/d' is not")
        self.check("rate_per_credential", "0/s", "rate_per_credential")
        self.check("trusted_proxies", "10.0.0.0/33", r"trusted_proxies: "
                   r"'10.0.0.0/33' is not an IP address")
        self.check("method_concurrency", "ping", r"method_concurrency: 'ping' is not METHOD:N")
        self.check("method_concurrency", "ping:1, ping:2",
                   r"method_concurrency: method 'ping' is given twice")
        self.check("method_concurrency", "nosuch:2",
                   r"method_concurrency: no method 'nosuch'")


if __name__ == "__main__":
    unittest.main()
