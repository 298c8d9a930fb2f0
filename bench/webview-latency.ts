/**
 * Live latency, Python call to point drawn, at 10k points/s. A real Python process charts a line
 * with the SDK (`cb.series("lat").add(value, time=now_ns)`, default producer settings), each
 * point's value being its send time (µs since a base the bench gives it); the chart page is open
 * on that run. A tiny workspace plugin hands the page the series handle, and the page attaches a
 * series primitive to it: lightweight-charts calls the primitive's renderer while it draws the
 * series, so it reads the newest value lightweight-charts holds (`dataByIndex` of the last bar)
 * exactly when that data is drawn, and takes the time once the frame is rendered (a task posted
 * from the draw runs after the frame's paint), performance.timeOrigin + performance.now(). Points
 * arrive in order, so every point sent at or before the newest value drawn is on screen after that
 * frame: its latency is the first such frame's time minus its send time. Python logs every send
 * time, so each point counts.
 * Baseline, in the same run: the same points read straight from Redis by a node XREAD BLOCK reader
 * (no server, no browser), latency = receipt time minus the point's time (its send time).
 * Targets: p50 <= 20 ms, p99 <= 50 ms. Run: npx tsx bench/webview-latency.ts
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Redis } from "ioredis";
import { openChart, ROOT } from "../test/webview/browser.js";
import { printFigures, startBench } from "./webview-setup.js";

const RATE = 10_000;
const SECONDS = 10;
/** The run streams at RATE this long before the chart opens on it. */
const WARMUP_SECONDS = 2;
const RUN = "latency";
const SERIES_ID = "lat";

/** The producer: warm-up points, "ready", waits for a line on stdin, then RATE points/s for SECONDS. */
const PYTHON = `
import json, sys, time
import chartbridge as cb
url, prefix, run, base_us, rate, warmup, seconds, out = sys.argv[1:]
base_us, rate, warmup, seconds = int(base_us), float(rate), float(warmup), float(seconds)
cb.configure(url=url, prefix=prefix, run=run, strategy="latency bench")
s = cb.series("${SERIES_ID}")
last = 0
def add():
    global last
    t = time.time_ns()
    if t <= last:
        t = last + 1
    last = t
    s.add(float(t // 1000 - base_us), time=t)
    return t
def stream(seconds, sent):
    n = 0
    start = time.perf_counter()
    while True:
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
        due = int(elapsed * rate) - n
        for _ in range(due):
            sent.append(add())
        n += due
        time.sleep(0.0002)
    return n
stream(warmup, [])
cb.flush()
print("ready", flush=True)
sys.stdin.readline()
sent = []
n = stream(seconds, sent)
cb.flush()
with open(out, "w") as f:
    json.dump([t // 1000 - base_us for t in sent], f)
print("done", n, flush=True)
`;

/** A workspace plugin (every chart runs those) handing the page the run's ctx, for the series handle. */
const PROBE_PLUGIN = "export default function setup(ctx) { globalThis.__cbLatencyCtx = ctx; return { dispose() {} }; }\n";

/**
 * The in-page recorder (a string: tsx would wrap a function's inner names in a helper the page
 * lacks): [wall ms after the frame's paint, newest value drawn] whenever the newest value drawn grows.
 */
const RECORDER = `(() => {
  const frames = [];
  const series = globalThis.__cbLatencyCtx.series(${JSON.stringify(SERIES_ID)});
  let newest = -Infinity;
  let drawn = null;
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    frames.push([performance.timeOrigin + performance.now(), drawn]);
    drawn = null;
  };
  const renderer = {
    draw() {
      if (globalThis.__cbLatencyStop) return;
      const last = series.dataByIndex(1e12, -1);
      if (!last || typeof last.value !== "number" || last.value <= newest) return;
      newest = last.value;
      if (drawn === null) channel.port2.postMessage(0);
      drawn = newest;
    },
  };
  const view = { renderer: () => renderer };
  series.attachPrimitive({ paneViews: () => [view], updateAllViews() {} });
  globalThis.__cbLatencyFrames = frames;
})()`;

/** Date.now() minus performance.timeOrigin + performance.now(), averaged (+0.5: Date.now() floors). */
const CLOCK_SKEW = `(() => { let sum = 0; const n = 2000; for (let i = 0; i < n; i++) sum += Date.now() - (performance.timeOrigin + performance.now()); return sum / n + 0.5; })()`;

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

function lines(stream: NodeJS.ReadableStream): AsyncIterator<string> {
  return createInterface({ input: stream })[Symbol.asyncIterator]();
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "cb-bench-latency-"));
  const pluginsDir = join(dir, "plugins");
  const sentFile = join(dir, "sent.json");
  mkdirSync(pluginsDir);
  writeFileSync(join(pluginsDir, "latency-probe.js"), PROBE_PLUGIN);
  const b = await startBench({ pluginsDir });
  const reader = new Redis(b.redis.url);
  const baseUs = Math.floor(Date.now() / 1000) * 1000 * 1000;
  const py = spawn(join(ROOT, ".venv", "bin", "python"), ["-c", PYTHON, b.redis.url, "bench", RUN, String(baseUs), String(RATE), String(WARMUP_SECONDS), String(SECONDS), sentFile], {
    cwd: dir,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const pyExit = new Promise<number | null>((r) => py.on("exit", (code) => r(code)));
  const out = lines(py.stdout);
  try {
    if ((await out.next()).value !== "ready") throw new Error("the Python producer did not start");

    const chart = await openChart(b.browser, b.server);
    await chart.until((s) => s.run === RUN && s.series.some((x) => x.id === SERIES_ID && x.points > 0) && s.plugins.some((p) => p.name === "latency-probe" && p.running !== null), "the run drawn, the probe running", 30_000);
    const pageSkew = (await chart.page.evaluate(CLOCK_SKEW)) as number;
    const nodeSkew = eval(CLOCK_SKEW) as number;
    await chart.page.evaluate(RECORDER);

    // Baseline reader: XREAD BLOCK on the series stream from now on, receipt time per entry.
    const key = b.keys.series(RUN, SERIES_ID);
    let stop = false;
    const received: [number, bigint][] = []; // [receipt wall ms, point time ns]
    const readerDone = (async () => {
      let after = "$";
      while (!stop) {
        const reply = (await reader.xreadBuffer("BLOCK", 200, "STREAMS", key, after)) as [Buffer, [Buffer, Buffer[]][]][] | null;
        const now = performance.timeOrigin + performance.now();
        if (reply === null) continue;
        for (const [id, fields] of reply[0][1]) {
          after = id.toString();
          for (let i = 0; i < fields.length; i += 2) {
            if (fields[i].toString() !== "t") continue;
            const t = fields[i + 1];
            for (let k = 0; k + 8 <= t.length; k += 8) received.push([now, t.readBigInt64LE(k)]);
          }
        }
      }
    })();

    py.stdin.write("go\n");
    const done = (await out.next()).value as string;
    if (!done?.startsWith("done")) throw new Error(`the Python producer ended with ${done}`);
    // Let the last points reach the page and the reader.
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await readerDone;
    const frames = (await chart.page.evaluate("globalThis.__cbLatencyStop = true, globalThis.__cbLatencyFrames")) as [number, number][];
    const state = await chart.state();
    if (chart.problems.length) console.log(`page problems: ${chart.problems.join(" | ")}`);
    await chart.page.close();

    // Send times in µs since baseUs: the values the page sees.
    const sentUs = JSON.parse(readFileSync(sentFile, "utf8")) as number[];

    // Chart: each point's first frame showing it (or a later point), minus its send time.
    const chartMs: number[] = [];
    let f = 0;
    let missing = 0;
    for (const us of sentUs) {
      while (f < frames.length && frames[f][1] < us) f++;
      if (f === frames.length) {
        missing++;
        continue;
      }
      chartMs.push(frames[f][0] - (baseUs + us) / 1000);
    }

    // Baseline: the same points' receipt by the reader.
    const firstUs = sentUs[0] + baseUs;
    const rawMs = received.filter(([, t]) => Number(t / 1000n) >= firstUs).map(([at, t]) => at - Number(t / 1000n) / 1000);

    chartMs.sort((x, y) => x - y);
    rawMs.sort((x, y) => x - y);
    const n = sentUs.length;
    console.log(`python sent ${n} points in ${SECONDS} s (${Math.round(n / SECONDS)}/s); the page recorded ${frames.length} frames with new points; ${missing} points never shown; the reader got ${rawMs.length}`);
    console.log(`series on screen: ${JSON.stringify(state.series.find((x) => x.id === SERIES_ID))}`);
    const tail = state.series.find((x) => x.id === SERIES_ID)?.lastUs ?? null;
    const follows = state.visible !== null && tail !== null && state.visible.toUs >= tail - Math.max(state.series[0]?.bucketUs ?? 0, 1);
    console.log(`at the end the view shows ${JSON.stringify(state.visible)}, the tail is at ${tail}: the view ${follows ? "follows" : "does NOT follow"} the tail`);
    console.log(`clock check (Date.now() - timeOrigin - now(), ms): page ${pageSkew.toFixed(2)}, node ${nodeSkew.toFixed(2)}`);
    console.log(`chart latency ms: min ${chartMs[0]?.toFixed(1)} p50 ${pct(chartMs, 0.5).toFixed(1)} p90 ${pct(chartMs, 0.9).toFixed(1)} p99 ${pct(chartMs, 0.99).toFixed(1)} max ${chartMs[chartMs.length - 1]?.toFixed(1)}`);
    console.log(`redis reader latency ms: min ${rawMs[0]?.toFixed(2)} p50 ${pct(rawMs, 0.5).toFixed(2)} p90 ${pct(rawMs, 0.9).toFixed(2)} p99 ${pct(rawMs, 0.99).toFixed(2)} max ${rawMs[rawMs.length - 1]?.toFixed(2)}`);
    if (chartMs.length < n * 0.99) throw new Error(`only ${chartMs.length} of ${n} points were seen drawn`);
    const label = "the same points, Python straight to a node Redis XREAD BLOCK reader";
    printFigures([
      { name: "live_latency_p50_ms", value: pct(chartMs, 0.5), unit: "ms", target: "<= 20", baseline: pct(rawMs, 0.5), baselineLabel: label },
      { name: "live_latency_p99_ms", value: pct(chartMs, 0.99), unit: "ms", target: "<= 50", baseline: pct(rawMs, 0.99), baselineLabel: label },
    ]);
  } finally {
    py.kill();
    await pyExit;
    reader.disconnect();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
