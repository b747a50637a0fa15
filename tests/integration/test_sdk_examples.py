# SPDX-License-Identifier: MIT
"""sdk/README.md's examples compile, and every function the ABI 2 group
of plugin.h adds to the API table is shown in one: each ```c block that is
a whole plugin (it has RPCHOST_PLUGIN_DEFINE) is compiled as an outside
author would, `cc -std=c11 -Wall -Wextra -Werror -shared` against sdk/include
and the system's cJSON, and then loaded by `rpchost -t`."""

import os
import re
import shutil
import subprocess
import unittest

import harness
from harness import SRC, TempDir

README = os.path.join(SRC, "sdk", "README.md")
HEADER = os.path.join(SRC, "sdk", "include", "rpchost", "plugin.h")
CC_TIMEOUT = 120


def blocks():
    """The README's ```c blocks, with the line each starts at."""
    with open(README) as f:
        text = f.read()
    out = []
    for m in re.finditer(r"^```c\n(.*?)^```", text, re.S | re.M):
        out.append((text.count("\n", 0, m.start()) + 2, m.group(1)))
    return out


def abi2_members():
    """Names of the function members under "Added in ABI 2"."""
    with open(HEADER) as f:
        text = f.read()
    start = text.index("---- Added in ABI 2 ----")
    end = text.index("};", start)
    # Members start at the struct's indent; the hooks' own function
    # pointer params, deeper, are not members.
    return re.findall(r"^    [^ /*].*?\(\*(\w+)\)\s*\(", text[start:end],
                      re.M)


class SdkExamplesTest(unittest.TestCase):
    def test_whole_examples_compile_and_load(self):
        if shutil.which("cc") is None:
            self.fail("cc is needed for this test")
        whole = [(line, b) for line, b in blocks()
                 if "RPCHOST_PLUGIN_DEFINE(" in b]
        self.assertGreaterEqual(len(whole), 2)
        with TempDir() as d:
            for line, code in whole:
                src = d.write("example_%d.c" % line, code)
                so = src[:-2] + ".so"
                p = subprocess.run(
                    ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror",
                     "-fPIC", "-shared", "-I", os.path.join(SRC, "sdk",
                                                            "include"),
                     "-o", so, src, "-lcjson", "-lpthread"],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    timeout=CC_TIMEOUT)
                self.assertEqual(p.returncode, 0,
                                 "sdk/README.md:%d does not compile:\n%s"
                                 % (line, p.stdout.decode()))
                ini = harness.ini_text(None, {"example": {"path": so}})
                rc, _, err, _ = harness.run_config(ini, ["-t"])
                self.assertEqual(rc, 0, "sdk/README.md:%d: rpchost -t: %s"
                                 % (line, err))

    def test_every_abi2_function_has_a_whole_example(self):
        whole = "\n".join(b for _, b in blocks()
                          if "RPCHOST_PLUGIN_DEFINE(" in b)
        members = abi2_members()
        self.assertIn("add_hooks", members)
        missing = [m for m in members
                   if not re.search(r"api->%s\s*\(" % m, whole)]
        self.assertEqual(missing, [], "ABI 2 functions without a whole "
                         "example in sdk/README.md")


if __name__ == "__main__":
    unittest.main()
