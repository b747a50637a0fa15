# SPDX-License-Identifier: MIT
"""Error texts that echo what a client sent - an unknown param's name, a
method the caller may not call, the caller's user name - are cut to their
length limit at a UTF-8 character boundary, so that the answer stays valid
UTF-8 (issue #11, item 8).  Each answer is decoded strictly."""

import json
import unittest

import harness
from harness import TempDir, call, serve

TOKEN = "Tok-utf8-s3cr3t-Zr8Kq2"
E2 = "\u00e9"         # 2 bytes in UTF-8
E3 = "\u20ac"         # 3 bytes
E4 = "\U0001f600"     # 4 bytes


def strict(testcase, body):
    """The answer as JSON, its bytes decoded as UTF-8 strictly."""
    try:
        text = body.decode("utf-8", "strict")
    except UnicodeDecodeError as e:
        raise AssertionError("the answer is not valid UTF-8 (%s): %r"
                             % (e, body)) from None
    return json.loads(text)


def credential(name):
    rc, out, err = harness.run_cli(["--token", name, TOKEN])
    if rc != 0:
        raise AssertionError("rpchost --token: %r %s" % (rc, err))
    return out


class UnknownParamTest(unittest.TestCase):
    """calc's add described with a and b: an unknown name is echoed, at
    most 64 bytes of it."""

    @classmethod
    def setUpClass(cls):
        cls.srv = serve().start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def data_for(self, name):
        status, _, body = self.srv.call(call("add", {name: 1, "a": 1, "b": 2}))
        self.assertEqual(status, 200)
        ans = strict(self, body)
        return harness.std_error(self, ans, -32602, id=1)["data"]

    def test_cut_at_character_boundary(self):
        # A character of each width across the 64th byte goes whole: it
        # is dropped when its last byte would be the 65th or later.
        for ch in (E2, E3, E4):
            for pad in range(64 - len(ch.encode()) + 1, 64):
                name = "p" * pad + ch + "tail"
                with self.subTest(width=len(ch.encode()), pad=pad):
                    self.assertEqual(self.data_for(name),
                                     "unknown param '%s'" % ("p" * pad))
            # Ending exactly at byte 64, it stays.
            pad = 64 - len(ch.encode())
            self.assertEqual(self.data_for("p" * pad + ch + "tail"),
                             "unknown param '%s'" % ("p" * pad + ch))

    def test_short_names_whole(self):
        name = E2 + E3 + E4
        self.assertEqual(self.data_for(name), "unknown param '%s'" % name)


class ForbiddenTest(unittest.TestCase):
    """HTTP 403: "user 'NAME' may not call 'METHOD'" names at most 64
    bytes of the user and 128 of the method.  (A user name comes from a
    section of the credentials file, at most 49 bytes with libinih: it is
    echoed whole.)"""

    USER = "u" * 40 + E4 + E3 + E2

    @classmethod
    def setUpClass(cls):
        cls.dir = TempDir()
        path = cls.dir.write("auth.ini", credential(cls.USER) +
                             "methods = ping\n")
        cls.srv = serve(server={"auth_file": path}).start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.srv.stop()
        finally:
            cls.dir.close()

    def test_method_and_user_cut(self):
        for ch in (E2, E3, E4):
            method = "m" * 127 + ch
            with self.subTest(width=len(ch.encode())):
                status, _, body = self.srv.call(
                    call(method), headers={"Authorization": "Bearer " + TOKEN})
                self.assertEqual(status, 403, body)
                err = harness.std_error(self, strict(self, body), -32600,
                                        id=None)
                self.assertEqual(err["data"],
                                 "HTTP 403: user '%s' may not call '%s'"
                                 % (self.USER, "m" * 127))
        # Within the limits, both whole.
        status, _, body = self.srv.call(
            call("m" + E4), headers={"Authorization": "Bearer " + TOKEN})
        self.assertEqual(status, 403, body)
        self.assertEqual(strict(self, body)["error"]["data"],
                         "HTTP 403: user '%s' may not call 'm%s'"
                         % (self.USER, E4))


if __name__ == "__main__":
    unittest.main()
