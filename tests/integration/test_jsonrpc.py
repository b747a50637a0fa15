# SPDX-License-Identifier: MIT
"""JSON-RPC 2.0 protocol behaviour of rpchost (ping.so + spec.so)."""

import json
import re
import time
import unittest

import harness
from harness import Server, error_of, std_error


class JsonRpcTest(unittest.TestCase):
    srv = None

    @classmethod
    def setUpClass(cls):
        cls.srv = Server().start()

    @classmethod
    def tearDownClass(cls):
        if cls.srv is not None:
            cls.srv.stop()

    # -- helpers --------------------------------------------------------------

    def post(self, body):
        """POST body (bytes or object); expect HTTP 200 JSON; return parsed."""
        status, headers, data = self.srv.call(body)
        self.assertEqual(status, 200, (body, data))
        self.assertTrue(
            headers.get("content-type", "").startswith("application/json"),
            headers)
        try:
            return json.loads(data)
        except ValueError:
            self.fail("answer is not JSON: %r (request %r)" % (data, body))

    def post_raw(self, body):
        status, _, data = self.srv.call(body)
        self.assertEqual(status, 200, (body, data))
        return data

    def post_nothing(self, body):
        """A request that must get HTTP 204 with an empty body."""
        status, _, data = self.srv.call(body)
        self.assertEqual(status, 204, (body, data))
        self.assertEqual(data, b"", body)

    def assert_result(self, answer, result, id):
        self.assertEqual(answer, {"jsonrpc": "2.0", "result": result,
                                  "id": id})

    def assert_alive(self):
        self.assert_result(self.srv.rpc("ping", id=99), "pong", 99)

    # -- ping -----------------------------------------------------------------

    def test_ping(self):
        answer = self.post(b'{"jsonrpc":"2.0","method":"ping","id":1}')
        self.assertEqual(answer, {"jsonrpc": "2.0", "result": "pong",
                                  "id": 1})

    def test_ping_empty_params(self):
        self.assert_result(self.srv.rpc("ping", [], id=2), "pong", 2)
        self.assert_result(self.srv.rpc("ping", {}, id=3), "pong", 3)

    def test_ping_with_params_is_invalid(self):
        std_error(self, self.srv.rpc("ping", [1], id=4), -32602, id=4)
        std_error(self, self.srv.rpc("ping", {"a": 1}, id=5), -32602, id=5)

    # -- the examples of the JSON-RPC 2.0 specification -----------------------

    def test_spec_positional(self):
        self.assert_result(self.post(
            b'{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23],'
            b' "id": 1}'), 19, 1)
        self.assert_result(self.post(
            b'{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42],'
            b' "id": 2}'), -19, 2)

    def test_spec_named(self):
        self.assert_result(self.post(
            b'{"jsonrpc": "2.0", "method": "subtract", "params":'
            b' {"subtrahend": 23, "minuend": 42}, "id": 3}'), 19, 3)
        self.assert_result(self.post(
            b'{"jsonrpc": "2.0", "method": "subtract", "params":'
            b' {"minuend": 42, "subtrahend": 23}, "id": 4}'), 19, 4)

    def test_spec_invalid_params_from_plugin(self):
        std_error(self, self.srv.rpc("subtract", [1], id=5), -32602, id=5)
        std_error(self, self.srv.rpc("subtract", {"minuend": 1}, id=6),
                  -32602, id=6)

    def test_spec_notification(self):
        self.post_nothing(b'{"jsonrpc": "2.0", "method": "update",'
                          b' "params": [1,2,3,4,5]}')
        self.post_nothing(b'{"jsonrpc": "2.0", "method": "foobar"}')

    def test_notification_errors_are_dropped(self):
        # Errors of notifications are not reported either.
        self.post_nothing(b'{"jsonrpc":"2.0","method":"fail"}')
        self.post_nothing(b'{"jsonrpc":"2.0","method":"error_data"}')
        self.post_nothing(b'{"jsonrpc":"2.0","method":"ping","params":[1]}')
        self.post_nothing(b'{"jsonrpc":"2.0","method":"rpc.foo"}')

    def test_spec_method_not_found(self):
        std_error(self, self.post(b'{"jsonrpc": "2.0", "method": "foobar",'
                                  b' "id": "1"}'), -32601, id="1")

    def test_spec_invalid_json(self):
        std_error(self, self.post(
            b'{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]'),
            -32700, id=None)

    def test_spec_invalid_request_object(self):
        std_error(self, self.post(
            b'{"jsonrpc": "2.0", "method": 1, "params": "bar"}'),
            -32600, id=None)

    def test_spec_batch_invalid_json(self):
        answer = self.post(
            b'[\n  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4],'
            b' "id": "1"},\n  {"jsonrpc": "2.0", "method"\n]')
        std_error(self, answer, -32700, id=None)

    def test_spec_empty_batch(self):
        answer = self.post(b"[]")
        self.assertIsInstance(answer, dict, "[] must get one error object")
        std_error(self, answer, -32600, id=None)

    def test_spec_batch_of_one_non_object(self):
        answer = self.post(b"[1]")
        self.assertIsInstance(answer, list, answer)
        self.assertEqual(len(answer), 1, answer)
        std_error(self, answer[0], -32600, id=None)

    def test_spec_batch_of_three_non_objects(self):
        answer = self.post(b"[1,2,3]")
        self.assertIsInstance(answer, list, answer)
        self.assertEqual(len(answer), 3, answer)
        for item in answer:
            std_error(self, item, -32600, id=None)

    def test_spec_mixed_batch(self):
        answer = self.post(b"""[
            {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
            {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
            {"jsonrpc": "2.0", "method": "subtract", "params": [42,23],
             "id": "2"},
            {"foo": "boo"},
            {"jsonrpc": "2.0", "method": "foo.get",
             "params": {"name": "myself"}, "id": "5"},
            {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
        ]""")
        self.assertIsInstance(answer, list, answer)
        self.assertEqual(len(answer), 5, answer)
        by_id = {}
        nulls = []
        for item in answer:
            self.assertIn("id", item, item)
            if item["id"] is None:
                nulls.append(item)
            else:
                self.assertNotIn(item["id"], by_id, answer)
                by_id[item["id"]] = item
        self.assertEqual(sorted(by_id), ["1", "2", "5", "9"], answer)
        self.assertEqual(len(nulls), 1, answer)
        self.assert_result(by_id["1"], 7, "1")
        self.assert_result(by_id["2"], 19, "2")
        std_error(self, nulls[0], -32600, id=None)
        std_error(self, by_id["5"], -32601, id="5")
        self.assert_result(by_id["9"], ["hello", 5], "9")

    def test_spec_batch_all_notifications(self):
        self.post_nothing(b"""[
            {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
            {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
        ]""")

    def test_batch_answers_every_call(self):
        reqs = [{"jsonrpc": "2.0", "method": "echo", "params": [i],
                 "id": i} for i in range(20)]
        answer = self.post(reqs)
        self.assertIsInstance(answer, list)
        got = sorted((a["id"], a["result"]) for a in answer)
        self.assertEqual(got, [(i, [i]) for i in range(20)])

    def test_batch_at_default_max_batch(self):
        reqs = [{"jsonrpc": "2.0", "method": "ping", "id": i}
                for i in range(1000)]
        answer = self.post(reqs)
        self.assertIsInstance(answer, list)
        self.assertEqual(sorted(a["id"] for a in answer), list(range(1000)))
        self.assertTrue(all(a["result"] == "pong" for a in answer))

    def test_nested_batch_is_not_a_batch(self):
        # A batch element that is itself an array is an invalid request.
        answer = self.post(b'[[{"jsonrpc":"2.0","method":"ping","id":1}]]')
        self.assertIsInstance(answer, list, answer)
        self.assertEqual(len(answer), 1, answer)
        std_error(self, answer[0], -32600, id=None)

    # -- ids are echoed byte for byte -----------------------------------------

    def assert_id_echoed(self, id_text):
        body = (b'{"jsonrpc":"2.0","method":"ping","id":' + id_text + b"}")
        data = self.post_raw(body)
        pattern = (rb'"id"\s*:\s*' + re.escape(id_text) + rb"\s*[,}]")
        self.assertRegex(data, pattern,
                         "id %r not echoed verbatim: %r" % (id_text, data))
        answer = json.loads(data)
        self.assertEqual(answer.get("result"), "pong", answer)

    def test_id_string(self):
        self.assert_id_echoed(b'"abc"')

    def test_id_empty_string(self):
        self.assert_id_echoed(b'""')

    def test_id_null_is_a_call(self):
        # "id": null is a call (not a notification): it gets an answer.
        self.assert_id_echoed(b"null")

    def test_id_zero(self):
        self.assert_id_echoed(b"0")

    def test_id_negative(self):
        self.assert_id_echoed(b"-7")

    def test_id_fraction(self):
        self.assert_id_echoed(b"1.5")

    def test_id_exponent_kept_as_written(self):
        self.assert_id_echoed(b"1e3")

    def test_id_beyond_double_precision(self):
        self.assert_id_echoed(b"12345678901234567890123")
        self.assert_id_echoed(b"9007199254740993")

    def test_id_other_spellings_kept(self):
        for id_text in (b"-0", b"0.0", b"1E+2", b"-1.5e-3", b"1.50",
                        b'"a\\u0062\\n"', b'"\\/"'):
            with self.subTest(id=id_text):
                self.assert_id_echoed(id_text)

    def test_id_in_batch_echoed(self):
        data = self.post_raw(
            b'[{"jsonrpc":"2.0","method":"ping","id":9007199254740993},'
            b'{"jsonrpc":"2.0","method":"ping","id":"x"}]')
        self.assertRegex(data, rb'"id"\s*:\s*9007199254740993\s*[,}]')
        self.assertRegex(data, rb'"id"\s*:\s*"x"\s*[,}]')

    def test_id_bad_types(self):
        for id_text in (b"true", b"false", b"{}", b"[]", b'{"a":1}',
                        b"[1]"):
            with self.subTest(id=id_text):
                answer = self.post(b'{"jsonrpc":"2.0","method":"ping","id":'
                                   + id_text + b"}")
                std_error(self, answer, -32600, id=None)

    # -- parse errors ---------------------------------------------------------

    def test_trailing_garbage(self):
        std_error(self, self.post(
            b'{"jsonrpc":"2.0","method":"ping","id":1} x'), -32700, id=None)
        std_error(self, self.post(
            b'{"jsonrpc":"2.0","method":"ping","id":1}{}'), -32700, id=None)
        std_error(self, self.post(
            b'{"jsonrpc":"2.0","method":"ping","id":1}\x00'), -32700,
            id=None)

    def test_trailing_whitespace_ok(self):
        self.assert_result(self.post(
            b'{"jsonrpc":"2.0","method":"ping","id":1} \r\n\t \n'),
            "pong", 1)
        self.assert_result(self.post(
            b' \n {"jsonrpc":"2.0","method":"ping","id":1}'), "pong", 1)

    def test_invalid_utf8(self):
        for bad in (b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82",
                    b"\xf4\x90\x80\x80"):
            with self.subTest(bytes=bad):
                body = (b'{"jsonrpc":"2.0","method":"echo","params":["a'
                        + bad + b'b"],"id":1}')
                std_error(self, self.post(body), -32700, id=None)
        self.assert_alive()

    def test_invalid_utf8_in_method_and_key(self):
        std_error(self, self.post(
            b'{"jsonrpc":"2.0","method":"p\xffing","id":1}'), -32700,
            id=None)
        std_error(self, self.post(
            b'{"jsonrpc":"2.0","method":"echo","params":{"\xc0\xaf":1},'
            b'"id":1}'), -32700, id=None)

    def test_valid_utf8_round_trips(self):
        text = "caf\u00e9 \u20ac \U0001f600"
        answer = self.srv.rpc("echo", [text, "tab\t", "q\"\\/"], id=1)
        self.assert_result(answer, [text, "tab\t", "q\"\\/"], 1)

    def test_raw_control_character(self):
        for ctl in (b"\x01", b"\n", b"\x1f", b"\t"):
            with self.subTest(ctl=ctl):
                body = (b'{"jsonrpc":"2.0","method":"echo","params":["a'
                        + ctl + b'b"],"id":1}')
                std_error(self, self.post(body), -32700, id=None)

    def test_deep_nesting_rejected_quickly(self):
        for body in (b"[" * 100000, b'{"a":' * 100000,
                     b'{"jsonrpc":"2.0","method":"echo","params":'
                     + b"[" * 100000 + b"]" * 100000 + b',"id":1}'):
            with self.subTest(body=body[:40]):
                t0 = time.monotonic()
                std_error(self, self.post(body), -32700, id=None)
                self.assertLess(time.monotonic() - t0, 5.0 * harness.SCALE)
        self.assert_alive()

    def test_moderate_nesting_ok(self):
        params = [[[[[[[[[["deep"]]]]]]]]]]
        self.assert_result(self.srv.rpc("echo", params, id=1), params, 1)

    def test_nesting_over_default_max_depth(self):
        body = (b'{"jsonrpc":"2.0","method":"echo","params":'
                + b"[" * 100 + b"]" * 100 + b',"id":1}')
        std_error(self, self.post(body), -32700, id=None)

    def test_not_json_at_all(self):
        for body in (b"hello", b"{", b'"jsonrpc', b"{'a':1}", b"nul",
                     b'{"jsonrpc":"2.0",}', b"[1,]", b"\xef\xbb"):
            with self.subTest(body=body):
                std_error(self, self.post(body), -32700, id=None)

    # -- invalid requests -----------------------------------------------------

    def test_wrong_or_missing_version(self):
        for body in (b'{"jsonrpc":"1.0","method":"ping","id":1}',
                     b'{"method":"ping","id":1}',
                     b'{"jsonrpc":2.0,"method":"ping","id":1}',
                     b'{"jsonrpc":null,"method":"ping","id":1}',
                     b'{"jsonrpc":"2.0 ","method":"ping","id":1}'):
            with self.subTest(body=body):
                std_error(self, self.post(body), -32600)

    def test_method_not_string(self):
        for method in (b"1", b"null", b"true", b"[]", b'{"a":"ping"}'):
            with self.subTest(method=method):
                std_error(self, self.post(
                    b'{"jsonrpc":"2.0","method":' + method + b',"id":1}'),
                    -32600)

    def test_method_missing(self):
        std_error(self, self.post(b'{"jsonrpc":"2.0","id":1}'), -32600)
        std_error(self, self.post(b'{"jsonrpc":"2.0","params":[],"id":1}'),
                  -32600)

    def test_params_not_structured(self):
        for params in (b'"bar"', b"1", b"true"):
            with self.subTest(params=params):
                std_error(self, self.post(
                    b'{"jsonrpc":"2.0","method":"echo","params":' + params
                    + b',"id":1}'), -32600)

    def test_not_an_object(self):
        for body in (b"1", b'"ping"', b"null", b"true"):
            with self.subTest(body=body):
                std_error(self, self.post(body), -32600, id=None)

    def test_reserved_rpc_prefix(self):
        std_error(self, self.srv.rpc("rpc.foo", id=1), -32601, id=1)
        std_error(self, self.srv.rpc("rpc.", id=2), -32601, id=2)

    def test_unknown_method_names(self):
        for name in ("", "PING", "ping ", "nosuch.method", "x" * 1000):
            with self.subTest(name=name[:20]):
                std_error(self, self.srv.rpc(name, id=7), -32601, id=7)

    # -- plugin errors --------------------------------------------------------

    def test_plugin_failure_is_internal_error(self):
        err = std_error(self, self.srv.rpc("fail", id=1), -32603, id=1)
        self.assertNotIn("EFAIL", json.dumps(err))

    def test_plugin_reserved_code_refused(self):
        answer = self.srv.rpc("bad_code", id=2)
        err = std_error(self, answer, -32603, id=2)
        self.assertNotIn("-32000", json.dumps(answer))
        self.assertNotIn("reserved code", err["message"])

    def test_plugin_error_with_data(self):
        answer = self.srv.rpc("error_data", id=3)
        self.assertEqual(answer, {"jsonrpc": "2.0", "id": 3,
                                  "error": {"code": 42, "message": "custom",
                                            "data": "details"}})

    def test_plugin_internal_error_message_passes(self):
        err = error_of(self, self.srv.rpc("internal_leak", id=4), -32603,
                       id=4)
        self.assertEqual(err["message"], "secret /etc/passwd path")

    def test_echo_without_params(self):
        self.assert_result(self.srv.rpc("echo", id=5), None, 5)

    def test_echo_values(self):
        params = {"s": "x", "n": -1.25, "t": True, "f": False, "z": None,
                  "a": [1, [2, {}], []], "o": {"k": {"k": "v"}}}
        self.assert_result(self.srv.rpc("echo", params, id=6), params, 6)

    def test_sum(self):
        self.assert_result(self.srv.rpc("sum", [1, 2, 4], id=7), 7, 7)
        self.assert_result(self.srv.rpc("sum", [], id=8), 0, 8)
        std_error(self, self.srv.rpc("sum", ["a"], id=9), -32602, id=9)

    def test_large_request_and_answer(self):
        blob = "x" * 200000
        self.assert_result(self.srv.rpc("echo", [blob], id=1), [blob], 1)


class MaxBatchTest(unittest.TestCase):
    def test_batch_over_max_batch(self):
        with Server(server={"max_batch": 5}) as srv:
            call = {"jsonrpc": "2.0", "method": "ping", "id": 1}
            status, _, data = srv.call([call] * 6)
            self.assertEqual(status, 200, data)
            answer = json.loads(data)
            self.assertIsInstance(answer, dict,
                                  "over max_batch: one error object")
            std_error(self, answer, -32600, id=None)

            status, _, data = srv.call(
                [dict(call, id=i) for i in range(5)])
            self.assertEqual(status, 200, data)
            answer = json.loads(data)
            self.assertIsInstance(answer, list, answer)
            self.assertEqual(sorted(a["id"] for a in answer), list(range(5)))

    def test_max_depth_setting(self):
        with Server(server={"max_depth": 4}) as srv:
            # Well under the limit whichever way the levels are counted.
            answer = srv.rpc("echo", [1], id=1)
            self.assertEqual(answer.get("result"), [1], answer)
            body = (b'{"jsonrpc":"2.0","method":"echo","params":'
                    + b"[" * 10 + b"]" * 10 + b',"id":1}')
            status, _, data = srv.call(body)
            self.assertEqual(status, 200, data)
            std_error(self, json.loads(data), -32700, id=None)


if __name__ == "__main__":
    unittest.main()
