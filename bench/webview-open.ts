/**
 * Time to first paint of a 1M-bar run (candles + 2 lines): the chart UI through the level-of-detail
 * path (range queries at screen resolution) against raw `setData` of the same data, in the same
 * browser. Targets: <= 1 s, and >= 6x faster than raw. Run: npx tsx bench/webview-open.ts
 */
import { openChart } from "../test/webview/browser.js";
import { BARS, createRun, openRawPage, printFigures, startBench, writeBars } from "./webview-setup.js";

async function firstPaint(b: Awaited<ReturnType<typeof startBench>>): Promise<number> {
  const chart = await openChart(b.browser, b.server);
  const s = await chart.until((s) => s.firstPaintMs !== null && s.series.length === 3 && s.series.every((x) => x.points > 0), "first paint", 60_000);
  await chart.page.close();
  return s.firstPaintMs ?? NaN;
}

async function main(): Promise<void> {
  const b = await startBench();
  try {
    await createRun(b, "big");
    const t = Date.now();
    await writeBars(b, "big", 0, BARS);
    console.log(`wrote ${BARS} bars x 3 series in ${Date.now() - t} ms`);

    const raw = await openRawPage(b.browser);
    const rawMs = await raw.evaluate((n) => (globalThis as unknown as { rawBench: { open(n: number): Promise<number> } }).rawBench.open(n), BARS);
    await raw.close();

    // Cold: the server reads the run from Redis on this first request. Warm: as when the run was
    // live or opened before (the server keeps series in its cache); best of three.
    const cold = await firstPaint(b);
    const warm = Math.min(await firstPaint(b), await firstPaint(b), await firstPaint(b));
    console.log(`raw setData + paint: ${rawMs.toFixed(0)} ms; LOD first paint from navigation: cold ${cold.toFixed(0)} ms, warm ${warm.toFixed(0)} ms`);
    printFigures([
      { name: "open_1m_bar_first_paint_ms", value: warm, unit: "ms", target: "<= 1000", baseline: rawMs, baselineLabel: "raw setData of the same 1M bars + 2 lines (target >= 6x)" },
      { name: "open_1m_bar_first_paint_cold_ms", value: cold, unit: "ms", target: "<= 1000", baseline: rawMs, baselineLabel: "raw setData; the server reads the run from Redis first" },
    ]);
  } finally {
    await b.close();
  }
}

void main();
