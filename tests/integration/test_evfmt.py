# SPDX-License-Identifier: MIT
"""host/evfmt.c: evhttp's status and header lines, and its header lookups,
go through rpchost's own definitions of evbuffer_add_printf and
evutil_ascii_strcasecmp, and host/evscan.c: its scan of a request's HTTP
version through rpchost's __isoc99_sscanf, host/evread.c: the
connections' reads through rpchost's evbuffer_read, and host/evmove.c:
evhttp's moves of a body's bytes through rpchost's evbuffer_remove_buffer
(symbol interposition; test_evfmt, test_evscan, test_evread and
test_evmove check them against libevent's and glibc's).
Here: the worker says at startup that the dynamic linker bound them, the
lines it writes are well formed for HTTP/1.1 and HTTP/1.0, headers looked
up whatever their case, and a request line whose version evhttp refuses
is still refused."""

import json
import re
import socket
import unittest

import harness
from harness import Server, wait_log


def raw(port, request):
    """Send request bytes; the whole response (the server closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


def ping(version, extra=b""):
    body = b'{"jsonrpc":"2.0","method":"ping","id":7}'
    return (b"POST / HTTP/%s\r\nhOsT: 127.0.0.1\r\nCONTENT-TYPE: "
            b"application/json\r\ncontent-length: %d\r\nConnection: close"
            b"\r\n%s\r\n" % (version, len(body), extra) + body)


class EvfmtTest(unittest.TestCase):
    def test_bound_and_lines(self):
        with Server(plugins={"ping": harness.plugin(harness.PING_SO)},
                    server={"log_level": "debug"}) as srv:
            wait_log(self, srv, r"evhttp's header lines and lookups: "
                                r"host/evfmt\.c's \(interposed\)")
            for version in (b"1.1", b"1.0"):
                data = raw(srv.port, ping(version))
                head, _, body = data.partition(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                self.assertEqual(lines[0], b"HTTP/" + version + b" 200 OK")
                fields = {}
                for line in lines[1:]:
                    m = re.match(rb"^([!#$%&'*+.^_`|~0-9A-Za-z-]+): (.*)$",
                                 line)
                    self.assertIsNotNone(m, line)
                    fields[m.group(1).lower()] = m.group(2)
                # HTTP/1.0 closing: the body ends with the connection.
                if version == b"1.1" or b"content-length" in fields:
                    self.assertEqual(int(fields[b"content-length"]),
                                     len(body))
                self.assertEqual(fields[b"content-type"],
                                 b"application/json")
                self.assertEqual(json.loads(body)["result"], "pong")

    def test_versions(self):
        with Server(plugins={"ping": harness.plugin(harness.PING_SO)},
                    server={"log_level": "debug"}) as srv:
            wait_log(self, srv, r"evhttp's version scan: "
                                r"host/evscan\.c's \(interposed\)")
            wait_log(self, srv, r"the connections' reads: "
                                r"host/evread\.c's \(interposed\)")
            wait_log(self, srv, r"evhttp's moves of a body's bytes: "
                                r"host/evmove\.c's \(interposed\)")
            # Refused by evhttp as before: another major version, a byte
            # after the minor one, no minor, no digits.
            for version in (b"2.0", b"1.1x", b"1", b"x.y", b"1.1 1"):
                data = raw(srv.port, ping(version))
                self.assertTrue(data.startswith(b"HTTP/1.1 400 ")
                                or data == b"", (version, data[:80]))
            # Accepted: what evhttp's own scan accepts (leading zeros).
            data = raw(srv.port, ping(b"01.01"))
            self.assertTrue(data.startswith(b"HTTP/1.1 200 OK"), data[:80])


if __name__ == "__main__":
    unittest.main()
