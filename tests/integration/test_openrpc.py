# SPDX-License-Identifier: MIT
"""rpc.discover against the OpenRPC tools, installed from npm by this test
(as test_interop installs jayson):

  - @open-rpc/schema-utils-js's validateOpenRPCDocument, the validator the
    OpenRPC project ships: the document is valid against
    @open-rpc/meta-schema (JSON Schema, formats checked);
  - @open-rpc/typings generates TypeScript from it: sum takes its param n
    (a number), every type has the readable name of its schema's title.

Skipped (with the reason) only when node or npm are absent; a failing
`npm install` is a test failure.
"""

import json
import os
import re
import subprocess
import unittest

from harness import SCALE, Server, TempDir
from sdkutil import NODE_MISSING, examples_plugins, npm_dir

PACKAGES = ["@open-rpc/schema-utils-js@2", "@open-rpc/typings@1"]
NODE_TIMEOUT = 60 * SCALE

# Reads the document on stdin; prints {"valid": true|<errors>, "ts": ...}.
CHECK_JS = r"""
const {validateOpenRPCDocument} = require('@open-rpc/schema-utils-js');
const Typings = require('@open-rpc/typings').default;
let text = '';
process.stdin.on('data', (d) => { text += d; });
process.stdin.on('end', () => {
  const doc = JSON.parse(text);
  const valid = validateOpenRPCDocument(doc);
  const out = {valid: valid === true ? true : String(valid.message || valid)};
  if (valid === true)
    out.ts = new Typings(doc).toString('typescript');
  process.stdout.write(JSON.stringify(out));
});
"""


@unittest.skipIf(NODE_MISSING, "node and npm are needed for the OpenRPC "
                 "tools (Debian: apt-get install nodejs npm)")
class OpenRpcToolsTest(unittest.TestCase):

    def check(self, doc):
        base = npm_dir("npm-openrpc", PACKAGES)
        with TempDir() as d:
            script = d.write("check.js", CHECK_JS)
            p = subprocess.run(
                ["node", script], input=json.dumps(doc).encode(),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                timeout=NODE_TIMEOUT,
                env=dict(os.environ,
                         NODE_PATH=os.path.join(base, "node_modules")))
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        return json.loads(p.stdout)

    def discover(self, **server):
        with Server(plugins=examples_plugins(), **server) as srv:
            ans = srv.rpc("rpc.discover")
        self.assertNotIn("error", ans, ans)
        return ans["result"]

    def test_valid_against_meta_schema(self):
        doc = self.discover()
        out = self.check(doc)
        self.assertIs(out["valid"], True, out["valid"])
        # servers: the listen address (port 0 here: a {port} variable).
        (server,) = doc["servers"]
        self.assertEqual(server["url"], "http://127.0.0.1:{port}/")
        self.assertEqual(server["variables"]["port"]["default"], "0")

    def test_typings_have_real_params(self):
        doc = self.discover()
        ts = self.check(doc)["ts"]
        # sum(n...): n, a number (TypeScript has no variadic alias here).
        self.assertIn("export type SumParamN = number;", ts)
        self.assertIn("export type Sum = (n?: SumParamN) => "
                      "Promise<SumResult>;", ts)
        # echo(value...): a real param too, of any type.
        self.assertIn("export type Echo = (value?: EchoParamValue) => "
                      "Promise<EchoResult>;", ts)
        self.assertIn("export type Subtract = (minuend: SubtractParamMinuend, "
                      "subtrahend: SubtractParamSubtrahend) => "
                      "Promise<SubtractResult>;", ts)
        # Every type is named after a schema's title or a method, and the
        # generator's union of them: no hashed names (e.g. "NumberHo1ClIqD").
        titles = {cd["schema"]["title"] for m in doc["methods"]
                  for cd in m["params"] + [m["result"]]}
        allowed = ({t[0].upper() + t[1:] for t in titles} |
                   {m["name"][0].upper() + m["name"][1:]
                    for m in doc["methods"]})
        names = re.findall(r"export type (\w+) =", ts)
        self.assertTrue(names)
        for name in names:
            if not name.startswith("AnyOf"):
                self.assertIn(name, allowed, ts)

if __name__ == "__main__":
    unittest.main()
