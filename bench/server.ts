/**
 * Server benchmarks, each against a baseline measured in the same run:
 * 1. end-to-end points/s, a real Python process -> Redis -> server -> graphql-ws client, against
 *    raw graphql-ws (a bare subscription pushing the same 1000-point batches) on this machine;
 * 2. range queries on a 10M-point series, against one plain pass over its values;
 * 3. plugin save to announcement, against fs.watch seeing the same write;
 * 4. server memory holding 10M points, against the idle server, with the cache budget stated.
 * Run: npx tsx bench/server.ts
 */
import { spawn } from "node:child_process";
import { watch as fsWatch, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { buildSchema, subscribe } from "graphql";
import { Redis } from "ioredis";
import WebSocket, { WebSocketServer } from "ws";
import { startServer } from "../src/server/app.js";
import { decimate } from "../src/server/lod.js";
import { PluginManager } from "../src/server/plugins.js";
import { freePort, startPrivateRedis } from "../src/server/privateRedis.js";
import { decodeEntry } from "../src/shared/decode.js";
import { redisKeys } from "../src/shared/protocol.js";
import { SeriesStore } from "../src/server/seriesStore.js";
import { lineFields } from "../test/harness/server.js";
import { printFigures, type Figure } from "./figures.js";

const ROOT = join(__dirname, "..");
const PYTHON = join(ROOT, ".venv", "bin", "python");
const E2E_POINTS = 2_000_000;
/** Points per producer flush: a strategy at 1M points/s flushing every 10 ms. */
const BATCH = 10_000;
const BIG = 10_000_000;
const T0 = 1_700_000_000_000_000_000n;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

function wsClient(url: string): Client {
  return createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0 });
}

/**
 * Counts points arriving on a subscription until `total`; resolves with the time of the last one.
 * Fails (rather than hangs) when the subscription ends early or stalls for 30 s, saying how far it got.
 */
function countPoints(client: Client, query: string, variables: Record<string, unknown>, total: number, onFirst?: () => void): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    let stall: NodeJS.Timeout | undefined;
    const fail = (why: string) => {
      clearTimeout(stall);
      stop();
      reject(new Error(`${why} after ${seen} of ${total} points`));
    };
    const arm = () => {
      clearTimeout(stall);
      stall = setTimeout(() => fail("no points for 30 s"), 30_000);
    };
    arm();
    const stop = client.subscribe<{ batches: { count: number } }>({ query, variables }, {
      next: (r) => {
        if (seen === 0) onFirst?.();
        if (r.errors) return fail(`errors ${JSON.stringify(r.errors)}`);
        seen += r.data?.batches.count ?? 0;
        arm();
        if (seen >= total) {
          clearTimeout(stall);
          stop();
          resolve(performance.timeOrigin + performance.now());
        }
      },
      error: (err) => fail(`subscription error ${err instanceof Error ? err.message : JSON.stringify(err)}`),
      complete: () => (seen < total ? fail("subscription completed") : undefined),
    });
  });
}

/** Raw graphql-ws: a bare schema whose subscription yields prebuilt 1000-point batches. */
async function rawGraphqlWs(points: number): Promise<number> {
  const schema = buildSchema(`scalar JSON type Batch { count: Int! points: JSON! } type Query { ok: Int } type Subscription { batches: Batch! }`);
  const t = Array.from({ length: BATCH }, (_, i) => 1_700_000_000_000_000 + i * 60_000_000);
  const batch = { count: BATCH, points: { t, y: t.map((_, i) => i * 0.5) } };
  const root = {
    batches: async function* () {
      for (let i = 0; i < points / BATCH; i++) yield { batches: batch };
    },
  };
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  const cleanup = useServer({ schema, roots: { subscription: root }, subscribe }, wss);
  const port = await freePort();
  await new Promise<void>((r) => http.listen(port, "127.0.0.1", r));
  const client = wsClient(`ws://127.0.0.1:${port}`);
  const start = performance.timeOrigin + performance.now();
  const end = await countPoints(client, "subscription { batches { count points } }", {}, points);
  await client.dispose();
  await cleanup.dispose();
  http.close();
  return points / ((end - start) / 1000);
}

/** Python publishes in BATCH-point batches; the subscriber counts them; points/s from Python's start, and Python's own rate. */
async function endToEnd(redisUrl: string, graphqlWs: string, prefix: string, redis: Redis): Promise<{ e2e: number; python: number }> {
  const run = "e2e";
  const script = `
import sys, time
import chartbridge as cb
url, prefix, run, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cb.configure(url=url, prefix=prefix, run=run, strategy="bench")
t0 = ${T0}
cb.publish_points("price", [t0], [0.0])
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.readline()
start = time.time_ns()
batch = ${BATCH}
values = [float(i) for i in range(batch)]
for b in range(n // batch):
    cb.publish_points("price", [t0 + (1 + b * batch + i) * 1000 for i in range(batch)], values)
print(start, time.time_ns())
`;
  const child = spawn(PYTHON, ["-c", script, redisUrl, prefix, run, String(E2E_POINTS)], { stdio: ["pipe", "pipe", "inherit"] });
  // Listen now: Python may finish before the subscriber has counted everything.
  const exited = new Promise((r) => child.once("exit", r));
  let out = "";
  await new Promise<void>((resolve) => child.stdout.on("data", (c: Buffer) => ((out += c.toString()), out.includes("ready") && resolve())));
  const [first] = (await redis.xrange(redisKeys(prefix).series(run, "price"), "-", "+")).map(([id]) => id);
  const client = wsClient(graphqlWs);
  const arrived = countPoints(client, `subscription($after: String) { batches(run: "e2e", series: "price", after: $after) { count points } }`, { after: first }, E2E_POINTS);
  // Let the subscription arm before Python starts (the first message is awaited by nothing else).
  await new Promise((r) => setTimeout(r, 300));
  child.stdin.write("go\n");
  const timer = setInterval(() => console.log("  waiting; python says:", JSON.stringify(out.slice(-80))), 5000);
  const end = await arrived;
  clearInterval(timer);
  await exited;
  const [startNs, endNs] = (out.trim().split("\n").pop() ?? "").split(" ").map(Number);
  await client.dispose();
  return { e2e: E2E_POINTS / ((end - startNs / 1e6) / 1000), python: E2E_POINTS / ((endNs - startNs) / 1e9) };
}

function bigStore(): SeriesStore {
  const store = new SeriesStore("line");
  const chunk = 100_000;
  for (let start = 0; start < BIG; start += chunk) {
    const times = Array.from({ length: chunk }, (_, i) => T0 + BigInt(start + i) * 1_000_000_000n);
    const fields = Object.fromEntries(Object.entries(lineFields(times, times.map((_, i) => Math.sin((start + i) / 1000)))).map(([k, v]) => [k, Buffer.from(v)]));
    const r = decodeEntry(fields, "line");
    if (!r.ok) throw new Error(r.error.message);
    store.apply(`${start + 1}-0`, r.batch);
  }
  return store;
}

function rangeFigures(): Figure[] {
  const store = bigStore();
  const full: number[] = [];
  const zoom: number[] = [];
  const scan: number[] = [];
  const first = store.firstTimeUs as number;
  const span = (store.lastTimeUs as number) - first;
  for (let i = 0; i < 15; i++) {
    let t = performance.now();
    decimate(store, null, null, 2000);
    full.push(performance.now() - t);
    const from = first + (span * i) / 20;
    t = performance.now();
    decimate(store, from, from + span / 100, 2000);
    zoom.push(performance.now() - t);
    t = performance.now();
    const y = store.col("y");
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = 0; k < store.length; k++) {
      if (y[k] < lo) lo = y[k];
      if (y[k] > hi) hi = y[k];
    }
    scan.push(performance.now() - t + (lo > hi ? 1 : 0));
  }
  return [
    { name: "range_10m_full_ms", value: median(full), unit: "ms", target: "<= 100", baseline: median(scan), baselineLabel: "one min/max pass over the 10M values" },
    { name: "range_10m_zoom_1pct_ms", value: median(zoom), unit: "ms", target: "<= 10", baseline: median(scan), baselineLabel: "one min/max pass over the 10M values" },
  ];
}

async function pluginLatency(): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), "cb-bench-plugins-"));
  const file = join(dir, "p.js");
  writeFileSync(file, "export default function setup(){ return { dispose(){} } }\n");
  const manager = new PluginManager({ workspaceDir: dir, builtinDir: null, log: () => {} });
  await manager.start();
  const follow = manager.follow();
  await follow.next();
  const ours: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < 25; i++) {
    const t = performance.now();
    writeFileSync(file, `export default function setup(ctx){ ctx.log(${i}); return { dispose(){} } }\n`);
    await follow.next();
    ours.push(performance.now() - t);
    // Spaced beyond chokidar's 50 ms change throttle, as human saves are.
    await new Promise((r) => setTimeout(r, 80));
  }
  const watcher = fsWatch(dir);
  for (let i = 0; i < 25; i++) {
    const seen = new Promise<void>((r) => watcher.once("change", () => r()));
    const t = performance.now();
    writeFileSync(file, `// ${i}\n`);
    await seen;
    raw.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 20));
  }
  watcher.close();
  await follow.return?.();
  await manager.stop();
  rmSync(dir, { recursive: true, force: true });
  return [
    { name: "plugin_save_to_announcement_p50_ms", value: median(ours), unit: "ms", target: "<= 100", baseline: median(raw), baselineLabel: "fs.watch seeing the same write" },
    { name: "plugin_save_to_announcement_p95_ms", value: percentile(ours, 0.95), unit: "ms", target: "<= 100", baseline: percentile(raw, 0.95), baselineLabel: "fs.watch seeing the same write" },
  ];
}

async function memory(redisUrl: string): Promise<Figure[]> {
  const prefix = "mem";
  const keys = redisKeys(prefix);
  const client = new Redis(redisUrl);
  const now = String(BigInt(Date.now()) * 1_000_000n);
  await client.hset(keys.manifest("big"), { v: "1", run: "big", strategy: "bench", started: now, heartbeat: now, status: "ended" });
  await client.zadd(keys.runs, Date.now(), "big");
  await client.hset(keys.registry("big"), "y", JSON.stringify({ kind: "line", pane: "main", title: "y", options: {}, source: null }));
  const chunk = 100_000;
  for (let start = 0; start < BIG; start += chunk) {
    const times = Array.from({ length: chunk }, (_, i) => T0 + BigInt(start + i) * 1_000_000_000n);
    await client.xadd(keys.series("big", "y"), "*", ...Object.entries(lineFields(times, times.map((_, i) => (start + i) % 97))).flat());
  }
  global.gc?.();
  const budget = 1 << 30;
  const server = await startServer({ redisUrl, prefix, pluginsDir: null, builtinPluginsDir: null, cacheBytes: budget, log: () => {} });
  const idle = process.memoryUsage().rss;
  const ask = (query: string) =>
    fetch(`${server.url}/graphql`, { method: "POST", headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" }, body: JSON.stringify({ query }) }).then((r) => r.json());
  let t = performance.now();
  await ask(`{ run(id: "big") { series { count } } }`);
  const loadMs = performance.now() - t;
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    t = performance.now();
    await ask(`{ range(run: "big", series: "y", maxPoints: 2000) { count } }`);
    times.push(performance.now() - t);
  }
  global.gc?.();
  const held = process.memoryUsage().rss;
  await server.close();
  client.disconnect();
  console.log(`server: loaded 10M points from Redis in ${loadMs.toFixed(0)} ms; cache budget ${budget / 2 ** 20} MiB`);
  return [
    { name: "range_10m_graphql_ms", value: median(times), unit: "ms", target: "<= 100", baseline: null },
    { name: "server_rss_10m_points_mib", value: held / 2 ** 20, unit: "MiB", target: `<= ${budget / 2 ** 20 + 300}`, baseline: idle / 2 ** 20, baselineLabel: `the idle server; cache budget ${budget / 2 ** 20} MiB (LRU)` },
  ];
}

async function main(): Promise<void> {
  const redis = await startPrivateRedis();
  try {
    const figures: Figure[] = [];
    const prefix = "bench";
    const server = await startServer({ redisUrl: redis.url, prefix, pluginsDir: null, builtinPluginsDir: null, log: () => {} });
    const client = new Redis(redis.url);
    console.log(`raw graphql-ws, ${E2E_POINTS} points ...`);
    const raw = await rawGraphqlWs(E2E_POINTS);
    console.log("Python -> Redis -> server -> graphql-ws ...");
    const ours = await endToEnd(redis.url, `ws://127.0.0.1:${server.port}/graphql?token=${server.token}`, prefix, client);
    client.disconnect();
    await server.close();
    figures.push({ name: "e2e_points_per_s", value: ours.e2e, unit: "points/s", target: ">= 1000000", baseline: raw, baselineLabel: `raw graphql-ws, same ${BATCH}-point batches (target >= 30%)`, better: "higher" });
    figures.push({ name: "e2e_python_producer_points_per_s", value: ours.python, unit: "points/s", target: ">= 1000000", baseline: raw, baselineLabel: "raw graphql-ws (the producer alone, for where time goes)", better: "higher" });
    console.log("range queries on 10M points ...");
    figures.push(...rangeFigures());
    console.log("plugin save to announcement ...");
    figures.push(...(await pluginLatency()));
    console.log("server memory with 10M points ...");
    figures.push(...(await memory(redis.url)));
    printFigures(figures);
  } finally {
    await redis.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`bench/server.ts: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
