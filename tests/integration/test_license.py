# SPDX-License-Identifier: MIT
"""The licence: LICENSE is the MIT licence, and every C source and header,
CMake file, shell script and Python file names it on its first comment line
(`SPDX-License-Identifier: MIT`, added by tools/spdx.py)."""

import os
import subprocess
import sys
import unittest

from harness import SRC


@unittest.skipIf(not SRC, "RPCHOST_SRC not set")
class LicenseTest(unittest.TestCase):
    def test_license_file(self):
        with open(os.path.join(SRC, "LICENSE"), encoding="utf-8") as f:
            text = f.read()
        self.assertTrue(text.startswith("MIT License"), text[:80])
        self.assertIn("Permission is hereby granted, free of charge", text)

    def test_every_source_has_the_spdx_line(self):
        p = subprocess.run([sys.executable,
                            os.path.join(SRC, "tools", "spdx.py"), "--check"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 0,
                         "run tools/spdx.py to add the line:\n" + p.stdout +
                         p.stderr)
        # Not vacuous: the sources were found.
        n = int(p.stdout.split("spdx: ")[1].split()[0])
        self.assertGreater(n, 200, p.stdout)


if __name__ == "__main__":
    unittest.main()
