/**
 * The sweep and compare queries on a real Redis Cluster (3 masters, 3 replicas:
 * test/harness/redisCluster.ts): runs written by the Python SDK land on different masters (one slot
 * per run), and one query reads across all of them, with the same answers as on one Redis.
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Client } from "graphql-ws";
import { startServer, type RunningServer } from "../src/server/app.js";
import { keySlot } from "../src/server/clusterStreams.js";
import { OPERATIONS, type Comparison, type Sweep } from "../src/shared/api.js";
import { redisKeys } from "../src/shared/protocol.js";
import { startRedisCluster, type TestCluster } from "./harness/redisCluster.js";
import { query, WEBVIEW_BUNDLE, wsClient } from "./harness/server.js";

const PYTHON = join(__dirname, "..", ".venv", "bin", "python");
const run = promisify(execFile);
const T0 = 1_700_000_000_123_456_789n;

type Published = Record<string, { params: Record<string, unknown>; stats: Record<string, number | string> }>;

describe("sweep and compare on a Redis Cluster (3 masters, 3 replicas)", function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  let server: RunningServer;
  let ws: Client;
  const prefix = `s${randomBytes(3).toString("hex")}`;

  before(async () => {
    cluster = await startRedisCluster();
    server = await startServer({ redisUrl: cluster.url, prefix, log: () => {}, pluginsDir: null, builtinPluginsDir: null, webviewBundle: WEBVIEW_BUNDLE });
    ws = wsClient(server);
  });
  after(async () => {
    await ws?.dispose();
    await server?.close();
    await cluster?.stop();
  });

  it("sweep answers all 50 runs of the strategy, spread over every master, with their params and statistics", async () => {
    const published = JSON.parse((await run(PYTHON, [join(__dirname, "fixtures", "python_sweep.py"), cluster.url, prefix], { maxBuffer: 16 << 20 })).stdout) as Published;
    const masters = new Set(await Promise.all(Object.keys(published).map(async (id) => (await cluster.masterOf(keySlot(redisKeys(prefix).manifest(id)))).port)));
    assert.equal(masters.size, 3, "the runs live on all three masters");
    const reply = await query<{ sweep: Sweep }>(ws, OPERATIONS.sweep.document, { strategy: "ma-sweep" });
    assert.equal(reply.errors, undefined, JSON.stringify(reply.errors));
    const sweep = reply.data?.sweep as Sweep;
    assert.deepEqual([sweep.params, sweep.stats, sweep.truncated], [["fast", "mode", "slow"], ["PnL", "Trades", "Win rate"], false]);
    assert.deepEqual(sweep.runs.map((r) => r.id), Object.keys(published).reverse());
    for (const row of sweep.runs) {
      const p = published[row.id];
      assert.deepEqual(row.params, { fast: p.params.fast, slow: p.params.slow, mode: '{"long_only":true}' });
      assert.deepEqual(row.stats, { PnL: p.stats.PnL, Trades: p.stats.Trades, "Win rate": p.stats["Win rate"] });
    }
  });

  it("compare reads two runs on different masters: their series agree until the point one of them lacks", async () => {
    // Runs on different masters: the ids are picked so that their slots are served by different nodes.
    const ids: string[] = [];
    for (let i = 0; ids.length < 2; i++) {
      const id = `cmp-${i}`;
      const port = (await cluster.masterOf(keySlot(redisKeys(prefix).manifest(id)))).port;
      if (ids.length === 0 || port !== (await cluster.masterOf(keySlot(redisKeys(prefix).manifest(ids[0])))).port) ids.push(id);
    }
    const publish = (id: string, n: number) => run(PYTHON, [join(__dirname, "fixtures", "publish_points.py"), cluster.url, prefix, id, "price", String(T0), String(n)]);
    await Promise.all([publish(ids[0], 300), publish(ids[1], 320)]);
    const reply = await query<{ compare: Comparison }>(ws, OPERATIONS.compare.document, { runs: ids, tolerance: 0 });
    assert.equal(reply.errors, undefined, JSON.stringify(reply.errors));
    const first = reply.data?.compare.first;
    // publish_points.py: point i at T0 + i minutes, value i * 0.5 - 1; the base run stops after 300 points.
    assert.deepEqual(
      { series: first?.series, run: first?.run, baseCount: first?.baseCount, count: first?.count, index: first?.divergence?.index, timeUs: first?.divergence?.timeUs, baseValues: first?.divergence?.baseValues, values: first?.divergence?.values },
      { series: "price", run: ids[1], baseCount: 300, count: 320, index: 300, timeUs: Number((T0 + 300n * 60_000_000_000n) / 1000n), baseValues: null, values: [300 * 0.5 - 1] },
    );
  });
});
