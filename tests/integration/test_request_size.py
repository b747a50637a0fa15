# SPDX-License-Identifier: MIT
"""Loop time in proportion to request size: no body under max_body_size may
buy work that grows faster than its length, because while one request is
answered its whole event loop serves nobody else (issue #11, item 2).

Each test runs rpchost with one loop (-j 1), so a request that took seconds
would hold up every other client; the bounds are generous (seconds, scaled
for the sanitizer build) against what a quadratic walk costs (7.5 s for the
first test's sum before the fix, in a release build)."""

import json
import threading
import unittest

from harness import SCALE, Server, call, example_plugins, post_request
from sdkutil import Stopwatch, raw_connect, read_answer, rpc_on

N = 100000
# 0..9 repeated: a body of about 200 KB, well under max_body_size (1m).
NUMBERS = [i % 10 for i in range(N)]
TOTAL = sum(NUMBERS)
PING_BOUND = 2.0 * SCALE  # a ping sent while big requests run


class RequestSizeTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(plugins=example_plugins(), threads=1).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def big_while_pinging(self, reqs):
        """Send every request of reqs (objects, or bytes sent as they are)
        on a connection of its own, then ping on another; return (the
        answers in order, the ping's latency).  All the big requests are on
        the wire before the ping."""
        socks = [raw_connect(self.srv.port) for _ in reqs]
        answers = [None] * len(reqs)
        try:
            for s, r in zip(socks, reqs):
                s.sendall(post_request(r if isinstance(r, bytes) else
                                       json.dumps(r).encode()))

            def collect(i):
                answers[i] = read_answer(socks[i])

            readers = [threading.Thread(target=collect, args=(i,))
                       for i in range(len(reqs))]
            for t in readers:
                t.start()
            t = Stopwatch()
            ping = rpc_on(self.srv.port, "ping", None, id="p",
                          timeout=30 * SCALE)
            latency = t()
            for r in readers:
                r.join(30 * SCALE)
                self.assertFalse(r.is_alive(), "a big request never answered")
        finally:
            for s in socks:
                s.close()
        self.assertEqual(ping, {"jsonrpc": "2.0", "result": "pong", "id": "p"})
        return answers, latency

    def test_sum_of_100k_numbers(self):
        # Two such requests, as in the issue (which stopped all service
        # for 36 s), and a ping behind them.
        answers, latency = self.big_while_pinging(
            [call("sum", NUMBERS, id=1), call("sum", NUMBERS, id=2)])
        for i, (status, _, ans) in enumerate(answers, 1):
            self.assertEqual(status, 200)
            self.assertEqual(ans, {"jsonrpc": "2.0", "result": TOTAL, "id": i})
        self.assertLess(latency, PING_BOUND,
                        "a ping waited %.1f s behind two sums" % latency)

    def test_sum_error_names_the_position(self):
        # The error of the last param of 100k: found without a walk per
        # param (sum's variadic description: the host's validation names
        # the param and its position).
        bad = NUMBERS[:-1] + ["x"]
        answers, latency = self.big_while_pinging([call("sum", bad, id=3)])
        status, _, ans = answers[0]
        self.assertEqual(status, 200)
        self.assertEqual(ans["error"]["code"], -32602, ans)
        self.assertEqual(ans["error"]["data"],
                         "param 'n' (%d): expected a number" % (N - 1))
        self.assertLess(latency, PING_BOUND)

    def test_described_method_with_many_params(self):
        # Validation against a description: 100k positional params are
        # "too many"; 100k named members (a name given again and again)
        # are checked in one pass.
        named = (b'{"jsonrpc":"2.0","method":"add","id":4,"params":{' +
                 b",".join(b'"a":%d' % (i % 10) for i in range(N)) +
                 b',"b":2}}')
        answers, latency = self.big_while_pinging(
            [call("add", NUMBERS, id=5), named])
        status, _, ans = answers[0]
        self.assertEqual(status, 200)
        self.assertEqual(ans["error"]["data"],
                         "too many params: %d given, at most 2" % N)
        status, _, ans = answers[1]
        self.assertEqual(status, 200)
        # The first of the repeated members counts (README).
        self.assertEqual(ans, {"jsonrpc": "2.0", "result": 2, "id": 4})
        self.assertLess(latency, PING_BOUND)

    def test_discover_with_many_params(self):
        answers, latency = self.big_while_pinging(
            [call("rpc.discover", NUMBERS, id=6)])
        self.assertEqual(answers[0][2]["error"]["code"], -32602)
        self.assertLess(latency, PING_BOUND)


if __name__ == "__main__":
    unittest.main()
