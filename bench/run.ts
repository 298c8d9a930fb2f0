// `npm run bench` (`--quick`: the Nautilus overhead matrix on fewer bars per shape): every benchmark of the project in one go. Each prints its figures for people
// and one `{"figures": [...]}` JSON line; this collects those lines into bench/results/latest.json.
// A benchmark that fails is reported and the others still run; the exit code says so.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { ratioOf, type Figure } from "./figures.js";

const quick = process.argv.includes("--quick");
const benches: [string, string, string[]][] = [
  ["server", "npx", ["tsx", "--expose-gc", "bench/server.ts"]],
  ["compare runs", "npx", ["tsx", "bench/compare.ts"]],
  ["parameter sweep", "npx", ["tsx", "bench/sweep.ts"]],
  ["webview first paint", "npx", ["tsx", "bench/webview-open.ts"]],
  ["webview live tail", "npx", ["tsx", "bench/webview-live.ts"]],
  ["webview plugin reload", "npx", ["tsx", "bench/webview-plugin.ts"]],
  ["webview live latency", "npx", ["tsx", "bench/webview-latency.ts"]],
  ["python producer", ".venv/bin/python", ["python/bench/producer_bench.py"]],
  ["nautilus overhead", ".venv/bin/python", ["python/bench/nautilus_overhead.py", ...(quick ? ["--quick"] : [])]],
  // The same on NautilusTrader 2 (the Rust engine), in its venv (scripts/venv-nt2.sh, built once per machine).
  ["nautilus overhead (NautilusTrader 2)", "bash", ["-c", `PYTHONPATH=python/src "$(bash scripts/venv-nt2.sh)" python/bench/nautilus_overhead.py${quick ? " --quick" : ""}`]],
  ["ticks overhead (quotes)", ".venv/bin/python", ["python/bench/ticks_overhead.py", ...(quick ? ["--ticks", "100000"] : [])]],
  ["ticks overhead (trades)", ".venv/bin/python", ["python/bench/ticks_overhead.py", "--kind", "trades", ...(quick ? ["--ticks", "100000"] : [])]],
  ["debugger condition", ".venv/bin/python", ["python/bench/debug_condition.py"]],
  ["rust #[chart] call", "cargo", ["bench", "--manifest-path", "rust/Cargo.toml", "-p", "chartbridge", "--bench", "chart_call"]],
  ["rust publisher throughput", "cargo", ["bench", "--manifest-path", "rust/Cargo.toml", "-p", "chartbridge", "--bench", "throughput"]],
  ["redis cluster sweep", "npx", ["tsx", "bench/cluster.ts"]],
  ["run files", "npx", ["tsx", "bench/runFile.ts"]],
];

const figures: (Figure & { bench: string; ratio: number | null })[] = [];
const failed: string[] = [];
for (const [name, cmd, args] of benches) {
  console.log(`\n==> ${name}: ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 26 });
  for (const line of r.stdout.split("\n")) {
    if (line.startsWith('{"figures"')) {
      for (const f of (JSON.parse(line) as { figures: Figure[] }).figures) figures.push({ ...f, bench: name, ratio: ratioOf(f) });
    }
    else if (line.trim()) console.log(line);
  }
  if (r.status !== 0) failed.push(name);
}
const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`;
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/latest.json", `${JSON.stringify({ machine, date: new Date().toISOString(), figures }, null, 2)}\n`);
console.log(`\nwrote bench/results/latest.json (${figures.length} figures)${failed.length ? `; FAILED: ${failed.join(", ")}` : ""}`);
process.exitCode = failed.length ? 1 : 0;
