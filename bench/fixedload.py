#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fixedload.py - send exactly N JSON-RPC POSTs to 127.0.0.1:PORT.

For the noise-free figure of bench/run.sh (instructions per request under
callgrind), where wrk cannot help: wrk bounds a load by time, not by count.
The body is read from a wrk script of this folder (ping.lua, batch100.lua),
so both tools send byte-identical requests.  Requests go one at a time on
one keep-alive connection, so every run of the same server does the same
work: the count of instructions is repeatable.

    fixedload.py PORT N SCRIPT.lua
Exits 1 on any answer that is not 200 or a closed connection.
"""
import re
import socket
import sys


def body_of(script):
    with open(script, encoding="utf-8") as f:
        m = re.search(r"^wrk\.body\s*=\s*'(.*)'\s*$", f.read(), re.M)
    if not m:
        sys.exit("fixedload: no wrk.body in " + script)
    return m.group(1).encode()


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: fixedload.py PORT N SCRIPT.lua")
    port, count, body = int(sys.argv[1]), int(sys.argv[2]), body_of(sys.argv[3])
    req = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
           b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
           % (port, len(body))) + body
    s = socket.create_connection(("127.0.0.1", port), 30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    for i in range(count):
        s.sendall(req)
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                head = buf[:end].decode("latin-1")
                m = re.search(r"(?im)^content-length:\s*(\d+)", head)
                need = end + 4 + (int(m.group(1)) if m else 0)
                if len(buf) >= need:
                    break
            chunk = s.recv(65536)
            if not chunk:
                sys.exit("fixedload: connection closed after %d answers" % i)
            buf += chunk
        if not head.startswith("HTTP/1.1 200"):
            sys.exit("fixedload: answer %d: %s" % (i, head.splitlines()[0]))
        buf = buf[need:]
    s.close()


if __name__ == "__main__":
    main()
