# SPDX-License-Identifier: MIT
"""The Debian packages (`make deb`, debian/): built once into
$RPCHOST_BUILD/deb with tools/deb.sh, then checked with Debian's own
tools:

  - lintian reports no error and no warning (the tags that remain are
    explained in debian/*.lintian-overrides);
  - the control fields: rpchost depends on libssl3 (libcrypto is
    dlopen()ed, which dpkg-shlibdeps cannot see) and on the client
    library's package, named after its soname; the files under /etc are
    conffiles; nothing lands in /usr/etc; each package has its copyright
    and changelog;
  - unpacked with `dpkg-deb -x` into a scratch root: the installed rpc.ini
    names the unpacked plugins by absolute paths, and the unpacked rpchost
    passes -t on it (the paths moved into the scratch root); rpccall runs
    from the root; the unit passes `systemd-analyze verify` (where
    systemd-analyze exists); every man page renders without a warning.

Skipped, each part, only where its tool is absent (dpkg-buildpackage,
lintian, systemd-analyze, man): `make test` installs them (tools/deps.sh
test).  Not under the sanitizers: the packages are built without them."""

import glob
import gzip
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import ASAN, SRC

BUILD = os.environ.get("RPCHOST_BUILD", "")
TIMEOUT = 300
PACKAGES = ("rpchost", "rpchost-dev", "librpchost-client0",
            "librpchost-client-dev")


def run(args, timeout=TIMEOUT, **kw):
    """(rc, stdout, stderr) of a tool."""
    p = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, **kw)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


def field(deb, name):
    rc, out, err = run(["dpkg-deb", "-f", deb, name])
    if rc != 0:
        raise AssertionError("dpkg-deb -f %s %s: %s" % (deb, name, err))
    return out.strip()


@unittest.skipIf(ASAN, "the packages are built and checked by the plain "
                 "build's run")
class DebianPackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not BUILD:
            raise RuntimeError("RPCHOST_BUILD is not set; run through ctest")
        if shutil.which("dpkg-buildpackage") is None or \
                shutil.which("dh") is None:
            raise unittest.SkipTest("dpkg-buildpackage or debhelper missing "
                                    "(Debian: dpkg-dev debhelper; `sh "
                                    "tools/deps.sh test` installs them)")
        cls.out = os.path.join(BUILD, "deb")
        rc, out, err = run(["sh", "tools/deb.sh", cls.out], cwd=SRC,
                           env=dict(os.environ, JOBS="2"))
        if rc != 0:
            raise AssertionError("tools/deb.sh failed:\n%s\n%s"
                                 % (out[-4000:], err[-4000:]))
        cls.debs = {}
        for deb in glob.glob(os.path.join(cls.out, "*.deb")):
            cls.debs[field(deb, "Package")] = deb
        cls.tmp = tempfile.mkdtemp(prefix="rpchost-deb-")
        cls.root = os.path.join(cls.tmp, "root")
        for deb in cls.debs.values():
            rc, out, err = run(["dpkg-deb", "-x", deb, cls.root])
            if rc != 0:
                raise AssertionError("dpkg-deb -x %s: %s" % (deb, err))
        rc, out, _ = run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"])
        cls.multiarch = out.strip()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(getattr(cls, "tmp", ""), ignore_errors=True)

    def path(self, *rel):
        return os.path.join(self.root, *rel)

    # -- the packages --------------------------------------------------------

    def test_packages_built(self):
        self.assertEqual(sorted(self.debs), sorted(PACKAGES))
        rc, version, _ = run(["dpkg-parsechangelog", "-S", "Version", "-l",
                              os.path.join(SRC, "debian", "changelog")])
        with open(os.path.join(SRC, "CMakeLists.txt")) as f:
            project = re.search(r"project\(rpchost VERSION ([0-9.]+)",
                                f.read()).group(1)
        self.assertTrue(version.strip().startswith(project + "-"),
                        "debian/changelog's %s is not CMakeLists.txt's %s"
                        % (version.strip(), project))

    def test_lintian_clean(self):
        if shutil.which("lintian") is None:
            self.skipTest("lintian is not installed")
        rc, out, err = run(["lintian", "--fail-on", "error,warning"] +
                           sorted(self.debs.values()))
        tags = [l for l in out.splitlines() if re.match(r"[EW]: ", l)]
        self.assertEqual(tags, [], out + err)
        self.assertEqual(rc, 0, out + err)

    def test_depends(self):
        depends = field(self.debs["rpchost"], "Depends")
        self.assertRegex(depends, r"(^|, )libssl3\b", depends)
        self.assertIn("librpchost-client0", depends)
        for lib in ("libevent-core", "libcjson1", "libinih1"):
            self.assertIn(lib, depends)
        # The library package is named after the soname.
        so = glob.glob(self.path("usr", "lib", self.multiarch,
                                 "librpchost_client.so.*.*"))
        self.assertEqual(len(so), 1, so)
        rc, out, _ = run(["objdump", "-p", so[0]])
        soname = re.search(r"SONAME\s+(\S+)", out).group(1)
        m = re.fullmatch(r"lib(.+)\.so\.(\d+)", soname)
        self.assertEqual("lib%s%s" % (m.group(1).replace("_", "-"),
                                      m.group(2)), "librpchost-client0")
        self.assertIn("librpchost-client0 (= ",
                      field(self.debs["librpchost-client-dev"], "Depends"))

    def test_conffiles_and_layout(self):
        with tempfile.TemporaryDirectory() as d:
            rc, _, err = run(["dpkg-deb", "-e", self.debs["rpchost"], d])
            self.assertEqual(rc, 0, err)
            with open(os.path.join(d, "conffiles")) as f:
                conffiles = set(f.read().split())
        self.assertEqual(conffiles, {"/etc/rpchost/rpc.ini",
                                     "/etc/rpchost/examples.ini",
                                     "/etc/logrotate.d/rpchost"})
        self.assertFalse(os.path.exists(self.path("usr", "etc")))
        self.assertTrue(os.path.isdir(self.path("etc", "rpchost", "conf.d")))
        for name in ("ping", "calc", "echo", "sleep", "audit"):
            self.assertTrue(os.path.isfile(self.path(
                "usr", "lib", self.multiarch, "rpchost", "plugins",
                name + ".so")), name)
        for pkg in PACKAGES:
            doc = self.path("usr", "share", "doc", pkg)
            self.assertTrue(os.path.isfile(os.path.join(doc, "copyright")),
                            pkg)
            self.assertTrue(os.path.isfile(os.path.join(
                doc, "changelog.Debian.gz")), pkg)
        # The SDK: header, CMake package with rpchost_add_plugin(), .pc,
        # the template (uncompressed: it is built, not read).
        for rel in (("usr", "include", "rpchost", "plugin.h"),
                    ("usr", "lib", self.multiarch, "cmake", "rpchost",
                     "rpchostPlugin.cmake"),
                    ("usr", "lib", self.multiarch, "pkgconfig", "rpchost.pc"),
                    ("usr", "share", "doc", "rpchost-dev", "template",
                     "CMakeLists.txt"),
                    ("usr", "share", "doc", "rpchost-dev", "template",
                     "myplugin.c")):
            self.assertTrue(os.path.isfile(self.path(*rel)), rel)

    # -- the unpacked tree runs ----------------------------------------------

    def rooted_config(self, name):
        """The unpacked /etc/rpchost/NAME with its absolute paths moved
        into the scratch root; after checking that they name installed
        files."""
        with open(self.path("etc", "rpchost", name)) as f:
            text = f.read()
        paths = re.findall(r"^path\s*=\s*(\S+)", text, re.M)
        self.assertTrue(paths, text)
        for p in paths:
            self.assertTrue(p.startswith("/usr/lib/%s/rpchost/plugins/"
                                         % self.multiarch), p)
            self.assertTrue(os.path.isfile(self.path(p.lstrip("/"))), p)
        moved = re.sub(r"^(path\s*=\s*)/", r"\g<1>%s/" % self.root, text,
                       flags=re.M)
        # Beside the original, so that its include (conf.d/*.ini) reads
        # the unpacked conf.d.
        out = self.path("etc", "rpchost", "rooted-" + name)
        with open(out, "w") as f:
            f.write(moved)
        return out

    def test_unpacked_rpchost_checks_unpacked_config(self):
        rpchost = self.path("usr", "bin", "rpchost")
        rc, out, err = run([rpchost, "--help"], timeout=30)
        self.assertIn("(default /etc/rpchost/rpc.ini)", out)
        for name, method in (("rpc.ini", "ping"), ("examples.ini", "subtract")):
            with self.subTest(config=name):
                rc, out, err = run([rpchost, "-t", "-c",
                                    self.rooted_config(name)], timeout=60,
                                   cwd="/")
                self.assertEqual(rc, 0, out + err)
                self.assertIn(method, out)

    def test_plugin_package_drops_into_conf_d(self):
        """What a plugin package does: a section in conf.d/NAME.ini, which
        the installed rpc.ini includes."""
        drop = self.path("etc", "rpchost", "conf.d", "calc.ini")
        with open(drop, "w") as f:
            f.write("[calc]\npath = %s\n" % self.path(
                "usr", "lib", self.multiarch, "rpchost", "plugins",
                "calc.so"))
        try:
            rc, out, err = run([self.path("usr", "bin", "rpchost"), "-t",
                                "-c", self.rooted_config("rpc.ini")],
                               timeout=60)
        finally:
            os.unlink(drop)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("ping", out)
        self.assertIn("subtract", out)

    def test_unpacked_rpccall_runs(self):
        env = dict(os.environ, LD_LIBRARY_PATH=self.path(
            "usr", "lib", self.multiarch))
        rc, out, err = run([self.path("usr", "bin", "rpccall"), "--version"],
                           env=env, timeout=30)
        self.assertEqual(rc, 0, err)
        rc, out, _ = run(["readelf", "-d", self.path("usr", "bin",
                                                     "rpccall")])
        self.assertNotRegex(out, r"R(UN)?PATH", "no runpath in /usr/bin")

    def test_systemd_units_verify(self):
        if shutil.which("systemd-analyze") is None:
            self.skipTest("systemd-analyze is not installed")
        units = glob.glob(self.path("lib", "systemd", "system", "rpchost.*"))
        units += glob.glob(self.path("usr", "lib", "systemd", "system",
                                     "rpchost.*"))
        self.assertEqual(sorted(os.path.basename(u) for u in units),
                         ["rpchost.service", "rpchost.socket"])
        d = os.path.join(self.tmp, "units")
        os.makedirs(d, exist_ok=True)
        for u in units:
            with open(u) as f:
                text = f.read()
            if u.endswith(".service"):
                self.assertRegex(text, r"(?m)^Type=notify$")
                self.assertRegex(text, r"(?m)^WatchdogSec=")
                self.assertRegex(text, r"(?m)^ExecStartPre=/usr/bin/rpchost "
                                 r"-t -q -c /etc/rpchost/rpc.ini$")
                self.assertRegex(text, r"(?m)^ExecStart=/usr/bin/rpchost -c "
                                 r"/etc/rpchost/rpc.ini$")
                self.assertRegex(text, r"(?m)^ExecReload=/usr/bin/rpchost -t")
            # verify checks that the commands exist: the unpacked ones.
            text = text.replace("=/usr/bin/", "=%s/usr/bin/" % self.root)
            with open(os.path.join(d, os.path.basename(u)), "w") as f:
                f.write(text)
        env = dict(os.environ, MANPATH=self.path("usr", "share", "man"))
        rc, out, err = run(["systemd-analyze", "verify",
                            os.path.join(d, "rpchost.service"),
                            os.path.join(d, "rpchost.socket")], env=env,
                           timeout=60)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(out + err, "", "systemd-analyze verify warned")

    def test_man_pages_render(self):
        pages = glob.glob(self.path("usr", "share", "man", "man*", "*"))
        self.assertEqual(sorted(os.path.basename(p) for p in pages),
                         ["rpccall.1.gz", "rpchost-plugin.7.gz",
                          "rpchost.8.gz", "rpchost.ini.5.gz"])
        if shutil.which("man") is None:
            self.skipTest("man (man-db) is not installed")
        env = dict(os.environ, MANWIDTH="80", LANG="C.UTF-8")
        for page in pages:
            with self.subTest(page=os.path.basename(page)):
                with gzip.open(page) as f:
                    self.assertIn(b".TH ", f.read())
                rc, out, err = run(["man", "--warnings", "-l", page],
                                   env=env, timeout=60)
                self.assertEqual(rc, 0, err)
                self.assertEqual(err, "", "warnings rendering %s" % page)
                self.assertGreater(len(out), 1000)


if __name__ == "__main__":
    unittest.main()
