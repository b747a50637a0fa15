# SPDX-License-Identifier: MIT
"""The manual pages (man/): rpchost(8), rpccall(1), rpchost.ini(5) and
rpchost-plugin(7).

Each page renders without a warning or error, with groff (`groff -ww -z
-man`) and with man-db (`man --warnings -l`) where installed.  The pages
and README.md are kept in step with the programs:

  - every option `rpchost --help` and `rpccall --help` print (and every
    option of their getopt tables, so none hides from --help) is in the
    README's section for the command and is an entry (a .TP tag) of the
    command's page;
  - every key of the [server] key table in host/serverkey.c (parsed from the
    source) is a row of the README's `[server]` table and an entry of
    rpchost.ini(5)'s [server] section.

So a new option or key fails this test until both places document it,
and the failure names what is missing where.  Also: every rpchost page a
page refers to exists, and `cmake --install` puts each page in its
section's folder."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import BIN, SRC, check_sanitizers

BUILD = os.environ.get("RPCHOST_BUILD", "")
MAN = os.path.join(SRC, "man")
# page -> the README section (its heading) that documents the same thing
PAGES = {
    "rpchost.8": "## Command line",
    "rpccall.1": "## rpccall",
    "rpchost.ini.5": "### `[server]`",
    "rpchost-plugin.7": None,
}
RPCCALL = os.path.join(os.path.dirname(BIN), "rpccall")
TIMEOUT = 60


def read(*path):
    with open(os.path.join(SRC, *path), encoding="utf-8") as f:
        return f.read()


def readme_section(heading):
    """The README's text under `heading` (a whole heading line, e.g. "##
    rpccall"), up to the next heading of the same or a higher level."""
    level = len(heading.split()[0])
    lines = read("README.md").splitlines()
    out, inside, fence = [], False, False
    for line in lines:
        if line.startswith("```"):
            fence = not fence
        m = None if fence else re.match(r"(#+) ", line)
        if inside and m and len(m.group(1)) <= level:
            break
        if inside:
            out.append(line)
        if not fence and line.strip() == heading:
            inside = True
    if not inside:
        raise AssertionError("README.md has no heading %r" % heading)
    return "\n".join(out)


def roff_plain(text):
    """roff source as the words it shows: comments dropped, continued
    lines joined, the escapes used in man/ undone, font changes removed."""
    text = re.sub(r"(?m)^['.]\\\".*\n?", "", text)
    text = re.sub(r"(?<!\\)\\\n", "", text)
    for esc, plain in ((r"\-", "-"), (r"\(aq", "'"), (r"\(dq", '"'),
                       (r"\(em", "--"), (r"\e", "\\"), (r"\&", ""),
                       (r"\%", ""), (r"\c", "")):
        text = text.replace(esc, plain)
    return re.sub(r"\\f(\(..|\[[^]]*\]|.)", "", text)


def roff_tags(text, section=None):
    """The tags of the .TP paragraphs of a page (in its SECTION only when
    given), as plain text with the macro names and quotes dropped."""
    lines = roff_plain(text).splitlines()
    tags, current, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(".SH"):
            current = line[3:].strip().strip('"')
        if line.strip() == ".TP" and i + 1 < len(lines) and \
                (section is None or current == section):
            tag = re.sub(r"^\.[A-Z]{1,2}\s", "", lines[i + 1])
            tags.append(tag.replace('"', ""))
            i += 1
        i += 1
    return tags


def option_tokens(text):
    """The options (-x, --long-name) written in `text`."""
    return set(re.findall(r"(?<![\w-])(--?[A-Za-z0-9][\w-]*)", text))


def help_options(program):
    """The options a program's --help lists: the short and long names at
    the start of its indented option lines."""
    p = subprocess.run([program, "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=TIMEOUT)
    out = p.stdout.decode("utf-8", "replace")
    check_sanitizers(p.stderr.decode("utf-8", "replace"), program)
    if p.returncode != 0:
        raise AssertionError("%s --help: exit %d" % (program, p.returncode))
    opts = set()
    for line in out.splitlines():
        m = re.match(r"\s+(-[A-Za-z0-9])?(?:,\s*)?(--[A-Za-z0-9][\w-]*)?",
                     line)
        if line[:1].isspace() and line.lstrip().startswith("-") and m:
            opts.update(o for o in m.groups() if o)
    if len(opts) < 4:
        raise AssertionError("%s --help: options not found in %r"
                             % (program, out))
    return opts


def source_options(path):
    """The options of a C file's getopt_long() call: the long names of its
    `struct option` table and the letters of its option string."""
    text = read(path)
    table = re.search(r"struct option \w+\[\] = \{(.*?)\n\s*\};", text,
                      re.S)
    optstring = re.search(r"getopt_long\([^,]+,[^,]+,\s*\"([^\"]*)\"", text)
    if table is None or optstring is None:
        raise AssertionError("%s: no getopt_long() table found" % path)
    longs = {"--" + n for n in re.findall(r"\{\s*\"([\w-]+)\"",
                                          table.group(1))}
    # (a leading '+' or '-' and the ':'s are not options)
    shorts = {"-" + c for c in optstring.group(1) if c.isalnum()}
    return longs | shorts


def config_keys():
    """The [server] keys of host/serverkey.c's key table."""
    text = read("host", "serverkey.c")
    table = re.search(r"server_keys\[\]\s*=\s*\{(.*?)\n\};", text, re.S)
    if table is None:
        raise AssertionError("host/serverkey.c: no server_keys[] table found")
    keys = re.findall(r"\{\s*\"([a-z0-9_]+)\"\s*,\s*K_", table.group(1))
    if len(keys) < 20:
        raise AssertionError("host/serverkey.c: only %d keys parsed: %s"
                             % (len(keys), keys))
    return keys


class TestRender(unittest.TestCase):
    """Every page renders without a warning."""

    def pages(self):
        found = sorted(f for f in os.listdir(MAN)
                       if re.search(r"\.[1-9]$", f))
        self.assertEqual(sorted(PAGES), found)
        return [os.path.join(MAN, f) for f in found]

    def test_groff(self):
        if shutil.which("groff") is None:
            self.fail("groff is not installed (Debian: groff-base; "
                      "`sh tools/deps.sh test` installs it)")
        for page in self.pages():
            with self.subTest(page=os.path.basename(page)):
                p = subprocess.run(["groff", "-ww", "-z", "-man", page],
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=TIMEOUT)
                self.assertEqual((p.returncode, p.stderr.decode()), (0, ""))

    def test_man(self):
        if shutil.which("man") is None:
            self.skipTest("man (man-db) is not installed")
        env = dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="",
                   MANWIDTH="80", MAN_DISABLE_SECCOMP="1")
        for page in self.pages():
            with self.subTest(page=os.path.basename(page)):
                p = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l",
                                    "-Tutf8", page],
                                   stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, env=env,
                                   timeout=TIMEOUT)
                self.assertEqual((p.returncode, p.stderr.decode()), (0, ""))

    def test_references(self):
        """Every rpchost page named as NAME(N) in a page exists."""
        for page in self.pages():
            with open(page, encoding="utf-8") as f:
                text = roff_plain(f.read())
            for name, sec in re.findall(
                    r"\b(rpc(?:host|call)[\w.-]*)\s*\"?\s*\((\d)\)", text):
                with self.subTest(page=os.path.basename(page), ref=name):
                    self.assertIn("%s.%s" % (name, sec), PAGES)


class TestInSync(unittest.TestCase):
    """README.md and the pages document every option and [server] key."""

    def check_options(self, program, source, page):
        opts = help_options(program)
        hidden = source_options(source) - opts
        if hidden:
            self.fail("%s: options of its getopt table that --help does not "
                      "list: %s" % (source, " ".join(sorted(hidden))))
        readme = option_tokens(readme_section(PAGES[page]))
        tags = set()
        for tag in roff_tags(read("man", page), "OPTIONS"):
            tags |= option_tokens(tag)
        missing_readme = sorted(opts - readme)
        missing_page = sorted(opts - tags)
        if missing_readme or missing_page:
            self.fail("%s options not documented: in README.md, section "
                      "%r: %s; in man/%s, as an entry of OPTIONS: %s"
                      % (os.path.basename(program), PAGES[page],
                         " ".join(missing_readme) or "(all there)", page,
                         " ".join(missing_page) or "(all there)"))

    def test_rpchost_options(self):
        self.check_options(BIN, os.path.join("host", "main.c"), "rpchost.8")

    def test_rpccall_options(self):
        if not os.path.exists(RPCCALL):
            self.skipTest("rpccall not built (RPCHOST_CLIENT=OFF)")
        self.check_options(RPCCALL, os.path.join("client", "rpccall.c"),
                           "rpccall.1")

    def test_server_keys(self):
        keys = config_keys()
        rows = set(re.findall(r"(?m)^\|\s*`([a-z0-9_]+)`\s*\|",
                              readme_section(PAGES["rpchost.ini.5"])))
        entries = set()
        for tag in roff_tags(read("man", "rpchost.ini.5"),
                             "THE [server] SECTION"):
            words = re.split(r"[\s=,]+", tag.strip())
            entries.update(w for w in words if w)
        missing_readme = [k for k in keys if k not in rows]
        missing_page = [k for k in keys if k not in entries]
        if missing_readme or missing_page:
            self.fail("[server] keys of host/serverkey.c not documented: as "
                      "a row of README.md's `[server]` table: %s; as an "
                      "entry of man/rpchost.ini.5's [server] section: %s"
                      % (" ".join(missing_readme) or "(all there)",
                         " ".join(missing_page) or "(all there)"))


class TestInstall(unittest.TestCase):
    """`cmake --install` puts each page in man<section>/."""

    def test_installed(self):
        if not BUILD:
            self.skipTest("RPCHOST_BUILD not set")
        tmp = tempfile.mkdtemp(prefix="rpchost-man-")
        try:
            p = subprocess.run(["cmake", "--install", BUILD, "--prefix", tmp],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            for page in PAGES:
                path = os.path.join(tmp, "share", "man",
                                    "man" + page.rsplit(".", 1)[1], page)
                with self.subTest(page=page):
                    self.assertTrue(os.path.isfile(path), path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
