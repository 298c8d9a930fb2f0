/**
 * The server charts NautilusTrader's own Redis message bus: real backtests (the example EMA cross,
 * no Chartbridge actor, no decorator charting) write their bus into the private Redis, and the
 * tests check through GraphQL what a user would see.
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { encode as encodeMsgpack } from "@msgpack/msgpack";
import type { Redis } from "ioredis";
import { encodeBatch } from "../src/shared/encode.js";
import { redisKeys, type MarkerPoints, type OhlcPoints, type ValuePoints } from "../src/shared/protocol.js";
import { compareStreamIds } from "../src/shared/streamIds.js";
import { decodeBusEntry } from "../src/server/nautilusPayload.js";
import { parseTraderState, TraderTranslator, type BusEntry, type WriteSink } from "../src/server/nautilusTranslator.js";
import { fillMarker, sumDecimals } from "../src/server/nautilusSeries.js";
import type { Results } from "../src/shared/api.js";
import { groupStats } from "../src/webview/results.js";
import { xrangeAfter } from "../src/server/redisStreams.js";
import { freePort } from "../src/server/privateRedis.js";
import { testRedis } from "./harness/rootHooks.js";
import { collect, query, startTestServer, type TestServer } from "./harness/server.js";
import { fieldBytes, readVectors } from "./harness/vectors.js";

const ROOT = join(__dirname, "..");
const PYTHON = join(ROOT, ".venv", "bin", "python");
const FIXTURE = join(__dirname, "fixtures", "nautilus_bus_backtest.py");
/** The bridge's series of an instrument's 1-minute bars, fills and net position (SPEC section 8). */
const bridgedIds = (instrument: string) => ({ bars: `${instrument}-1-MINUTE-LAST-EXTERNAL`, fills: `fills:${instrument}`, position: `position:${instrument}` });
const EUR_USD = bridgedIds("EUR/USD.SIM");
const { bars: BAR_SERIES, fills: FILLS, position: POSITION } = EUR_USD;
/** Fast discovery, so tests do not wait on the 2 s default. */
const BUS = { scanIntervalMs: 200, blockMs: 200 };

interface Report {
  bars: { t: string; o: number; h: number; l: number; c: number; v: number }[];
  fills: { t: string; order: string; side: "buy" | "sell"; px: number; pxText: string; qty: string; position: string; net: number }[];
}

/** Runs the real backtest; its bus goes to the private Redis under `trader-<traderId>`. */
async function backtest(traderId: string, bars: number, encoding: "msgpack" | "json"): Promise<Report> {
  const { port } = testRedis();
  // CHARTBRIDGE=off: the example's one decorator must not reach for a Redis on 6379.
  const { stdout } = await promisify(execFile)(PYTHON, [FIXTURE, "127.0.0.1", String(port), traderId, String(bars), encoding], {
    env: { ...process.env, CHARTBRIDGE: "off" },
    maxBuffer: 64 << 20,
  });
  return JSON.parse(stdout) as Report;
}

const us = (ns: string | bigint) => Number(BigInt(ns) / 1000n);

function expectedCandles(r: Report): OhlcPoints {
  return { t: r.bars.map((b) => us(b.t)), o: r.bars.map((b) => b.o), h: r.bars.map((b) => b.h), l: r.bars.map((b) => b.l), c: r.bars.map((b) => b.c), vol: r.bars.map((b) => b.v) };
}

/**
 * One marker per fill, but one per order's parts at one time (its total quantity at the weighted
 * price, fillMarker's rule, tested below); a reversal's two orders at one time are two markers,
 * in order (SPEC sections 3 and 8). `parts`: how many of the fills were parts of such an order.
 */
function expectedMarkers(r: Report, parts = 0): MarkerPoints {
  const orders: Report["fills"][] = [];
  for (const f of r.fills) {
    const last = orders[orders.length - 1];
    if (last !== undefined && last[0].order === f.order && last[0].t === f.t) last.push(f);
    else orders.push([f]);
  }
  assert.equal(r.fills.length - orders.length, parts, "fills that were parts of an order");
  const marker = (fs: Report["fills"]) => fillMarker(fs[0].side === "buy" ? "BUY" : "SELL", fs.map((f) => ({ qty: f.qty, price: f.pxText })), [...new Set(fs.map((f) => f.position))]);
  return {
    t: orders.map((fs) => us(fs[0].t)),
    y: orders.map((fs) => Number(marker(fs).price)),
    m: orders.map((fs) => ({ side: fs[0].side, text: marker(fs).text })),
  };
}

/** The net position after the last fill at each fill time (computed from the fills, not the position events). */
function expectedPosition(r: Report): ValuePoints {
  const out: ValuePoints = { t: [], y: [] };
  for (const f of r.fills) {
    if (out.t[out.t.length - 1] === us(f.t)) out.y[out.y.length - 1] = f.net;
    else {
      out.t.push(us(f.t));
      out.y.push(f.net);
    }
  }
  return out;
}

interface RunView {
  id: string;
  status: string;
  strategy: string;
  series: { id: string; kind: string; pane: string; target: string | null; count: number; rejected: number; stale: number; options: Record<string, unknown> }[];
}

async function runs(t: TestServer): Promise<RunView[]> {
  const r = await query<{ runs: RunView[] }>(t.ws, "{ runs { id status strategy series { id kind pane target count rejected stale options } } }");
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  return r.data?.runs ?? [];
}

async function history<P>(t: TestServer, run: string, series: string): Promise<{ count: number; lastId: string; points: P }> {
  const r = await query<{ history: { count: number; lastId: string; points: P } }>(t.ws, `query($run: ID!, $s: ID!) { history(run: $run, series: $s) { count lastId points } }`, { run, s: series });
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  return r.data?.history as { count: number; lastId: string; points: P };
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The run the bridge made of `traderId`, once its bars are all charted. */
async function chartedRun(t: TestServer, traderId: string, bars: number, barSeries = BAR_SERIES): Promise<RunView> {
  return until(`the run of ${traderId} with ${bars} candles`, async () => {
    const found = (await runs(t)).filter((r) => r.id.startsWith(`nautilus-trader-${traderId}-`));
    return found.length === 1 && found[0].series.find((s) => s.id === barSeries)?.count === bars ? found[0] : null;
  });
}

async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== "0");
}

/** A bar as Nautilus writes it on the bus (msgpack map, decimal strings, ns strings). */
function busBar(ns: bigint, o: string, h: string, l: string, c: string): Buffer {
  return Buffer.from(encodeMsgpack({ type: "Bar", bar_type: BAR_SERIES, open: o, high: h, low: l, close: c, volume: "1000000", ts_event: String(ns), ts_init: String(ns) }));
}

/** `ids`: EUR/USD's by default; `parts`: as expectedMarkers. */
async function assertCharted(t: TestServer, run: RunView, report: Report, ids = EUR_USD, parts = 0): Promise<void> {
  assert.match(run.id, /^nautilus-trader-[A-Za-z0-9-]+-[0-9]{13}$/);
  assert.deepEqual(
    run.series.map(({ id, kind, pane, target, rejected, stale, options }) => ({ id, kind, pane, target, rejected, stale, options })),
    [
      // EUR/USD and AUD/USD: prices of 5 decimals (a tick of 0.00001), sizes of 0 (SPEC section 8).
      { id: ids.bars, kind: "candlestick", pane: "main", target: null, rejected: 0, stale: 0, options: { priceFormat: { type: "price", precision: 5, minMove: 0.00001 } } },
      { id: ids.fills, kind: "marker", pane: "main", target: ids.bars, rejected: 0, stale: 0, options: {} },
      { id: ids.position, kind: "line", pane: "position", target: null, rejected: 0, stale: 0, options: { lineType: 1, priceFormat: { type: "price", precision: 0, minMove: 1 } } },
    ],
  );
  const candles = await history<OhlcPoints>(t, run.id, ids.bars);
  assert.equal(candles.count, report.bars.length);
  assert.deepEqual(candles.points, expectedCandles(report));
  const markers = await history<MarkerPoints>(t, run.id, ids.fills);
  assert.deepEqual(markers.points, expectedMarkers(report, parts));
  const position = await history<ValuePoints>(t, run.id, ids.position);
  assert.deepEqual(position.points, expectedPosition(report));
}

/** Nautilus's keys carry no prefix of ours: a trader id per test keeps tests apart. */
const newTrader = (tag: string) => `${tag}${randomBytes(3).toString("hex").toUpperCase()}-001`;

/** Closes the test's server; other tests' servers bridge too: it leaves no bus streams of `trader` behind for them. */
async function closeAndClean(t: TestServer, trader: string): Promise<void> {
  const redis = t.redis;
  await t.close();
  const cleanup = redis.duplicate();
  await deleteKeys(cleanup, `trader-${trader}:*`);
  cleanup.disconnect();
}

describe("Nautilus's own Redis message bus, charted by the server", function () {
  this.timeout(60000);
  let t: TestServer;
  let trader: string;
  beforeEach(() => {
    trader = newTrader("NB");
  });
  afterEach(() => closeAndClean(t, trader));

  it("a msgpack-encoded backtest: one run, one candle per bar, one marker per fill, the net position", async () => {
    const report = await backtest(trader, 400, "msgpack");
    assert.ok(report.fills.length >= 6, `only ${report.fills.length} fills`);
    t = await startTestServer({ nautilusBus: BUS });
    const run = await chartedRun(t, trader, 400);
    assert.equal(run.strategy, trader);
    await assertCharted(t, run, report);
    // The trader said STOPPED: the run is over, not live forever.
    assert.equal(run.status, "ended");
    assert.deepEqual(t.server.nautilusBus(), { traders: 1, entries: t.server.nautilusBus()?.entries, skipped: 0 });
  });

  it("a bar written just before the Trader's start (Nautilus's writer reorders its streams under load) is in that start's run", async () => {
    const report = await backtest(trader, 50, "json");
    t = await startTestServer({ nautilusBus: false }); // only for its Redis client and the cleanup
    const redis = t.redis;
    const base = `trader-${trader}:stream:`;
    const bars = await xrangeAfter(redis, `${base}data.bars.${BAR_SERIES}`, "0-0", 1000);
    const system = await xrangeAfter(redis, `${base}events.system.${trader}`, "0-0", 1000);
    const start = system.find((e) => e.fields.payload.toString().includes('"state":"STARTING"'));
    assert.ok(start !== undefined && bars.length === 50);
    // As seen under load: the first bar's entry 20 ms before the STARTING one.
    const [ms] = start.id.split("-");
    bars[0] = { ...bars[0], id: `${Number(ms) - 20}-0` };
    const entries: BusEntry[] = [
      ...system.map((entry) => ({ stream: `${base}events.system.${trader}`, topic: "system" as const, entry })),
      ...bars.map((entry) => ({ stream: `${base}data.bars.${BAR_SERIES}`, topic: "bars" as const, entry })),
    ].sort((a, b) => compareStreamIds(a.entry.id, b.entry.id));
    const runs: string[] = [];
    let candles = 0;
    const sink: WriteSink = {
      hset: () => {},
      zadd: (_key, _score, member) => void runs.push(member),
      xadd: (key, fields) => {
        if (key.endsWith(`:s:${BAR_SERIES}`)) candles += Number(fields.n);
      },
    };
    const translator = new TraderTranslator(`trader-${trader}`, trader, parseTraderState(null), redisKeys("nb"), () => {});
    translator.apply(entries, sink);
    assert.equal(runs.length, 1, `runs: ${runs.join(", ")}`);
    assert.equal(candles, report.bars.length);
  });

  it("looks for new traders with DBSIZE, and SCANs the keyspace only when the key count changed", async () => {
    const report = await backtest(trader, 50, "json");
    t = await startTestServer({ nautilusBus: BUS });
    await chartedRun(t, trader, report.bars.length);
    const scans = async () => Number(/cmdstat_scan:calls=(\d+)/.exec(await t.redis.info("commandstats"))?.[1] ?? 0);
    await new Promise((resolve) => setTimeout(resolve, 600)); // the bridge's own writes settle
    const before = await scans();
    await new Promise((resolve) => setTimeout(resolve, 1500)); // seven looks at 200 ms
    assert.equal(await scans(), before);
    await t.redis.xadd(`trader-${trader}:stream:data.bars.GBP/USD.SIM-1-MINUTE-LAST-EXTERNAL`, "*", "topic", "x", "payload", "{}");
    await until("a SCAN after a new key", async () => (await scans()) > before);
  });

  it("a JSON-encoded backtest (MessageBusConfig's default encoding) is charted the same", async () => {
    const report = await backtest(trader, 300, "json");
    t = await startTestServer({ nautilusBus: BUS });
    await assertCharted(t, await chartedRun(t, trader, 300), report);
  });

  it("live: a backtest run while the server runs reaches a waiting subscriber, then its run ends", async () => {
    t = await startTestServer({ nautilusBus: BUS });
    const events = collect<{ runEvents: { run: string; type: string } }>(t.ws, "subscription { runEvents(run: null) { run type } }", {});
    const running = backtest(trader, 500, "msgpack");
    const [start] = await events.until((xs) => xs.some((x) => x.runEvents.type === "start"), 30000);
    const run = start.runEvents.run;
    const live = collect<{ batches: { points: OhlcPoints } }>(t.ws, `subscription($run: ID!, $s: ID!) { batches(run: $run, series: $s, after: "0-0") { points } }`, { run, s: BAR_SERIES });
    const report = await running;
    const got = await live.until((xs) => xs.reduce((n, b) => n + b.batches.points.t.length, 0) >= 500, 20000);
    const flat = (name: "t" | "o" | "h" | "l" | "c") => got.flatMap((b) => b.batches.points[name]);
    const want = expectedCandles(report);
    assert.deepEqual({ t: flat("t"), o: flat("o"), h: flat("h"), l: flat("l"), c: flat("c") }, { t: want.t, o: want.o, h: want.h, l: want.l, c: want.c });
    await events.until((xs) => xs.some((x) => x.runEvents.type === "end" && x.runEvents.run === run));
    await assertCharted(t, await chartedRun(t, trader, 500), report);
    assert.equal((await runs(t)).find((r) => r.id === run)?.status, "ended");
    live.unsubscribe();
    events.unsubscribe();
  });

  it("a bad entry is skipped, counted and logged with its stream and ID; the entries around it are charted", async () => {
    const report = await backtest(trader, 300, "msgpack");
    t = await startTestServer({ nautilusBus: BUS });
    const run = await chartedRun(t, trader, 300);
    const before = await history<OhlcPoints>(t, run.id, BAR_SERIES);
    const live = collect<{ batches: { points: OhlcPoints } }>(t.ws, `subscription($run: ID!, $s: ID!, $after: String) { batches(run: $run, series: $s, after: $after) { points } }`, { run: run.id, s: BAR_SERIES, after: before.lastId });
    const key = `trader-${trader}:stream:data.bars.${BAR_SERIES}`;
    const last = BigInt(report.bars[report.bars.length - 1].t);
    const minute = 60_000_000_000n;
    const garbage = (await t.redis.xadd(key, "*", "topic", `data.bars.${BAR_SERIES}`, "payload", Buffer.from([0xc1, 0xff, 0x00]))) as string;
    const nan = (await t.redis.xadd(key, "*", "topic", "x", "payload", busBar(last + minute, "NaN", "1.1", "1.0", "1.05"))) as string;
    await t.redis.xadd(key, "*", "topic", "x", "payload", busBar(last + 2n * minute, "1.09200", "1.09250", "1.09150", "1.09220"));
    const back = (await t.redis.xadd(key, "*", "topic", "x", "payload", busBar(last - minute, "1.09200", "1.09250", "1.09150", "1.09220"))) as string;
    await t.redis.xadd(key, "*", "topic", "x", "payload", Buffer.from(`{"type":"Bar","bar_type":"${BAR_SERIES}","open":"1.09220","high":"1.09300","low":"1.09200","close":"1.09280","volume":"5","ts_event":"${last + 3n * minute}","ts_init":"0"}`));
    const got = await live.until((xs) => xs.reduce((n, b) => n + b.batches.points.t.length, 0) >= 2);
    assert.deepEqual(got.flatMap((b) => b.batches.points.t), [us(last + 2n * minute), us(last + 3n * minute)]);
    assert.deepEqual(got.flatMap((b) => b.batches.points.c), [1.0922, 1.0928]);
    const after = await history<OhlcPoints>(t, run.id, BAR_SERIES);
    assert.equal(after.count, 302);
    assert.deepEqual(after.points.t.slice(0, 300), expectedCandles(report).t);
    assert.equal(t.server.nautilusBus()?.skipped, 3);
    for (const id of [garbage, nan, back]) assert.ok(t.logs.some((line) => line.includes(id) && line.includes(key)), `no log line names ${key} ${id}:\n${t.logs.join("\n")}`);
    // The count is in the run's events too, for a plugin (or a user's subscription) to show.
    const skipped = collect<{ runEvents: { type: string; data: { topic: string; payload: { id: string; skipped: number } } } }>(t.ws, `subscription($run: ID!) { runEvents(run: $run, after: "0-0") { type data } }`, { run: run.id });
    const items = await skipped.until((xs) => xs.filter((x) => x.runEvents.type === "publish").length >= 3);
    assert.deepEqual(items.filter((x) => x.runEvents.type === "publish").map((x) => [x.runEvents.data.topic, x.runEvents.data.payload.id, x.runEvents.data.payload.skipped]), [
      ["nautilus.skipped", garbage, 1],
      ["nautilus.skipped", nan, 2],
      ["nautilus.skipped", back, 3],
    ]);
    live.unsubscribe();
    skipped.unsubscribe();
  });

  it("a restarted server resumes where it left: new bus entries once, nothing twice", async () => {
    const report = await backtest(trader, 300, "msgpack");
    t = await startTestServer({ nautilusBus: BUS });
    const run = await chartedRun(t, trader, 300);
    const prefix = t.prefix;
    const seriesKey = t.keys.series(run.id, BAR_SERIES);
    const entriesBefore = await t.redis.xlen(seriesKey);
    await t.close();
    // While no server runs, the trader goes on writing.
    const key = `trader-${trader}:stream:data.bars.${BAR_SERIES}`;
    const last = BigInt(report.bars[report.bars.length - 1].t);
    const redis = t.redis.duplicate();
    for (let i = 1n; i <= 5n; i++) await redis.xadd(key, "*", "topic", "x", "payload", busBar(last + i * 60_000_000_000n, "1.09200", "1.09250", "1.09150", `1.0921${i}`));
    t = await startTestServer({ nautilusBus: BUS, prefix });
    const resumed = await chartedRun(t, trader, 305);
    assert.equal(resumed.id, run.id);
    const candles = await history<OhlcPoints>(t, run.id, BAR_SERIES);
    assert.deepEqual(candles.points.t, [...expectedCandles(report).t, ...[1n, 2n, 3n, 4n, 5n].map((i) => us(last + i * 60_000_000_000n))]);
    assert.deepEqual(candles.points.c.slice(300), [1.09211, 1.09212, 1.09213, 1.09214, 1.09215]);
    // One more wire entry (the five bars of one round at most), not the whole run again.
    const added = (await t.redis.xlen(seriesKey)) - entriesBefore;
    assert.ok(added >= 1 && added <= 5, `${added} entries added on resume`);
    assert.deepEqual((await history<MarkerPoints>(t, run.id, FILLS)).points, expectedMarkers(report));
    assert.deepEqual((await history<ValuePoints>(t, run.id, POSITION)).points, expectedPosition(report));
    assert.equal((await runs(t)).filter((r) => r.id.startsWith(`nautilus-trader-${trader}-`)).length, 1);
    redis.disconnect();
  });

  it("the same trader's next backtest is a run of its own", async () => {
    const first = await backtest(trader, 300, "msgpack");
    const second = await backtest(trader, 200, "msgpack");
    t = await startTestServer({ nautilusBus: BUS });
    const listed = await until("two runs", async () => {
      const found = (await runs(t)).filter((r) => r.id.startsWith(`nautilus-trader-${trader}-`));
      return found.length === 2 && found.every((r) => r.series.find((s) => s.id === POSITION)) ? found : null;
    });
    // Newest first.
    const [newer, older] = listed;
    await until("both runs' bars", async () => (await history<OhlcPoints>(t, older.id, BAR_SERIES)).count === 300 && (await history<OhlcPoints>(t, newer.id, BAR_SERIES)).count === 200);
    await assertCharted(t, (await runs(t)).find((r) => r.id === older.id) as RunView, first);
    await assertCharted(t, (await runs(t)).find((r) => r.id === newer.id) as RunView, second);
  });

  it("nautilusBus: false charts nothing of the bus", async () => {
    await backtest(trader, 50, "msgpack");
    t = await startTestServer({ nautilusBus: false });
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.deepEqual((await runs(t)).filter((r) => r.id.includes(trader)), []);
    assert.equal(t.server.nautilusBus(), null);
  });
});

const NODE_V2_FIXTURE = join(__dirname, "fixtures", "nautilus_bus_node_v2.py");

/**
 * Runs the real NautilusTrader 2 node (the 2.x venv, scripts/venv-nt2.sh): the example strategy on
 * `bars` replayed bars, its bus in the private Redis under `trader-<traderId>[:<instance id>]`.
 */
async function node2(python: string, traderId: string, bars: number, encoding: "msgpack" | "json", options: ("instance" | "heartbeat")[] = []): Promise<Report & { instance: string }> {
  const { port } = testRedis();
  const args = [NODE_V2_FIXTURE, "127.0.0.1", String(port), traderId, String(bars), encoding, options.join(",")];
  // The 2.x venv holds no chartbridge: the example imports the checkout's (CHARTBRIDGE=off: it charts nothing itself).
  const { stdout } = await promisify(execFile)(python, args, { env: { ...process.env, CHARTBRIDGE: "off", PYTHONPATH: join(ROOT, "python", "src") }, maxBuffer: 64 << 20 });
  return JSON.parse(stdout) as Report & { instance: string };
}

describe("NautilusTrader 2's Redis message bus (a real 2.x node), charted by the server", function () {
  this.timeout(60000);
  /** 2.x writes no trader state on its bus: a run ends once its trader wrote nothing for idleMs. */
  const BUS2 = { ...BUS, idleMs: 3000 };
  let python: string;
  let t: TestServer;
  let trader: string;
  before(async function () {
    this.timeout(900000); // builds the 2.x venv once per machine if it is missing
    python = (await promisify(execFile)("bash", [join(ROOT, "scripts", "venv-nt2.sh")], { maxBuffer: 64 << 20 })).stdout.trim();
  });
  beforeEach(() => {
    trader = newTrader("N2");
  });
  afterEach(() => closeAndClean(t, trader));

  it("msgpack: one run, one candle per bar the strategy saw, one marker per fill, the net position; it ends once the node is quiet", async () => {
    const report = await node2(python, trader, 400, "msgpack");
    assert.ok(report.fills.length >= 6, `only ${report.fills.length} fills`);
    t = await startTestServer({ nautilusBus: BUS2 });
    // 2.x's own layout: a stream per topic, its fills on events.order_filled.<instrument>, no events.system.
    const streams = (await t.redis.keys(`trader-${trader}:stream:*`)).sort();
    assert.deepEqual(streams.filter((k) => /:stream:(data\.bars|events\.order_filled|events\.position|events\.system)\./.test(k)), [
      `trader-${trader}:stream:data.bars.${BAR_SERIES}`,
      `trader-${trader}:stream:events.order_filled.EUR/USD.SIM`,
      `trader-${trader}:stream:events.position.EMACross-000`,
    ]);
    const run = await chartedRun(t, trader, 400);
    assert.equal(run.strategy, trader);
    // A fill's marker waits for later entries (its order's parts may come apart) or the run's end:
    // this node wrote all of its run within a second.
    await until("the run's end", async () => (await runs(t)).find((r) => r.id === run.id)?.status === "ended");
    await assertCharted(t, run, report);
    assert.equal(t.server.nautilusBus()?.skipped, 0);
  });

  it("JSON (2.x's default encoding, times as integers beyond 2^53) is charted the same, to the nanosecond", async () => {
    const report = await node2(python, trader, 300, "json");
    t = await startTestServer({ nautilusBus: BUS2 });
    const [[, fields]] = await t.redis.xrange(`trader-${trader}:stream:data.bars.${BAR_SERIES}`, "-", "+", "COUNT", 1);
    // A double cannot hold these times: JSON.parse alone would move them by up to 128 ns.
    assert.match(fields[fields.indexOf("payload") + 1], /"ts_event":[0-9]{19},/);
    const run = await chartedRun(t, trader, 300);
    await until("the run's end", async () => (await runs(t)).find((r) => r.id === run.id)?.status === "ended");
    await assertCharted(t, run, report);
    assert.equal(t.server.nautilusBus()?.skipped, 0);
  });

  it("the same trader's node started again, after its run ended for quiet, is a run of its own", async () => {
    t = await startTestServer({ nautilusBus: BUS2 });
    const first = await node2(python, trader, 300, "msgpack");
    const run = await chartedRun(t, trader, 300);
    await until("the first run's end", async () => (await runs(t)).find((r) => r.id === run.id)?.status === "ended");
    const second = await node2(python, trader, 200, "msgpack");
    const [newer, older] = await until("two ended runs", async () => {
      const found = (await runs(t)).filter((r) => r.id.startsWith(`nautilus-trader-${trader}-`));
      return found.length === 2 && found.every((r) => r.status === "ended") ? found : null;
    });
    assert.equal(older.id, run.id);
    await assertCharted(t, (await runs(t)).find((r) => r.id === older.id) as RunView, first);
    await assertCharted(t, (await runs(t)).find((r) => r.id === newer.id) as RunView, second);
  });

  it("a deleted run stays deleted, and the trader's node started again is charted as a new run", async () => {
    t = await startTestServer({ nautilusBus: BUS2 });
    await node2(python, trader, 300, "msgpack");
    const run = await chartedRun(t, trader, 300);
    assert.deepEqual(await query(t.ws, `mutation($run: ID!) { deleteRun(run: $run) }`, { run: run.id }), { data: { deleteRun: true } });
    // The trader stays quiet for longer than idleMs (nothing a user sees tells the bridge's idle end of a deleted run).
    await new Promise((resolve) => setTimeout(resolve, BUS2.idleMs + 2000));
    const second = await node2(python, trader, 200, "msgpack");
    const again = await until("the second run", async () => {
      const found = (await runs(t)).filter((r) => r.id.startsWith(`nautilus-trader-${trader}-`));
      return found.length === 1 && found[0].id !== run.id && found[0].status === "ended" ? found[0] : null;
    });
    await assertCharted(t, again, second);
  });

  it("a node with heartbeats (heartbeat_interval_secs) ends its run once it missed three and 10 s passed, not after idleMs", async () => {
    const report = await node2(python, trader, 300, "msgpack", ["heartbeat"]);
    t = await startTestServer({ nautilusBus: BUS }); // idleMs: 10 minutes, the default
    const beats = await t.redis.xrange(`trader-${trader}:stream:health:heartbeat`, "-", "+");
    assert.ok(beats.length >= 2, `${beats.length} heartbeats`);
    const run = await chartedRun(t, trader, 300);
    const ended = await until("the run's end", async () => (await runs(t)).find((r) => r.id === run.id && r.status === "ended"), 30000);
    await assertCharted(t, ended, report);
    // Its end is its last entry's time (by stream ID), not when the bridge saw the quiet.
    const read = [`data.bars.${BAR_SERIES}`, "events.order_filled.EUR/USD.SIM", "events.position.EMACross-000", "health:heartbeat"];
    const last = await Promise.all(read.map(async (topic) => Number((await t.redis.xrevrange(`trader-${trader}:stream:${topic}`, "+", "-", "COUNT", 1))[0][0].split("-")[0])));
    assert.equal((await t.redis.hgetall(t.keys.manifest(run.id))).ended, `${Math.max(...last)}000000`);
  });

  it("with use_instance_id each node start is a run of its own", async () => {
    const first = await node2(python, trader, 300, "msgpack", ["instance"]);
    const second = await node2(python, trader, 200, "json", ["instance"]);
    assert.notEqual(first.instance, second.instance);
    t = await startTestServer({ nautilusBus: BUS2 });
    for (const [report, bars] of [[first, 300], [second, 200]] as const) {
      const key = `trader-${trader}:${report.instance}`;
      const run = await until(`the run of ${key}`, async () => {
        const found = (await runs(t)).filter((r) => r.id.startsWith(`nautilus-trader-${trader}.${report.instance}-`));
        return found.length === 1 && found[0].status === "ended" && found[0].series.find((s) => s.id === BAR_SERIES)?.count === bars ? found[0] : null;
      });
      assert.deepEqual((await history<OhlcPoints>(t, run.id, BAR_SERIES)).points, expectedCandles(report));
      assert.deepEqual((await history<MarkerPoints>(t, run.id, FILLS)).points, expectedMarkers(report));
      assert.deepEqual((await history<ValuePoints>(t, run.id, POSITION)).points, expectedPosition(report));
    }
  });
});

const NAUTILUS_RUST = join(ROOT, "scripts", "nautilus-rust.sh");
const AUD_USD = bridgedIds("AUD/USD.SIM");

type RustReport = Report & { end: { bars: number; fills: number; orders: number; trader: string; instance: string; run: string } };

/**
 * Runs the Rust example's backtest (examples/rust-strategy, NautilusTrader's Rust BacktestEngine,
 * crates 0.66 = 2.0.0rc7) with its message bus written to the private Redis under
 * `trader-<traderId>` and its `#[chart]` series under `prefix`; returns what its strategy saw.
 */
async function rustBacktest(traderId: string, bars: number, encoding: "msgpack" | "json", prefix: string, busPort = testRedis().port): Promise<RustReport> {
  const { url } = testRedis();
  const args = [NAUTILUS_RUST, "run", "--bin", "bus_backtest", "--", "127.0.0.1", String(busPort), traderId, String(bars), encoding];
  const { stdout } = await promisify(execFile)("bash", args, { env: { ...process.env, CHARTBRIDGE_REDIS_URL: url, CHARTBRIDGE_PREFIX: prefix }, maxBuffer: 64 << 20 });
  const report: RustReport = { bars: [], fills: [], end: undefined as unknown as RustReport["end"] };
  for (const line of stdout.trimEnd().split("\n")) {
    const item = JSON.parse(line) as { bar: Report["bars"][number] } | { fill: Report["fills"][number] } | { end: RustReport["end"] };
    if ("bar" in item) report.bars.push(item.bar);
    else if ("fill" in item) report.fills.push(item.fill);
    else report.end = item.end;
  }
  assert.deepEqual([report.bars.length, report.fills.length], [report.end.bars, report.end.fills], "the lines printed");
  return report;
}

describe("NautilusTrader 2's Redis message bus from a Rust BacktestEngine, charted by the server", function () {
  this.timeout(60000);
  let t: TestServer;
  let trader: string;
  before(async function () {
    this.timeout(900000); // a cold build of the 0.66 crates, once per machine
    await promisify(execFile)("bash", [NAUTILUS_RUST, "build", "--bin", "bus_backtest"], { maxBuffer: 64 << 20 });
  });
  beforeEach(() => {
    trader = newTrader("RB");
  });
  afterEach(() => closeAndClean(t, trader));

  for (const encoding of ["msgpack", "json"] as const) {
    it(`${encoding}: one candle per bar the strategy saw, one marker per order's fills, the net position, as its #[chart] run's candles; the run ends seconds after the backtest`, async () => {
      let report: RustReport;
      const prefix = `t${randomBytes(4).toString("hex")}`;
      if (encoding === "msgpack") {
        t = await startTestServer({ nautilusBus: BUS, prefix }); // idleMs: 10 minutes, the default
        report = await rustBacktest(trader, 1000, encoding, prefix);
      } else {
        // Read later than a backtest's quiet end, 100 entries a round: not ended while catching up.
        report = await rustBacktest(trader, 1000, encoding, prefix);
        await new Promise((resolve) => setTimeout(resolve, 11000));
        t = await startTestServer({ nautilusBus: { ...BUS, count: 100 }, prefix });
      }
      const keys = t.keys;
      assert.ok(report.end.orders >= 5, `only ${report.end.orders} orders`);
      const streams = (await t.redis.keys(`trader-${trader}:stream:*`)).sort();
      assert.deepEqual(streams.filter((k) => /:stream:(data\.bars|events\.order_filled|events\.position|events\.system)\./.test(k)), [
        `trader-${trader}:stream:data.bars.${AUD_USD.bars}`,
        `trader-${trader}:stream:events.order_filled.AUD/USD.SIM`,
        `trader-${trader}:stream:events.position.EmaCross-001`,
      ]);
      const [[, fields]] = await t.redis.xrange(`trader-${trader}:stream:data.bars.${AUD_USD.bars}`, "-", "+", "COUNT", 1);
      assert.equal(fields[fields.indexOf("encoding") + 1], encoding === "json" ? "Json" : "MsgPack");
      const run = await chartedRun(t, trader, 1000, AUD_USD.bars);
      // The bridge ended it (a run whose heartbeat is old is listed as ended already).
      await until("the run's end", async () => (await t.redis.hget(keys.manifest(run.id), "status")) === "ended", 30000);
      // The engine filled each order in one or more parts at one time: one marker per order.
      await assertCharted(t, (await runs(t)).find((r) => r.id === run.id) as RunView, report, AUD_USD, report.end.fills - report.end.orders);
      assert.equal(t.server.nautilusBus()?.skipped, 0);
      // The same backtest's #[chart] candles (EmaCross.on_bar), alike.
      assert.deepEqual((await history<OhlcPoints>(t, report.end.run, "EmaCross.on_bar")).points, (await history<OhlcPoints>(t, run.id, AUD_USD.bars)).points);
      // Its end: its last entry's time (by stream ID), not when the bridge saw the quiet.
      const read = [`data.bars.${AUD_USD.bars}`, "events.order_filled.AUD/USD.SIM", "events.position.EmaCross-001"];
      const last = await Promise.all(read.map(async (topic) => Number((await t.redis.xrevrange(`trader-${trader}:stream:${topic}`, "+", "-", "COUNT", 1))[0][0].split("-")[0])));
      assert.equal((await t.redis.hget(keys.manifest(run.id), "ended")), `${Math.max(...last)}000000`);
    });
  }

  it("the same trader's backtests run back to back (a sweep, within idleMs) are a run each: its time restarting begins the next", async () => {
    t = await startTestServer({ nautilusBus: BUS });
    const first = await rustBacktest(trader, 1000, "msgpack", t.prefix);
    const second = await rustBacktest(trader, 600, "json", t.prefix);
    const [newer, older] = await until("two ended runs", async () => {
      const found = (await runs(t)).filter((r) => r.id.startsWith(`nautilus-trader-${trader}-`));
      return found.length === 2 && found.every((r) => r.status === "ended") ? found : null;
    }, 30000);
    await assertCharted(t, older, first, AUD_USD, first.end.fills - first.end.orders);
    await assertCharted(t, newer, second, AUD_USD, second.end.fills - second.end.orders);
    assert.equal(t.server.nautilusBus()?.skipped, 0);
  });

  it("a bus Redis that does not answer fails the backtest, saying so (Nautilus's writer would only log it)", async () => {
    t = await startTestServer({ nautilusBus: false }); // only for the cleanup
    const port = await freePort();
    await assert.rejects(rustBacktest(trader, 50, "json", t.prefix, port), (e: Error & { stderr: string }) => {
      assert.match(e.stderr, new RegExp(`Error: the message bus's Redis at redis://127\\.0\\.0\\.1:${port} does not answer: `));
      return true;
    });
  });
});

const HEDGING_FIXTURE = join(__dirname, "fixtures", "nautilus_hedging_backtest.py");
const HEDGING_BARS = 2000;
const EUR_BARS = BAR_SERIES;
const BTC_BARS = "BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL";
const INSTRUMENTS = ["BTCUSDT-PERP.BINANCE", "EUR/USD.SIM"];

interface HedgingReport {
  bars: number;
  fills: number;
  positions: number;
  /** Orders Nautilus filled in parts at one time (partial fills): their parts' quantities and prices. */
  partials: { instrument: string; t: string; side: "BUY" | "SELL"; parts: [string, string][] }[];
  /** Nautilus's Portfolio.net_position (a decimal string) after each position event, per instrument. */
  nets: Record<string, [string, string][]>;
}

/**
 * The two-venue HEDGING backtest, charted by its bus under trader `traderId` and, unless `run` is
 * "-", by the Chartbridge actor as run `run` under `prefix`.
 */
async function hedgingBacktest(traderId: string, prefix: string, run: string, quotes = false): Promise<HedgingReport> {
  const { port } = testRedis();
  const args = [HEDGING_FIXTURE, "127.0.0.1", String(port), traderId, prefix, run, String(HEDGING_BARS), ...(quotes ? ["quotes"] : [])];
  const { stdout } = await promisify(execFile)(PYTHON, args, {
    env: { ...process.env, CHARTBRIDGE: "on" },
    maxBuffer: 64 << 20,
  });
  return JSON.parse(stdout) as HedgingReport;
}

/** The net position Nautilus gave at each position event time (the last at one time), as charted. */
function expectedNets(report: HedgingReport, instrument: string): ValuePoints {
  const out: ValuePoints = { t: [], y: [] };
  for (const [t, net] of report.nets[instrument]) {
    if (out.t[out.t.length - 1] === us(t)) out.y[out.y.length - 1] = Number(net);
    else {
      out.t.push(us(t));
      out.y.push(Number(net));
    }
  }
  return out;
}

interface SeriesView {
  id: string;
  kind: string;
  pane: string;
  title: string;
  target: string | null;
  options: Record<string, unknown>;
  count: number;
  rejected: number;
}

async function seriesOf(t: TestServer, run: string): Promise<SeriesView[]> {
  const r = await query<{ run: { series: SeriesView[] } | null }>(t.ws, "query($run: ID!) { run(id: $run) { series { id kind pane title target options count rejected } } }", { run });
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  return (r.data?.run?.series ?? []).slice().sort((a, b) => a.id.localeCompare(b.id));
}

/** The bridge's run of `traderId`, once it ended with every bar of both instruments charted. */
async function bridgedRun(t: TestServer, traderId: string): Promise<RunView> {
  return until(`the bridged run of ${traderId}`, async () => {
    const found = (await runs(t)).filter((r) => r.id.startsWith(`nautilus-trader-${traderId}-`));
    const done = found.length === 1 && found[0].status === "ended" && [EUR_BARS, BTC_BARS].every((b) => found[0].series.find((s) => s.id === b)?.count === HEDGING_BARS);
    return done ? found[0] : null;
  }, 30000);
}

const BRIDGED_SERIES = [BTC_BARS, EUR_BARS, "fills:BTCUSDT-PERP.BINANCE", "fills:EUR/USD.SIM", "position:BTCUSDT-PERP.BINANCE", "position:EUR/USD.SIM"];

describe("one hedging two-venue backtest, charted by the actor and by Nautilus's bus (SPEC section 8)", function () {
  this.timeout(90000);
  let trader: string;
  const servers: TestServer[] = [];
  beforeEach(() => {
    trader = `HB${randomBytes(3).toString("hex").toUpperCase()}-001`;
  });
  afterEach(async () => {
    const redis = servers[0]?.redis.duplicate();
    for (const s of servers.splice(0)) await s.close();
    if (redis !== undefined) {
      await deleteKeys(redis, `trader-${trader}:*`);
      redis.disconnect();
    }
  });

  it("the two runs have the same series ids, titles, panes and marker texts, and every value equal and exact", async () => {
    const t = await startTestServer({ nautilusBus: BUS });
    servers.push(t);
    const actorRun = `actor-${trader}`;
    const report = await hedgingBacktest(trader, t.prefix, actorRun);
    assert.ok(report.fills > 200 && report.positions > 100, JSON.stringify({ fills: report.fills, positions: report.positions }));
    const bridged = await bridgedRun(t, trader);
    const fromBus = await seriesOf(t, bridged.id);
    const fromActor = await seriesOf(t, actorRun);
    assert.deepEqual(fromBus.map((s) => s.id), BRIDGED_SERIES);
    // The bus carries no indicators, PnL or equity: the bridge's series are the actor's, alike.
    const describe = ({ id, kind, pane, title, target, options, count, rejected }: SeriesView) => ({ id, kind, pane, title, target, options, count, rejected });
    assert.deepEqual(fromBus.map(describe), fromActor.filter((s) => BRIDGED_SERIES.includes(s.id)).map(describe));
    assert.deepEqual(fromActor.map((s) => s.id), [...BRIDGED_SERIES.slice(0, 4), "drawdown:BINANCE:USDT", "drawdown:SIM:USD", "equity:BINANCE:USDT", "equity:SIM:USD", ...BRIDGED_SERIES.slice(4), "unrealized_pnl:BTCUSDT-PERP.BINANCE", "unrealized_pnl:EUR/USD.SIM"].sort((a, b) => a.localeCompare(b)));
    assert.equal(fromBus.find((s) => s.id === EUR_BARS)?.pane, "main");
    assert.equal(fromBus.find((s) => s.id === BTC_BARS)?.pane, BTC_BARS);
    // Precision from the instrument (actor) and from the decimals on the bus (bridge), alike.
    assert.deepEqual(fromBus.find((s) => s.id === BTC_BARS)?.options, { priceFormat: { type: "price", precision: 1, minMove: 0.1 } });
    assert.deepEqual(fromBus.find((s) => s.id === "position:BTCUSDT-PERP.BINANCE")?.options, { lineType: 1, priceFormat: { type: "price", precision: 3, minMove: 0.001 } });
    assert.deepEqual(fromActor.find((s) => s.id === "equity:SIM:USD")?.options, { priceFormat: { type: "price", precision: 2, minMove: 0.01 }, unit: "USD" });
    assert.deepEqual(fromActor.find((s) => s.id === "drawdown:SIM:USD")?.options, { priceFormat: { type: "price", precision: 2, minMove: 0.01 }, unit: "%" });
    for (const id of BRIDGED_SERIES) {
      const [bus, actor] = [await history<Record<string, unknown[]>>(t, bridged.id, id), await history<Record<string, unknown[]>>(t, actorRun, id)];
      assert.deepEqual(bus.points, actor.points, `the points of ${id}`);
    }
    // An order filled in parts at one time is one marker: its total quantity at the weighted
    // price, then its parts (SPEC section 8); the actor's and the bridge's alike (compared above).
    assert.ok(report.partials.length >= 3, `${report.partials.length} orders filled in parts`);
    const eurFills = await history<MarkerPoints>(t, bridged.id, "fills:EUR/USD.SIM");
    for (const { t: at, side, parts } of report.partials.filter((p) => p.instrument === "EUR/USD.SIM")) {
      const texts = eurFills.points.m.filter((_, i) => eurFills.points.t[i] === us(at)).map((m) => m.text);
      const suffix = ` (${parts.length} fills: ${parts.map(([q, p]) => `${q} @ ${p}`).join(", ")})`;
      assert.equal(texts.filter((x) => x.startsWith(`${side} ${sumDecimals(parts.map(([q]) => q))} @ `) && x.endsWith(suffix)).length, 1, `${at}: ${texts.join(" | ")}`);
    }
    // Marker text: side, quantity, price and position id (hedging: the position a fill moved).
    const btcFills = await history<MarkerPoints>(t, bridged.id, "fills:BTCUSDT-PERP.BINANCE");
    assert.match(btcFills.points.m[0].text, /^(BUY|SELL) [0-9]+\.[0-9]{3} @ [0-9]+\.[0-9] BINANCE-1-[0-9]{3}$/);
    // Net positions: Nautilus's decimal, not a float sum (0.100 + 0.200 is 0.3 here).
    for (const instrument of INSTRUMENTS) {
      assert.deepEqual((await history<ValuePoints>(t, bridged.id, `position:${instrument}`)).points, expectedNets(report, instrument), instrument);
    }
    // Each account's statistics and trades are kept apart, and the results view shows them per account.
    const r = await query<{ run: { results: Results } }>(t.ws, "query($run: ID!) { run(id: $run) { results } }", { run: actorRun });
    const groups = groupStats(r.data?.run.results.stats ?? {});
    assert.deepEqual([...groups.keys()], ["SIM-001", "BINANCE-001"]);
    for (const [account, currency] of [["SIM-001", "USD"], ["BINANCE-001", "USDT"]] as const) {
      const names = (groups.get(account) ?? []).map(([name]) => name);
      assert.ok(names.includes("Long Ratio") && names.includes(`PnL (total) (${currency})`), `${account}: ${names.join(", ")}`);
    }
    const trades = r.data?.run.results.trades ?? [];
    assert.deepEqual(new Set(trades.map((x) => x.account)), new Set(["SIM-001", "BINANCE-001"]));
  });

  it("two servers on one prefix chart the trader once; a server on another prefix charts its own copy", async () => {
    const a = await startTestServer({ nautilusBus: BUS });
    servers.push(a);
    const b = await startTestServer({ nautilusBus: BUS, prefix: a.prefix });
    servers.push(b);
    const other = await startTestServer({ nautilusBus: BUS });
    servers.push(other);
    const report = await hedgingBacktest(trader, a.prefix, "-");
    const [fromA, fromB, fromOther] = [await bridgedRun(a, trader), await bridgedRun(b, trader), await bridgedRun(other, trader)];
    assert.equal(fromA.id, fromB.id);
    const shared = await seriesOf(a, fromA.id);
    assert.deepEqual(shared.map((s) => s.id), BRIDGED_SERIES);
    // Points written, over every stream entry of a series (a point written twice would be hidden
    // in history by the ordering rule's equal-time replace, not in the entries).
    const written = async (prefix: string, run: string, id: string) => {
      const entries = await xrangeAfter(a.redis, redisKeys(prefix).series(run, id), "0-0", 100000);
      return entries.reduce((n, e) => n + Number(e.fields.n.toString()), 0);
    };
    for (const id of BRIDGED_SERIES) {
      const [one, copy] = [await history<Record<string, unknown[]>>(a, fromA.id, id), await history<Record<string, unknown[]>>(other, fromOther.id, id)];
      assert.deepEqual(copy.points, one.points, id);
      assert.equal(await written(a.prefix, fromA.id, id), await written(other.prefix, fromOther.id, id), id);
    }
    assert.equal(await written(a.prefix, fromA.id, EUR_BARS), HEDGING_BARS);
    // One marker per fill, but one per order's parts at one time (SPEC section 8).
    const parts = report.partials.reduce((n, p) => n + p.parts.length - 1, 0);
    assert.ok(parts > 0);
    assert.equal(await written(a.prefix, fromA.id, "fills:EUR/USD.SIM") + (await written(a.prefix, fromA.id, "fills:BTCUSDT-PERP.BINANCE")), report.fills - parts);
    for (const instrument of INSTRUMENTS) {
      assert.deepEqual((await history<ValuePoints>(a, fromA.id, `position:${instrument}`)).points, expectedNets(report, instrument), instrument);
    }
  });
});

describe("a strategy trading on quotes alone, charted from Nautilus's bus", function () {
  this.timeout(60000);
  const trader = `QB${randomBytes(3).toString("hex").toUpperCase()}-001`;
  let t: TestServer;
  after(async () => {
    await t.close();
    const cleanup = t.redis.duplicate();
    await deleteKeys(cleanup, `trader-${trader}:*`);
    cleanup.disconnect();
  });

  it("gets a run with its fills and net position, though it has no bars", async () => {
    t = await startTestServer({ nautilusBus: BUS });
    const report = await hedgingBacktest(trader, t.prefix, "-", true);
    assert.ok(report.fills > 100, `${report.fills} fills`);
    const run = await until("the quotes-only run", async () => {
      const found = (await runs(t)).filter((r) => r.id.startsWith(`nautilus-trader-${trader}-`));
      return found.length === 1 && found[0].status === "ended" ? found[0] : null;
    }, 30000);
    const series = await seriesOf(t, run.id);
    assert.deepEqual(series.map(({ id, target }) => ({ id, target })), [
      { id: "fills:EUR/USD.SIM", target: null },
      { id: "position:EUR/USD.SIM", target: null },
    ]);
    const markers = await history<MarkerPoints>(t, run.id, "fills:EUR/USD.SIM");
    // A marker of an order's parts at one time says how many: "(2 fills: ...)".
    assert.equal(markers.points.m.reduce((n, m) => n + Number(/\((\d+) fills: /.exec(m.text)?.[1] ?? 1), 0), report.fills);
    assert.deepEqual((await history<ValuePoints>(t, run.id, "position:EUR/USD.SIM")).points, expectedNets(report, "EUR/USD.SIM"));
  });
});

describe("the bridge's values are Nautilus's decimals", () => {
  it("every price and size of precision 0 to 9 decodes to float(str(x)), bars, fills and positions alike", async () => {
    const { stdout } = await promisify(execFile)(PYTHON, [join(__dirname, "fixtures", "nautilus_decimals.py")], { maxBuffer: 64 << 20 });
    const cases = JSON.parse(stdout) as { precision: number; text: string; float: string; as_double: string }[];
    assert.deepEqual([...new Set(cases.map((c) => c.precision))], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.ok(cases.length > 8000 && cases.some((c) => c.float !== c.as_double), "no case where as_double is off");
    const decoded = cases.map(({ text }) => {
      const bar = decodeBusEntry("bars", { payload: encodeMsgpack({ type: "Bar", bar_type: BAR_SERIES, open: text, high: text, low: text, close: text, volume: text, ts_event: "1", ts_init: "1" }) });
      const fill = decodeBusEntry("fills", { payload: encodeMsgpack({ type: "OrderFilled", instrument_id: "X.SIM", client_order_id: "O-1", order_side: "BUY", last_px: text, last_qty: text, position_id: "P-1", ts_event: "1" }) });
      const position = decodeBusEntry("positions", { payload: encodeMsgpack({ type: "PositionOpened", instrument_id: "X.SIM", position_id: "P-1", side: "SHORT", quantity: text, ts_event: "1" }) });
      assert.ok(bar.ok && bar.point.type === "bar" && fill.ok && fill.point.type === "fill" && position.ok && position.point.type === "position", text);
      const marker = fillMarker(fill.point.side, [{ qty: fill.point.qty, price: fill.point.price }], []);
      return [bar.point.open, bar.point.high, bar.point.low, bar.point.close, bar.point.volume, Number(marker.price), -Number(position.point.signedQty)];
    });
    assert.deepEqual(decoded, cases.map((c) => Array<number>(7).fill(Number(c.float))));
  });
});

describe("the bridge's decimal sums", () => {
  it("adds signed decimal quantities exactly", () => {
    assert.equal(sumDecimals(["0.100", "0.200"]), "0.300");
    assert.equal(Number(sumDecimals(["0.100", "0.200"])), 0.3);
    assert.equal(sumDecimals(["-1.500", "0.1", "+0.200"]), "-1.200");
    assert.equal(sumDecimals(["100000", "-300000"]), "-200000");
    assert.equal(sumDecimals([]), "0");
    // A bridge state saved before quantities were decimal strings holds numbers.
    assert.equal(sumDecimals([0.1, 0.2, 1e-7, -1e21]), "-999999999999999999999.6999999");
    assert.throws(() => sumDecimals(["NaN"]), /"NaN" is not a decimal/);
  });

  it("tells an order's parts at one time as their total quantity at the quantity-weighted price (the actor's contract.fill_marker alike)", () => {
    const parts = (...xs: [string, string][]) => xs.map(([qty, price]) => ({ qty, price }));
    assert.deepEqual(fillMarker("SELL", parts(["1750000", "1.09718"], ["1250000", "1.09717"]), ["EUR/USD.SIM-BigOrders-000"]), {
      price: "1.0971758", // 1.0971758333..., to two decimals more than the prices', rounded
      text: "SELL 3000000 @ 1.0971758 EUR/USD.SIM-BigOrders-000 (2 fills: 1750000 @ 1.09718, 1250000 @ 1.09717)",
    });
    assert.deepEqual(fillMarker("BUY", parts(["0.100", "42990.9"], ["0.200", "42991.0"]), []), { price: "42990.967", text: "BUY 0.300 @ 42990.967 (2 fills: 0.100 @ 42990.9, 0.200 @ 42991.0)" });
    assert.deepEqual(fillMarker("BUY", parts(["1500000", "1.09722"], ["1500000", "1.09723"]), ["P-1"]).price, "1.097225");
    // No trailing zeros beyond the prices' own decimals; half to even; a single fill is itself.
    assert.deepEqual(fillMarker("BUY", parts(["100", "1.10000"], ["100", "1.10000"]), ["X"]).text, "BUY 200 @ 1.10000 X (2 fills: 100 @ 1.10000, 100 @ 1.10000)");
    assert.equal(fillMarker("BUY", parts(["3", "100"], ["1", "101"]), []).price, "100.25");
    assert.equal(fillMarker("BUY", parts(["1", "0.00001"], ["1", "0.00002"]), []).price, "0.000015");
    assert.equal(fillMarker("BUY", parts(["1", "0.0000001"], ["1", "0.0000002"], ["2", "0.0000002"]), []).price, "0.000000175");
    assert.equal(fillMarker("BUY", parts(["1", "1.001"], ["2", "1.000"]), []).price, "1.00033");
    assert.equal(fillMarker("BUY", parts(["1", "0.5"], ["7", "0.0"]), []).price, "0.062"); // 0.0625 -> 0.062 (even)
    assert.deepEqual(fillMarker("SELL", parts(["0.100", "42990.9"]), ["P-1"]), { price: "42990.9", text: "SELL 0.100 @ 42990.9 P-1" });
  });
});

describe("the server's batch encoder (src/shared/encode.ts) against the conformance vectors", () => {
  interface Input {
    t: string[];
    [column: string]: unknown;
  }
  const number = (v: unknown) => (v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : (v as number));
  for (const { name, body } of readVectors<{ series: { kind: "line" }; input: Input; fields: Record<string, string> }>("valid")) {
    it(`encodes valid/${name} to its exact fields`, () => {
      const { t: times, m, ...columns } = body.input;
      const input = { t: times.map((x) => BigInt(x)), ...Object.fromEntries(Object.entries(columns).map(([k, v]) => [k, (v as unknown[]).map(number)])), ...(m === undefined ? {} : { m }) };
      const fields = encodeBatch(body.series.kind, input as Parameters<typeof encodeBatch>[1]);
      const expected = fieldBytes(body.fields);
      assert.deepEqual(Object.keys(fields).sort(), Object.keys(expected).sort());
      for (const [field, value] of Object.entries(fields)) {
        const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
        if (field === "m") assert.deepEqual(JSON.parse(bytes.toString("utf8")), JSON.parse(expected.m.toString("utf8")));
        else assert.equal(bytes.toString("hex"), expected[field].toString("hex"), `${field} of ${name}`);
      }
    });
  }
});
