// Builds the three bundles: the extension host (cjs, vscode external), the server (node), the
// webview (browser). `--watch` rebuilds on change.
import { readdirSync } from "node:fs";
import * as esbuild from "esbuild";

const watch = process.argv.includes("--watch");
const common = { bundle: true, sourcemap: true, logLevel: "warning", target: "es2022", legalComments: "none" };
// Built-in chart plugins: each top-level file of src/plugins (helpers live in lib/) becomes one ES
// module in dist/plugins/, served by the server like workspace plugins.
const builtinPlugins = readdirSync("src/plugins")
  .filter((f) => f.endsWith(".ts"))
  .map((f) => `src/plugins/${f}`);
const builds = [
  { ...common, entryPoints: ["src/extension/extension.ts"], outfile: "dist/extension.js", platform: "node", format: "cjs", external: ["vscode"] },
  // esbuild bundles plugins at run time and finds its native binary beside its own package: keep it a dependency.
  { ...common, entryPoints: ["src/server/cli.ts"], outfile: "dist/server.js", platform: "node", format: "cjs", external: ["esbuild"] },
  { ...common, entryPoints: ["src/webview/main.ts"], outfile: "dist/webview.js", platform: "browser", format: "esm", minify: true },
  { ...common, entryPoints: builtinPlugins, outdir: "dist/plugins", platform: "browser", format: "esm", sourcemap: false },
];

if (watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
