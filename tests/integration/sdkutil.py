# SPDX-License-Identifier: MIT
"""Helpers for the SDK integration tests (test_sdk_install, test_deferred,
test_params_discover).  Builds on harness.py; Python 3 stdlib only.

Environment (set by ctest), in addition to harness.py's:
  RPCHOST_BUILD   the cmake build directory (fixtures of tests/plugins_sdk
                  are in $RPCHOST_BUILD/tests/plugins_sdk)
"""

import configparser
import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from unittest import mock

import harness
from harness import (IO_TIMEOUT, PLUGINS, SCALE, SRC, TempDir, ini_text,
                     plugin, run_cli)

BUILD = os.environ.get("RPCHOST_BUILD", "")
SDK_FIXTURES = os.path.join(BUILD, "tests", "plugins_sdk") if BUILD else ""


NPM_TIMEOUT = 300
NODE_MISSING = shutil.which("node") is None or shutil.which("npm") is None
_npm_lock = threading.Lock()


def npm_dir(name, packages):
    """A directory with node_modules holding `packages` (npm specs such as
    "jayson@4"), installed once per build tree under BUILD/name (or
    $RPCHOST_NPM_CACHE/name) with npm install --prefix, bounded by
    NPM_TIMEOUT.  A failing install raises AssertionError: the caller's
    test fails (skip only when NODE_MISSING)."""
    root = os.environ.get("RPCHOST_NPM_CACHE")
    base = os.path.join(root, name) if root else os.path.join(
        BUILD or os.getcwd(), name)
    marker = os.path.join(base, ".installed")
    wanted = " ".join(packages)
    with _npm_lock:
        if os.path.isfile(marker):
            with open(marker) as f:
                if f.read() == wanted:
                    return base
        os.makedirs(base, exist_ok=True)
        try:
            p = subprocess.run(
                ["npm", "install", "--prefix", base, "--no-audit", "--no-fund",
                 "--no-save", "--loglevel=error"] + list(packages),
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, timeout=NPM_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError("npm install %s timed out after %d s"
                                 % (wanted, NPM_TIMEOUT))
        if p.returncode != 0:
            raise AssertionError("npm install %s failed:\n%s"
                                 % (wanted, p.stdout.decode("utf-8",
                                                            "replace")))
        with open(marker, "w") as f:
            f.write(wanted)
    return base


def sdk_fixture(name):
    """Absolute path of a fixture of tests/plugins_sdk, e.g. 'deferred'."""
    if not SDK_FIXTURES:
        raise RuntimeError("RPCHOST_BUILD is not set; run through ctest")
    return os.path.join(SDK_FIXTURES, name + ".so")


def shipped(name):
    """Path of a shipped plugin (ping, calc, echo, sleep) in the build."""
    return os.path.join(PLUGINS, name + ".so")


def examples_plugins():
    """The plugin sections of conf/examples.ini, in order, with each path
    replaced by the built plugin in RPCHOST_PLUGINS (same file name)."""
    cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"),
                                   interpolation=None)
    cp.optionxform = str
    cp.read(os.path.join(SRC, "conf", "examples.ini"), encoding="utf-8")
    plugins = {}
    for section in cp.sections():
        if section == "server":
            continue
        keys = dict(cp[section])
        keys["path"] = os.path.join(PLUGINS, os.path.basename(keys["path"]))
        plugins[section] = keys
    return plugins


def examples_server_section():
    cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"),
                                   interpolation=None)
    cp.read(os.path.join(SRC, "conf", "examples.ini"), encoding="utf-8")
    return dict(cp["server"]) if cp.has_section("server") else {}


@contextlib.contextmanager
def using_binary(path):
    """Make harness.Server and harness.run_cli run another rpchost binary
    (e.g. an installed one) inside the with block."""
    with mock.patch.object(harness, "BIN", path):
        yield


def request(method, params=None, id=1):
    req = {"jsonrpc": "2.0", "method": method, "id": id}
    if params is not None:
        req["params"] = params
    return req


def rpc_on(port, method, params=None, id=1, timeout=None):
    """One call on its own connection (thread-safe); returns the parsed
    answer.  Asserts HTTP 200."""
    import http.client
    conn = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=IO_TIMEOUT if timeout is None else timeout)
    try:
        body = json.dumps(request(method, params, id))
        conn.request("POST", "/", body=body,
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise AssertionError("HTTP %d for %s: %r"
                                 % (resp.status, method, data))
        return json.loads(data)
    finally:
        conn.close()


def raw_connect(port, timeout=None):
    return socket.create_connection(
        ("127.0.0.1", port), timeout=IO_TIMEOUT if timeout is None else timeout)


def send_raw(port, obj):
    """Send one request on a new raw socket; returns the socket."""
    s = raw_connect(port)
    s.sendall(harness.post_request(obj))
    return s


class RpcOnServer:
    """A test case mixin for a class with a running server in `srv`:
    self.rpc() answers a call, self.result() its result (asserting it
    has one, with the call's id)."""

    def rpc(self, method, params=None, id=1):
        return rpc_on(self.srv.port, method, params, id)

    def result(self, method, params=None, id=1):
        ans = self.rpc(method, params, id)
        self.assertNotIn("error", ans, ans)
        self.assertEqual(ans.get("id"), id, ans)
        return ans["result"]


def read_answer(sock):
    """Read one HTTP response from a raw socket; returns (status, headers,
    parsed JSON body or None)."""
    f = sock.makefile("rb")
    try:
        status, headers, body, _ = harness.read_http_response(f)
    finally:
        f.close()
    return status, headers, json.loads(body) if body else None


def refused(testcase, plugins, server=None):
    """rpchost must refuse this config both when serving and with -t
    (exit 1, nothing listening, a message on stderr).  Returns stderr of
    the serving run."""
    server = {"listen": "127.0.0.1:0", "threads": 1} if server is None \
        else server
    with TempDir() as d:
        path = d.write("rpchost.ini", ini_text(server, plugins))
        for extra in ([], ["-t"]):
            rc, out, err = run_cli(["-c", path] + extra)
            testcase.assertEqual(
                rc, 1, "rpchost %s should refuse to start;\nstdout: %s\n"
                "stderr: %s" % (" ".join(extra), out, err))
            testcase.assertNotIn("listening on", err)
            testcase.assertTrue(err.strip(), "no message on stderr")
            if not extra:
                first = err
    return first


def accepted(testcase, plugins, server=None):
    """rpchost -t accepts this config; returns stdout."""
    server = {"listen": "127.0.0.1:0", "threads": 1} if server is None \
        else server
    with TempDir() as d:
        path = d.write("rpchost.ini", ini_text(server, plugins))
        rc, out, err = run_cli(["-c", path, "-t"])
    testcase.assertEqual(rc, 0, "-t should accept;\nstdout: %s\nstderr: %s"
                         % (out, err))
    return out


def methods_of_t_output(out):
    """Method names listed by `rpchost -t` ("plugin [x] ...: a, b")."""
    names = set()
    for line in out.splitlines():
        if line.startswith("plugin [") and "): " in line:
            # "a, b", "a, b; hooks: on_call", "(hooks only: on_done)",
            # "(no methods)"
            listed = line.split("): ", 1)[1].split("; hooks:")[0].strip()
            if listed and not listed.startswith("("):
                names.update(n.strip() for n in listed.split(","))
    return names


class Stopwatch:
    def __init__(self):
        self.t0 = time.monotonic()

    def __call__(self):
        return time.monotonic() - self.t0


__all__ = ["BUILD", "SDK_FIXTURES", "SCALE", "sdk_fixture", "shipped",
           "examples_plugins", "examples_server_section", "using_binary",
           "request", "rpc_on", "raw_connect", "read_answer", "refused",
           "accepted", "methods_of_t_output", "Stopwatch", "plugin"]
