/**
 * Frames per second of the chart UI while a 1M-bar run (candles + 2 lines) grows live at 10k
 * points/s, against the same page idle and against raw lightweight-charts holding the same 1M bars
 * and fed by `update()`, in the same browser. Target: >= 30 fps. Run: npx tsx bench/webview-live.ts
 */
import { openChart } from "../test/webview/browser.js";
import { BARS, createRun, measureFps, openRawPage, printFigures, startBench, writeBars } from "./webview-setup.js";

const RATE = 10_000;
const SECONDS = 5;
/** Producers flush every few ms; 20 ms batches of ~67 points per series. */
const FLUSH_MS = 20;

async function main(): Promise<void> {
  const b = await startBench();
  try {
    await createRun(b, "live");
    await writeBars(b, "live", 0, BARS);
    const chart = await openChart(b.browser, b.server);
    await chart.until((s) => s.firstPaintMs !== null && s.series.every((x) => x.points > 0), "first paint", 60_000);
    const idle = await measureFps(chart.page, 2000);

    // 10k points/s across the three series (each point a new bar), while the page counts frames.
    let next = BARS;
    const perFlush = Math.round((RATE * FLUSH_MS) / 1000 / 3);
    const started = Date.now();
    const writer = (async () => {
      while (Date.now() - started < SECONDS * 1000) {
        const due = Math.floor(((Date.now() - started) / 1000) * (RATE / 3));
        if (BARS + due > next) {
          const to = Math.min(BARS + due, next + perFlush * 10);
          await writeBars(b, "live", next, to);
          next = to;
        }
        await new Promise((r) => setTimeout(r, FLUSH_MS));
      }
    })();
    const live = await measureFps(chart.page, SECONDS * 1000 - 200);
    await writer;
    const written = (next - BARS) * 3;
    const lastUs = Number((1_700_000_000_000_000_000n + BigInt(next - 1) * 60_000_000_000n) / 1000n);
    // Decimated, the tail lands on the start of its bucket.
    const slot = (bucketUs: number) => (bucketUs > 0 ? Math.floor(lastUs / bucketUs) * bucketUs : lastUs);
    const s = await chart.until((s) => s.series.every((x) => x.lastUs !== null && x.lastUs >= slot(x.bucketUs)), "the tail drawn", 10_000);
    const held = Math.max(...s.series.map((x) => x.points));
    await chart.page.close();

    const raw = await openRawPage(b.browser);
    await raw.evaluate((n) => (globalThis as unknown as { rawBench: { open(n: number): Promise<number> } }).rawBench.open(n), BARS);
    const rawTail = await raw.evaluate(([rate, ms]) => (globalThis as unknown as { rawBench: { tail(r: number, ms: number): Promise<{ fps: number }> } }).rawBench.tail(rate, ms), [RATE, 3000]);
    await raw.close();

    console.log(`wrote ${written} points in ${SECONDS} s (${Math.round(written / SECONDS)}/s); the chart drew the tail and holds at most ${held} points per series`);
    console.log(`fps: idle ${idle.toFixed(1)}, live ${live.toFixed(1)}; raw lightweight-charts with 1M bars and update(): ${rawTail.fps.toFixed(1)}`);
    printFigures([
      {
        name: "live_tail_fps",
        value: live,
        unit: "fps",
        target: ">= 30",
        baseline: rawTail.fps,
        baselineLabel: "raw lightweight-charts update() on the same 1M bars (idle page: " + idle.toFixed(1) + " fps)",
        better: "higher",
      },
    ]);
  } finally {
    await b.close();
  }
}

void main();
