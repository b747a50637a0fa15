# SPDX-License-Identifier: MIT
"""The plugin API 2 at its edges (tests/plugins/misuse.c): on_cancel
around a resume and around a call cancelled already, and hooks calling
what they may not.  No timing is asserted: a call made to wait past its
deadline waits on a loop kept busy for longer, and what must happen is
polled for with a generous timeout."""

import time
import unittest

from harness import IO_TIMEOUT, Server, check_sanitizers, fixture, plugin
from sdkutil import rpc_on

ESTATE = -4
CALL_TIMEOUT = -32001


def misuse_plugins():
    return {"misuse": plugin(fixture("misuse"))}


def poll(fn, what):
    deadline = time.monotonic() + IO_TIMEOUT
    while time.monotonic() < deadline:
        if fn():
            return
        time.sleep(0.02)
    raise AssertionError("never: " + what)


class MisuseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # One loop, so that a batch's members share it; a deadline short
        # enough to pass while `block` holds the loop.
        cls.srv = Server(plugins=misuse_plugins(), threads=1,
                         server={"call_timeout": 1}).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        check_sanitizers(cls.srv.stderr)

    def stats(self):
        ans = rpc_on(self.srv.port, "stats", None, "s")
        self.assertIn("result", ans, ans)
        return ans["result"]

    def test_no_on_cancel_after_a_resume(self):
        # The hook's timer (300 ms) resumes the call, and the deadline
        # (1 s) passes before the resumed call runs on: both come due
        # while `block` holds the loop, the timer first.  The deadline
        # answers the call, but the hook had resumed it: its on_cancel
        # (whose registration ended with the suspension) must not run.
        before = self.stats()
        status, _, data = self.srv.call(
            [{"jsonrpc": "2.0", "method": "resumed", "params": [300],
              "id": 1},
             {"jsonrpc": "2.0", "method": "block", "params": [1600],
              "id": 2}])
        self.assertEqual(status, 200, data)
        poll(lambda: self.stats()["resumed"] == before["resumed"] + 1,
             "the hook resumed the call")
        self.assertEqual(self.stats()["hook_cancelled"],
                         before["hook_cancelled"], self.stats())
        check_sanitizers(self.srv.stderr)

    def test_on_cancel_twice_on_a_cancelled_call(self):
        # Registered twice for a call cancelled already: the second
        # replaces the first, so only it runs, once.
        before = self.stats()
        ans = rpc_on(self.srv.port, "twice", [1300])
        self.assertEqual(ans["error"]["code"], CALL_TIMEOUT, ans)
        poll(lambda: self.stats()["second"] == before["second"] + 1,
             "the second on_cancel ran")
        # What was posted with it has run once a later call on the same
        # loop is answered, twice over.
        self.stats()
        after = self.stats()
        self.assertEqual(after["first"], before["first"], after)
        self.assertEqual(after["second"], before["second"] + 1, after)

    def test_on_cancel_removed_on_a_cancelled_call(self):
        # fn NULL removes a registration, also one still to be posted.
        before = self.stats()
        ans = rpc_on(self.srv.port, "removed", [1300])
        self.assertEqual(ans["error"]["code"], CALL_TIMEOUT, ans)
        poll(lambda: self.stats()["late"] == before["late"] + 1,
             "the timer registered")
        # Any on_cancel posted has run once a later call on the same loop
        # is answered, twice over.
        self.stats()
        after = self.stats()
        self.assertEqual(after["first"], before["first"], after)
        self.assertEqual(after["second"], before["second"], after)

    def test_hooks_calling_at_the_wrong_time(self):
        ans = rpc_on(self.srv.port, "wrong", None)
        self.assertIn("result", ans, ans)
        self.assertEqual(ans["result"], {
            "defer": ESTATE,      # not in on_call
            "suspend": 0,
            "suspend2": ESTATE,   # suspended already
            "resume": 0,          # from within on_call itself
            "resume2": ESTATE,    # once per suspension
            "answer": ESTATE,     # resumed: no longer the hook's
        })
        poll(lambda: self.stats()["done_resume"] != 1, "on_done ran")
        s = self.stats()
        for key in ("done_async", "done_timer", "done_suspend", "done_defer",
                    "done_resume"):
            self.assertEqual(s[key], ESTATE, (key, s))
        check_sanitizers(self.srv.stderr)


if __name__ == "__main__":
    unittest.main()
