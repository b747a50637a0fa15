# SPDX-License-Identifier: MIT
"""Shared helpers for the rpchost integration tests (Python 3 stdlib only).

Environment (set by ctest):
  RPCHOST_BIN       path to the rpchost binary
  RPCHOST_PLUGINS   directory holding ping.so
  RPCHOST_FIXTURES  directory holding the fixture plugins (tests/plugins)
  RPCHOST_SRC       repository root
  RPCHOST_ASAN=1    the binary is the sanitizer build (timeouts are scaled)
  RPCHOST_VALGRIND=1  run every rpchost under valgrind's memcheck (plain
                    build only; timeouts are scaled by 20): any memory
                    error or definite/indirect leak fails the test
"""

import glob
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time


def _env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(
            "environment variable %s is not set; run the tests through "
            "ctest (or set RPCHOST_BIN, RPCHOST_PLUGINS, RPCHOST_FIXTURES)"
            % name)
    return value


BIN = _env("RPCHOST_BIN")
PLUGINS = _env("RPCHOST_PLUGINS")
FIXTURES = _env("RPCHOST_FIXTURES")
SRC = os.environ.get("RPCHOST_SRC", "")
ASAN = os.environ.get("RPCHOST_ASAN") == "1"
VALGRIND = os.environ.get("RPCHOST_VALGRIND") == "1"
if VALGRIND and ASAN:
    raise RuntimeError("RPCHOST_VALGRIND=1 needs the plain build, not the "
                       "sanitizer build (RPCHOST_ASAN=1)")

# valgrind's memcheck: memory errors and definite or indirect leaks are
# errors (exit status 99); its report goes to a file of its own, so that
# rpchost's stderr stays what the tests expect.
VALGRIND_ARGS = ["valgrind", "--leak-check=full",
                 "--show-leak-kinds=definite,indirect",
                 "--errors-for-leak-kinds=definite,indirect",
                 "--error-exitcode=99", "--track-fds=no"]
VALGRIND_LOG = "valgrind.%p.log"
VALGRIND_EXIT = 99

# Sanitizer builds are several times slower, valgrind some 20 times;
# scale every timeout.
SCALE = 20.0 if VALGRIND else 3.0 if ASAN else 1.0
STARTUP_TIMEOUT = 10.0 * SCALE
IO_TIMEOUT = 10.0 * SCALE
EXIT_TIMEOUT = 15.0 * SCALE
CLI_TIMEOUT = 15.0 * SCALE

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "LeakSanitizer",
                     "runtime error:")

def worker_pids(pid):
    """The child processes of `pid` (a supervisor's workers), oldest
    first."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return sorted(int(x) for x in f.read().split())
    except OSError:
        return []


def wait_stderr(server, pattern, timeout=None, count=1):
    """Wait until regex `pattern` occurs `count` times in server.stderr
    (10 s, scaled, unless `timeout`); AssertionError otherwise."""
    rx = re.compile(pattern, re.M)
    deadline = time.monotonic() + (timeout or 10 * SCALE)
    while time.monotonic() < deadline:
        if len(rx.findall(server.stderr)) >= count:
            return
        time.sleep(0.02)
    raise AssertionError("no %d x %r in stderr:\n%s" % (count, pattern,
                                                        server.stderr))


def wait_log(testcase, server, pattern, count=1, timeout=None):
    """wait_stderr, failing `testcase` (not an error) when it times out."""
    try:
        wait_stderr(server, pattern, timeout, count)
    except AssertionError as e:
        testcase.fail(str(e))


def proc_status(pid, field):
    """An integer field of /proc/PID/status (VmRSS and FDSize: kB and a
    count), or an AssertionError."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (field, pid))


def free_port():
    """A port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LISTEN_RE = re.compile(r"listening on 127\.0\.0\.1:(\d+)")

PING_SO = os.path.join(PLUGINS, "ping.so")


def fixture(name):
    """Absolute path of a fixture plugin, e.g. fixture('spec')."""
    return os.path.join(FIXTURES, name + ".so")


def plugin(path, **keys):
    """A plugin section: {'path': path, other keys...}."""
    section = {"path": path}
    section.update(keys)
    return section


def default_plugins():
    return {"ping": plugin(PING_SO), "spec": plugin(fixture("spec"))}


def _ini_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def ini_text(server=None, plugins=None, extra=""):
    """INI text for a [server] section and plugin sections (in order)."""
    lines = []
    if server is not None:
        lines.append("[server]")
        for key, value in server.items():
            lines.append("%s = %s" % (key, _ini_value(value)))
        lines.append("")
    for name, keys in (plugins or {}).items():
        lines.append("[%s]" % name)
        for key, value in keys.items():
            lines.append("%s = %s" % (key, _ini_value(value)))
        lines.append("")
    return "\n".join(lines) + extra


def check_sanitizers(text, what="rpchost"):
    """Raise AssertionError when sanitizer output is present in text."""
    for marker in SANITIZER_MARKERS:
        if marker in text:
            raise AssertionError("%s: sanitizer report (%r) on stderr:\n%s"
                                 % (what, marker, text))


def command(args, log_dir):
    """The argv running rpchost with args: under valgrind when
    RPCHOST_VALGRIND=1, which then writes its report into log_dir."""
    argv = [BIN] + list(args)
    if not VALGRIND:
        return argv
    # Every libevent allocation visible to memcheck: no block caching
    # (host/evmem.h).
    return (["env", "RPCHOST_EVMEM_CACHE=0"] + VALGRIND_ARGS +
            ["--log-file=" + os.path.join(log_dir, VALGRIND_LOG)] + argv)


_LOST_RE = re.compile(r"(definitely|indirectly) lost: ([\d,]+) bytes")


def check_valgrind(log_dir, what="rpchost"):
    """Raise AssertionError unless every valgrind report in log_dir says
    "ERROR SUMMARY: 0 errors" and loses no memory definitely or
    indirectly.  Does nothing unless RPCHOST_VALGRIND=1."""
    if not VALGRIND:
        return
    logs = sorted(glob.glob(os.path.join(log_dir, "valgrind.*.log")))
    if not logs:
        raise AssertionError("%s: no valgrind report in %s" % (what, log_dir))
    for path in logs:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        bad = [m.group(0) for m in _LOST_RE.finditer(text)
               if m.group(2).replace(",", "") != "0"]
        if "ERROR SUMMARY: 0 errors" not in text or bad:
            raise AssertionError("%s: valgrind found errors%s:\n%s"
                                 % (what, " (%s)" % ", ".join(bad)
                                    if bad else "", text))


class TempDir:
    """A temporary directory removed on close()."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="rpchost-itest-")

    def write(self, name, text):
        path = os.path.join(self.path, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def close(self):
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def run_cli(args, timeout=None, cwd=None, input_bytes=None):
    """Run rpchost with args (a list, without the binary).

    Returns (rc, stdout, stderr) as (int, str, str).  When the process does
    not exit within the timeout it is killed and rc is None (a test
    asserting rc == 1 then fails instead of hanging).  Sanitizer reports on
    stderr raise AssertionError.
    """
    if timeout is None:
        timeout = CLI_TIMEOUT
    with TempDir() as logs:
        proc = subprocess.Popen(command(args, logs.path),
                                stdin=subprocess.DEVNULL
                                if input_bytes is None else subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=cwd)
        try:
            out, err = proc.communicate(input=input_bytes, timeout=timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate(timeout=10)
            rc = None
        out_s = out.decode("utf-8", "replace")
        err_s = err.decode("utf-8", "replace")
        check_sanitizers(err_s, "rpchost %s" % " ".join(args))
        if rc is not None:
            check_valgrind(logs.path, "rpchost %s" % " ".join(args))
    return rc, out_s, err_s


def run_config(ini, extra_args=(), name="rpchost.ini", timeout=None):
    """Write ini text to a temp file and run rpchost -c on it.

    Returns (rc, stdout, stderr, path of the ini file).  The file is removed
    afterwards (its path is still useful for messages).
    """
    with TempDir() as d:
        path = d.write(name, ini)
        rc, out, err = run_cli(["-c", path] + list(extra_args),
                               timeout=timeout)
    return rc, out, err, path


class HTTPResponseError(Exception):
    pass


def read_http_response(f, head=False):
    """Read one HTTP/1.x response from a binary file object.

    Returns (status, headers, body, version) with header names lower-cased.
    Raises EOFError when the peer closed before a status line.
    """
    line = f.readline(65537)
    if not line:
        raise EOFError("connection closed before a response")
    parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise HTTPResponseError("bad status line %r" % line)
    version = parts[0]
    status = int(parts[1])
    headers = {}
    while True:
        line = f.readline(65537)
        if not line:
            raise HTTPResponseError("connection closed inside headers")
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        value = value.strip()
        if name in headers:
            headers[name] += ", " + value
        else:
            headers[name] = value
    if head or status in (204, 304) or 100 <= status < 200:
        return status, headers, b"", version
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = b""
        while True:
            size_line = f.readline(65537)
            if not size_line:
                raise HTTPResponseError("connection closed inside chunks")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:  # trailers
                    t = f.readline(65537)
                    if t in (b"\r\n", b"\n", b""):
                        break
                break
            chunk = f.read(size)
            if len(chunk) != size:
                raise HTTPResponseError("short chunk")
            body += chunk
            f.readline(65537)
        return status, headers, body, version
    if "content-length" in headers:
        n = int(headers["content-length"])
        body = f.read(n)
        if len(body) != n:
            raise HTTPResponseError("short body: %d of %d" % (len(body), n))
        return status, headers, body, version
    return status, headers, f.read(), version


def post_request(body, path="/", version="HTTP/1.1", extra_headers=()):
    """Bytes of one POST request with a Content-Length body."""
    if not isinstance(body, bytes):
        body = json.dumps(body).encode("utf-8")
    head = ["POST %s %s" % (path, version), "Host: 127.0.0.1",
            "Content-Type: application/json",
            "Content-Length: %d" % len(body)]
    head.extend(extra_headers)
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class Server:
    """A running rpchost, as a context manager.

    Server(plugins={name: {'path': ..., key: value}}, server={key: value})
    writes a temp ini file, starts `rpchost -c FILE -l 127.0.0.1:0 -j 2`,
    waits for the "listening on 127.0.0.1:PORT" line and exposes .port.
    On exit it sends SIGTERM and asserts a clean exit (status 0, no
    sanitizer reports).  argv, when given, is a function of the ini path
    returning the whole argument list (without the binary).  env: variables
    added to rpchost's environment.  preexec: a function run in the child
    after its stdin/stdout/stderr are in place, just before exec (with env
    None, what it puts into os.environ reaches rpchost).
    """

    def __init__(self, plugins=None, server=None, listen="127.0.0.1:0",
                 threads=2, extra_args=(), argv=None, nofile=None, env=None,
                 preexec=None):
        self.plugins = default_plugins() if plugins is None else plugins
        self.server = dict(server or {})
        self.listen = listen
        self.threads = threads
        self.extra_args = list(extra_args)
        self.argv = argv
        self.nofile = nofile  # RLIMIT_NOFILE (soft and hard) of rpchost
        self.env = env
        self.preexec = preexec
        self.proc = None
        self.port = None
        self.returncode = None
        self._lines = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._stderr_done = False
        self._dir = None
        self._threads = []

    # -- process control ---------------------------------------------------

    def start(self):
        self._dir = TempDir()
        self.ini_path = self._dir.write("rpchost.ini",
                                        ini_text(self.server, self.plugins))
        if self.argv is not None:
            args = list(self.argv(self.ini_path))
        else:
            args = ["-c", self.ini_path]
            if self.listen is not None:
                args += ["-l", self.listen]
            if self.threads is not None:
                args += ["-j", str(self.threads)]
            args += self.extra_args
        env = None
        if self.env is not None:
            env = dict(os.environ)
            env.update(self.env)
        self.proc = subprocess.Popen(command(args, self._dir.path),
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE,
                                     preexec_fn=self._limits, env=env)
        t_err = threading.Thread(target=self._drain_stderr, daemon=True)
        t_out = threading.Thread(target=self._drain_stdout, daemon=True)
        t_err.start()
        t_out.start()
        self._threads = [t_err, t_out]
        if self.server.get("log_file"):
            # The log is the file from its first line on (stderr has only
            # what comes before the config is read): the port is there.
            t_log = threading.Thread(target=self._watch_log_file,
                                     daemon=True)
            t_log.start()
            self._threads.append(t_log)

        deadline = time.monotonic() + STARTUP_TIMEOUT
        with self._cond:
            while self.port is None:
                # With log_file, stderr ends as the file replaces it.
                if self._stderr_done and (not self.server.get("log_file")
                                          or self.proc.poll() is not None):
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            port = self.port
        if port is None:
            self._kill()
            raise AssertionError(
                "rpchost did not report 'listening on 127.0.0.1:PORT' "
                "within %.0f s (exit status %r); stderr:\n%s%s"
                % (STARTUP_TIMEOUT, self.proc.returncode, self.stderr,
                   self._log_file_text()))
        return self

    def _limits(self):
        """In the child, before exec: the descriptor limit asked for."""
        if self.nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE,
                               (self.nofile, self.nofile))
        if self.preexec is not None:
            self.preexec()

    def _drain_stderr(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace")
            with self._cond:
                self._lines.append(line)
                if self.port is None:
                    m = LISTEN_RE.search(line)
                    if m:
                        self.port = int(m.group(1))
                self._cond.notify_all()
        with self._cond:
            self._stderr_done = True
            self._cond.notify_all()

    def _log_file_text(self):
        """For a failure message: the log_file's text, if any."""
        if not self.server.get("log_file"):
            return ""
        try:
            with open(os.path.join(self._dir.path, self.server["log_file"]),
                      encoding="utf-8", errors="replace") as f:
                return "\nlog_file:\n" + f.read()
        except OSError as e:
            return "\nlog_file: %s" % e

    def _watch_log_file(self):
        """Find the listening line in the config's log_file (a relative
        path is taken from the config's folder, as rpchost does)."""
        path = os.path.join(self._dir.path, self.server["log_file"])
        while True:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    m = LISTEN_RE.search(f.read())
            except OSError:
                m = None
            with self._cond:
                if m and self.port is None:
                    self.port = int(m.group(1))
                done = self.port is not None or self.proc.poll() is not None
                self._cond.notify_all()
            if done:
                return
            time.sleep(0.02)

    def _drain_stdout(self):
        for _ in iter(self.proc.stdout.readline, b""):
            pass

    @property
    def stderr(self):
        with self._lock:
            return "".join(self._lines)

    def worker_pid(self, timeout=10.0):
        """The pid of the worker process serving now: the supervisor's
        child (the newest, during a replacement)."""
        deadline = time.monotonic() + timeout
        while True:
            kids = worker_pids(self.proc.pid)
            if kids:
                return kids[-1]
            if time.monotonic() > deadline:
                raise AssertionError("rpchost has no worker process")
            time.sleep(0.02)

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait(self, timeout=None):
        """Wait for exit; returns the status or None on timeout."""
        try:
            self.returncode = self.proc.wait(
                EXIT_TIMEOUT if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            return None
        for t in self._threads:
            t.join(5)
        return self.returncode

    def _kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for t in self._threads:
            t.join(5)
        if not any(t.is_alive() for t in self._threads):
            # (A reader still blocked on a pipe held open by some other
            # process would deadlock close(); leave those to the GC.)
            for f in (self.proc.stdout, self.proc.stderr):
                if f is not None:
                    f.close()
        if self._dir is not None:
            self._dir.close()

    def stop(self):
        """SIGTERM (unless already exited), wait, assert a clean exit."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
            rc = self.wait()
            if rc is None:
                raise AssertionError(
                    "rpchost did not exit within %.0f s of SIGTERM; "
                    "stderr:\n%s" % (EXIT_TIMEOUT, self.stderr))
            check_valgrind(self._dir.path)
            if rc != 0:
                raise AssertionError(
                    "rpchost exited with status %r after SIGTERM; "
                    "stderr:\n%s" % (rc, self.stderr))
            check_sanitizers(self.stderr)
        finally:
            self._kill()

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            # Still shut down, but do not mask the original failure.
            try:
                self.stop()
            except AssertionError:
                pass
            return False
        self.stop()
        return False

    # -- clients -------------------------------------------------------------

    def connection(self, timeout=None):
        return http.client.HTTPConnection(
            "127.0.0.1", self.port,
            timeout=IO_TIMEOUT if timeout is None else timeout)

    def call(self, obj_or_bytes, path="/", headers=None, method="POST",
             conn=None):
        """One HTTP request; returns (status, headers, body_bytes).

        obj_or_bytes: bytes are sent as is, anything else as JSON; None
        sends no body.  headers of the answer are a dict with lower-case
        names.  Pass conn to reuse a connection (keep-alive).
        """
        if obj_or_bytes is None:
            body = None
        elif isinstance(obj_or_bytes, bytes):
            body = obj_or_bytes
        else:
            body = json.dumps(obj_or_bytes).encode("utf-8")
        hdrs = {"Content-Type": "application/json"}
        if headers:
            hdrs.update(headers)
        own = conn is None
        if own:
            conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            hdr = {}
            for k, v in resp.getheaders():
                k = k.lower()
                hdr[k] = hdr[k] + ", " + v if k in hdr else v
            return resp.status, hdr, data
        finally:
            if own:
                conn.close()

    def rpc(self, method, params=None, id=1):
        """A call; returns the parsed JSON answer (asserts HTTP 200)."""
        req = {"jsonrpc": "2.0", "method": method, "id": id}
        if params is not None:
            req["params"] = params
        status, _, body = self.call(req)
        if status != 200:
            raise AssertionError("HTTP %d for %r: %r" % (status, req, body))
        return json.loads(body)

    def raw_socket(self, timeout=None):
        s = socket.create_connection(
            ("127.0.0.1", self.port),
            timeout=IO_TIMEOUT if timeout is None else timeout)
        return s


def error_of(testcase, answer, code, message=None, id="<any>"):
    """Assert answer is a JSON-RPC error object; return its error member."""
    testcase.assertIsInstance(answer, dict, answer)
    testcase.assertEqual(answer.get("jsonrpc"), "2.0", answer)
    testcase.assertIn("error", answer, answer)
    testcase.assertNotIn("result", answer, answer)
    testcase.assertIn("id", answer, answer)
    if id != "<any>":
        testcase.assertEqual(answer["id"], id, answer)
    err = answer["error"]
    testcase.assertIsInstance(err, dict, answer)
    testcase.assertEqual(err.get("code"), code, answer)
    testcase.assertIsInstance(err.get("message"), str, answer)
    if message is not None:
        testcase.assertEqual(err["message"], message, answer)
    return err


STD_MESSAGES = {
    -32700: "Parse error",
    -32600: "Invalid Request",
    -32601: "Method not found",
    -32602: "Invalid params",
    -32603: "Internal error",
}


def std_error(testcase, answer, code, id="<any>"):
    """Assert a standard JSON-RPC error with its standard message."""
    return error_of(testcase, answer, code, STD_MESSAGES[code], id)


# -- helpers shared by the hardening and limits tests -------------------------

def example_plugins():
    """ping, calc, echo and sleep: the shipped plugins."""
    return {name: plugin(os.path.join(PLUGINS, name + ".so"))
            for name in ("ping", "calc", "echo", "sleep")}


def serve(**kw):
    """A Server with the shipped plugins unless told otherwise."""
    kw.setdefault("plugins", example_plugins())
    return Server(**kw)


def call(method, params=None, id=1):
    """A JSON-RPC request object."""
    req = {"jsonrpc": "2.0", "method": method, "id": id}
    if params is not None:
        req["params"] = params
    return req


def metrics_of(text):
    """Prometheus text into {'name{labels}': float}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        out[key] = float(value)
    return out
