/**
 * Shared by the webview benchmarks: a private Redis, the real server, headless Chromium, a 1M-bar
 * run (candles + 2 lines) written as a producer would, and the raw-lightweight-charts baseline page
 * (the same data through plain `createChart` + `setData`, in the same browser).
 */
import { build } from "esbuild";
import { Redis } from "ioredis";
import type { Browser, Page } from "playwright-core";
import { startPrivateRedis, type PrivateRedis } from "../src/server/privateRedis.js";
import { redisKeys, type RedisKeys } from "../src/shared/protocol.js";
import { lineFields } from "../test/harness/server.js";
import { spawnServer, type ServerProcess } from "../test/reliability/lib.js";
import { buildBundle, launchBrowser, ohlcFields, ROOT } from "../test/webview/browser.js";

export const BARS = 1_000_000;
export const T0_NS = 1_700_000_000_000_000_000n;
export const STEP_NS = 60_000_000_000n;
/** The data of bar i: the same formula here (written to Redis) and in the baseline page. */
export const closeOf = (i: number) => 100 + Math.sin(i / 500) * 10 + (i % 7) * 0.1;
export const SERIES = { bars: "candlestick", fast: "line", slow: "line" } as const;

export interface Bench {
  redis: PrivateRedis;
  client: Redis;
  keys: RedisKeys;
  server: ServerProcess;
  browser: Browser;
  close(): Promise<void>;
}

export interface BenchOptions {
  /** The server's workspace plugins folder (watched for saves); default none. */
  pluginsDir?: string | null;
}

export async function startBench(options: BenchOptions = {}): Promise<Bench> {
  buildBundle();
  const redis = await startPrivateRedis();
  const prefix = "bench";
  // The shipped server in its own process, as the extension runs it: in this process it would
  // share a heap with the bench's 1M-bar arrays and an event loop with playwright.
  const server = await spawnServer({ redisUrl: redis.url, prefix, pluginsDir: options.pluginsDir ?? null });
  const client = new Redis(redis.url);
  const browser = await launchBrowser();
  return {
    redis,
    client,
    keys: redisKeys(prefix),
    server,
    browser,
    async close() {
      await browser.close();
      client.disconnect();
      await server.kill();
      await redis.stop();
    },
  };
}

/** Appends bars [from, to) of the three series, in producer-sized entries (100k points at most). */
export async function writeBars(b: Bench, run: string, from: number, to: number, chunk = 100_000): Promise<void> {
  for (let start = from; start < to; start += chunk) {
    const idx = Array.from({ length: Math.min(chunk, to - start) }, (_, k) => start + k);
    const times = idx.map((i) => T0_NS + BigInt(i) * STEP_NS);
    const closes = idx.map(closeOf);
    const multi = b.client.multi();
    multi.xadd(b.keys.series(run, "bars"), "*", ...Object.entries(ohlcFields(times, closes)).flat());
    multi.xadd(b.keys.series(run, "fast"), "*", ...Object.entries(lineFields(times, closes.map((c) => c + 1))).flat());
    multi.xadd(b.keys.series(run, "slow"), "*", ...Object.entries(lineFields(times, closes.map((c) => c - 1))).flat());
    await multi.exec();
  }
}

/** A run manifest and registry like the SDKs write. */
export async function createRun(b: Bench, run: string): Promise<void> {
  const now = BigInt(Date.now()) * 1_000_000n;
  await b.client
    .multi()
    .hset(b.keys.manifest(run), { v: "1", run, strategy: "bench", source: "", language: "python", started: String(now), heartbeat: String(now), status: "running" })
    .zadd(b.keys.runs, Date.now(), run)
    .hset(b.keys.registry(run), Object.fromEntries(Object.entries(SERIES).map(([id, kind]) => [id, JSON.stringify({ kind, pane: "main", title: id, options: {}, source: null })])))
    .exec();
}

/**
 * The baseline page: lightweight-charts alone, fed the same 1M bars by `setData` (data generated
 * in the page first, so the baseline pays no transfer at all), then live points by `update()`.
 */
const RAW_PAGE = `
import { createChart, CandlestickSeries, LineSeries } from "lightweight-charts";
const closeOf = ${closeOf.toString()};
const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
let chart, bars, fast, slow, n = 0;
const bar = (i) => { const c = closeOf(i), o = i === 0 ? c : closeOf(i - 1); return { time: 1700000000 + i * 60, open: o, high: Math.max(o, c) + 1, low: Math.min(o, c) - 1, close: c }; };
globalThis.rawBench = {
  async open(count) {
    const candles = new Array(count), a = new Array(count), b = new Array(count);
    for (let i = 0; i < count; i++) { candles[i] = bar(i); a[i] = { time: candles[i].time, value: candles[i].close + 1 }; b[i] = { time: candles[i].time, value: candles[i].close - 1 }; }
    n = count;
    const start = performance.now();
    chart = createChart(document.body, { autoSize: true });
    bars = chart.addSeries(CandlestickSeries); fast = chart.addSeries(LineSeries); slow = chart.addSeries(LineSeries);
    bars.setData(candles); fast.setData(a); slow.setData(b);
    await frame(); await frame();
    return performance.now() - start;
  },
  /** rate points/s for ms, coalesced per frame: the newest point of each series per frame via update(). */
  async tail(rate, ms) {
    const start = performance.now(); let frames = 0, last = start, sent = 0;
    while (performance.now() - start < ms) {
      await frame(); frames++;
      const now = performance.now(); const due = Math.floor(((now - start) / 1000) * rate) - sent; last = now;
      if (due <= 0) continue;
      sent += due; n += Math.ceil(due / 3);
      const p = bar(n); bars.update(p); fast.update({ time: p.time, value: p.close + 1 }); slow.update({ time: p.time, value: p.close - 1 });
    }
    return { fps: (frames * 1000) / (last - start), sent };
  },
};
`;

export async function openRawPage(browser: Browser): Promise<Page> {
  const out = await build({ stdin: { contents: RAW_PAGE, resolveDir: ROOT, loader: "js" }, bundle: true, format: "iife", write: false, minify: true, target: "es2022" });
  const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
  await page.setContent("<!doctype html><html><body style='margin:0;height:100vh'></body></html>");
  await page.addScriptTag({ content: out.outputFiles[0].text });
  return page;
}

/**
 * Frames per second counted by requestAnimationFrame in the page over `ms`. (A string, not a
 * function: tsx would wrap a function's inner names in a helper the page does not have.)
 */
export function measureFps(page: Page, ms: number): Promise<number> {
  return page.evaluate(`new Promise((resolve) => {
    let frames = 0, first = 0;
    const tick = (t) => {
      if (first === 0) first = t; else frames++;
      if (t - first < ${ms}) requestAnimationFrame(tick); else resolve((frames * 1000) / (t - first));
    };
    requestAnimationFrame(tick);
  })`) as Promise<number>;
}

export { printFigures, type Figure } from "./figures.js";
