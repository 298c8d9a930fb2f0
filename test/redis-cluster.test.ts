/**
 * The server against a real Redis Cluster (3 masters, 3 replicas: test/harness/redisCluster.ts),
 * fed by real producer processes: Python (redis-py RedisCluster) and Rust (the redis crate's
 * cluster support) writing at once, every point read back exactly over GraphQL; then a failover and
 * a slot resharded onto a master that joined mid-run.
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { Cluster, Redis } from "ioredis";
import { startServer, type RunningServer } from "../src/server/app.js";
import { keySlot } from "../src/server/clusterStreams.js";
import { redisKeys, type ValuePoints } from "../src/shared/protocol.js";
import { startRedisCluster, type TestCluster } from "./harness/redisCluster.js";
import { newestPointUs, pollUntil } from "./harness/streamProgress.js";
import type { Client } from "graphql-ws";
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

/** test/fixtures/sweep_producer.py's T0 in microseconds; its point j is at SWEEP_T0_US + j with value j * 0.5. */
const SWEEP_T0_US = 1_700_000_000_000_000;
const RUST_EXAMPLE = join(ROOT, "rust", "target", "debug", "examples", "e2e");
/** The Rust example's T0 (ns) in microseconds; call i of lane k charts (i % 1000) * 0.25 + k at T0 + i ms. */
const RUST_T0_US = 1_700_000_000_000_000;

/** Every point of a series over GraphQL `history`, page by page. */
async function history(ws: Client, run: string, series: string): Promise<ValuePoints> {
  const all: ValuePoints = { t: [], y: [] };
  let after = "0-0";
  for (;;) {
    const h = await query<{ history: { count: number; lastId: string; points: ValuePoints } }>(
      ws,
      "query($run: ID!, $series: ID!, $after: String) { history(run: $run, series: $series, after: $after, maxPoints: 50000) { count lastId points } }",
      { run, series, after },
    );
    assert.deepEqual(h.errors, undefined);
    const page = h.data?.history;
    if (page === undefined || page.count === 0) return all;
    all.t.push(...(page.points.t as number[]));
    all.y.push(...(page.points.y as number[]));
    after = page.lastId;
  }
}

/** How many of sweep_producer.py's points `stream` holds (point j is at SWEEP_T0_US + j). */
async function sweepPointsStored(conn: Redis | Cluster, stream: string): Promise<number> {
  const newest = await newestPointUs(conn, stream);
  return newest < 0 ? 0 : newest - SWEEP_T0_US + 1;
}

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

  it("a sweep: Python and Rust producers write runs at once, one server charts every point of all of them exactly", async () => {
    // Built like test/rust-e2e.test.ts builds it (dependencies already built by cargo test).
    await promisify(execFile)("cargo", ["build", "--quiet", "--manifest-path", join(ROOT, "rust", "Cargo.toml"), "-p", "chartbridge", "--example", "e2e"], { maxBuffer: 1 << 24 });
    const pythonRuns = ["py-0", "py-1", "py-2"];
    const rustRuns = ["rs-0", "rs-1", "rs-2"];
    const [pyPoints, rustCalls] = [3000, 2000];
    await Promise.all([
      ...pythonRuns.map((run) => publishPython(cluster.url, prefix, run, pyPoints)),
      ...rustRuns.map((run) => promisify(execFile)(RUST_EXAMPLE, [cluster.url, prefix, run, "tight", "2", String(rustCalls)])),
    ]);
    const ws = wsClient(server);
    const listed = await query<{ runs: { id: string; status: string; language: string; series: { id: string; count: number; lost: number; rejected: number }[] }[] }>(ws, "{ runs { id status language series { id count lost rejected } } }");
    assert.deepEqual(
      listed.data?.runs.map((r) => r.id).sort(),
      [...pythonRuns, ...rustRuns].sort(),
    );
    for (const r of listed.data?.runs ?? []) {
      const python = r.language === "python";
      assert.deepEqual(r.series, python
        ? [{ id: "price", count: pyPoints, lost: 0, rejected: 0 }]
        : [0, 1].flatMap((k) => [{ id: `lane${k}`, count: rustCalls, lost: 0, rejected: 0 }, { id: `lane${k}.ema3`, count: rustCalls - 2, lost: 0, rejected: 0 }]), r.id);
      assert.equal(r.status, "ended", r.id);
    }
    for (const run of pythonRuns) assert.deepEqual(await history(ws, run, "price"), expected(pyPoints), run);
    for (const run of rustRuns) {
      for (const k of [0, 1]) {
        const points = await history(ws, run, `lane${k}`);
        assert.deepEqual(points, {
          t: Array.from({ length: rustCalls }, (_, i) => RUST_T0_US + i * 1000),
          y: Array.from({ length: rustCalls }, (_, i) => (i % 1000) * 0.25 + k),
        }, `${run} lane${k}`);
      }
    }
    await ws.dispose();
  });
});

describe("Redis Cluster topology changes: a master killed, a slot moved to a new master", function () {
  this.timeout(180_000);
  let cluster: TestCluster;

  before(async () => {
    cluster = await startRedisCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  it("its replica takes over; producers and the server go on by themselves; only the unreplicated tail can be lost, and it is reported", async () => {
    const prefix = `f${randomBytes(4).toString("hex")}`;
    const [N, BATCH] = [20_000, 100];
    const runs = ["fo-0", "fo-1", "fo-2", "fo-3"];
    const victim = await cluster.masterOf(keySlot(`{${runs[0]}}`));
    const logs: string[] = [];
    const live = await startServer({ redisUrl: cluster.url, prefix, log: (m) => logs.push(m), pluginsDir: null, builtinPluginsDir: null, webviewBundle: WEBVIEW_BUNDLE });
    const admin = new Cluster([{ host: "127.0.0.1", port: cluster.nodes.find((n) => n !== victim)?.port ?? 0 }]);
    const ws = wsClient(live);
    try {
      const producers = runs.map((run) => promisify(execFile)(PYTHON, [join(__dirname, "fixtures", "sweep_producer.py"), cluster.url, prefix, run, String(N), String(BATCH)]));
      // Kill the master once the run on it is well under way (a quarter of its points stored).
      const stream = redisKeys(prefix).series(runs[0], "price");
      const stored = () => sweepPointsStored(admin, stream).catch(() => -1);
      await pollUntil(`a quarter of ${runs[0]} stored`, stored, (n) => n >= N / 4);
      // The server follows the run live from before the kill to its end.
      const h = await query<{ history: { lastId: string } }>(ws, `{ history(run: "${runs[0]}", series: "price") { lastId } }`);
      const sub = collect<{ batches: { points: ValuePoints } }>(ws, `subscription($after: String) { batches(run: "${runs[0]}", series: "price", after: $after) { points } }`, { after: h.data?.history.lastId });
      // The replica that takes over lacks the master's last writes.
      await cluster.failOverLosingTail(victim, async () => {
        const before = await stored();
        const after = await pollUntil(`${runs[0]}: more written after the replica was cut off`, stored, (n) => n > before);
        assert.ok(after < N, `${runs[0]} was still being written when its master died: ${after} of ${N} points stored`);
      });
      const stats = (await Promise.all(producers)).map((out) => JSON.parse(out.stdout) as { lost: Record<string, number>; dropped: number });
      const lastUs = SWEEP_T0_US + N - 1;
      await sub.until((items) => items.some((b) => b.batches.points.t.includes(lastUs)), 60_000);
      sub.unsubscribe();
      assert.ok(logs.some((m) => /^stream reader: slot \d+ moved from 127\.0\.0\.1:\d+ to 127\.0\.0\.1:\d+/.test(m)), logs.join("\n"));

      // What Redis holds now, read by a server started after the failover.
      const fresh = await startServer({ redisUrl: cluster.url, prefix, log: () => {}, pluginsDir: null, builtinPluginsDir: null, webviewBundle: WEBVIEW_BUNDLE });
      const freshWs = wsClient(fresh);
      try {
        const all = Array.from({ length: N }, (_, j) => j);
        for (const [i, run] of runs.entries()) {
          const points = await history(freshWs, run, "price");
          const js = points.t.map((t) => t - SWEEP_T0_US);
          // No duplicate, nothing out of order, every value the one written at its time.
          assert.ok(js.every((j, k) => k === 0 || j > js[k - 1]), `${run}: times strictly increase`);
          assert.deepEqual(points.y, js.map((j) => j * 0.5), `${run}: values`);
          // Asynchronous replication can lose only what the old master acknowledged and had not
          // yet sent to its replica when it died: one contiguous stretch of the run (possibly
          // empty). Anything else missing, or a stretch the producer did not report, fails.
          const stored = new Set(js);
          const missing = all.filter((j) => !stored.has(j));
          const stretch = missing.length === 0 || missing[missing.length - 1] - missing[0] === missing.length - 1;
          assert.ok(stretch, `${run}: missing points form one stretch: ${JSON.stringify(missing.slice(0, 20))}`);
          if (run === runs[0]) assert.ok(missing.length > 0, "the frozen replica lacked the killed master's last writes");
          assert.deepEqual(stats[i].lost, missing.length === 0 ? {} : { price: missing.length }, `${run}: the producer reported the stretch`);
          const series = await query<{ run: { series: { id: string; count: number; lost: number }[] } }>(freshWs, `{ run(id: "${run}") { series { id count lost } } }`);
          assert.deepEqual(series.data?.run.series, [{ id: "price", count: N - missing.length, lost: missing.length }], `${run}: the run says what it lacks`);
        }
      } finally {
        await freshWs.dispose();
        await fresh.close();
      }
    } finally {
      await ws.dispose();
      await live.close();
      admin.disconnect();
    }
  });

  it("the producer and the server's live reader follow the slot to the new master; every point arrives once", async () => {
    const prefix = `r${randomBytes(4).toString("hex")}`;
    const [run, N, BATCH] = ["moving", 40_000, 100];
    const slot = keySlot(`{${run}}`);
    const logs: string[] = [];
    const server = await startServer({ redisUrl: cluster.url, prefix, log: (m) => logs.push(m), pluginsDir: null, builtinPluginsDir: null, webviewBundle: WEBVIEW_BUNDLE });
    const ws = wsClient(server);
    const newcomer = await cluster.addMaster();
    try {
      const producer = promisify(execFile)(PYTHON, [join(__dirname, "fixtures", "sweep_producer.py"), cluster.url, prefix, run, String(N), String(BATCH)]);
      const stream = redisKeys(prefix).series(run, "price");
      const old = await cluster.masterOf(slot);
      const direct = new Redis({ host: "127.0.0.1", port: old.port });
      const onNewcomer = new Redis({ host: "127.0.0.1", port: newcomer.port });
      try {
        // Followed live from its first batch, then moved while a quarter to most of it is written.
        await pollUntil(`${run}'s first batch`, () => sweepPointsStored(direct, stream), (n) => n > 0);
        const sub = collect<{ batches: { points: ValuePoints } }>(ws, 'subscription { batches(run: "moving", series: "price", after: "0-0") { points } }', {});
        await pollUntil(`a quarter of ${run} stored`, () => sweepPointsStored(direct, stream), (n) => n >= N / 4);
        await cluster.moveSlot(slot, newcomer);
        const moved = await sweepPointsStored(onNewcomer, stream);
        assert.ok(moved < N, `the move was mid-run: ${moved} of ${N} points written before it ended`);
        const stats = JSON.parse((await producer).stdout) as { lost: Record<string, number>; dropped: number };
        assert.deepEqual(stats, { lost: {}, dropped: 0 });
        assert.equal((await cluster.masterOf(slot)).port, newcomer.port);
        await assert.rejects(direct.xlen(stream), new RegExp(`^ReplyError: MOVED ${slot} 127\\.0\\.0\\.1:${newcomer.port}$`), "the old master sends its clients to the new one");

        const lastUs = SWEEP_T0_US + N - 1;
        const items = await sub.until((xs) => xs.some((b) => b.batches.points.t.includes(lastUs)), 60_000);
        sub.unsubscribe();
        const live = items.flatMap((b) => b.batches.points.t);
        assert.deepEqual(live, Array.from({ length: N }, (_, j) => SWEEP_T0_US + j), "live: every point once, in order");
        assert.ok(logs.some((m) => m.startsWith(`stream reader: slot ${slot} moved from 127.0.0.1:${old.port} to 127.0.0.1:${newcomer.port}`)), logs.join("\n"));

        const h = await query<{ run: { status: string; series: { id: string; count: number; lost: number }[] } }>(ws, '{ run(id: "moving") { status series { id count lost } } }');
        assert.deepEqual(h.data?.run, { status: "ended", series: [{ id: "price", count: N, lost: 0 }] });
      } finally {
        direct.disconnect();
        onNewcomer.disconnect();
      }
    } finally {
      await ws.dispose();
      await server.close();
    }
  });
});
