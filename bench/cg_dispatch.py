#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""cg_dispatch.py - what the plugin boundary costs, from a callgrind dump.

Reads `callgrind_annotate --inclusive=yes --tree=both` output of an
rpchost run serving `ping` from ping.so and prints, per request:

  handler_incl  instructions from the call of the handler to its return
                (its body, its PLT stubs, cJSON_CreateString, api->result)
  plugin_own    instructions executed in the plugin's own object: the
                handler's body and its PLT stubs.  Compiling the same
                handler into the host could save at most this much (its
                body would still run; only the PLT hops and the GOT load of
                `api` would go), so it is an upper bound on the overhead of
                plugin dispatch.
  registry      registry_find (method lookup), which a compiled-in handler
                reached through the same table would pay too.

rpchost dlopen()s each plugin from a sealed memfd copy, so valgrind sees its
code as an anonymous object `[???]`; the handler is the `[???]` function
that dispatch.c calls (CALLERS: whichever of its functions the compiler
left standing).

    cg_dispatch.py ANNOTATE_OUTPUT REQUESTS TOTAL_IR
"""
import re
import sys

# The host functions a handler is called from (others inlined into them,
# depending on the compiler): dispatch.c's.
CALLERS = ("dispatch_method", "run_handler", "run_call", "dispatch_body")
LINE = re.compile(r"^\s*([\d,]+)\s+\([\s\d.%]+\)\s+([<>*])\s+(.*?)\s*$")


def parse(path):
    blocks, cur = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            m = LINE.match(raw)
            if not m:
                if cur:
                    blocks.append(cur)
                    cur = []
                continue
            ir = int(m.group(1).replace(",", ""))
            text = m.group(3)
            obj = text[text.rfind("[") + 1:-1] if text.endswith("]") else ""
            name = re.sub(r"\s*\(\d[\d,]*x\)", "", text[:text.rfind("[")]).strip()
            cur.append((m.group(2), ir, name, obj))
    if cur:
        blocks.append(cur)
    return blocks


def main():
    blocks = parse(sys.argv[1])
    n, total = int(sys.argv[2]), int(sys.argv[3])
    funcs = {}
    for b in blocks:
        star = [x for x in b if x[0] == "*"]
        if not star:
            continue
        _, ir, name, obj = star[0]
        callers = [x for x in b if x[0] == "<"]
        callees = [x for x in b if x[0] == ">"]
        funcs[name] = (ir, obj, callers, callees)

    def self_ir(name):
        ir, _, _, callees = funcs[name]
        return ir - sum(c[1] for c in callees)

    handler = None
    for name, (ir, obj, callers, _) in funcs.items():
        if obj == "???" and any(any(f in c[2] for f in CALLERS)
                                for c in callers):
            if handler is None or ir > funcs[handler][0]:
                handler = name
    if handler is None:
        print("cg_dispatch: no plugin handler found in the profile",
              file=sys.stderr)
        return 1
    incl, _, _, callees = funcs[handler]
    own = self_ir(handler)
    for c in callees:
        if c[3] == "???" and c[2] in funcs:
            own += self_ir(c[2])
    reg_ir = 0
    for name, (ir, _, _, _) in funcs.items():
        if name.endswith(":registry_find"):
            reg_ir = ir
    print("handler_incl %.1f" % (incl / n))
    print("plugin_own %.1f" % (own / n))
    print("registry %.1f" % (reg_ir / n))
    print("plugin_own_pct %.3f" % (100.0 * own / total))
    print("handler_incl_pct %.2f" % (100.0 * incl / total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
