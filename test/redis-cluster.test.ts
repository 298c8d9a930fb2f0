/**
 * The server against a real Redis Cluster (3 masters, 3 replicas: test/harness/redisCluster.ts),
 * fed by real producer processes: Python (redis-py RedisCluster) and Rust (the redis crate's
 * cluster support) writing at once, every point read back exactly over GraphQL.
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { Cluster } from "ioredis";
import { startServer, type RunningServer } from "../src/server/app.js";
import { keySlot } from "../src/server/clusterStreams.js";
import { redisKeys, type ValuePoints } from "../src/shared/protocol.js";
import { startRedisCluster, type TestCluster } from "./harness/redisCluster.js";
import { collect, query, WEBVIEW_BUNDLE, wsClient } from "./harness/server.js";

const ROOT = join(__dirname, "..");
const PYTHON = join(ROOT, ".venv", "bin", "python");
const T0 = 1_700_000_000_123_456_789n;
const MINUTE = 60_000_000_000n;

/** What publish_points.py writes for (t0, n), in the JSON form: microsecond times. */
const expected = (n: number, t0 = T0) => ({
  t: Array.from({ length: n }, (_, i) => Number((t0 + BigInt(i) * MINUTE) / 1000n)),
  y: Array.from({ length: n }, (_, i) => i * 0.5 - 1),
});

function publishPython(url: string, prefix: string, run: string, n: number, t0 = T0) {
  return promisify(execFile)(PYTHON, [join(__dirname, "fixtures", "publish_points.py"), url, prefix, run, "price", String(t0), String(n)]);
}

describe("Redis Cluster: 3 masters, 3 replicas", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let server: RunningServer;
  let admin: Cluster;
  let prefix: string;
  const logs: string[] = [];

  before(async () => {
    cluster = await startRedisCluster();
    admin = new Cluster([{ host: "127.0.0.1", port: cluster.nodes[0].port }]);
  });
  after(async () => {
    admin?.disconnect();
    await cluster?.stop();
  });
  beforeEach(async () => {
    prefix = `c${randomBytes(4).toString("hex")}`;
    logs.length = 0;
    server = await startServer({ redisUrl: cluster.url, prefix, log: (m) => logs.push(m), pluginsDir: null, builtinPluginsDir: null, webviewBundle: WEBVIEW_BUNDLE });
  });
  afterEach(async () => {
    await server?.close();
  });

  it("computes each key's slot as Redis does (hash tags included)", async () => {
    const keys = redisKeys("chartbridge");
    for (const key of [keys.runs, keys.runlog, keys.manifest("run-1"), keys.series("run-1", "EMA.on_bar"), "a{}b", "{}", "x{y", "é{ü}"]) {
      assert.equal(keySlot(key), Number(await admin.cluster("KEYSLOT", key)), key);
    }
  });

  it("lists runs on every master and reads each one's points, live and as history", async () => {
    // Runs whose hash tags land on three different masters.
    const runs = ["r-a", "r-b", "r-c", "r-d", "r-e", "r-f"];
    const masters = new Set(await Promise.all(runs.map(async (r) => (await cluster.masterOf(keySlot(`{${r}}`))).port)));
    assert.equal(masters.size, 3, "the runs cover all three masters");
    const ws = wsClient(server);
    await Promise.all(runs.map((run, i) => publishPython(cluster.url, prefix, run, 100 + i)));
    const listed = await query<{ runs: { id: string; status: string; language: string }[] }>(ws, "{ runs { id status language } }");
    assert.deepEqual(listed.data?.runs.map((r) => r.id).sort(), runs);
    const lastIds: string[] = [];
    for (const [i, run] of runs.entries()) {
      const h = await query<{ history: { count: number; points: ValuePoints; lastId: string } }>(ws, `{ history(run: "${run}", series: "price") { count points lastId } }`);
      assert.deepEqual({ count: h.data?.history.count, points: h.data?.history.points }, { count: 100 + i, points: expected(100 + i) }, run);
      lastIds.push(h.data?.history.lastId as string);
    }
    // Live subscribers on runs of two masters get exactly what is written next.
    const later = T0 + 1000n * MINUTE;
    const live = [0, 1].map((i) => collect<{ batches: { points: ValuePoints } }>(ws, `subscription($after: String) { batches(run: "${runs[i]}", series: "price", after: $after) { points } }`, { after: lastIds[i] }));
    await Promise.all([0, 1].map((i) => publishPython(cluster.url, prefix, runs[i], 7 + i, later)));
    for (const [i, sub] of live.entries()) {
      const items = await sub.until((xs) => xs.reduce((k, b) => k + b.batches.points.t.length, 0) >= 7 + i);
      assert.deepEqual({ t: items.flatMap((b) => b.batches.points.t), y: items.flatMap((b) => b.batches.points.y) }, expected(7 + i, later));
      sub.unsubscribe();
    }
    // deleteRun finds the run's keys on its master.
    const deleted = await query<{ deleteRun: boolean }>(ws, `mutation { deleteRun(run: "r-c") }`);
    assert.equal(deleted.data?.deleteRun, true);
    assert.deepEqual(await admin.exists(redisKeys(prefix).manifest("r-c"), redisKeys(prefix).series("r-c", "price")), 0);
    await ws.dispose();
  });
});
