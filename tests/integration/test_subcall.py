# SPDX-License-Identifier: MIT
"""Calls between plugins (api->call_method_async, #14): tests/plugins_sdk's
relay.so calling the shipped ping and sleep, unknown methods, itself
(bounded by [server] max_call_depth) and the context an inner call sees."""

import json
import signal
import time
import unittest

from harness import (SCALE, Server, TempDir, check_sanitizers, error_of,
                     run_cli, wait_log)
from sdkutil import (RpcOnServer, Stopwatch, plugin, read_answer, request,
                     rpc_on, sdk_fixture, send_raw, shipped)

ESTATE = -4
EINVAL = -2
CALL_TOO_DEEP = -32010
TRANSPORT_PLUGIN = 3
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = "00-%s-00f067aa0ba902b7-01" % TRACE_ID


def relay_plugins():
    return {"ping": plugin(shipped("ping")),
            "sleep": plugin(shipped("sleep")),
            "relay": plugin(sdk_fixture("relay"))}


class SubcallTest(RpcOnServer, unittest.TestCase):
    """One event loop, a short call_timeout, max_call_depth 5."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(plugins=relay_plugins(), threads=1,
                         server={"call_timeout": 1 * SCALE,
                                 "max_call_depth": 5}).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def last(self):
        return self.result("last")

    def test_relay_to_ping(self):
        self.assertEqual(self.result("relay", ["ping"]), "pong")
        self.assertEqual(self.result("relay", {"method": "ping"}), "pong")

    def test_relay_params_and_nesting(self):
        self.assertEqual(self.result("relay", ["sleep", [20]]), 20)
        self.assertEqual(
            self.result("relay", ["relay", ["relay", ["ping"]]]), "pong")

    def test_relay_errors(self):
        err = error_of(self, self.rpc("relay", ["nosuch"]), 4000,
                       "Method not found")
        self.assertEqual(err["data"], {"code": -32601})
        # The inner call's params are checked as any call's.
        err = error_of(self, self.rpc("relay", ["sleep", ["x"]]), 4000,
                       "Invalid params")
        self.assertEqual(err["data"]["code"], -32602)
        self.assertIn("'ms'", err["data"]["data"])

    def test_recursion_is_bounded(self):
        ans = self.result("recurse", [0])
        self.assertEqual(ans, {"stopped_at": 5, "code": CALL_TOO_DEEP,
                               "data": "max_call_depth is 5"})
        self.assertIn("nest deeper than max_call_depth 5", self.srv.stderr)

    def test_mutual_recursion_is_bounded(self):
        ans = self.result("bounce.a", [0])
        self.assertEqual(ans["stopped_at"], 5)
        self.assertEqual(ans["code"], CALL_TOO_DEEP)
        # Started deeper, it stops as deep.
        self.assertEqual(self.result("bounce.b", [100])["stopped_at"], 105)

    def test_context_of_inner_call(self):
        status, _, body = self.srv.call(
            {"jsonrpc": "2.0", "method": "relay", "params": ["whoami"],
             "id": 1}, headers={"traceparent": TRACEPARENT})
        self.assertEqual(status, 200, body)
        who = json.loads(body)["result"]
        self.assertEqual(who["peer"], "plugin:relay")
        self.assertEqual(who["transport"], TRANSPORT_PLUGIN)
        self.assertIsNone(who["credential"])
        self.assertEqual(who["trace_id"], TRACE_ID)
        # Its own span, the caller's trace id and flags.
        self.assertRegex(who["traceparent"],
                         "^00-%s-[0-9a-f]{16}-01$" % TRACE_ID)
        self.assertNotIn("00f067aa0ba902b7", who["traceparent"])
        # Asked directly, the peer is the client.
        who = self.result("whoami")
        self.assertTrue(who["peer"].startswith("127.0.0.1:"), who)
        self.assertEqual(who["transport"], 1)

    def test_hooks_see_inner_calls(self):
        before = self.last()["hooked"]
        self.assertEqual(self.result("relay", ["relay", ["ping"]]), "pong")
        self.assertEqual(self.last()["hooked"], before + 2)

    def test_from_a_suspended_on_call_hook(self):
        before = self.last()["hooked"]
        self.assertEqual(self.result("guarded"), "through")
        self.assertEqual(self.last()["hooked"], before + 1)

    def test_refused_outside_its_contexts(self):
        self.assertEqual(self.result("probe"),
                         {"null_method": EINVAL, "bad_params": EINVAL,
                          "from_thread": ESTATE})

    def wait_dones(self, n):
        deadline = time.monotonic() + 5 * SCALE
        while time.monotonic() < deadline:
            last = self.last()
            if last["dones"] >= n:
                return last
            time.sleep(0.02)
        self.fail("no answer reached the plugin: %r" % (last,))

    def test_answer_after_the_call_was_answered(self):
        before = self.last()["dones"]
        self.assertEqual(self.result("relay_now", ["sleep", [100]]), "sent")
        last = self.wait_dones(before + 1)
        self.assertEqual(last["rc"], ESTATE)

    def test_answer_after_the_caller_timed_out(self):
        before = self.last()["dones"]
        # The relay waits 0.6 s (a timer) before calling sleep(0.7 s): its
        # own deadline (1 s) answers first; the inner answer comes later.
        ans = self.rpc("relay", {"method": "sleep", "params": [700 * SCALE],
                                 "wait": 600 * SCALE})
        error_of(self, ans, -32001, "Call timed out")
        last = self.wait_dones(before + 1)
        self.assertEqual(last["rc"], ESTATE)
        self.assertEqual(self.result("relay", ["ping"]), "pong")

    def test_notification(self):
        self.assertEqual(self.result("notify", ["sleep", [10]]), "sent")
        self.assertEqual(self.result("relay", ["ping"]), "pong")


class LifetimeTest(unittest.TestCase):
    """Calls between plugins pending across a reload and a shutdown."""

    def test_reload_with_inner_call_pending(self):
        # The inner call runs on the caller's generation, which is
        # finalised once, after it.
        srv = Server(plugins=relay_plugins(), threads=1).start()
        try:
            # Long enough for the reload and a ping to finish first on a
            # loaded machine (600 ms flaked once in a parallel ctest run).
            s = send_raw(srv.port, request("relay", ["sleep", [2000]]))
            time.sleep(0.1)
            srv.signal(signal.SIGHUP)
            wait_log(self, srv, "reload: generation 2 serving")
            self.assertEqual(rpc_on(srv.port, "relay", ["ping"])["result"],
                             "pong")
            self.assertNotIn("relay fini", srv.stderr)
            status, _, ans = read_answer(s)
            s.close()
            self.assertEqual(status, 200)
            self.assertEqual(ans["result"], 2000, ans)
            wait_log(self, srv, "relay fini")
            srv.signal(signal.SIGTERM)
            self.assertEqual(srv.wait(), 0, srv.stderr)
            check_sanitizers(srv.stderr)
            self.assertEqual(srv.stderr.count("relay fini"), 2, srv.stderr)
        finally:
            srv.stop()

    def test_sigterm_with_inner_calls_pending(self):
        # One relay answered at once with its inner call pending, one
        # waiting for its inner call: after shutdown_timeout the drain
        # answers the open calls -32001 - the relay's, or the inner one's
        # first, which the relay passes on (4000) - the rest run at
        # teardown.
        srv = Server(plugins=relay_plugins(), threads=1,
                     server={"shutdown_timeout": 0.3}).start()
        try:
            self.assertEqual(
                rpc_on(srv.port, "relay_now", ["sleep", [3000]])["result"],
                "sent")
            s = send_raw(srv.port, request("relay", ["sleep", [3000]]))
            time.sleep(0.1)
            t = Stopwatch()
            srv.signal(signal.SIGTERM)
            status, _, ans = read_answer(s)
            s.close()
            self.assertEqual(status, 200)
            err = ans.get("error", {})
            if err.get("code") == 4000:
                self.assertEqual(err["data"], {"code": -32001}, ans)
            else:
                error_of(self, ans, -32001, "Call timed out")
            self.assertEqual(srv.wait(), 0, srv.stderr)
            self.assertLess(t(), 2.5 * SCALE, "waited for the inner sleep")
            check_sanitizers(srv.stderr)
            self.assertIn("relay fini", srv.stderr)
        finally:
            srv.stop()


class CredentialTest(unittest.TestCase):
    """An inner call carries its caller's credential, and the credential's
    allow-list applies to it."""

    TOKEN = "Tok-relay-s3cr3t"

    def test_credential_and_allow_list(self):
        rc, section, err = run_cli(["--token", "bot", self.TOKEN])
        self.assertEqual(rc, 0, err)
        with TempDir() as d:
            path = d.write("auth.ini",
                           section + "methods = relay, whoami\n")
            with Server(plugins=relay_plugins(), threads=1,
                        server={"auth_file": path}) as srv:
                auth = {"Authorization": "Bearer " + self.TOKEN}

                def relay(params):
                    status, _, body = srv.call(
                        request("relay", params), headers=auth)
                    self.assertEqual(status, 200, body)
                    return json.loads(body)

                who = relay(["whoami"])["result"]
                self.assertEqual(who["credential"], "bot")
                self.assertEqual(who["peer"], "plugin:relay")
                # ping is not on bot's list: the inner call is refused as
                # a request of bot's would be (HTTP 403's -32600).
                err = error_of(self, relay(["ping"]), 4000,
                               "Invalid Request")
                self.assertEqual(err["data"]["code"], -32600)
                self.assertIn("may not call 'ping'", err["data"]["data"])


if __name__ == "__main__":
    unittest.main()
