# SPDX-License-Identifier: MIT
"""Configuration file and command line of rpchost."""

import os
import re
import unittest

from harness import (PING_SO, Server, TempDir, fixture, ini_text, plugin,
                     run_cli)

GOOD_SERVER = "[server]\nlisten = 127.0.0.1:0\nthreads = 1\n"
GOOD_PLUGINS = "[ping]\npath = %s\n" % PING_SO


def error_lines(err):
    return [line for line in err.splitlines() if line.strip()]


class ConfigErrorTest(unittest.TestCase):
    def run_bad(self, text, extra_args=()):
        """Config text that must be refused: exit 1, one line on stderr,
        never listening, for both a normal run and -t.

        Returns (stderr, path of the ini file, basename).
        """
        with TempDir() as d:
            path = d.write("bad-config.ini", text)
            rc, out, err = run_cli(["-c", path] + list(extra_args))
            self.assertEqual(rc, 1, "config should be refused;\nconfig:\n%s"
                             "\nstdout: %s\nstderr: %s" % (text, out, err))
            self.assertNotIn("listening on", err)
            lines = error_lines(err)
            self.assertEqual(len(lines), 1,
                             "expected one line on stderr, got: %r" % lines)
            rc_t, out_t, err_t = run_cli(["-c", path, "-t"]
                                         + list(extra_args))
            self.assertEqual(rc_t, 1, "-t: config should be refused;\n"
                             "stdout: %s\nstderr: %s" % (out_t, err_t))
            self.assertTrue(err_t.strip())
        return err, path, os.path.basename(path)

    def assert_names_line(self, err, base, lineno):
        self.assertRegex(err, re.escape(base) + r":%d\b" % lineno,
                         "message should name file:line")

    def test_missing_file(self):
        rc, out, err = run_cli(["-c", "/nonexistent/rpchost-none.ini"])
        self.assertEqual(rc, 1, err)
        self.assertIn("rpchost-none.ini", err)
        self.assertEqual(len(error_lines(err)), 1, err)
        rc, out, err = run_cli(["-t", "-c", "/nonexistent/rpchost-none.ini"])
        self.assertEqual(rc, 1, err)

    def test_syntax_error(self):
        text = GOOD_SERVER + "garbage\n" + GOOD_PLUGINS
        err, path, base = self.run_bad(text)
        self.assert_names_line(err, base, 4)

    def test_unterminated_section(self):
        err, path, base = self.run_bad(GOOD_SERVER + "[ping\n")
        self.assert_names_line(err, base, 4)

    def test_unknown_server_key(self):
        text = GOOD_SERVER + "bogus_key = 1\n" + GOOD_PLUGINS
        err, path, base = self.run_bad(text)
        self.assertIn("bogus_key", err)
        self.assert_names_line(err, base, 4)

    def test_bad_port(self):
        for listen in ("127.0.0.1:70000", "127.0.0.1:-1", "127.0.0.1:abc",
                       "127.0.0.1", "127.0.0.1:"):
            with self.subTest(listen=listen):
                text = ("[server]\nthreads = 1\nlisten = %s\n" % listen
                        + GOOD_PLUGINS)
                err, path, base = self.run_bad(text)
                self.assertIn("listen", err)
                self.assert_names_line(err, base, 3)

    def test_bad_threads(self):
        for value in ("abc", "-1", "257", "1x", ""):
            with self.subTest(threads=value):
                text = ("[server]\nlisten = 127.0.0.1:0\nthreads = %s\n"
                        % value + GOOD_PLUGINS)
                err, path, base = self.run_bad(text)
                self.assertIn("threads", err)
                self.assert_names_line(err, base, 3)

    def test_bad_server_values(self):
        for key, value in (("log_level", "loud"), ("max_body_size", "-5"),
                           ("max_body_size", "lots"), ("max_batch", "x"),
                           ("max_depth", "-1"), ("timeout", "soon"),
                           ("endpoint", "rpc"),
                           ("shutdown_timeout", "abc"),
                           ("max_header_size", "big")):
            with self.subTest(key=key, value=value):
                text = ("[server]\nlisten = 127.0.0.1:0\n%s = %s\n"
                        % (key, value) + GOOD_PLUGINS)
                err, path, base = self.run_bad(text)
                self.assertIn(key, err)
                self.assert_names_line(err, base, 3)

    def test_plugin_without_path(self):
        text = GOOD_SERVER + "[nopath]\nkey = value\n"
        err, path, base = self.run_bad(text)
        self.assertIn("nopath", err)
        self.assertIn("path", err)

    def test_threads_zero_means_auto(self):
        with TempDir() as d:
            path = d.write("ok.ini", "[server]\nlisten = 127.0.0.1:0\n"
                           "threads = 0\n" + GOOD_PLUGINS)
            rc, out, err = run_cli(["-c", path, "-t"])
        self.assertEqual(rc, 0, err)

    def test_threads_max(self):
        with TempDir() as d:
            path = d.write("ok.ini", "[server]\nlisten = 127.0.0.1:0\n"
                           "threads = 256\n" + GOOD_PLUGINS)
            rc, out, err = run_cli(["-c", path, "-t"])
        self.assertEqual(rc, 0, err)

    def test_comments_and_all_keys_accepted(self):
        text = """; a comment
# another comment
[server]
listen = 127.0.0.1:0   ; inline comment
endpoint = /
threads = 1
log_level = debug
max_body_size = 1048576
max_header_size = 8192
max_batch = 1000
max_depth = 64
timeout = 30
shutdown_timeout = 10

[ping]
path = %s
""" % PING_SO
        with TempDir() as d:
            path = d.write("ok.ini", text)
            rc, out, err = run_cli(["-c", path, "-t"])
        self.assertEqual(rc, 0, err)
        self.assertIn("ping", out)


class PluginConfigTest(unittest.TestCase):
    def test_keys_reach_plugin(self):
        plugins = {"cfg": plugin(fixture("cfg"), greeting="hi there",
                                 count=3, ratio=2.5, loud="true")}
        with Server(plugins=plugins) as srv:
            answer = srv.rpc("greet")
        self.assertEqual(answer, {"jsonrpc": "2.0", "id": 1, "result": {
            "greeting": "hi there", "count": 3, "ratio": 2.5, "loud": True}})

    def test_defaults(self):
        with Server(plugins={"cfg": plugin(fixture("cfg"))}) as srv:
            answer = srv.rpc("greet")
        self.assertEqual(answer, {"jsonrpc": "2.0", "id": 1, "result": {
            "greeting": "hello", "count": 1, "ratio": 0.5, "loud": False}})

    def test_bad_plugin_values(self):
        for key, value in (("count", "50"), ("count", "0"),
                           ("count", "abc"), ("count", "3.5"),
                           ("ratio", "half"), ("loud", "maybe")):
            with self.subTest(key=key, value=value):
                with TempDir() as d:
                    path = d.write("cfg.ini", ini_text(
                        {"listen": "127.0.0.1:0", "threads": 1},
                        {"cfg": plugin(fixture("cfg"), **{key: value})}))
                    rc, out, err = run_cli(["-c", path])
                    self.assertEqual(rc, 1, err)
                    self.assertNotIn("listening on", err)
                    self.assertIn(key, err)
                    self.assertIn("cfg", err)
                    rc, out, err = run_cli(["-c", path, "-t"])
                    self.assertEqual(rc, 1, err)

    def test_relative_plugin_path(self):
        with TempDir() as d:
            rel = os.path.relpath(PING_SO, d.path)
            path = d.write("rel.ini", GOOD_SERVER + "[ping]\npath = %s\n"
                           % rel)
            # Run from another directory: the path is resolved against
            # the config file's folder, not the working directory.
            rc, out, err = run_cli(["-c", path, "-t"], cwd="/")
        self.assertEqual(rc, 0, err)
        self.assertIn("ping", out)


class CliTest(unittest.TestCase):
    def test_test_config_lists_plugins_and_methods(self):
        for flag in ("-t", "--test-config"):
            with self.subTest(flag=flag):
                with TempDir() as d:
                    path = d.write("t.ini", ini_text(
                        {"listen": "127.0.0.1:0"},
                        {"ping": plugin(PING_SO),
                         "spec": plugin(fixture("spec"))}))
                    rc, out, err = run_cli(["-c", path, flag])
                self.assertEqual(rc, 0, err)
                for word in ("ping", "spec", "subtract", "sum", "update",
                             "notify_hello", "get_data", "echo"):
                    self.assertRegex(out, r"\b%s\b" % word, out)
                self.assertNotIn("listening on", err)

    def test_test_config_checks_the_pidfile_folder(self):
        # -t predicts the outcome: startup would fail to write it.
        with TempDir() as d:
            for pidfile, want in (("/nonexistent/x.pid", 1),
                                  (d.path + "/x.pid", 0)):
                with self.subTest(pidfile=pidfile):
                    path = d.write("t.ini", ini_text(
                        {"pidfile": pidfile}, {"ping": plugin(PING_SO)}))
                    rc, out, err = run_cli(["-c", path, "-t"])
                    self.assertEqual(rc, want, err)
                    if want:
                        self.assertIn("pidfile /nonexistent/x.pid", err)
                        self.assertIn(path, err)

    def test_test_config_checks_the_log_files(self):
        # -t predicts what startup would say: a log file it cannot open.
        # It creates nothing (the file is the server's to create).
        with TempDir() as d:
            for key in ("log_file", "access_log"):
                for where, want in (("/nonexistent/dir/x.log", 1),
                                    (d.path + "/new.log", 0)):
                    with self.subTest(key=key, path=where):
                        path = d.write("t.ini", ini_text(
                            {key: where}, {"ping": plugin(PING_SO)}))
                        rc, out, err = run_cli(["-c", path, "-t"])
                        self.assertEqual(rc, want, err)
                        if want:
                            self.assertIn("%s: %s %s: cannot create it in "
                                          "/nonexistent/dir" %
                                          (path, key, where), err)
                        self.assertFalse(os.path.exists(d.path + "/new.log"))

    def test_unopenable_log_file_said_once_at_startup(self):
        # The supervisor says it; the worker it forks does not say it again.
        with Server(server={"log_file": "/nonexistent/dir/x.log"}) as srv:
            self.assertEqual(srv.rpc("ping")["result"], "pong")
            said = [line for line in srv.stderr.splitlines()
                    if "/nonexistent/dir/x.log" in line]
        self.assertEqual(len(said), 1, said)
        self.assertIn("logging to stderr", said[0])

    def test_test_config_ends_with_its_report(self):
        # No "generation 1 finalised" after the report; a plugin with call
        # hooks and no methods says so.
        audit = os.path.join(os.path.dirname(PING_SO), "audit.so")
        with TempDir() as d:
            path = d.write("t.ini", ini_text(
                {"listen": "127.0.0.1:0"},
                {"ping": plugin(PING_SO),
                 "audit": plugin(audit, file=d.path + "/audit.log")}))
            rc, out, err = run_cli(["-c", path, "-t"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(err.strip(), "")
        self.assertRegex(out, r"plugin \[audit\] .*: \(hooks only: on_done\)\n")
        self.assertNotIn("no methods", out)

    def test_long_options(self):
        def argv(ini):
            return ["--config", ini, "--listen", "127.0.0.1:0",
                    "--threads", "2", "--verbose"]
        with Server(argv=argv) as srv:
            self.assertEqual(srv.rpc("ping")["result"], "pong")

    def test_bad_flag(self):
        for args in (["--bogus"], ["-Z"], ["-j"]):
            with self.subTest(args=args):
                rc, out, err = run_cli(args)
                self.assertEqual(rc, 2, (out, err))
                self.assertIn("usage", err.lower())
                self.assertNotIn("listening on", err)

    def test_timeouts_at_odds_are_said(self):
        with TempDir() as d:
            for server, want in (({"call_timeout": 60}, "call_timeout"),
                                 ({"header_timeout": 60,
                                   "request_timeout": 5}, "header_timeout"),
                                 ({}, None)):
                with self.subTest(server=server):
                    path = d.write("t.ini", ini_text(
                        server, {"ping": plugin(PING_SO)}))
                    rc, out, err = run_cli(["-c", path, "-t"])
                    self.assertEqual(rc, 0, err)
                    warns = [l for l in err.splitlines() if "WARN" in l]
                    if want is None:
                        self.assertEqual(warns, [], err)
                    else:
                        self.assertEqual(len(warns), 1, err)
                        self.assertIn(want, warns[0])

    def test_bad_option_values_exit_2(self):
        with TempDir() as d:
            path = d.write("t.ini", ini_text(None, {"ping": plugin(PING_SO)}))
            for args in (["-j", "300"], ["-j", "x"], ["-l", "nope"],
                         ["-l", "127.0.0.1:70000"]):
                with self.subTest(args=args):
                    rc, out, err = run_cli(["-c", path, "-t"] + args)
                    self.assertEqual(rc, 2, (out, err))
                    self.assertIn("--" + ("threads" if args[0] == "-j"
                                          else "listen"), err)

    def test_help(self):
        for flag in ("-h", "--help"):
            with self.subTest(flag=flag):
                rc, out, err = run_cli([flag])
                self.assertEqual(rc, 0, err)
                self.assertIn("usage", out.lower())
                for opt in ("--config", "--listen", "--threads",
                            "--test-config", "--verbose", "--version"):
                    self.assertIn(opt, out)
                # Every signal the server handles (README, Signals).
                for sig in ("SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP",
                            "SIGUSR1", "SIGUSR2"):
                    self.assertIn(sig, out)

    def test_version(self):
        rc, out, err = run_cli(["--version"])
        self.assertEqual(rc, 0, err)
        # "rpchost X.Y.Z", possibly followed by build details.
        self.assertRegex(out, r"^rpchost \d+\.\d+\.\d+(\s|$)")
        self.assertEqual(len(out.splitlines()), 1, out)

    def test_cli_overrides_listen_and_threads(self):
        # The config names port 1; -l 127.0.0.1:0 (added by Server) wins.
        with Server(server={"listen": "127.0.0.1:1", "threads": 1}) as srv:
            self.assertNotEqual(srv.port, 1)
            self.assertEqual(srv.rpc("ping")["result"], "pong")

    def test_listen_from_config(self):
        # Without -l the config's listen is used.
        with Server(server={"listen": "127.0.0.1:0"}, listen=None) as srv:
            self.assertEqual(srv.rpc("ping")["result"], "pong")



class UnreadKeyTest(unittest.TestCase):
    def test_a_key_init_never_read_is_named(self):
        """A misspelt plugin key would otherwise be ignored silently: a
        warning names file, line, section and key; keys init read are not
        named (#14's conveniences)."""
        sleep_so = os.path.join(os.path.dirname(PING_SO), "sleep.so")
        with TempDir() as d:
            path = d.write("rpc.ini", GOOD_SERVER + "\n[sleep]\npath = %s\n"
                           "max_ms = 100\nmaxms = 5\n" % sleep_so)
            rc, out, err = run_cli(["-t", "-c", path])
        self.assertEqual(rc, 0, err)
        self.assertRegex(err, r"rpc\.ini:8: \[sleep\] maxms: the plugin's "
                         r"init never read this key \(misspelt\?\)")
        self.assertNotIn("max_ms:", err)


class ConfigSizeTest(unittest.TestCase):
    def test_one_mib_loads_one_byte_more_does_not(self):
        head = GOOD_SERVER
        for size, rc in ((1024 * 1024, 0), (1024 * 1024 + 1, 1)):
            body = head
            while len(body) < size - 100:
                body += ";" + "x" * 97 + "\n"
            body += ";" + "x" * (size - len(body) - 2) + "\n"
            self.assertEqual(len(body), size)
            with TempDir() as d:
                path = d.write("big.ini", body)
                got, out, err = run_cli(["-t", "-c", path])
            self.assertEqual(got, rc, err)
            if rc:
                self.assertIn("larger than 1048576 bytes", err)


if __name__ == "__main__":
    unittest.main()
