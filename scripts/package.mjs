// `npm run package`: the .vsix, with vsce, from a staging folder. dist/server.js keeps esbuild
// external (it bundles plugins at run time and finds its native binary in its platform package),
// so the .vsix carries node_modules/esbuild and this platform's @esbuild package and nothing else
// from node_modules: every other module is inside the bundles. vsce takes node_modules files only
// from production dependencies, so the staged manifest names esbuild as the one dependency.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const stage = join(root, "out", "vsix");
const output = resolve(root, process.argv[2] ?? "chartbridge.vsix");

rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
const copy = (path) => existsSync(join(root, path)) && cpSync(join(root, path), join(stage, path), { recursive: true });

const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const esbuild = JSON.parse(readFileSync(join(root, "node_modules", "esbuild", "package.json"), "utf8"));
const platform = `@esbuild/${process.platform}-${process.arch}`;
delete manifest.devDependencies;
delete manifest.scripts;
delete manifest.allowScripts;
manifest.dependencies = { esbuild: esbuild.version };
writeFileSync(join(stage, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
for (const path of ["README.md", "LICENSE", ".vscodeignore", "dist", "snippets", "media", "node_modules/esbuild", `node_modules/${platform}`]) copy(path);

execFileSync(join(root, "node_modules", ".bin", "vsce"), ["package", "--no-rewrite-relative-links", "--allow-missing-repository", "--skip-license", "-o", output], { cwd: stage, stdio: "inherit" });
console.log(`${output}: ${(statSync(output).size / 1024).toFixed(0)} KiB`);
