#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""spdx.py - put `SPDX-License-Identifier: MIT` on the first comment line of
every C/C++ source and header, CMake file, shell script and Python file of
the project (LICENSE), or check that it is there.

  tools/spdx.py          add the line where it is missing (idempotent: run
                         it again after adding files or merging branches)
  tools/spdx.py --check  list the files without it; exit 1 if any

The line goes first, after a `#!` line (and a Python coding line) only:
  C, C++        /* SPDX-License-Identifier: MIT */
  others        # SPDX-License-Identifier: MIT
Files are those git tracks (every file under the tree, build folders
aside, when there is no git); tests/fuzz corpora and regress inputs are
data, not sources.  tests/integration/test_license.py runs --check.
"""

import os
import re
import subprocess
import sys

TAG = "SPDX-License-Identifier: MIT"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP_DIRS = ("build", ".git", "node_modules")
DATA_DIRS = ("tests/fuzz/corpus", "tests/fuzz/regress")


def kind(path):
    """'c' or 'hash' (the comment style), or None: not a source file."""
    name = os.path.basename(path)
    if re.search(r"\.(c|h|cpp|h\.in)$", name):
        return "c"
    if name == "CMakeLists.txt" or re.search(r"\.(cmake|cmake\.in|sh|py)$",
                                             name):
        return "hash"
    return None


def files():
    try:
        out = subprocess.run(["git", "-C", ROOT, "ls-files", "-z"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             check=True).stdout.decode()
        names = [n for n in out.split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        names = []
        for top, dirs, fnames in os.walk(ROOT):
            dirs[:] = [d for d in dirs if not d.startswith(SKIP_DIRS)]
            for f in fnames:
                names.append(os.path.relpath(os.path.join(top, f), ROOT))
    for n in sorted(names):
        if n.startswith(DATA_DIRS) or kind(n) is None:
            continue
        if os.path.isfile(os.path.join(ROOT, n)):
            yield n


def head_len(lines):
    """How many lines come before the SPDX line's place."""
    n = 0
    if lines and lines[0].startswith("#!"):
        n = 1
    if len(lines) > n and re.match(r"#.*coding[:=]", lines[n]):
        n += 1
    return n


def has_tag(lines):
    n = head_len(lines)
    return len(lines) > n and TAG in lines[n]


def add(path):
    full = os.path.join(ROOT, path)
    with open(full, encoding="utf-8") as f:
        lines = f.read().splitlines(keepends=True)
    if has_tag(lines):
        return False
    line = ("/* %s */\n" if kind(path) == "c" else "# %s\n") % TAG
    n = head_len(lines)
    lines.insert(n, line)
    mode = os.stat(full).st_mode
    with open(full, "w", encoding="utf-8") as f:
        f.write("".join(lines))
    os.chmod(full, mode)
    return True


def check():
    """The files without the line, and how many were checked."""
    missing, n = [], 0
    for path in files():
        n += 1
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            if not has_tag(f.read().splitlines()[:3]):
                missing.append(path)
    return missing, n


def main(argv):
    if argv[1:] == ["--check"]:
        missing, n = check()
        for path in missing:
            print("%s: no '%s' on its first comment line" % (path, TAG))
        print("spdx: %d file(s) checked, %d without the line" % (n,
                                                                len(missing)))
        return 1 if missing else 0
    if argv[1:]:
        sys.stderr.write(__doc__)
        return 2
    changed = [p for p in list(files()) if add(p)]
    print("spdx: line added to %d file(s)" % len(changed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
