# SPDX-License-Identifier: MIT
"""The installed SDK: `cmake --install` the build into a temporary prefix,
build the shipped template out of tree against it (with CMake and with
plain cc + pkg-config), and serve the result with the installed rpchost and
the installed configs."""

import glob
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest

import harness

from harness import (ASAN, CLI_TIMEOUT, Server, TempDir, error_of, ini_text,
                     run_cli, std_error)
from sdkutil import BUILD, methods_of_t_output, plugin, using_binary

BUILD_TIMEOUT = 300
NM_IGNORED = {"_init", "_fini", "_edata", "_end", "__bss_start"}


def run(args, cwd=None, env=None, timeout=BUILD_TIMEOUT):
    """Run a tool; returns (rc, combined output)."""
    try:
        p = subprocess.run(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return None, "timed out after %ss: %s\n%s" % (timeout, args, e.output)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def exported(so):
    """Defined dynamic symbols of a shared object (nm -D --defined-only)."""
    rc, out = run(["nm", "-D", "--defined-only", so], timeout=60)
    if rc != 0:
        raise AssertionError("nm failed on %s:\n%s" % (so, out))
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            names.add(parts[2].split("@")[0])
    return names - NM_IGNORED


@unittest.skipIf(ASAN, "sanitizer builds are not installed (the installed "
                 "tree is tested with the plain build)")
class InstalledSdkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not BUILD:
            raise RuntimeError("RPCHOST_BUILD is not set; run through ctest")
        for tool in ("cmake", "cc", "pkg-config", "nm"):
            if shutil.which(tool) is None:
                raise AssertionError("%s is needed for this test" % tool)
        cls.tmp = tempfile.mkdtemp(prefix="rpchost-sdk-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        rc, out = run(["cmake", "--install", BUILD, "--prefix", cls.prefix])
        if rc != 0:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise AssertionError("cmake --install failed:\n%s" % out)
        cls.bin = os.path.join(cls.prefix, "bin", "rpchost")
        cls.template = os.path.join(cls.prefix, "share", "doc", "rpchost",
                                    "template")
        pcs = glob.glob(os.path.join(cls.prefix, "**", "pkgconfig",
                                     "rpchost.pc"), recursive=True)
        cls.pc_dir = os.path.dirname(pcs[0]) if len(pcs) == 1 else None
        cls.pcs = pcs
        cls._cmake_so = None
        cls._cc_so = None

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- building the template ----------------------------------------------

    def copy_template(self, name):
        self.assertTrue(os.path.isdir(self.template),
                        "no template at %s" % self.template)
        dst = os.path.join(self.tmp, name)
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(self.template, dst)
        return dst

    def cmake_so(self):
        """The template built with CMake against the prefix (once)."""
        cls = type(self)
        if cls._cmake_so is None:
            src = self.copy_template("tpl-cmake")
            rc, out = run(["cmake", "-S", ".", "-B", "b",
                           "-DCMAKE_PREFIX_PATH=" + self.prefix], cwd=src)
            self.assertEqual(rc, 0, "configuring the template:\n" + out)
            rc, out = run(["cmake", "--build", "b"], cwd=src)
            self.assertEqual(rc, 0, "building the template:\n" + out)
            self.assertNotIn("warning:", out)
            so = os.path.join(src, "b", "myplugin.so")
            self.assertTrue(os.path.isfile(so), out)
            cls._cmake_so = so
        return cls._cmake_so

    def pc_env(self):
        self.assertEqual(len(self.pcs), 1, "rpchost.pc under the prefix: %r"
                         % self.pcs)
        env = dict(os.environ)
        env["PKG_CONFIG_PATH"] = self.pc_dir
        return env

    def cc_so(self):
        """The template's myplugin.c built with cc + pkg-config (once)."""
        cls = type(self)
        if cls._cc_so is None:
            src = self.copy_template("tpl-cc")
            env = self.pc_env()
            rc, cflags = run(["pkg-config", "--cflags", "rpchost"], env=env)
            self.assertEqual(rc, 0, cflags)
            rc, libs = run(["pkg-config", "--libs", "rpchost"], env=env)
            self.assertEqual(rc, 0, libs)
            args = (["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-fPIC",
                     "-shared", "-fvisibility=hidden"] + shlex.split(cflags) +
                    ["myplugin.c"] + shlex.split(libs) + ["-o", "myplugin.so"])
            rc, out = run(args, cwd=src, env=env)
            self.assertEqual(rc, 0, "%s\n%s" % (" ".join(args), out))
            cls._cc_so = os.path.join(src, "myplugin.so")
        return cls._cc_so

    def test_installed_layout(self):
        for rel in ("bin/rpchost", "include/rpchost/plugin.h",
                    "etc/rpchost/rpc.ini", "etc/rpchost/examples.ini",
                    "share/doc/rpchost/SDK.md",
                    "share/doc/rpchost/template/CMakeLists.txt",
                    "share/doc/rpchost/template/myplugin.c"):
            self.assertTrue(os.path.isfile(os.path.join(self.prefix, rel)),
                            rel)
        self.assertTrue(os.access(self.bin, os.X_OK))
        self.assertEqual(len(self.pcs), 1, self.pcs)
        cfgs = glob.glob(os.path.join(self.prefix, "**", "cmake", "rpchost",
                                      "rpchostConfig.cmake"), recursive=True)
        self.assertEqual(len(cfgs), 1, cfgs)
        for name in ("ping", "calc", "echo", "sleep", "audit"):
            found = glob.glob(os.path.join(self.prefix, "**", "rpchost",
                                           "plugins", name + ".so"),
                              recursive=True)
            self.assertEqual(len(found), 1, (name, found))

    def test_examples_audit_section_names_the_installed_plugin(self):
        # examples.ini's commented [audit] section works once uncommented.
        with open(os.path.join(self.prefix, "etc", "rpchost",
                               "examples.ini")) as f:
            paths = re.findall(r"^; path = (\S*audit\.so)$", f.read(), re.M)
        self.assertEqual(len(paths), 1, paths)
        self.assertTrue(os.path.isabs(paths[0]), paths)
        self.assertTrue(os.path.isfile(paths[0]), paths)

    def test_template_builds_with_cmake(self):
        so = self.cmake_so()
        self.assertEqual(exported(so), {"rpchost_plugin_entry"})

    def test_template_installs_into_plugin_dir(self):
        so = self.cmake_so()
        build = os.path.dirname(so)
        rc, out = run(["cmake", "--install", build])
        self.assertEqual(rc, 0, out)
        env = self.pc_env()
        rc, plugindir = run(["pkg-config", "--variable=plugindir", "rpchost"],
                            env=env)
        self.assertEqual(rc, 0, plugindir)
        installed = os.path.join(plugindir.strip(), "myplugin.so")
        self.assertTrue(os.path.isfile(installed), installed)
        self.assertTrue(os.path.realpath(installed).startswith(
            os.path.realpath(self.prefix)), installed)

    def test_template_builds_with_pkg_config(self):
        so = self.cc_so()
        self.assertEqual(exported(so), {"rpchost_plugin_entry"})

    # -- serving with the installed binary ----------------------------------

    def check_greet(self, so):
        with using_binary(self.bin):
            with Server(plugins={"myplugin": plugin(so)}, threads=1) as srv:
                self.assertEqual(srv.rpc("greet", ["Ada"])["result"],
                                 "hello, Ada")
                self.assertEqual(srv.rpc("greet", {"name": "Ada"})["result"],
                                 "hello, Ada")
            # Its hook: with slow_ms = 0 every call is "slow", logged with
            # the call's peer and trace id; calls of other plugins too.
            keys = {"myplugin": plugin(so, slow_ms=0),
                    "ping": plugin(harness.PING_SO)}
            with Server(plugins=keys, threads=1) as srv:
                self.assertEqual(srv.rpc("greet", ["Ada"])["result"],
                                 "hello, Ada")
                self.assertEqual(srv.rpc("ping")["result"], "pong")
                harness.wait_stderr(srv, r"\[myplugin\] slow call: greet from "
                                    r"127\.0\.0\.1:\d+ took \d+ ms \(code 0\) "
                                    r"\[trace [0-9a-f]{32}\]")
                harness.wait_stderr(srv, r"\[myplugin\] slow call: ping from ")
            keys = {"myplugin": plugin(so, greeting="hi")}
            with Server(plugins=keys, threads=1) as srv:
                self.assertEqual(srv.rpc("greet", ["Ada"])["result"],
                                 "hi, Ada")
                self.assertEqual(srv.rpc("greet", {"name": "Ada",
                                                   "times": 2})["result"],
                                 "hi, Ada hi, Ada")
                self.assertEqual(srv.rpc("greet", ["Ada", 3])["result"],
                                 "hi, Ada hi, Ada hi, Ada")
                err = std_error(self, srv.rpc("greet", [5]), -32602)
                self.assertIn("'name'", err["data"])
                err = std_error(self, srv.rpc("greet", {"name": "Ada",
                                                        "times": "2"}),
                                -32602)
                self.assertIn("'times'", err["data"])
                err = std_error(self, srv.rpc("greet", ["Ada", 1.5]), -32602)
                self.assertIn("'times'", err["data"])
                err = std_error(self, srv.rpc("greet", ["Ada", 11]), -32602)
                self.assertIn("'times'", err["data"])
                self.assertIn("1..10", err["data"])
                err = std_error(self, srv.rpc("greet", {"who": "Ada"}),
                                -32602)
                self.assertIn("'who'", err["data"])
                err = std_error(self, srv.rpc("greet"), -32602)
                self.assertIn("'name'", err["data"])
                doc = srv.rpc("rpc.discover")["result"]
                (greet,) = [m for m in doc["methods"]
                            if m["name"] == "greet"]
                self.assertEqual([p["name"] for p in greet["params"]],
                                 ["name", "times"])
            # Its config check: a greeting over 63 characters.
            with TempDir() as d:
                path = d.write("my.ini", ini_text(
                    {"listen": "127.0.0.1:0"},
                    {"myplugin": plugin(so, greeting="x" * 64)}))
                rc, out, err = run_cli(["-c", path, "-t"])
            self.assertEqual(rc, 1, out + err)
            self.assertIn("greeting is longer than 63 characters", err)

    def test_serve_cmake_build(self):
        self.check_greet(self.cmake_so())

    def test_serve_pkg_config_build(self):
        self.check_greet(self.cc_so())

    def test_both_builds_in_one_config_conflict(self):
        # Two plugins registering greet: refused, naming the method.
        with using_binary(self.bin), TempDir() as d:
            path = d.write("my.ini", ini_text(
                {"listen": "127.0.0.1:0"},
                {"a": plugin(self.cmake_so()), "b": plugin(self.cc_so())}))
            rc, out, err = run_cli(["-c", path, "-t"])
        self.assertEqual(rc, 1, out + err)
        self.assertIn("greet", err)
        self.assertIn("already registered", err)

    # -- the installed configs ----------------------------------------------

    def test_installed_configs_check(self):
        etc = os.path.join(self.prefix, "etc", "rpchost")
        expect = {"rpc.ini": {"ping"},
                  "examples.ini": {"ping", "add", "subtract", "divide", "sum",
                                   "echo", "sleep"}}
        with using_binary(self.bin):
            for name, methods in expect.items():
                with self.subTest(config=name):
                    rc, out, err = run_cli(["-t", "-c",
                                            os.path.join(etc, name)])
                    self.assertEqual(rc, 0, out + err)
                    self.assertEqual(methods_of_t_output(out), methods, out)
                    # From another working directory too (paths are
                    # relative to the config's folder).
                    rc2, out2, err2 = run_cli(
                        ["-t", "-c", os.path.join(etc, name)],
                        timeout=CLI_TIMEOUT)
                    self.assertEqual(rc2, 0, err2)

    def test_ping_through_installed_rpc_ini(self):
        ini = os.path.join(self.prefix, "etc", "rpchost", "rpc.ini")
        with using_binary(self.bin):
            with Server(argv=lambda _: ["-c", ini, "-l", "127.0.0.1:0",
                                        "-j", "1"]) as srv:
                self.assertEqual(srv.rpc("ping"),
                                 {"jsonrpc": "2.0", "result": "pong", "id": 1})
                std_error(self, srv.rpc("add", [1, 2]), -32601)

    def test_examples_through_installed_examples_ini(self):
        ini = os.path.join(self.prefix, "etc", "rpchost", "examples.ini")
        with using_binary(self.bin):
            with Server(argv=lambda _: ["-c", ini, "-l", "127.0.0.1:0"]) \
                    as srv:
                self.assertEqual(srv.rpc("subtract", [42, 23])["result"], 19)
                self.assertEqual(srv.rpc("echo", {"a": [1]})["result"],
                                 {"a": [1]})
                self.assertEqual(srv.rpc("sleep", [20])["result"], 20)
                error_of(self, srv.rpc("divide", [1, 0]), 1,
                         "Division by zero")

    def test_installed_configs_name_installed_plugins(self):
        """The installed configs name the plugins by absolute paths under
        the prefix installed to (`--prefix` at install time counts)."""
        plugins = glob.glob(os.path.join(self.prefix, "**", "rpchost",
                                         "plugins"), recursive=True)
        self.assertEqual(len(plugins), 1, plugins)
        for name in ("rpc.ini", "examples.ini"):
            with open(os.path.join(self.prefix, "etc", "rpchost", name)) as f:
                paths = [l.split("=", 1)[1].strip() for l in f
                         if l.startswith("path")]
            self.assertTrue(paths, name)
            for p in paths:
                self.assertEqual(os.path.dirname(p), plugins[0], name)
                self.assertTrue(os.path.isfile(p), p)

    def test_sdk_is_relocatable(self):
        """pkg-config's paths follow a moved tree (${pcfiledir}); the
        configs name the plugins where they were installed (above)."""
        moved = os.path.join(self.tmp, "moved")
        shutil.rmtree(moved, ignore_errors=True)
        shutil.copytree(self.prefix, moved, symlinks=True)
        pc = glob.glob(os.path.join(moved, "**", "pkgconfig", "rpchost.pc"),
                       recursive=True)
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pc[0]))
        rc, cflags = run(["pkg-config", "--cflags", "rpchost"], env=env)
        self.assertEqual(rc, 0, cflags)
        incs = [f[2:] for f in shlex.split(cflags) if f.startswith("-I")]
        self.assertTrue(any(os.path.isfile(os.path.join(i, "rpchost",
                                                        "plugin.h")) and
                            os.path.realpath(i).startswith(
                                os.path.realpath(moved)) for i in incs),
                        cflags)



class MakeInstallTest(unittest.TestCase):
    """`make install PREFIX=...` (sdk/README.md, step 1) builds in a folder
    of its own, with the PREFIX of that call: `make build` and `make run`
    keep their build, whose default config stays /usr/local's."""

    def dry_run(self, *args):
        if not harness.SRC or shutil.which("make") is None:
            self.skipTest("no source tree or make")
        p = subprocess.run(["make", "-n", "-C", harness.SRC] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_install_leaves_the_build_folder_alone(self):
        out = self.dry_run("install", "PREFIX=/opt/rpchost-x")
        self.assertIn("-B build-install ", out)
        self.assertIn("-DCMAKE_INSTALL_PREFIX=/opt/rpchost-x", out)
        self.assertIn("--install build-install", out)
        self.assertNotRegex(out, r"-B build\s")
        # Without PREFIX: /usr/local again, not the last one given.
        self.assertIn("-DCMAKE_INSTALL_PREFIX=/usr/local ",
                      self.dry_run("install"))
        self.assertNotIn("build-install", self.dry_run("build"))


if __name__ == "__main__":
    unittest.main()
