/**
 * Time to first paint of a 1M-bar run (candles + 2 lines): the chart UI through the level-of-detail
 * path (range queries at screen resolution) against raw `setData` of the same data, in the same
 * browser. Targets: <= 1 s, and >= 6x faster than raw. Run: npx tsx bench/webview-open.ts
 */
import { markerFields, openChart } from "../test/webview/browser.js";
import { BARS, createRun, openRawPage, printFigures, startBench, STEP_NS, T0_NS, writeBars } from "./webview-setup.js";

const FILLS = 100_000;

/** First paint of `run` (null: the newest) with `series` series. */
async function firstPaint(b: Awaited<ReturnType<typeof startBench>>, run: string | null = null, series = 3): Promise<number> {
  const chart = await openChart(b.browser, b.server, undefined, run ?? undefined);
  const s = await chart.until((s) => s.firstPaintMs !== null && s.series.length === series && s.series.every((x) => x.points > 0), "first paint", 60_000);
  await chart.page.close();
  return s.firstPaintMs ?? NaN;
}

/** The 1M-bar run again, with 100k fill markers on its candles (one every 10 bars). */
async function writeFills(b: Awaited<ReturnType<typeof startBench>>, run: string): Promise<void> {
  await createRun(b, run);
  await b.client.hset(b.keys.registry(run), "fills", JSON.stringify({ kind: "marker", pane: "main", title: "fills", options: {}, source: null, target: "bars" }));
  await writeBars(b, run, 0, BARS);
  for (let from = 0; from < FILLS; from += 20_000) {
    const idx = Array.from({ length: 20_000 }, (_, k) => from + k);
    const fields = markerFields(idx.map((i) => T0_NS + BigInt(i * 10) * STEP_NS), idx.map(() => 100), idx.map((i) => ({ side: i % 2 ? "sell" : "buy", text: `${i % 2 ? "SELL" : "BUY"} 100000 @ 100.00000 P-${i}` })));
    await b.client.xadd(b.keys.series(run, "fills"), "*", ...Object.entries(fields).flat());
  }
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
    await writeFills(b, "fills");
    const fillsCold = await firstPaint(b, "fills", 4);
    const fills = Math.min(await firstPaint(b, "fills", 4), await firstPaint(b, "fills", 4), await firstPaint(b, "fills", 4));
    console.log(`the same run with ${FILLS} fill markers: cold ${fillsCold.toFixed(0)} ms, warm ${fills.toFixed(0)} ms`);
    printFigures([
      { name: "open_1m_bar_first_paint_ms", value: warm, unit: "ms", target: "<= 1000", baseline: rawMs, baselineLabel: "raw setData of the same 1M bars + 2 lines (target >= 6x)" },
      { name: "open_1m_bar_first_paint_cold_ms", value: cold, unit: "ms", target: "<= 1000", baseline: rawMs, baselineLabel: "raw setData; the server reads the run from Redis first" },
      { name: "open_1m_bar_100k_fills_first_paint_ms", value: fills, unit: "ms", target: "<= 1000", baseline: warm, baselineLabel: "the same 1M bars without the fills (warm)" },
    ]);
  } finally {
    await b.close();
  }
}

void main();
