/**
 * A Redis Cluster failover under a Rust publisher (rust/chartbridge/examples/e2e.rs, paced mode):
 * the master serving its run dies while the replica that takes over lacks its last writes. The
 * publisher goes on by itself, finds the acknowledged tail the new master lacks, counts it in the
 * run's lost record, and nothing else is missing or doubled (protocol/SPEC.md section 9).
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { Cluster } from "ioredis";
import { startServer } from "../src/server/app.js";
import { keySlot } from "../src/server/clusterStreams.js";
import { redisKeys, type ValuePoints } from "../src/shared/protocol.js";
import { startRedisCluster, type TestCluster } from "./harness/redisCluster.js";
import { newestPointUs, pollUntil } from "./harness/streamProgress.js";
import { query, WEBVIEW_BUNDLE, wsClient } from "./harness/server.js";

const ROOT = join(__dirname, "..");
const RUST_EXAMPLE = join(ROOT, "rust", "target", "debug", "examples", "e2e");
/** The example's T0 (ns) in microseconds; call i charts (i % 1000) * 0.25 as lane0 at T0 + i ms. */
const RUST_T0_US = 1_700_000_000_000_000;
const N = 20_000;

describe("Redis Cluster failover under a Rust publisher", function () {
  this.timeout(180_000);
  let cluster: TestCluster;

  before(async () => {
    await promisify(execFile)("cargo", ["build", "--quiet", "--manifest-path", join(ROOT, "rust", "Cargo.toml"), "-p", "chartbridge", "--example", "e2e"], { maxBuffer: 1 << 24 });
    cluster = await startRedisCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  it("the publisher finds the tail the promoted replica lacks, counts it in the lost record; nothing else is missing or doubled", async () => {
    const prefix = `r${randomBytes(4).toString("hex")}`;
    const run = "rust-fo";
    const keys = redisKeys(prefix);
    const victim = await cluster.masterOf(keySlot(`{${run}}`));
    const admin = new Cluster([{ host: "127.0.0.1", port: cluster.nodes.find((n) => n !== victim)?.port ?? 0 }]);
    try {
      // 800 pauses of 5 ms: the run lasts ~4 s, long enough to fail its master over in its middle.
      const producer = promisify(execFile)(RUST_EXAMPLE, [cluster.url, prefix, run, "paced", String(N), "25"], { maxBuffer: 1 << 24 });
      const stream = keys.series(run, "lane0");
      const callsStored = async () => ((await newestPointUs(admin, stream).catch(() => -1)) - RUST_T0_US) / 1000 + 1;
      await pollUntil(`a tenth of ${run} stored`, callsStored, (n) => n >= N / 10);
      // The replica that takes over lacks the master's last writes.
      await cluster.failOverLosingTail(victim, async () => {
        const before = await callsStored();
        const after = await pollUntil(`${run}: more written after the replica was cut off`, callsStored, (n) => n > before);
        assert.ok(after < N, `${run} was still being written when its master died: ${after} of ${N} calls stored`);
      });
      const stats = JSON.parse((await producer).stdout) as { series: Record<string, { written: number; dropped: number }> };

      const server = await startServer({ redisUrl: cluster.url, prefix, log: () => {}, pluginsDir: null, builtinPluginsDir: null, webviewBundle: WEBVIEW_BUNDLE });
      const ws = wsClient(server);
      try {
        const h = await query<{ history: { points: ValuePoints } }>(ws, `{ history(run: "${run}", series: "lane0", maxPoints: 100000) { points } }`);
        const points = h.data?.history.points as ValuePoints;
        const calls = points.t.map((t) => (t - RUST_T0_US) / 1000);
        assert.ok(calls.every((i, k) => k === 0 || i > calls[k - 1]), "times strictly increase: no duplicate");
        assert.deepEqual(points.y, calls.map((i) => (i % 1000) * 0.25), "every value the one written at its time");
        const stored = new Set(calls);
        const missing = Array.from({ length: N }, (_, i) => i).filter((i) => !stored.has(i));
        assert.ok(missing.length > 0, "the frozen replica lacked the killed master's last writes");
        assert.equal(missing[missing.length - 1] - missing[0], missing.length - 1, `one missing stretch: ${JSON.stringify(missing.slice(0, 10))}`);
        assert.equal(stats.series.lane0.dropped, missing.length, "the publisher counted exactly the stretch");
        const series = await query<{ run: { series: { id: string; count: number; lost: number }[] } }>(ws, `{ run(id: "${run}") { series { id count lost } } }`);
        const lane0 = series.data?.run.series.find((s) => s.id === "lane0");
        assert.deepEqual(lane0, { id: "lane0", count: N - missing.length, lost: missing.length }, "the run says what it lacks");
      } finally {
        await ws.dispose();
        await server.close();
      }
    } finally {
      admin.disconnect();
    }
  });
});
