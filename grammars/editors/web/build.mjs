// Bundles web/editor.mjs and CodeMirror into archdsl/serve/static/editor.js, the
// one script `archdsl serve` loads. The output is committed: installing archdsl
// needs no npm, and the page fetches nothing at run time.
//   cd grammars/editors && npm ci && npm run build
import { build } from "esbuild";
import { readFileSync } from "node:fs";

const lock = JSON.parse(readFileSync(new URL("../package-lock.json", import.meta.url)));
const versions = Object.entries(lock.packages)
  .filter(([path]) => /node_modules\/(@codemirror|@lezer|style-mod|w3c-keyname|crelt|@marijn)/.test(path))
  .map(([path, info]) => `${path.replace(/^.*node_modules\//, "")}@${info.version}`)
  .sort();

await build({
  entryPoints: [new URL("editor.mjs", import.meta.url).pathname],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "eof",
  outfile: new URL("../../../archdsl/serve/static/editor.js", import.meta.url).pathname,
  banner: {
    js: "/* archdsl serve's editor: CodeMirror 6 (MIT, (c) Marijn Haverbeke and others), bundled with esbuild from "
      + versions.join(", ") + ". Source: grammars/editors/web/editor.mjs. */",
  },
});
