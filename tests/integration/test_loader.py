"""Plugin loading: refused plugins stop rpchost at startup."""

import os
import re
import unittest

from harness import (PING_SO, Server, TempDir, fixture, ini_text, plugin,
                     run_cli)

SERVER = {"listen": "127.0.0.1:0", "threads": 1}


class LoaderFailureTest(unittest.TestCase):
    def run_both(self, plugins, name="rpchost.ini"):
        """Run the config normally and with -t; both must fail (exit 1).

        Returns the stderr of the normal run.
        """
        with TempDir() as d:
            path = d.write(name, ini_text(SERVER, plugins))
            rc, out, err = run_cli(["-c", path])
            self.assertEqual(rc, 1, "rpchost should refuse to start;\n"
                             "stdout: %s\nstderr: %s" % (out, err))
            self.assertNotIn("listening on", err)
            self.assertTrue(err.strip(), "no message on stderr")
            rc_t, out_t, err_t = run_cli(["-c", path, "-t"])
            self.assertEqual(rc_t, 1, "-t should fail;\nstdout: %s\n"
                             "stderr: %s" % (out_t, err_t))
            self.assertTrue(err_t.strip(), "-t: no message on stderr")
            self.assertNotIn("listening on", err_t)
        return err

    def test_no_hook_symbol(self):
        err = self.run_both({"nohook": plugin(fixture("nohook"))})
        self.assertIn("rpchost_plugin", err)
        self.assertIn("nohook", err)

    def test_newer_abi(self):
        err = self.run_both({"newabi": plugin(fixture("newabi"))})
        self.assertIn("newabi", err)
        self.assertIn("abi", err.lower())
        # Names both versions (the plugin's 2 and the host's 1).
        self.assertRegex(err, r"\b2\b")
        self.assertRegex(err, r"\b1\b")
        self.assertNotIn("init ran", err)

    def test_init_fails(self):
        err = self.run_both({"initfail": plugin(fixture("initfail"))})
        self.assertIn("cannot reach database at db:5432", err)
        self.assertIn("initfail", err)

    def test_duplicate_method(self):
        err = self.run_both({"ping": plugin(PING_SO),
                             "dup": plugin(fixture("dup"))})
        self.assertIn("ping", err)
        self.assertIn("already", err.lower())
        self.assertIn("dup", err)

    def test_bad_method_names(self):
        for name in ("", "rpc.foo", "rpc.", "has space", "x" * 129,
                     "caf\u00e9", "tab\there"):
            with self.subTest(name=name[:20]):
                err = self.run_both(
                    {"badname": plugin(fixture("badname"), name=name)})
                self.assertIn("badname", err)
                if name:
                    self.assertIn(name, err)

    def test_config_line_limit(self):
        # libinih reads at most 198 characters per line (its fixed buffer,
        # INI_MAX_LINE); a longer line is refused with a message naming the
        # line, never silently cut.  A 129-byte name still fits and is
        # refused by register_method (names are 1..128 bytes).
        name = "x" * 200
        err = self.run_both({"badname": plugin(fixture("badname"),
                                               name=name)})
        self.assertIn("line longer than 198 characters", err)
        self.assertRegex(err, r"rpchost\.ini:\d+:")

    def test_good_method_names_accepted(self):
        # Control for test_bad_method_names: the same fixture loads with
        # valid names (1..128 printable ASCII, not "rpc.").
        for name in ("x", "x" * 128, "a.b-c_d/e:f!~", "rpc", "RPC.foo"):
            with self.subTest(name=name[:20]):
                with TempDir() as d:
                    path = d.write("rpchost.ini", ini_text(
                        SERVER,
                        {"badname": plugin(fixture("badname"), name=name)}))
                    rc, out, err = run_cli(["-c", path, "-t"])
                self.assertEqual(rc, 0, err)
                self.assertIn(name, out)

    def test_good_name_is_callable(self):
        with Server(plugins={"badname": plugin(fixture("badname"),
                                               name="a.b-c")}) as srv:
            answer = srv.rpc("a.b-c")
            self.assertEqual(answer, {"jsonrpc": "2.0",
                                      "result": "registered", "id": 1})

    def test_missing_shared_object(self):
        missing = "/nonexistent/dir/missing-plugin.so"
        err = self.run_both({"missing": plugin(missing)})
        self.assertIn("missing-plugin.so", err)

    def test_not_a_shared_object(self):
        with TempDir() as d:
            notso = d.write("notaplugin.so", "this is not an ELF file\n")
            err = self.run_both({"bogus": plugin(notso)})
        self.assertIn("notaplugin.so", err)

    def test_ini_file_as_plugin(self):
        # The config file itself as the plugin path (relative: resolved
        # against the config file's folder).
        err = self.run_both({"self": plugin("rpchost.ini")})
        self.assertIn("rpchost.ini", err)

    def test_directory_as_plugin(self):
        err = self.run_both({"dir": plugin(os.path.dirname(PING_SO))})
        self.assertIn("dir", err)

    def test_failure_after_good_plugin(self):
        # A good plugin before the bad one must not keep rpchost alive.
        err = self.run_both({"ping": plugin(PING_SO),
                             "spec": plugin(fixture("spec")),
                             "initfail": plugin(fixture("initfail"))})
        self.assertIn("cannot reach database", err)


class LoaderSuccessTest(unittest.TestCase):
    def test_all_good_plugins_listed(self):
        with TempDir() as d:
            path = d.write("rpchost.ini", ini_text(SERVER, {
                "ping": plugin(PING_SO), "spec": plugin(fixture("spec")),
                "cfg": plugin(fixture("cfg"))}))
            rc, out, err = run_cli(["-c", path, "-t"])
        self.assertEqual(rc, 0, err)
        for word in ("ping", "spec", "cfg", "subtract", "sum", "get_data",
                     "sleep_ms", "greet"):
            self.assertRegex(out, r"\b%s\b" % re.escape(word))


if __name__ == "__main__":
    unittest.main()
