# SPDX-License-Identifier: MIT
"""Described params, rpc.discover (OpenRPC), error codes and plugin config
errors, against the shipped example plugins (conf/examples.ini's plugins,
from the build) and the fixtures of tests/plugins_sdk."""

import json
import re
import unittest

from harness import Server, TempDir, error_of, ini_text, run_cli, std_error
from sdkutil import (accepted, examples_plugins, methods_of_t_output, plugin,
                     refused, sdk_fixture, shipped)

JSON_SCHEMA_TYPES = {"string", "integer", "number", "boolean", "object",
                     "array", "null"}


class ExamplesTest(unittest.TestCase):
    """calc, echo, ping and sleep through the host's params checks."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(plugins=examples_plugins(),
                         server={"call_timeout": 10}).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def ok(self, method, params=None, id=1):
        ans = self.srv.rpc(method, params, id)
        self.assertEqual(ans.get("jsonrpc"), "2.0", ans)
        self.assertNotIn("error", ans, ans)
        self.assertEqual(ans.get("id"), id, ans)
        return ans["result"]

    def bad_params(self, method, params, *fragments):
        ans = self.srv.rpc(method, params, id=7)
        err = std_error(self, ans, -32602, id=7)
        self.assertIsInstance(err.get("data"), str, ans)
        for f in fragments:
            self.assertIn(f, err["data"], ans)
        return err["data"]

    # -- calc ---------------------------------------------------------------

    def test_add_by_position_and_name(self):
        self.assertEqual(self.ok("add", [1, 2]), 3)
        self.assertEqual(self.ok("add", [1.5, -4]), -2.5)
        self.assertEqual(self.ok("add", {"a": 40, "b": 2}), 42)
        self.assertEqual(self.ok("add", {"b": 2, "a": 40}), 42)

    def test_subtract_spec_examples(self):
        # The JSON-RPC 2.0 specification's examples.
        self.assertEqual(self.ok("subtract", [42, 23], 1), 19)
        self.assertEqual(self.ok("subtract", [23, 42], 2), -19)
        self.assertEqual(
            self.ok("subtract", {"subtrahend": 23, "minuend": 42}, 3), 19)
        self.assertEqual(
            self.ok("subtract", {"minuend": 42, "subtrahend": 23}, 4), 19)

    def test_subtract_in_a_batch_by_both_forms(self):
        batch = [{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23],
                  "id": "p"},
                 {"jsonrpc": "2.0", "method": "subtract",
                  "params": {"subtrahend": 23, "minuend": 42}, "id": "n"},
                 {"jsonrpc": "2.0", "method": "subtract", "params": [1],
                  "id": "m"}]
        status, _, body = self.srv.call(batch)
        self.assertEqual(status, 200)
        answers = {a["id"]: a for a in json.loads(body)}
        self.assertEqual(set(answers), {"p", "n", "m"})
        self.assertEqual(answers["p"]["result"], 19)
        self.assertEqual(answers["n"]["result"], 19)
        err = std_error(self, answers["m"], -32602, id="m")
        self.assertIn("subtrahend", err["data"])

    def test_missing_params(self):
        self.bad_params("subtract", [42],
                        "missing required param 'subtrahend' (1)")
        self.bad_params("subtract", {"minuend": 42},
                        "missing required param 'subtrahend' (1)")
        self.bad_params("subtract", {"subtrahend": 42},
                        "missing required param 'minuend' (0)")
        self.bad_params("subtract", None, "'minuend'")
        self.bad_params("subtract", [], "'minuend'")
        self.bad_params("add", {}, "'a'")

    def test_extra_and_unknown_params(self):
        data = self.bad_params("subtract", [1, 2, 3], "too many")
        self.assertIn("3", data)
        self.bad_params("subtract", {"minuend": 1, "subtrahend": 2, "x": 3},
                        "unknown param 'x'")
        self.bad_params("add", {"a": 1, "B": 2}, "'B'")  # names are exact

    def test_wrong_types(self):
        self.bad_params("subtract", [42, "23"],
                        "param 'subtrahend' (1): expected a number")
        self.bad_params("subtract", {"minuend": True, "subtrahend": 1},
                        "param 'minuend' (0): expected a number")
        self.bad_params("add", [None, 1], "'a'", "number")
        self.bad_params("add", [[1], 1], "'a'", "number")
        self.bad_params("divide", [1, {"x": 1}], "'divisor'", "number")

    def test_divide(self):
        self.assertEqual(self.ok("divide", [9, 3]), 3)
        self.assertEqual(self.ok("divide", {"dividend": 1, "divisor": 4}),
                         0.25)
        ans = self.srv.rpc("divide", [1, 0], id=5)
        err = error_of(self, ans, 1, "Division by zero", id=5)
        self.assertNotIn("data", err)
        ans = self.srv.rpc("divide", {"divisor": 0, "dividend": 0}, id=6)
        error_of(self, ans, 1, "Division by zero", id=6)

    def test_sum_of_many(self):
        self.assertEqual(self.ok("sum", list(range(1, 1001))), 500500)
        self.assertEqual(self.ok("sum", [0.5] * 4), 2)
        self.assertEqual(self.ok("sum", []), 0)
        self.assertEqual(self.ok("sum"), 0)
        # sum's n is variadic: the host checks every number, by position.
        self.bad_params("sum", [1, "2", 3],
                        "param 'n' (1): expected a number")
        self.bad_params("sum", [1, 2, 3, 4, 5, 6, 7, 8, 9, None],
                        "param 'n' (9): expected a number")
        self.bad_params("sum", {"a": 1}, "by position")
        self.bad_params("sum", {"n": 1}, "by position")

    def test_non_finite_result(self):
        self.bad_params("add", [1.7e308, 1.7e308], "finite")

    # -- echo ---------------------------------------------------------------

    def test_echo(self):
        for params in ([], {}, [1, "two", None, True, 3.5],
                       {"a": [1, {"b": [None, {"c": "d"}]}], "e": {}},
                       [[[[["deep"]]]], {"k": []}],
                       ["unicode \u00e9\u4e2d\U0001f600", "esc \"\\/\n\t"]):
            with self.subTest(params=params):
                self.assertEqual(self.ok("echo", params), params)
        self.assertIsNone(self.ok("echo"))

    # -- ping ---------------------------------------------------------------

    def test_ping_params(self):
        self.assertEqual(self.ok("ping"), "pong")
        self.assertEqual(self.ok("ping", []), "pong")
        self.assertEqual(self.ok("ping", {}), "pong")
        self.bad_params("ping", [1])
        self.bad_params("ping", {"a": 1}, "'a'")

    # -- sleep (integer params) ---------------------------------------------

    def test_sleep_params(self):
        self.assertEqual(self.ok("sleep", [0]), 0)
        self.assertEqual(self.ok("sleep", {"ms": 1}), 1)
        self.bad_params("sleep", [1.5], "param 'ms' (0): expected an integer")
        self.bad_params("sleep", ["1"], "'ms'", "integer")
        self.bad_params("sleep", [2 ** 53], "'ms'", "integer")
        self.bad_params("sleep", [-1], "'ms'", "out of range 0..60000")
        self.bad_params("sleep", [60001], "'ms'", "out of range 0..60000")
        self.bad_params("sleep", {}, "missing required param 'ms' (0)")

    # -- rpc.discover -------------------------------------------------------

    def discover(self):
        return self.ok("rpc.discover")

    def check_content_descriptor(self, cd, where):
        self.assertIsInstance(cd, dict, where)
        self.assertIsInstance(cd.get("name"), str, where)
        self.assertTrue(cd["name"], where)
        self.assertIsInstance(cd.get("schema"), dict, where)
        if "type" in cd["schema"]:
            self.assertIn(cd["schema"]["type"], JSON_SCHEMA_TYPES, where)
        if "required" in cd:
            self.assertIsInstance(cd["required"], bool, where)
        if "description" in cd:
            self.assertIsInstance(cd["description"], str, where)

    def test_discover_is_openrpc(self):
        doc = self.discover()
        # Required fields of an OpenRPC 1.2 document.
        self.assertIsInstance(doc, dict)
        self.assertIsInstance(doc.get("openrpc"), str, doc)
        self.assertRegex(doc["openrpc"], r"^1\.2\.\d+$")
        self.assertIsInstance(doc.get("info"), dict, doc)
        self.assertIsInstance(doc["info"].get("title"), str, doc)
        self.assertIsInstance(doc["info"].get("version"), str, doc)
        self.assertTrue(doc["info"]["title"] and doc["info"]["version"])
        self.assertIsInstance(doc.get("methods"), list, doc)
        names = []
        for m in doc["methods"]:
            self.assertIsInstance(m, dict)
            self.assertIsInstance(m.get("name"), str, m)
            names.append(m["name"])
            self.assertIsInstance(m.get("params"), list, m)
            pnames = []
            for cd in m["params"]:
                self.check_content_descriptor(cd, m)
                pnames.append(cd["name"])
            # OpenRPC: params are unique by name.
            self.assertEqual(len(pnames), len(set(pnames)), m)
            # OpenRPC 1.2: result is a content descriptor.
            self.check_content_descriptor(m.get("result"), m)
            if "summary" in m:
                self.assertIsInstance(m["summary"], str, m)
        # Method names are unique, and no rpc.* method is listed.
        self.assertEqual(len(names), len(set(names)), names)
        self.assertFalse([n for n in names if n.startswith("rpc.")], names)

    def test_discover_lists_every_method(self):
        # The same set of methods -t reports for the same config.
        with TempDir() as d:
            path = d.write("rpchost.ini",
                           ini_text({"listen": "127.0.0.1:0"},
                                    examples_plugins()))
            rc, out, err = run_cli(["-c", path, "-t"])
        self.assertEqual(rc, 0, err)
        expected = methods_of_t_output(out)
        self.assertTrue({"ping", "add", "subtract", "divide", "sum", "echo",
                         "sleep"} <= expected, out)
        names = {m["name"] for m in self.discover()["methods"]}
        self.assertEqual(names, expected)

    def test_discover_describes_calc(self):
        methods = {m["name"]: m for m in self.discover()["methods"]}
        sub = methods["subtract"]
        self.assertEqual([p["name"] for p in sub["params"]],
                         ["minuend", "subtrahend"])
        for p in sub["params"]:
            self.assertEqual(p["schema"].get("type"), "number", sub)
            self.assertIs(p.get("required"), True, sub)
        self.assertEqual(sub.get("summary"),
                         "Subtracts subtrahend from minuend.")
        self.assertEqual(sub["result"]["schema"].get("type"), "number")
        for name in ("add", "divide"):
            self.assertEqual(len(methods[name]["params"]), 2, methods[name])
            for p in methods[name]["params"]:
                self.assertEqual(p["schema"].get("type"), "number")
        sleep = methods["sleep"]
        self.assertEqual(sleep["params"][0]["name"], "ms")
        self.assertEqual(sleep["params"][0]["schema"].get("type"), "integer")
        # ping: described as taking no params.
        self.assertEqual(methods["ping"]["params"], [])
        self.assertNotIn("x-params", methods["ping"])
        self.assertEqual(methods["ping"]["result"]["schema"].get("type"),
                         "string")
        # sum: one variadic number, by position; divide: its error 1.
        (n,) = methods["sum"]["params"]
        self.assertEqual((n["name"], n["schema"], n.get("x-variadic")),
                         ("n", {"type": "number", "title": "sumParamN"}, True))
        self.assertEqual(methods["sum"]["paramStructure"], "by-position")
        self.assertEqual(methods["sum"]["result"]["schema"]["title"],
                         "sumResult")
        self.assertEqual(methods["subtract"]["paramStructure"], "either")
        self.assertEqual(methods["divide"]["errors"],
                         [{"code": 1, "message": "Division by zero"}])
        self.assertIn("when divisor is 0", methods["divide"]["description"])
        # echo takes any params: one variadic param of any type, by
        # position or by name, so generators give it a real param.
        self.assertEqual(methods["echo"]["paramStructure"], "either")
        (value,) = methods["echo"]["params"]
        self.assertEqual((value["name"], value["required"],
                          value.get("x-variadic")), ("value", False, True))
        self.assertNotIn("type", value["schema"])
        self.assertEqual(methods["echo"]["result"]["schema"]["title"],
                         "echoResult")
        # Every schema has a title; none is repeated.
        titles = [cd["schema"]["title"] for m in methods.values()
                  for cd in m["params"] + [m["result"]]]
        self.assertEqual(len(titles), len(set(titles)), titles)

    def test_discover_params(self):
        self.assertEqual(self.ok("rpc.discover", []), self.discover())
        self.assertEqual(self.ok("rpc.discover", {}), self.discover())
        self.bad_params("rpc.discover", [1])
        self.bad_params("rpc.discover", {"a": 1})

    def test_discover_in_batch_and_as_notification(self):
        batch = [{"jsonrpc": "2.0", "method": "rpc.discover", "id": 1},
                 {"jsonrpc": "2.0", "method": "ping", "id": 2},
                 {"jsonrpc": "2.0", "method": "rpc.discover"}]
        status, _, body = self.srv.call(batch)
        self.assertEqual(status, 200)
        answers = {a["id"]: a for a in json.loads(body)}
        self.assertEqual(set(answers), {1, 2})
        self.assertEqual(answers[1]["result"], self.discover())
        status, _, body = self.srv.call(
            {"jsonrpc": "2.0", "method": "rpc.discover"})
        self.assertEqual(status, 204, body)
        self.assertEqual(body, b"")

    def test_other_rpc_names_not_found(self):
        for name in ("rpc.other", "rpc.Discover", "rpc.discover "):
            with self.subTest(name=name):
                std_error(self, self.srv.rpc(name, None, 3), -32601, id=3)


class ReservedCodesTest(unittest.TestCase):
    """reserved.so: a plugin may not answer the host's codes."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(plugins={"reserved": plugin(sdk_fixture("reserved"))},
                         threads=1).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def last_rc(self):
        return self.srv.rpc("last_rc")["result"]

    def test_reserved_code_becomes_internal_error(self):
        ans = self.srv.rpc("bad", id=4)
        err = std_error(self, ans, -32603, id=4)
        self.assertNotIn("data", err)  # no plugin text reaches the client
        self.assertNotIn("must not leak", json.dumps(ans))
        self.assertNotIn("secret", json.dumps(ans))
        self.assertEqual(self.last_rc(), -7)  # RPCHOST_ERESERVED

    def test_own_code(self):
        ans = self.srv.rpc("ok42", id=5)
        err = error_of(self, ans, 42, "forty-two", id=5)
        self.assertEqual(err.get("data"), {"n": 42})
        self.assertEqual(self.last_rc(), 0)

    def test_range_boundaries(self):
        allowed = {-32769: -32769, -31999: -31999, 0: 0, 1: 1, -1: -1,
                   -32602: -32602, -32603: -32603,
                   2 ** 31 - 1: 2 ** 31 - 1, -2 ** 31: -2 ** 31}
        refused_codes = (-32768, -32000, -32001, -32600, -32601, -32700,
                         -32099, -32050)
        for code, wire in allowed.items():
            with self.subTest(code=code):
                ans = self.srv.rpc("code", [code], id=1)
                err = error_of(self, ans, wire, id=1)
                if code not in (-32602, -32603):
                    self.assertEqual(err["message"], "custom", ans)
                self.assertEqual(err.get("data"), "data", ans)
                self.assertEqual(self.last_rc(), 0)
        for code in refused_codes:
            with self.subTest(code=code):
                ans = self.srv.rpc("code", [code], id=2)
                err = std_error(self, ans, -32603, id=2)
                self.assertNotIn("data", err)
                self.assertEqual(self.last_rc(), -7)

    def test_server_keeps_working(self):
        for _ in range(3):
            self.srv.rpc("bad")
        self.assertEqual(self.srv.rpc("ok42")["error"]["code"], 42)


class BadParamsTest(unittest.TestCase):
    """badparams.so: an invalid params description refuses the plugin."""

    KINDS = {
        "dup": "two params have the same name",
        "order": "a required param follows an optional one",
        "type": "unknown type",
        "name": "A-Z a-z 0-9 _",
        "empty": "A-Z a-z 0-9 _",
        "many": "more than 64 params",
        "result": "unknown type",
    }

    def test_each_kind_refused(self):
        for kind, reason in self.KINDS.items():
            for ignore in (False, True):
                with self.subTest(kind=kind, ignore=ignore):
                    err = refused(self, {"ping": plugin(shipped("ping")),
                                         "bp": plugin(sdk_fixture("badparams"),
                                                      kind=kind,
                                                      ignore=ignore)})
                    self.assertIn("[bp]", err)
                    self.assertIn('"bp"', err)  # the method
                    self.assertIn(reason, err)

    def test_valid_description_accepted(self):
        out = accepted(self, {"bp": plugin(sdk_fixture("badparams"),
                                           kind="ok")})
        self.assertIn("bp", methods_of_t_output(out))
        with Server(plugins={"bp": plugin(sdk_fixture("badparams"),
                                          kind="ok")}, threads=1) as srv:
            self.assertEqual(srv.rpc("bp", [1])["result"], "bp")
            self.assertEqual(srv.rpc("bp", {"a": 1, "b": "x"})["result"],
                             "bp")
            err = std_error(self, srv.rpc("bp", ["1"]), -32602)
            self.assertIn("param 'a' (0): expected an integer", err["data"])
            err = std_error(self, srv.rpc("bp", [1, 2]), -32602)
            self.assertIn("param 'b' (1): expected a string", err["data"])
            err = std_error(self, srv.rpc("bp", [1, "x", 3]), -32602)
            self.assertIn("too many", err["data"])
            doc = srv.rpc("rpc.discover")["result"]
            (bp,) = [m for m in doc["methods"] if m["name"] == "bp"]
            self.assertEqual(
                [(p["name"], p["schema"].get("type"), p["required"])
                 for p in bp["params"]],
                [("a", "integer", True), ("b", "string", False)])


class ConfigKeysTest(unittest.TestCase):
    """Plugin config keys: required keys and malformed values."""

    def test_missing_required_key(self):
        err = refused(self, {"needkey": plugin(sdk_fixture("needkey"))})
        self.assertIn("missing required key 'dsn'", err)
        self.assertIn("[needkey]", err)

    def test_empty_required_key(self):
        err = refused(self, {"needkey": plugin(sdk_fixture("needkey"),
                                               dsn="")})
        self.assertIn("missing required key 'dsn'", err)

    def test_required_key_present(self):
        keys = {"needkey": plugin(sdk_fixture("needkey"),
                                  dsn="postgres://db/x")}
        self.assertIn("dsn", methods_of_t_output(accepted(self, keys)))
        with Server(plugins=keys, threads=1) as srv:
            self.assertEqual(srv.rpc("dsn")["result"], "postgres://db/x")

    def key_error(self, section, keys, key, value, *fragments):
        """The plugin's bad key stops startup naming its line and value."""
        plugins = {"ping": plugin(shipped("ping")), section: keys}
        text = ini_text({"listen": "127.0.0.1:0", "threads": 1}, plugins)
        lines = text.splitlines()
        line = lines.index("%s = %s" % (key, value)) + 1
        err = refused(self, plugins)
        self.assertIn("[%s]" % section, err)
        self.assertIn("line %d: %s = '%s'" % (line, key, value), err)
        for f in fragments:
            self.assertIn(f, err)

    def test_int_key_errors(self):
        self.key_error("sleep", plugin(shipped("sleep"), max_ms="abc"),
                       "max_ms", "abc", "not an integer")
        self.key_error("sleep", plugin(shipped("sleep"), max_ms="99999999"),
                       "max_ms", "99999999", "out of range 0..3600000")
        self.key_error("sleep", plugin(shipped("sleep"), max_ms="-1"),
                       "max_ms", "-1", "out of range")
        self.key_error("sleep", plugin(shipped("sleep"), max_ms="1.5"),
                       "max_ms", "1.5", "not an integer")

    def test_bool_key_error(self):
        self.key_error("serial", plugin(sdk_fixture("serial"),
                                        plugin_serial="maybe"),
                       "plugin_serial", "maybe", "not a boolean")

    def test_int_key_applies(self):
        keys = {"sleep": plugin(shipped("sleep"), max_ms=50)}
        with Server(plugins=keys, threads=1) as srv:
            self.assertEqual(srv.rpc("sleep", [50])["result"], 50)
            err = std_error(self, srv.rpc("sleep", [51]), -32602)
            self.assertIn("out of range 0..50", err["data"])

    def test_bool_key_spellings(self):
        for value in ("true", "false", "yes", "no", "on", "off", "1", "0",
                      "TRUE", "Off"):
            with self.subTest(value=value):
                accepted(self, {"serial": plugin(sdk_fixture("serial"),
                                                 plugin_serial=value)})


if __name__ == "__main__":
    unittest.main()
