// `npm run bench` (`--quick`: the Nautilus overhead matrix on fewer bars per shape): every benchmark of the project in one go. Each prints its figures for people
// and one `{"figures": [...]}` JSON line; this collects those lines into bench/results/latest.json.
// A benchmark that fails is reported and the others still run; the exit code says so.
// `--only <text>` runs the benchmark named <text>, else those whose name contains it, and replaces only their figures in
// latest.json, so one benchmark can be measured again (alone on the machine) without the others;
// each figure carries the date it was measured.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { ratioOf, type Figure } from "./figures.js";

const quick = process.argv.includes("--quick");
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;
if (onlyAt >= 0 && !only) throw new Error("--only needs a part of a benchmark's name, e.g. --only overhead");
// The overhead matrix: 5 rounds a shape, then up to 25 while a shape's median is not told apart
// from 1.10x at 90% confidence (nautilus_overhead.py's median_interval).
const OVERHEAD_ROUNDS = ["--rounds", "5", "--max-rounds", "25"];
const allBenches: [string, string, string[]][] = [
  ["server", "npx", ["tsx", "--expose-gc", "bench/server.ts"]],
  ["compare runs", "npx", ["tsx", "bench/compare.ts"]],
  ["parameter sweep", "npx", ["tsx", "bench/sweep.ts"]],
  ["webview first paint", "npx", ["tsx", "bench/webview-open.ts"]],
  ["webview live tail", "npx", ["tsx", "bench/webview-live.ts"]],
  ["webview plugin reload", "npx", ["tsx", "bench/webview-plugin.ts"]],
  ["webview live latency", "npx", ["tsx", "bench/webview-latency.ts"]],
  ["python producer", ".venv/bin/python", ["python/bench/producer_bench.py"]],
  ["nautilus overhead", ".venv/bin/python", ["python/bench/nautilus_overhead.py", ...OVERHEAD_ROUNDS, ...(quick ? ["--quick"] : [])]],
  // The same on NautilusTrader 2 (the Rust engine), in its venv (scripts/venv-nt2.sh, built once per machine).
  ["nautilus overhead (NautilusTrader 2)", "bash", ["-c", `PYTHONPATH=python/src "$(bash scripts/venv-nt2.sh)" python/bench/nautilus_overhead.py ${OVERHEAD_ROUNDS.join(" ")}${quick ? " --quick" : ""}`]],
  ["ticks overhead (quotes)", ".venv/bin/python", ["python/bench/ticks_overhead.py", ...(quick ? ["--ticks", "100000"] : [])]],
  ["ticks overhead (trades)", ".venv/bin/python", ["python/bench/ticks_overhead.py", "--kind", "trades", ...(quick ? ["--ticks", "100000"] : [])]],
  ["debugger condition", ".venv/bin/python", ["python/bench/debug_condition.py"]],
  ["rust #[chart] call", "cargo", ["bench", "--manifest-path", "rust/Cargo.toml", "-p", "chartbridge", "--bench", "chart_call"]],
  ["rust publisher throughput", "cargo", ["bench", "--manifest-path", "rust/Cargo.toml", "-p", "chartbridge", "--bench", "throughput"]],
  ["redis cluster sweep", "npx", ["tsx", "bench/cluster.ts"]],
  ["run files", "npx", ["tsx", "bench/runFile.ts"]],
];

// A name given whole picks that benchmark alone ("nautilus overhead" is also part of its 2.x twin's name).
const benches = only === undefined ? allBenches
  : allBenches.some(([name]) => name === only) ? allBenches.filter(([name]) => name === only)
  : allBenches.filter(([name]) => name.includes(only));
if (benches.length === 0) throw new Error(`--only ${only}: no benchmark's name contains it (${allBenches.map(([n]) => n).join(", ")})`);

// Each figure says where and when it was measured: a run of one benchmark keeps the others' figures,
// which may come from another machine (the ratios move with the CPU's caches).
type Measured = Figure & { bench: string; ratio: number | null; measured: string; machine: string };
const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`;
const latest = "bench/results/latest.json";
const ran = new Set(benches.map(([name]) => name));
const kept: Measured[] = only !== undefined && existsSync(latest)
  ? (JSON.parse(readFileSync(latest, "utf8")) as { figures: Measured[] }).figures.filter((f) => !ran.has(f.bench))
  : [];
const figures: Measured[] = [];
const failed: string[] = [];
for (const [name, cmd, args] of benches) {
  console.log(`\n==> ${name}: ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 26 });
  for (const line of r.stdout.split("\n")) {
    if (line.startsWith('{"figures"')) {
      for (const f of (JSON.parse(line) as { figures: Figure[] }).figures) figures.push({ ...f, bench: name, ratio: ratioOf(f), measured: new Date().toISOString(), machine });
    }
    else if (line.trim()) console.log(line);
  }
  if (r.status !== 0) failed.push(name);
}
mkdirSync("bench/results", { recursive: true });
writeFileSync(latest, `${JSON.stringify({ machine, date: new Date().toISOString(), figures: [...kept, ...figures] }, null, 2)}\n`);
console.log(`\nwrote ${latest} (${figures.length} figures measured now${kept.length ? `, ${kept.length} kept from before` : ""})${failed.length ? `; FAILED: ${failed.join(", ")}` : ""}`);
process.exitCode = failed.length ? 1 : 0;
