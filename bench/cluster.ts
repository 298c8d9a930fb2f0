/**
 * A sweep into Redis Cluster: 16 producer processes (8 Python, 8 Rust) each write one run at once;
 * points/s stored (every producer done and its points in Redis) into a real 3-master, 3-replica
 * cluster (test/harness/redisCluster.ts), against the same 16 producers into one private Redis,
 * in the same run. Every node runs on this machine, so the ratio says what the cluster costs
 * (routing, replication to the replicas), not what spreading it over machines gains.
 * Run: npx tsx bench/cluster.ts
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { startPrivateRedis } from "../src/server/privateRedis.js";
import { startRedisCluster } from "../test/harness/redisCluster.js";
import { printFigures } from "./figures.js";

const run = promisify(execFile);
const ROOT = join(__dirname, "..");
const PYTHON = join(ROOT, ".venv", "bin", "python");
const RUST_EXAMPLE = join(ROOT, "rust", "target", "release", "examples", "e2e");
const PRODUCERS = 16;
/** Points per Python producer (in batches of 10,000 points) and calls per Rust producer (two points each: the value and its EMA). */
const PY_POINTS = 200_000;
const RUST_CALLS = 100_000;

const PY_SCRIPT = `
import sys
import chartbridge as cb
url, run, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
cb.configure(url=url, prefix="bench", run=run, strategy="sweep")
t0 = 1_700_000_000_000_000_000
for start in range(0, n, 10_000):
    cb.publish_points("price", [t0 + i * 1_000 for i in range(start, start + 10_000)], [i * 0.5 for i in range(start, start + 10_000)])
cb.end_run()
assert cb.flush(300.0)
`;

/** Starts the 16 producers at once against `url`; resolves with the points stored per second. */
async function sweep(url: string, label: string): Promise<number> {
  const started = performance.now();
  const written = await Promise.all(
    Array.from({ length: PRODUCERS }, async (_, i) => {
      if (i % 2 === 0) {
        await run(PYTHON, ["-c", PY_SCRIPT, url, `${label}-py-${i}`, String(PY_POINTS)]);
        return PY_POINTS;
      }
      const out = await run(RUST_EXAMPLE, [url, "bench", `${label}-rs-${i}`, "tight", "1", String(RUST_CALLS)], { maxBuffer: 1 << 24 });
      const stats = JSON.parse(out.stdout) as { written: number; dropped: number };
      if (stats.dropped !== 0) throw new Error(`${label}: a Rust producer dropped ${stats.dropped} points`);
      return stats.written;
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const points = written.reduce((a, b) => a + b, 0);
  console.log(`${label}: ${points} points from ${PRODUCERS} producers in ${seconds.toFixed(2)} s`);
  return points / seconds;
}

async function main(): Promise<void> {
  await run("cargo", ["build", "--quiet", "--release", "--manifest-path", join(ROOT, "rust", "Cargo.toml"), "-p", "chartbridge", "--example", "e2e"], { maxBuffer: 1 << 24 });
  const single = await startPrivateRedis();
  const cluster = await startRedisCluster();
  try {
    const baseline = await sweep(single.url, "single");
    const value = await sweep(cluster.url, "cluster");
    printFigures([
      {
        name: `sweep of ${PRODUCERS} producers into a 3+3 Redis Cluster`,
        value,
        unit: "points/s",
        target: ">= 500000",
        baseline,
        baselineLabel: "the same producers into one Redis",
        better: "higher",
      },
    ]);
  } finally {
    await cluster.stop();
    await single.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
