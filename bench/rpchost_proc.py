# SPDX-License-Identifier: MIT
"""rpchost_proc.py - what the bench's Python series share: start rpchost
from a build folder on a free 127.0.0.1 port with a given config, find its
worker process (the supervisor forks one: /proc/PID/task/PID/children), and
read a process's CPU time and resident set from /proc.  Imported by
bench/bodysize.py, bench/deferred.py and bench/params_scaling.py (run as
scripts from bench/, so the folder is on sys.path)."""
import os
import re
import socket
import subprocess
import sys
import time


def start(build, tmp, server_keys, plugins, threads=None, pin=None):
    """rpchost with [server] server_keys (a dict) and plugins (name -> .so
    file name in BUILD/plugins, with their keys: name -> (file, dict)),
    listening on a free port; its log in tmp.  threads None: the default
    (one loop per CPU).  pin: a CPU list for taskset, or None.  Returns
    (process, port, worker pid)."""
    ini = os.path.join(tmp, "rpc.ini")
    log = os.path.join(tmp, "rpchost.log")
    with open(ini, "w", encoding="utf-8") as f:
        f.write("[server]\nlog_level = info\n")
        for k, v in server_keys.items():
            f.write("%s = %s\n" % (k, v))
        for name, (so, keys) in plugins.items():
            f.write("[%s]\npath = %s\n" % (name,
                                          os.path.join(build, "plugins", so)))
            for k, v in keys.items():
                f.write("%s = %s\n" % (k, v))
    cmd = [os.path.join(build, "rpchost"), "-c", ini, "-l", "127.0.0.1:0"]
    if threads is not None:
        cmd += ["-j", str(threads)]
    if pin is not None:
        cmd = ["taskset", "-c", pin] + cmd
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and proc.poll() is None:
        with open(log, "rb") as f:
            m = re.search(rb"listening on 127\.0\.0\.1:(\d+)", f.read())
        if m:
            port = int(m.group(1))
            worker = worker_of(proc.pid, deadline)
            if worker is not None:
                return proc, port, worker
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    sys.exit("rpchost did not start; see %s" % log)


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def worker_of(pid, deadline):
    """The supervisor's child (rpchost's worker); pid itself when it has
    none by the deadline (a build without a supervisor)."""
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                kids = f.read().split()
        except OSError:
            return None
        if kids:
            return int(kids[0])
        time.sleep(0.05)
    return pid


def cpu_ns(pid):
    """CPU time of every thread of pid so far, in ns (schedstat: exact,
    where utime + stime from /proc/PID/stat count 10 ms ticks)."""
    total = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended meanwhile
    return total


def rss_kib(pid):
    """VmRSS of pid, KiB (0 when it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def post(sock, port, data):
    """One POST of data on sock (keep-alive); returns the answer's body."""
    sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                 b"Content-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % (port, len(data)) + data)
    buf = bytearray()
    need = -1
    while need < 0 or len(buf) < need:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
        if need < 0:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                m = re.search(rb"(?im)^content-length:\s*(\d+)",
                              bytes(buf[:end]))
                need = end + 4 + (int(m.group(1)) if m else 0)
                start_ = end + 4
    return bytes(buf[start_:need])


def connect(port, timeout=30):
    sock = socket.create_connection(("127.0.0.1", port), timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
