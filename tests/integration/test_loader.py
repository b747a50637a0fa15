# SPDX-License-Identifier: MIT
"""Plugin loading: refused plugins stop rpchost at startup; damaged plugin
files (truncated, foreign ELF) are refused with a message instead of a
crash; plugin files others can write are warned about."""

import os
import re
import struct
import unittest

import harness
from harness import (PING_SO, Server, TempDir, fixture, ini_text, plugin,
                     run_cli)

SERVER = {"listen": "127.0.0.1:0", "threads": 1}
CALC_SO = os.path.join(harness.PLUGINS, "calc.so")


class LoaderFailureTest(unittest.TestCase):
    def run_both(self, plugins, name="rpchost.ini"):
        """Run the config normally and with -t; both must fail (exit 1).

        Returns the stderr of the normal run.
        """
        with TempDir() as d:
            path = d.write(name, ini_text(SERVER, plugins))
            rc, out, err = run_cli(["-c", path])
            self.assertEqual(rc, 1, "rpchost should refuse to start;\n"
                             "stdout: %s\nstderr: %s" % (out, err))
            self.assertNotIn("listening on", err)
            self.assertTrue(err.strip(), "no message on stderr")
            rc_t, out_t, err_t = run_cli(["-c", path, "-t"])
            self.assertEqual(rc_t, 1, "-t should fail;\nstdout: %s\n"
                             "stderr: %s" % (out_t, err_t))
            self.assertTrue(err_t.strip(), "-t: no message on stderr")
            self.assertNotIn("listening on", err_t)
        return err

    def test_no_hook_symbol(self):
        err = self.run_both({"nohook": plugin(fixture("nohook"))})
        self.assertIn("rpchost_plugin", err)
        self.assertIn("nohook", err)

    def test_newer_abi(self):
        err = self.run_both({"newabi": plugin(fixture("newabi"))})
        self.assertIn("newabi", err)
        self.assertIn("abi", err.lower())
        # Names both versions (the plugin's 3 and the host's 2).
        self.assertRegex(err, r"ABI 3\b")
        self.assertRegex(err, r"ABI 2\b")
        self.assertNotIn("init ran", err)

    def test_abi_1_plugin_still_works(self):
        """A plugin built for ABI 1 (before ABI 2 appended invalid_params)
        loads and serves on this host, and the shipped calc (ABI 2) answers
        with the shorthand exactly as it answered with api->error."""
        plugins = {"abi1": plugin(fixture("abi1")),
                   "calc": plugin(os.path.join(harness.PLUGINS, "calc.so"))}
        with Server(plugins=plugins) as srv:
            self.assertEqual(srv.rpc("abi1_ping")["result"], "pong from ABI 1")
            bad = srv.rpc("abi1_bad")["error"]
            self.assertEqual((bad["code"], bad["data"]),
                             (-32602, "the ABI 1 way"))
            # (sum's by-position rule is the host's now: describe_method.)
            err = srv.rpc("add", [1.7e308, 1.7e308])["error"]
            self.assertEqual(err, {"code": -32602, "message": "Invalid params",
                                   "data": "result is not a finite number"})

    def test_notification_only_method(self):
        """RPCHOST_METHOD_NOTIFICATION (ABI 2): notifications run it and
        need no answer (no error logged, none counted); a request with an
        id is refused -32600 before the handler runs."""
        with Server(plugins={"n": plugin(fixture("notifyonly"))}) as srv:
            for _ in range(3):
                status, _, body = srv.call({"jsonrpc": "2.0",
                                            "method": "note"})
                self.assertEqual(status, 204, body)
            err = srv.rpc("note", id=5)["error"]
            self.assertEqual(err["code"], -32600)
            self.assertIn("notifications only", err["data"])
            self.assertEqual(srv.rpc("count")["result"], 3)
            self.assertNotIn("without answering", srv.stderr)
            status, _, body = srv.call(None, path="/metrics", method="GET")
            self.assertNotIn('rpchost_rpc_errors_total{code="-32603"}',
                             body.decode())

    def test_init_fails(self):
        err = self.run_both({"initfail": plugin(fixture("initfail"))})
        self.assertIn("cannot reach database at db:5432", err)
        self.assertIn("initfail", err)

    def test_duplicate_method(self):
        err = self.run_both({"ping": plugin(PING_SO),
                             "dup": plugin(fixture("dup"))})
        self.assertIn("ping", err)
        self.assertIn("already", err.lower())
        self.assertIn("dup", err)

    def test_bad_method_names(self):
        for name in ("", "rpc.foo", "rpc.", "has space", "x" * 129,
                     "caf\u00e9", "tab\there"):
            with self.subTest(name=name[:20]):
                err = self.run_both(
                    {"badname": plugin(fixture("badname"), name=name)})
                self.assertIn("badname", err)
                if name:
                    # Control bytes are written as \xNN in text logs.
                    self.assertIn(name.replace("\t", "\\x09"), err)

    def test_config_line_limit(self):
        # libinih reads at most 198 characters per line (its fixed buffer,
        # INI_MAX_LINE); a longer line is refused with a message naming the
        # line, never silently cut.  A 129-byte name still fits and is
        # refused by register_method (names are 1..128 bytes).
        name = "x" * 200
        err = self.run_both({"badname": plugin(fixture("badname"),
                                               name=name)})
        self.assertIn("line longer than 198 characters", err)
        self.assertRegex(err, r"rpchost\.ini:\d+:")

    def test_good_method_names_accepted(self):
        # Control for test_bad_method_names: the same fixture loads with
        # valid names (1..128 printable ASCII, not "rpc.").
        for name in ("x", "x" * 128, "a.b-c_d/e:f!~", "rpc", "RPC.foo"):
            with self.subTest(name=name[:20]):
                with TempDir() as d:
                    path = d.write("rpchost.ini", ini_text(
                        SERVER,
                        {"badname": plugin(fixture("badname"), name=name)}))
                    rc, out, err = run_cli(["-c", path, "-t"])
                self.assertEqual(rc, 0, err)
                self.assertIn(name, out)

    def test_good_name_is_callable(self):
        with Server(plugins={"badname": plugin(fixture("badname"),
                                               name="a.b-c")}) as srv:
            answer = srv.rpc("a.b-c")
            self.assertEqual(answer, {"jsonrpc": "2.0",
                                      "result": "registered", "id": 1})

    def test_missing_shared_object(self):
        missing = "/nonexistent/dir/missing-plugin.so"
        err = self.run_both({"missing": plugin(missing)})
        self.assertIn("missing-plugin.so", err)

    def test_not_a_shared_object(self):
        with TempDir() as d:
            notso = d.write("notaplugin.so", "this is not an ELF file\n")
            err = self.run_both({"bogus": plugin(notso)})
        self.assertIn("notaplugin.so", err)

    def test_ini_file_as_plugin(self):
        # The config file itself as the plugin path (relative: resolved
        # against the config file's folder).
        err = self.run_both({"self": plugin("rpchost.ini")})
        self.assertIn("rpchost.ini", err)

    def test_directory_as_plugin(self):
        err = self.run_both({"dir": plugin(os.path.dirname(PING_SO))})
        self.assertIn("dir", err)

    def test_failure_after_good_plugin(self):
        # A good plugin before the bad one must not keep rpchost alive.
        err = self.run_both({"ping": plugin(PING_SO),
                             "spec": plugin(fixture("spec")),
                             "initfail": plugin(fixture("initfail"))})
        self.assertIn("cannot reach database", err)


def elf_layout(data):
    """(struct byte order prefix, e_phoff, e_phentsize, e_phnum, end of the
    last segment in the file) of a 64- or 32-bit ELF image."""
    order = "<" if data[5] == 1 else ">"
    if data[4] == 2:
        phoff, = struct.unpack_from(order + "Q", data, 32)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 54)
        fmt, off_at, size_at = order + "IIQQQQQQ", 2, 5
    else:
        phoff, = struct.unpack_from(order + "I", data, 28)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 42)
        fmt, off_at, size_at = order + "IIIIIIII", 1, 4
    end = 0
    for i in range(phnum):
        ph = struct.unpack_from(fmt, data, phoff + i * phentsize)
        end = max(end, ph[off_at] + ph[size_at])
    return order, phoff, phentsize, phnum, end


class DamagedPluginTest(unittest.TestCase):
    """A damaged or foreign plugin file is refused, by the normal start and
    by -t, with one line naming config file, line, section and path; it is
    never mapped (a segment past the end of the file would be SIGBUS, exit
    status 135)."""

    @classmethod
    def setUpClass(cls):
        with open(CALC_SO, "rb") as f:
            cls.calc = f.read()
        if cls.calc[4] != 2:
            raise unittest.SkipTest("the patches below are for 64-bit ELF")
        (cls.order, cls.phoff, cls.phentsize, cls.phnum,
         cls.end) = elf_layout(cls.calc)

    def patched(self, offset, fmt, value):
        data = bytearray(self.calc)
        struct.pack_into(self.order + fmt, data, offset, value)
        return bytes(data)

    def refused(self, data, *reasons):
        """Write data as calc.so in a fresh folder, run it normally and with
        -t: both exit 1 with one error line naming the file and every
        reason."""
        with TempDir() as d:
            so = os.path.join(d.path, "calc.so")
            with open(so, "wb") as f:
                f.write(data)
            os.chmod(so, 0o644)
            ini = d.write("rpchost.ini", ini_text(SERVER,
                                                  {"calc": plugin(so)}))
            for args in (["-c", ini], ["-c", ini, "-t"]):
                rc, out, err = run_cli(args)
                self.assertEqual(rc, 1, "%s: exit status %r (135: SIGBUS)"
                                 "\nstdout: %s\nstderr: %s"
                                 % (args, rc, out, err))
                lines = err.strip().splitlines()
                self.assertEqual(len(lines), 1, err)
                self.assertRegex(lines[0], r"ERROR +%s:\d+: \[calc\] path = "
                                 "%s: " % (re.escape(ini), re.escape(so)))
                for reason in reasons:
                    self.assertIn(reason, lines[0])
                self.assertNotIn("listening on", err)
        return lines[0]

    def test_truncated_8k(self):
        self.assertGreater(self.end, 8192)
        self.refused(self.calc[:8192], "truncated", "8192")

    def test_every_cut_inside_the_segments(self):
        # A file cut anywhere before the end of its last segment: a sample
        # of lengths, the headers' own boundaries included.
        ph_end = self.phoff + self.phnum * self.phentsize
        for n in sorted({1, 3, 4, 63, 64, ph_end - 1, ph_end, ph_end + 1,
                         4096, self.end // 2, self.end - 1}):
            with self.subTest(length=n):
                self.refused(self.calc[:n])

    def test_empty(self):
        self.refused(b"", "empty")

    def test_header_only(self):
        self.refused(self.calc[:64], "truncated")

    def test_segments_past_the_end(self):
        # Headers intact, the file ends where the program headers end:
        # every PT_LOAD points past it.
        n = self.phoff + self.phnum * self.phentsize
        self.refused(self.calc[:n], "truncated", "segment", str(n))

    def test_program_headers_past_the_end(self):
        # e_phoff moved beyond the end of the (whole) file.
        data = self.patched(32, "Q", len(self.calc) + 8)
        self.refused(data, "program header")

    def test_program_header_offset_overflows(self):
        data = self.patched(32, "Q", 2**64 - 8)
        self.refused(data, "program header")

    def test_segment_offset_overflows(self):
        # The first program header's p_offset set to 2^64 - 1: offset plus
        # size must not wrap around to a small number.
        data = self.patched(self.phoff + 8, "Q", 2**64 - 1)
        self.refused(data, "segment")

    def test_not_elf(self):
        self.refused(b"\x7fELG" + self.calc[4:], "not an ELF file")
        self.refused(b"#!/bin/sh\necho hello\n" * 100, "not an ELF file")

    def test_32_bit(self):
        data = bytearray(self.calc)
        data[4] = 1  # EI_CLASS: ELFCLASS32
        self.refused(bytes(data), "32-bit")

    def test_other_byte_order(self):
        data = bytearray(self.calc)
        data[5] = 2 if data[5] == 1 else 1  # EI_DATA
        self.refused(bytes(data), "endian")

    def test_other_machine(self):
        machine, = struct.unpack_from(self.order + "H", self.calc, 18)
        other = 183 if machine != 183 else 62  # AArch64, else x86-64
        self.refused(self.patched(18, "H", other), "machine",
                     str(other))

    def test_not_a_shared_object(self):
        self.refused(self.patched(16, "H", 2), "executable")  # ET_EXEC
        self.refused(self.patched(16, "H", 1), "not a shared object")

    def test_whole_copy_still_loads(self):
        # Control: the same file, whole, in the same kind of folder.
        with TempDir() as d:
            so = os.path.join(d.path, "calc.so")
            with open(so, "wb") as f:
                f.write(self.calc)
            os.chmod(so, 0o644)
            ini = d.write("rpchost.ini", ini_text(SERVER,
                                                  {"calc": plugin(so)}))
            rc, out, err = run_cli(["-c", ini, "-t"])
        self.assertEqual(rc, 0, err)
        self.assertIn("subtract", out)
        self.assertNotIn("ERROR", err)
        self.assertNotIn("WARN", err)


class WritablePluginTest(unittest.TestCase):
    """A plugin file group or others may write, or a folder others may
    write without the sticky bit, is named in one warning line: whoever can
    write it can run code in rpchost.  It still loads."""

    WARNING = "anyone who can write it can run code in rpchost"

    def check(self, file_mode, dir_mode, *expect):
        """Load calc.so copied into a folder of dir_mode with file_mode;
        returns the warning lines (asserted to be expect's length, each
        holding the expected fragments)."""
        with TempDir() as d:
            sub = os.path.join(d.path, "plugins")
            os.mkdir(sub)
            so = os.path.join(sub, "calc.so")
            with open(CALC_SO, "rb") as src, open(so, "wb") as dst:
                dst.write(src.read())
            os.chmod(so, file_mode)
            os.chmod(sub, dir_mode)
            ini = d.write("rpchost.ini", ini_text(SERVER,
                                                  {"calc": plugin(so)}))
            rc, out, err = run_cli(["-c", ini, "-t"])
            os.chmod(sub, 0o700)
        self.assertEqual(rc, 0, err)
        warnings = [l for l in err.splitlines() if "WARN" in l]
        self.assertEqual(len(warnings), 1 if expect else 0, err)
        for line in warnings:
            self.assertIn("plugin [calc] %s: " % so, line)
            self.assertIn(self.WARNING, line)
            for fragment in expect:
                self.assertIn(fragment, line)
        return warnings

    def test_private(self):
        self.check(0o644, 0o755)
        self.check(0o755, 0o700)

    def test_sticky_folder(self):
        # Like /tmp: others may add files but not replace this one.
        self.check(0o644, 0o1777)

    def test_file_writable_by_others(self):
        self.check(0o646, 0o755, "writable by others", "0646")

    def test_file_writable_by_group(self):
        self.check(0o664, 0o755, "writable by group", "0664")

    def test_folder_writable_by_others(self):
        self.check(0o644, 0o777, "folder", "writable by others", "0777")

    def test_both_in_one_line(self):
        self.check(0o666, 0o777, "writable by group and others", "0666",
                   "folder", "0777")


class LoaderSuccessTest(unittest.TestCase):
    def test_all_good_plugins_listed(self):
        with TempDir() as d:
            path = d.write("rpchost.ini", ini_text(SERVER, {
                "ping": plugin(PING_SO), "spec": plugin(fixture("spec")),
                "cfg": plugin(fixture("cfg"))}))
            rc, out, err = run_cli(["-c", path, "-t"])
        self.assertEqual(rc, 0, err)
        for word in ("ping", "spec", "cfg", "subtract", "sum", "get_data",
                     "sleep_ms", "greet"):
            self.assertRegex(out, r"\b%s\b" % re.escape(word))


if __name__ == "__main__":
    unittest.main()
