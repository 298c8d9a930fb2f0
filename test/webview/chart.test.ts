import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { startServer } from "../../src/server/app.js";
import { testRedis } from "../harness/rootHooks.js";
import { lineFields, startTestServer, writeRun, xadd, type TestServer } from "../harness/server.js";
import { buildBundle, launchBrowser, markerFields, ohlcFields, openChart, WEBVIEW_BUNDLE, type ChartPage, type Hooked } from "./browser.js";

const T0 = 1_700_000_000_000_000_000n;
const MIN = 60_000_000_000n;
const at = (i: number) => T0 + BigInt(i) * MIN;
const us = (i: number) => Number(at(i) / 1000n);
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => i + from);
const XSS_TITLE = `<img src=x onerror="globalThis.__xss=1"><script>globalThis.__xss=2</script>`;

/** Candles of exactly these prices (test/webview/browser.ts' ohlcFields derives highs and lows). */
function candles(timesNs: bigint[], bars: [number, number, number, number][], volumes?: number[]): Record<string, Buffer | string> {
  const f64 = (values: number[]) => {
    const b = Buffer.alloc(8 * values.length);
    values.forEach((v, i) => b.writeDoubleLE(v, i * 8));
    return b;
  };
  const col = (k: number) => f64(bars.map((bar) => bar[k]));
  const t = Buffer.alloc(8 * timesNs.length);
  timesNs.forEach((v, i) => t.writeBigInt64LE(v, i * 8));
  return { v: "1", k: "candlestick", n: String(bars.length), t, o: col(0), h: col(1), l: col(2), c: col(3), ...(volumes ? { vol: f64(volumes) } : {}) };
}

/** The text of the legend's value of a series, as the user reads it. */
function legendValue(chart: ChartPage, series: string): Promise<string | null> {
  return chart.page.evaluate((id) => document.querySelector(`.cb-legend-row[data-series="${id}"] .cb-value`)?.textContent ?? null, series);
}

function scaleLabel(chart: ChartPage, series: string, price: number): Promise<string | null> {
  return chart.page.evaluate(([id, p]) => (globalThis as unknown as { __chartbridge: { scaleLabel(s: string, p: number): string | null } }).__chartbridge.scaleLabel(id, p), [series, price] as const);
}

/** A run as the Nautilus actor charts EUR/USD: candles, a fill, equity in USD, drawdown in %, a position; n bars. */
async function writeFxRun(t: TestServer): Promise<number> {
  await writeRun(t, "fx", {
    eurusd: { kind: "candlestick" },
    ema: { kind: "line" },
    fills: { kind: "marker", target: "eurusd" },
    equity: { kind: "line", pane: "equity", options: { priceFormat: { type: "price", precision: 2, minMove: 0.01 }, unit: "USD" } },
    drawdown: { kind: "line", pane: "drawdown", options: { priceFormat: { type: "price", precision: 2, minMove: 0.01 }, unit: "%" } },
    position: { kind: "line", pane: "position", options: { lineType: 1, priceFormat: { type: "price", precision: 0, minMove: 1 } } },
  });
  const n = 20;
  const bars = range(n).map((i): [number, number, number, number] => {
    const o = 1.0812 + i * 0.00001;
    return [o, o + 0.00013, o - 0.00007, o + 0.00003];
  });
  bars[n - 1] = [1.0812, 1.08134, 1.08101, 1.08123];
  await xadd(t, t.keys.series("fx", "eurusd"), candles(range(n).map(at), bars, range(n).map((i) => 1_500_000 + i * 100_000)));
  await xadd(t, t.keys.series("fx", "ema"), lineFields(range(n).map(at), range(n).map((i) => 1.0812 + i * 0.0000123456789)));
  await xadd(t, t.keys.series("fx", "equity"), lineFields(range(n).map(at), range(n).map((i) => 1_000_000 + i + (i === n - 1 ? 0.16 : 0))));
  await xadd(t, t.keys.series("fx", "drawdown"), lineFields(range(n).map(at), range(n).map((i) => (i === n - 1 ? -0.16 : 0))));
  await xadd(t, t.keys.series("fx", "position"), lineFields(range(n).map(at), range(n).map((i) => (i % 2 ? -100_000 : 100_000))));
  await xadd(t, t.keys.series("fx", "fills"), markerFields([at(3)], [1.08123], [{ side: "buy", text: "BUY 100000 @ 1.08123 P-1", position: "atPriceMiddle" } as { side: "buy"; text: string }]));

  return n;
}

describe("webview: the chart UI in headless Chromium against the real server", function () {
  this.timeout(30_000);
  let browser: Browser;
  let t: TestServer;
  let chart: ChartPage | null = null;
  let pluginsDir: string;

  before(async () => {
    buildBundle();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    pluginsDir = mkdtempSync(join(tmpdir(), "cb-webview-plugins-"));
    t = await startTestServer({ webviewBundle: WEBVIEW_BUNDLE, pluginsDir });
  });
  afterEach(async () => {
    if (chart) assert.deepEqual(chart.problems.filter((p) => !p.includes("WebSocket")), [], "console errors or CSP violations");
    await chart?.page.close();
    chart = null;
    await t.close();
    rmSync(pluginsDir, { recursive: true, force: true });
  });

  it("renders every series kind in its pane, with markers, price lines, and names as text", async () => {
    await writeRun(t, "kinds", {
      bars: { kind: "candlestick", title: XSS_TITLE, options: { priceLines: [{ price: 105, title: "target" }] } },
      ohlc: { kind: "bar", pane: "bars" },
      fast: { kind: "line" },
      fill: { kind: "area", pane: "equity" },
      base: { kind: "baseline", pane: "equity", options: { baseValue: { type: "price", price: 100 } } },
      vol: { kind: "histogram", pane: "volume" },
      fills: { kind: "marker", target: "bars" },
    });
    const n = 50;
    const closes = range(n).map((i) => 100 + Math.sin(i / 5) * 5);
    await xadd(t, t.keys.series("kinds", "bars"), ohlcFields(range(n).map(at), closes));
    await xadd(t, t.keys.series("kinds", "ohlc"), ohlcFields(range(n).map(at), closes, "bar"));
    for (const [id, kind] of [["fast", "line"], ["fill", "area"], ["base", "baseline"], ["vol", "histogram"]] as const) {
      await xadd(t, t.keys.series("kinds", id), lineFields(range(n).map(at), closes.map((c, i) => c + i), kind));
    }
    await xadd(t, t.keys.series("kinds", "fills"), markerFields([at(5), at(20), at(30)], [101, Number.NaN, 99], [
      { side: "buy", text: "<b>in</b>" },
      { side: "sell", text: "out" },
      { side: null, text: "note" },
    ]));

    chart = await openChart(browser, t.server);
    const s = await chart.until((s) => s.series.length === 7 && s.series.every((x) => x.points === (x.kind === "marker" ? 3 : n)), "all series loaded");
    assert.equal(s.run, "kinds");
    // Panes in order of first appearance in the run's series list (the server sorts it by id).
    assert.equal(s.panes, 4, "main, equity, bars, volume");
    const byId = Object.fromEntries(s.series.map((x) => [x.id, x]));
    assert.deepEqual(
      Object.fromEntries(s.series.map((x) => [x.id, [x.kind, x.pane, x.firstUs, x.lastUs]])),
      {
        bars: ["candlestick", 0, us(0), us(n - 1)],
        ohlc: ["bar", 2, us(0), us(n - 1)],
        fast: ["line", 0, us(0), us(n - 1)],
        fill: ["area", 1, us(0), us(n - 1)],
        base: ["baseline", 1, us(0), us(n - 1)],
        vol: ["histogram", 3, us(0), us(n - 1)],
        fills: ["marker", -1, us(5), us(30)],
      },
    );
    assert.equal(byId.bars.priceLines, 1);
    assert.equal(byId.bars.bucketUs, 0, "50 points are not decimated");

    // The hostile title is text in the legend: no element was created from it and nothing ran.
    const legend = await chart.page.evaluate(() => {
      const d = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string; querySelectorAll(s: string): { length: number } } | null } }).document;
      const row = d.querySelector('.cb-legend-row[data-series="bars"] .cb-name');
      return { text: row?.textContent, elements: d.querySelector(".cb-legend")?.querySelectorAll("img, script, b").length, xss: (globalThis as unknown as { __xss?: number }).__xss ?? null };
    });
    assert.deepEqual(legend, { text: XSS_TITLE, elements: 0, xss: null });
    await chart.screenshot("webview-kinds");
  });

  it("reads FX candles at five decimals without a declared precision, and declared precisions and units as declared", async () => {
    const n = await writeFxRun(t);
    chart = await openChart(browser, t.server, { width: 1400, height: 850 });
    await chart.until((s) => s.series.length === 6 && s.series.every((x) => x.points === (x.kind === "marker" ? 1 : n)), "all series loaded");

    assert.equal(await legendValue(chart, "eurusd"), "O 1.08120 H 1.08134 L 1.08101 C 1.08123");
    assert.equal(await legendValue(chart, "ema"), "1.08143", "an indicator reads at the precision of its pane's candles");
    assert.equal(await scaleLabel(chart, "ema", 1.0814345679), "1.08143");
    assert.equal(await legendValue(chart, "equity"), "1,000,019.16 USD");
    assert.equal(await legendValue(chart, "drawdown"), "-0.16%");
    assert.equal(await legendValue(chart, "position"), "-100,000");
    // The price scale and the crosshair label write prices with lightweight-charts' formatter.
    assert.equal(await scaleLabel(chart, "eurusd", 1.08123), "1.08123");
    assert.equal(await scaleLabel(chart, "eurusd", 1.1), "1.10000");
    assert.equal(await scaleLabel(chart, "equity", 1_000_018.16), "1,000,018.16");
    assert.equal(await scaleLabel(chart, "position", -100_000), "-100,000");

    // A legend per pane, titled, inside its pane; the price pane has most of the height.
    const layout = await chart.page.evaluate(() => ({
      panes: (globalThis as unknown as { __chartbridge: { paneBoxes(): { top: number; bottom: number; left: number; right: number }[] } }).__chartbridge.paneBoxes(),
      legends: [...document.querySelectorAll<HTMLElement>(".cb-legend")].map((e) => {
        const r = e.getBoundingClientRect();
        return { pane: Number(e.dataset.pane), title: e.querySelector(".cb-pane-title")?.textContent, series: [...e.querySelectorAll<HTMLElement>(".cb-legend-row")].map((row) => row.dataset.series), top: r.top, bottom: r.bottom, left: r.left, right: r.right };
      }),
    }));
    // Panes in order of first appearance in the run's series list (the server sorts it by id).
    assert.deepEqual(layout.legends.map((l) => [l.pane, l.title, l.series]).sort(), [[0, "price", ["ema", "eurusd", "fills"]], [1, "drawdown", ["drawdown"]], [2, "equity", ["equity"]], [3, "position", ["position"]]]);
    for (const l of layout.legends) {
      const pane = layout.panes[l.pane];
      assert.ok(l.top >= pane.top && l.bottom <= pane.bottom && l.left >= pane.left && l.right <= pane.right, `legend ${l.title} ${JSON.stringify(l)} inside its pane ${JSON.stringify(pane)}`);
    }
    const heights = layout.panes.map((p) => p.bottom - p.top);
    assert.ok(heights[0] > 0.5 * heights.reduce((a, b) => a + b, 0), `the price pane has most of the height: ${heights.join(", ")}`);
    await chart.screenshot("readable-panes");

    // Hovering the fill shows its time, side, exact price and text.
    const at3 = (await chart.page.evaluate(() => (globalThis as unknown as { __chartbridge: { markerAt(id: string, i: number): { x: number; y: number } | null } }).__chartbridge.markerAt("fills", 0))) as { x: number; y: number } | null;
    assert.ok(at3 !== null, "the fill is on screen");
    const box = await chart.page.locator(".cb-chart").boundingBox();
    await chart.page.mouse.move((box?.x ?? 0) + at3.x, (box?.y ?? 0) + at3.y);
    await chart.page.locator(".cb-tooltip:not([hidden])").waitFor({ timeout: 5000 });
    const tip = await chart.page.locator(".cb-tooltip").evaluate((e) => [...e.children].map((c) => c.textContent));
    assert.deepEqual(tip, [`BUY · ${new Date(Number(at(3) / 1_000_000n)).toISOString().replace("T", " ").slice(0, 19)}`, "price 1.08123", "BUY 100000 @ 1.08123 P-1"]);

    // The data window: every series' value at the crosshair's bar, pane by pane, in its precision and
    // unit; the candles' volume as the producer wrote it (SPEC section 3's `vol`).
    await chart.page.click(".cb-data-toggle");
    const x10 = (await chart.page.evaluate((t) => (globalThis as unknown as { __chartbridge: { timeX(t: number): number | null } }).__chartbridge.timeX(t), us(10))) as number;
    await chart.page.mouse.move((box?.x ?? 0) + x10, (box?.y ?? 0) + 200);
    await chart.page.locator(".cb-dw-time", { hasText: ":" }).waitFor({ timeout: 5000 });
    const dataWindow = await chart.page.locator(".cb-datawindow").evaluate((e) => [...e.children].map((c) => (c.classList.contains("cb-dw-row") ? [...c.children].map((x) => x.textContent).join("=") : c.textContent)));
    assert.deepEqual(dataWindow, [
      new Date(us(10) / 1000).toISOString().replace("T", " ").slice(0, 19),
      "price", "ema=1.08132", "eurusd O=1.08130", "eurusd H=1.08143", "eurusd L=1.08123", "eurusd C=1.08133", "eurusd V=2,500,000",
      "drawdown", "drawdown=0.00%",
      "equity", "equity=1,000,010.00 USD",
      "position", "position=100,000",
    ]);
  });
  it("fits a narrow VS Code panel (430 px): one toolbar row with a menu, each pane's legend one line inside its pane", async () => {
    const n = await writeFxRun(t);
    chart = await openChart(browser, t.server, { width: 430, height: 700 });
    await chart.until((s) => s.series.length === 6 && s.series.every((x) => x.points === (x.kind === "marker" ? 1 : n)), "all series loaded");
    const toolbar = await chart.page.locator(".cb-toolbar").boundingBox();
    const button = await chart.page.locator(".cb-side-toggle").boundingBox();
    assert.ok(toolbar !== null && button !== null && toolbar.height < 2 * button.height, `one row: ${JSON.stringify(toolbar)}`);
    assert.equal(await chart.page.locator(".cb-tools").isVisible(), false, "the secondary tools wait in the menu");
    await chart.page.click(".cb-more-toggle");
    assert.equal(await chart.page.locator(".cb-png").isVisible(), true, "the menu opens");
    await chart.page.click(".cb-more-toggle");
    const layout = await chart.page.evaluate(() => ({
      panes: (globalThis as unknown as { __chartbridge: { paneBoxes(): { top: number; bottom: number; left: number; right: number }[] } }).__chartbridge.paneBoxes(),
      scaleWidth: (globalThis as unknown as { __chartbridge: { priceScaleWidth(): number } }).__chartbridge.priceScaleWidth(),
      legends: [...document.querySelectorAll<HTMLElement>(".cb-legend")].map((e) => ({ pane: Number(e.dataset.pane), collapsed: e.classList.contains("cb-collapsed"), box: e.getBoundingClientRect().toJSON() as DOMRect, rows: [...e.querySelectorAll<HTMLElement>(".cb-legend-row")].filter((r) => r.offsetParent !== null).length })),
    }));
    for (const l of layout.legends) {
      const pane = layout.panes[l.pane];
      assert.ok(l.collapsed && l.rows === 1, `pane ${l.pane}: one line`);
      assert.ok(l.box.top >= pane.top && l.box.bottom <= pane.bottom && l.box.right <= pane.right - layout.scaleWidth, `legend ${JSON.stringify(l.box)} inside pane ${JSON.stringify(pane)}, left of the price scale (${layout.scaleWidth} px)`);
    }
    const price = layout.legends.find((l) => l.pane === 0);
    assert.ok(price !== undefined && price.box.height < 0.1 * (layout.panes[0].bottom - layout.panes[0].top), "the price pane's legend takes a line of it");
    await chart.screenshot("narrow-panel");
    // Expanded on demand.
    await chart.page.click('.cb-legend[data-pane="0"] .cb-pane-title');
    assert.equal(await chart.page.locator('.cb-legend[data-pane="0"] .cb-legend-row:visible').count(), 3, "ema, eurusd, fills");
  });

  it("draws 100k fill markers as clusters with counts, labels that never overlap, and every fill reachable by zooming or hovering", async () => {
    const bars = 5000;
    const perBar = 20;
    const fills = bars * perBar;
    await writeRun(t, "dense", { bars: { kind: "candlestick" }, fills: { kind: "marker", target: "bars" } });
    const close = (i: number) => Math.round((1.08 + 0.004 * Math.sin(i / 400) + 0.0006 * Math.sin(i / 13)) * 1e5) / 1e5;
    await xadd(t, t.keys.series("dense", "bars"), candles(range(bars).map(at), range(bars).map((i): [number, number, number, number] => {
      const [o, c] = [close(i - 1), close(i)];
      return [o, Math.max(o, c) + 0.00012, Math.min(o, c) - 0.00009, c];
    })));
    const fillNs = (i: number) => at(Math.floor(i / perBar)) + BigInt(i % perBar) * 1_000_000_000n;
    for (let from = 0; from < fills; from += 10_000) {
      const ids = range(10_000, from);
      await xadd(t, t.keys.series("dense", "fills"), markerFields(ids.map(fillNs), ids.map(() => 1.08123), ids.map((i) => ({ side: i % 2 ? "sell" : "buy", text: `${i % 2 ? "SELL" : "BUY"} 100000 @ 1.08123 P-${i}` }))));
    }
    chart = await openChart(browser, t.server, { width: 1400, height: 850 });
    const loaded = await chart.until((s) => s.series.find((x) => x.id === "fills")?.markersCounted === fills, "every fill counted", 30_000);
    const held = loaded.series.find((x) => x.id === "fills")?.points ?? 0;
    assert.ok(held > 0 && held <= 200, `${held} markers and clusters drawn for ${fills} fills`);

    /** Drawn labels per lane, measured in lightweight-charts' default marker font: none overlaps the next. */
    const assertNoOverlap = async () => {
      const drawn = await chart!.page.evaluate(() => {
        const context = document.createElement("canvas").getContext("2d") as CanvasRenderingContext2D;
        context.font = "12px -apple-system, BlinkMacSystemFont, 'Trebuchet MS', Roboto, Ubuntu, sans-serif";
        const markers = (globalThis as unknown as { __chartbridge: { drawnMarkers(id: string): { x: number | null; lane: string; text: string }[] } }).__chartbridge.drawnMarkers("bars");
        return markers.filter((m) => m.text !== "" && m.x !== null).map((m) => ({ lane: m.lane, left: (m.x as number) - context.measureText(m.text).width / 2, right: (m.x as number) + context.measureText(m.text).width / 2, text: m.text }));
      });
      for (const lane of new Set(drawn.map((d) => d.lane))) {
        const inLane = drawn.filter((d) => d.lane === lane).sort((a, b) => a.left - b.left);
        for (let i = 1; i < inLane.length; i++) assert.ok(inLane[i].left >= inLane[i - 1].right, `${JSON.stringify(inLane[i - 1])} overlaps ${JSON.stringify(inLane[i])}`);
      }
      return drawn;
    };
    const zoomedOut = await assertNoOverlap();
    assert.ok(zoomedOut.length > 0 && zoomedOut.every((d) => /^[0-9]+$/.test(d.text)), `cluster counts as labels: ${zoomedOut.map((d) => d.text).join(" ")}`);
    await chart.screenshot("markers-zoomed-out");

    // Hovering a cluster (found as a user would: down its column) lists its fills with their exact prices.
    const cluster = zoomedOut[Math.floor(zoomedOut.length / 2)];
    const box = await chart.page.locator(".cb-chart").boundingBox();
    const pane = (await chart.page.evaluate(() => (globalThis as unknown as { __chartbridge: { paneBoxes(): { top: number; bottom: number }[] } }).__chartbridge.paneBoxes()))[0];
    const x = (box?.x ?? 0) + (cluster.left + cluster.right) / 2;
    let found = false;
    for (let y = pane.top + 2; y < pane.bottom && !found; y += 2) {
      await chart.page.mouse.move(x, y);
      found = (await chart.page.locator(".cb-tooltip:not([hidden]) .cb-tooltip-head").count()) > 0;
    }
    assert.ok(found, `the cluster labelled ${cluster.text} shows a tooltip`);
    await chart.page.locator(".cb-tooltip-row").first().waitFor({ timeout: 5000 });
    const tip = await chart.page.locator(".cb-tooltip").evaluate((e) => [...e.children].map((c) => c.textContent ?? ""));
    const count = Number(cluster.text);
    const head = /^(\d+) markers \((\d+) buy, (\d+) sell\)$/.exec(tip[0]);
    assert.ok(head !== null && Number(head[1]) === count && Number(head[2]) + Number(head[3]) === count && Math.abs(Number(head[2]) - Number(head[3])) <= 1, tip[0]);
    assert.equal(tip.length, 1 + 20 + 1, "the first 20 fills, then how many more");
    assert.match(tip[1], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  (BUY|SELL)  1\.08123  (BUY|SELL) 100000 @ 1\.08123 P-\d+$/);
    assert.equal(tip[21], `… ${count - 20} more: click to zoom in`);

    // Zoomed in to 2 bars, their 40 fills are markers of their own, labelled where they fit.
    await chart.page.evaluate(([f, to]) => (globalThis as unknown as { __chartbridge: { setVisibleRange(f: number, t: number): void } }).__chartbridge.setVisibleRange(f, to), [us(2000), us(2001) + 19_000_000] as const);
    const zoomed = await chart.until((s) => {
      const f = s.series.find((x) => x.id === "fills");
      return f !== undefined && f.points === f.markersCounted && f.points >= 40;
    }, "the fills one by one", 15_000);
    assert.ok((zoomed.series.find((x) => x.id === "fills")?.points ?? 0) < fills);
    await new Promise((r) => setTimeout(r, 200));
    const zoomedIn = await assertNoOverlap();
    assert.ok(zoomedIn.some((d) => d.text.startsWith("BUY 100000 @ 1.08123")), zoomedIn.map((d) => d.text).join(" | "));
    await chart.screenshot("markers-zoomed-in");
  });

  it("says on a series how many points its producer could not store (the run's lost record)", async () => {
    await writeRun(t, "lossy", { price: { kind: "line" }, ema: { kind: "line" } });
    for (const id of ["price", "ema"]) await xadd(t, t.keys.series("lossy", id), lineFields(range(10).map(at), range(10)));
    await t.redis.hset(t.keys.lost("lossy"), "price", "50123");
    chart = await openChart(browser, t.server);
    await chart.until((s) => s.series.length === 2 && s.series.every((x) => x.points === 10), "both series loaded");
    const badges = await chart.page.evaluate(() => {
      const d = (globalThis as unknown as { document: Document }).document;
      const price = d.querySelector<HTMLElement>('.cb-legend-row[data-series="price"] .cb-lost');
      const ema = d.querySelector<HTMLElement>('.cb-legend-row[data-series="ema"] .cb-lost');
      return { price: [price?.textContent, price?.hidden], ema: [ema?.textContent, ema?.hidden] };
    });
    assert.deepEqual(badges, { price: ["50,123 points not stored", false], ema: ["", true] });
  });

  it("says on a series why it cannot be read and on the run what is left out, and draws the rest", async () => {
    await writeRun(t, "bad", { price: { kind: "line" }, ema: { kind: "line" } });
    await xadd(t, t.keys.series("bad", "price"), lineFields(range(10).map(at), range(10)));
    await t.redis.hset(t.keys.series("bad", "ema"), "not", "a stream");
    await t.redis.set(t.keys.plugins("bad"), "not a hash");
    chart = await openChart(browser, t.server);
    const state = await chart.until((s) => s.series.find((x) => x.id === "price")?.points === 10 && s.banner !== null, "the readable series and the banner");
    // The series' own fault is on its legend (below), the run's on the banner (SPEC section 10).
    assert.equal(state.banner, `Part of run bad cannot be read: ${t.keys.plugins("bad")} holds a string, not a hash`);
    const badges: Record<string, [string | null, boolean]> = {};
    for (const id of ["price", "ema"]) {
      const badge = chart.page.locator(`.cb-legend-row[data-series="${id}"] .cb-unreadable`);
      badges[id] = [await badge.textContent(), await badge.isHidden()];
    }
    assert.deepEqual(badges, { price: ["", true], ema: [`not readable: ${t.keys.series("bad", "ema")} holds a hash, not a stream`, false] });
  });

  it("draws live points as they arrive, and keeps sub-second ticks apart", async () => {
    await writeRun(t, "live", { price: { kind: "line" }, candles: { kind: "candlestick" }, ticks: { kind: "line", pane: "ticks" } });
    await xadd(t, t.keys.series("live", "price"), lineFields(range(10).map(at), range(10)));
    await xadd(t, t.keys.series("live", "candles"), ohlcFields(range(10).map(at), range(10).map((i) => 50 + i)));
    // 100 ticks one microsecond apart: whole-second keys would collapse them into one bar.
    const tickNs = (i: number) => at(0) + BigInt(i) * 1000n;
    await xadd(t, t.keys.series("live", "ticks"), lineFields(range(100).map(tickNs), range(100)));

    chart = await openChart(browser, t.server);
    await chart.until((s) => s.series.find((x) => x.id === "price")?.points === 10, "history");
    const ticks = (await chart.state()).series.find((x) => x.id === "ticks");
    assert.deepEqual([ticks?.points, ticks?.firstUs, ticks?.lastUs], [100, us(0), us(0) + 99]);

    await xadd(t, t.keys.series("live", "price"), lineFields(range(5, 10).map(at), range(5, 10)));
    await xadd(t, t.keys.series("live", "candles"), ohlcFields([at(10), at(11)], [60, 61]));
    const s = await chart.until((s) => s.series.find((x) => x.id === "price")?.points === 15 && s.series.find((x) => x.id === "candles")?.points === 12, "live points");
    assert.equal(s.series.find((x) => x.id === "price")?.lastUs, us(14));
    assert.equal(s.series.find((x) => x.id === "candles")?.lastUs, us(11));
    const last = await chart.page.evaluate(() => {
      const d = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } }).document;
      return d.querySelector('.cb-legend-row[data-series="price"] .cb-value')?.textContent;
    });
    assert.equal(last, "14", "the legend shows the last value, at the precision of the data (integers)");
    await chart.screenshot("webview-live");
  });

  it("follows a fast live tail that outgrows the first view, to its last point", async () => {
    await writeRun(t, "tail", { price: { kind: "line" } });
    await xadd(t, t.keys.series("tail", "price"), lineFields(range(5).map(at), range(5)));
    chart = await openChart(browser, t.server);
    await chart.until((s) => s.series[0]?.points === 5, "the first five points");
    // 40 batches of 1000 points: far more than the held budget of the first view.
    for (let b = 0; b < 40; b++) await xadd(t, t.keys.series("tail", "price"), lineFields(range(1000, 5 + b * 1000).map(at), range(1000, 5 + b * 1000)));
    const last = us(5 + 40 * 1000 - 1);
    const s = await chart.until((x) => x.series[0]?.lastUs === last, "the last point drawn");
    assert.ok(s.visible !== null && s.visible.toUs >= last, `the view follows the tail: ${JSON.stringify(s.visible)} vs ${last}`);
    const settled = await chart.until((x) => x.series[0].points <= (x.held?.maxPoints ?? 0) * 2, "back within the budget");
    assert.equal(settled.series[0].lastUs, last);
    assert.equal(settled.fetches, 1, "a followed tail drops its old points in place: no refetch interrupts it");
  });

  it("draws the debugger's time cursor where the host says, scrolled into view, and removes it", async () => {
    // A marker at bar 40 tells where lightweight-charts itself puts that time (timeToCoordinate).
    await writeRun(t, "dbg", { price: { kind: "line" }, mark: { kind: "marker", target: "price" } });
    await xadd(t, t.keys.series("dbg", "price"), lineFields(range(100).map(at), range(100)));
    await xadd(t, t.keys.series("dbg", "mark"), markerFields([at(40)], [40], [{ side: null, text: "" }]));
    chart = await openChart(browser, t.server);
    await chart.until((s) => s.series.map((x) => `${x.id}:${x.points}`).join() === "mark:1,price:100", "the run drawn");
    const hook = (js: string) => chart!.page.evaluate(`globalThis.__chartbridge.${js}`);
    await hook(`setVisibleRange(${us(80)}, ${us(99)})`);
    await chart.until((s) => s.visible !== null && s.visible.fromUs >= us(79), "zoomed onto the end");
    // The tallest run of cursor-coloured pixels (the dark or light theme accent) in any column of the
    // chart's canvases: its share of the canvas height, and its first column in CSS px from the chart's left.
    const cursorColumn = () => chart!.page.evaluate(`(() => {
      let best = 0, bestX = null;
      const chartLeft = document.querySelector(".cb-chart").getBoundingClientRect().left;
      for (const canvas of document.querySelectorAll(".cb-chart canvas")) {
        const { width, height } = canvas;
        if (width === 0 || height === 0) continue;
        const rect = canvas.getBoundingClientRect();
        const data = canvas.getContext("2d").getImageData(0, 0, width, height).data;
        for (let x = 0; x < width; x++) {
          let n = 0;
          for (let y = 0; y < height; y++) {
            const i = (y * width + x) * 4;
            const rgb = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
            if (rgb === 0x0078d4 || rgb === 0x005fb8) n++;
          }
          if (n / height > best) (best = n / height), (bestX = rect.left - chartLeft + (x * rect.width) / width);
        }
      }
      return { share: best, x: bestX };
    })()`) as Promise<{ share: number; x: number | null }>;
    assert.ok((await cursorColumn()).share < 0.5, "no cursor before the host sends one");
    await hook(`hostMessage({ type: "timeCursor", payload: { timeUs: ${us(40)} } })`);
    const shown = await chart.until((s) => s.timeCursorUs === us(40) && s.visible !== null && s.visible.fromUs <= us(40) && s.visible.toUs >= us(40), "the cursor at bar 40, in view");
    const span = (shown.visible?.toUs ?? 0) - (shown.visible?.fromUs ?? 0);
    assert.ok(Math.abs(span - (us(99) - us(80))) <= us(2) - us(0), `the zoom is kept: ${span}`);
    await new Promise((r) => setTimeout(r, 100));
    const line = await cursorColumn();
    assert.ok(line.share > 0.9, "a line of the cursor colour across the pane");
    const bar40 = (await hook(`markerAt("mark", 0)`)) as { x: number } | null;
    assert.ok(bar40 !== null && line.x !== null);
    // The line is 2 px wide, centred on the time's coordinate: its first column is 1 px left of it.
    assert.ok(Math.abs(line.x - (Math.round(bar40.x) - 1)) <= 0.5, `the line at bar 40's x: ${line.x} vs ${bar40.x}`);
    await chart.screenshot("webview-time-cursor");
    await hook(`hostMessage({ type: "timeCursor", payload: { timeUs: null } })`);
    await chart.until((s) => s.timeCursorUs === null, "the cursor removed");
    await new Promise((r) => setTimeout(r, 100));
    assert.ok((await cursorColumn()).share < 0.5, "the line is gone");
  });

  it("exports the visible points of a series as CSV and the chart as PNG", async () => {
    await writeRun(t, "exp", { price: { kind: "line" } });
    await xadd(t, t.keys.series("exp", "price"), lineFields(range(3).map(at), [1.5, -2, 3.25]));
    chart = await openChart(browser, t.server);
    await chart.until((s) => s.series.find((x) => x.id === "price")?.points === 3, "three points");
    const download = async (button: string) => {
      const [file] = await Promise.all([chart!.page.waitForEvent("download"), chart!.page.click(button)]);
      const stream = await file.createReadStream();
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      return { name: file.suggestedFilename(), bytes: Buffer.concat(chunks) };
    };
    await chart.page.selectOption(".cb-csv-series", "price");
    const csv = await download(".cb-csv");
    assert.equal(csv.name, "exp-price.csv");
    const iso = (i: number) => new Date(us(i) / 1000).toISOString().replace("T", " ").replace(/\.000Z$/, "");
    const lines = csv.bytes.toString("utf8").trim().split("\n");
    assert.equal(lines[0], "time_us,time,value");
    assert.deepEqual(lines.slice(1).map((l) => [l.split(",")[0], l.split(",").at(-1)]), [[String(us(0)), "1.50"], [String(us(1)), "-2.00"], [String(us(2)), "3.25"]], "in the series' precision");
    assert.ok(lines[1].includes(iso(0).slice(0, 16)), `${lines[1]} shows the time as text`);
    const png = await download(".cb-png");
    assert.match(png.name, /^exp.*\.png$/);
    assert.deepEqual([...png.bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "a PNG file");
    assert.ok(png.bytes.length > 5000, `${png.bytes.length} bytes: a drawn chart`);
  });

  it("asks for the visible range at screen resolution, and refetches finer data on zoom", async function () {
    // Once in a fresh-clone CI run the view after the programmatic zoom was not where it was set
    // (24 minutes wide, not 200): a race not found yet. One more try on a fresh server and page;
    // the reporter prints the first failure.
    this.retries(1);
    const n = 20_000;
    await writeRun(t, "big", { bars: { kind: "candlestick" }, mid: { kind: "line" } });
    for (let from = 0; from < n; from += 5000) {
      const idx = range(5000, from);
      await xadd(t, t.keys.series("big", "bars"), ohlcFields(idx.map(at), idx.map((i) => 100 + Math.sin(i / 50) * 10)));
      await xadd(t, t.keys.series("big", "mid"), lineFields(idx.map(at), idx.map((i) => 100 + Math.cos(i / 50) * 10)));
    }
    chart = await openChart(browser, t.server);
    const first = await chart.until((s) => s.fetches === 1 && s.held !== null && s.series.every((x) => x.points > 0), "first load");
    const width = first.held?.maxPoints ?? 0;
    const bars = first.series.find((x) => x.id === "bars");
    assert.ok(first.held !== null && first.held.fromUs === null && first.held.toUs === null, "the whole run first");
    assert.ok(bars !== undefined && bars.bucketUs > 0 && bars.points <= width, `decimated to at most ${width} bars, got ${bars?.points}`);

    // Zoom to 200 minutes: the held window (visible ± one width) is fetched raw.
    await chart.page.evaluate(([from, to]) => (globalThis as unknown as Hooked).__chartbridge.setVisibleRange(from, to), [us(10_000), us(10_200)]);
    const zoomed = await chart.until((s) => s.fetches === 2 && s.series.every((x) => x.bucketUs === 0), "refetch after zoom");
    const held = zoomed.held;
    assert.ok(held !== null && held.fromUs !== null && held.toUs !== null);
    const expected = range(n).filter((i) => us(i) >= (held.fromUs ?? 0) && us(i) <= (held.toUs ?? 0));
    for (const x of zoomed.series) {
      assert.deepEqual([x.points, x.firstUs, x.lastUs], [expected.length, us(expected[0]), us(expected[expected.length - 1])], x.id);
    }
    assert.ok(expected.length >= 400 && expected.length <= 800, `about three visible widths held, got ${expected.length}`);
    const visible = zoomed.visible;
    // The first zoom snapped to the coarse bars then held; within one coarse bucket of the request.
    const coarse = bars.bucketUs;
    assert.ok(visible !== null && Math.abs(visible.fromUs - us(10_000)) <= coarse && Math.abs(visible.toUs - us(10_200)) <= coarse, `the view stayed: ${JSON.stringify(visible)}`);

    // Scrolling inside the held window needs no request; zooming out with the wheel does.
    await chart.page.mouse.move(600, 300);
    for (let i = 0; i < 20; i++) await chart.page.mouse.wheel(0, 1000);
    const out = await chart.until((s) => s.fetches >= 3, "refetch after wheel zoom-out");
    assert.ok(out.series.every((x) => x.points <= (out.held?.maxPoints ?? 0) * 2), "never more than the budget");
    await chart.screenshot("webview-zoom");
  });

  it("hot-reloads a plugin without a page reload, keeping the zoom; a broken one leaves the last good running", async () => {
    await writeRun(t, "plug", { price: { kind: "line" } });
    await xadd(t, t.keys.series("plug", "price"), lineFields(range(100).map(at), range(100)));
    const file = join(pluginsDir, "band.js");
    const plugin = (version: string, body = "") => `export default function setup(ctx) {
      const s = ctx.addSeries(ctx.lwc.LineSeries, { color: "#ff00ff" }, "band");
      ctx.onData("price", (points) => s.setData(points.map((p) => ({ time: p.time, value: p.value + ${version.length} }))));
      ctx.log("${version} up with " + ctx.data("price").length + " points");
      ${body}
      return { dispose() { globalThis.__disposed = (globalThis.__disposed ?? []).concat("${version}"); } };
    }\n`;
    writeFileSync(file, plugin("v1"));

    chart = await openChart(browser, t.server);
    let s = await chart.until((s) => s.plugins.some((p) => p.name === "band" && p.running === 1), "plugin v1 running");
    assert.deepEqual(s.plugins.find((p) => p.name === "band")?.logs, ["v1 up with 100 points"]);
    assert.equal(s.panes, 2, "the plugin's own pane");
    await chart.page.evaluate(([from, to]) => {
      const g = globalThis as unknown as Hooked & { __sameDocument: boolean };
      g.__sameDocument = true;
      g.__chartbridge.setVisibleRange(from, to);
    }, [us(40), us(60)]);
    const zoom = (await chart.until((s) => s.visible !== null && Math.abs(s.visible.fromUs - us(40)) <= 60e6, "zoomed")).visible;

    writeFileSync(file, plugin("v2"));
    s = await chart.until((s) => s.plugins.some((p) => p.name === "band" && p.running === 2), "plugin v2 running");
    const g = await chart.page.evaluate(() => {
      const x = globalThis as unknown as { __sameDocument?: boolean; __disposed?: string[] };
      return { same: x.__sameDocument ?? false, disposed: x.__disposed ?? [] };
    });
    assert.deepEqual(g, { same: true, disposed: ["v1"] }, "v1 disposed in the same document");
    assert.deepEqual(s.plugins.find((p) => p.name === "band")?.logs, ["v1 up with 100 points", "v2 up with 100 points"]);
    assert.equal(s.panes, 2, "v1's pane was removed with it, v2 made its own");
    assert.deepEqual(s.visible, zoom, "the zoom survived the reload");

    // A syntax error: the server keeps the last good build and reports; v2 keeps running.
    writeFileSync(file, "export default function setup(ctx) { ctx.log('broken' ; }\n");
    s = await chart.until((s) => (s.plugins.find((p) => p.name === "band")?.error ?? "") !== "", "build error shown");
    assert.match(s.plugins.find((p) => p.name === "band")?.error ?? "", /band\.js:1:\d+: Expected "\)" but found ";"/);
    assert.equal(s.plugins.find((p) => p.name === "band")?.running, 2);

    // Builds but throws in setup: v3 is undone and v2 set up again.
    writeFileSync(file, plugin("v3", 'throw new Error("v3 exploded");'));
    s = await chart.until((s) => /v3 exploded/.test(s.plugins.find((p) => p.name === "band")?.error ?? ""), "setup error shown");
    const band = s.plugins.find((p) => p.name === "band");
    assert.equal(band?.running, 2);
    assert.match(band?.error ?? "", /band v\d+ failed in setup: v3 exploded/);
    assert.equal(s.panes, 2, "v3's series were removed");
    const panel = await chart.page.evaluate(() => {
      const d = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } }).document;
      return d.querySelector('.cb-plugin[data-plugin="band"] .cb-plugin-error')?.textContent ?? "";
    });
    assert.match(panel, /v3 exploded/, "the error is in the panel");
    await chart.screenshot("webview-plugin");
  });

  it("shows a banner when the server goes away, reconnects by itself, and follows the VS Code theme", async () => {
    await writeRun(t, "conn", { price: { kind: "line" } });
    await xadd(t, t.keys.series("conn", "price"), lineFields(range(10).map(at), range(10)));
    chart = await openChart(browser, t.server);
    await chart.until((s) => s.series[0]?.points === 10 && s.banner === null, "loaded");

    const { port, token } = t.server;
    await t.server.close();
    await chart.until((s) => s.connection !== "connected" && /lost/.test(s.banner ?? ""), "banner");
    const restarted = await startServer({ redisUrl: testRedis().url, prefix: t.prefix, port, token, webviewBundle: WEBVIEW_BUNDLE, pluginsDir: null, builtinPluginsDir: null, log: () => {} });
    // The harness's close() would close the first server again; this test owns the second one.
    t.close = async () => {
      await restarted.close();
      await t.ws.dispose();
      t.redis.disconnect();
    };
    await xadd(t, t.keys.series("conn", "price"), lineFields([at(10)], [10]));
    const s = await chart.until((s) => s.connection === "connected" && s.banner === null && s.series[0]?.points === 11, "reconnected and live again", 15_000);
    assert.equal(s.series[0]?.lastUs, us(10));

    // VS Code swaps body classes and CSS variables on a theme change.
    const bg = await chart.page.evaluate(async () => {
      const d = (globalThis as unknown as { document: { body: { className: string; style: { setProperty(n: string, v: string): void } }; documentElement: unknown } }).document;
      d.body.style.setProperty("--vscode-editor-background", "#123456");
      d.body.className = "vscode-dark";
      await new Promise((r) => setTimeout(r, 50));
      const css = (globalThis as unknown as { getComputedStyle(e: unknown): { getPropertyValue(n: string): string } }).getComputedStyle(d.documentElement);
      return css.getPropertyValue("--cb-bg").trim();
    });
    assert.equal(bg, "#123456");
    // The reconnect dropped one socket on purpose; the browser logs that as a console error.
    chart.problems.splice(0);
  });
  it("remembers pane heights dragged and legends folded per strategy, restored when a run of it opens", async () => {
    // In a browser tab they live in localStorage (in VS Code: the panel's state, the same PaneLayout).
    const run = async (id: string, strategy: string) => {
      await writeRun(t, id, { bars: { kind: "candlestick" }, "equity:SIM:USD": { kind: "line", pane: "equity" } });
      await t.redis.hset(t.keys.manifest(id), "strategy", strategy);
      await xadd(t, t.keys.series(id, "bars"), ohlcFields(range(30).map(at), range(30).map((i) => 100 + (i % 7))));
      await xadd(t, t.keys.series(id, "equity:SIM:USD"), lineFields(range(30).map(at), range(30).map((i) => 1000 + i)));
    };
    await Promise.all([run("ema-1", "ema-cross"), run("ema-2", "ema-cross"), run("other-1", "breakout")]);
    const c = (chart = await openChart(browser, t.server, undefined, "ema-1"));
    const layout = () =>
      c.page.evaluate(() => ({
        heights: (globalThis as unknown as Hooked).__chartbridge.paneBoxes().map((b) => Math.round(b.bottom - b.top)),
        folded: [...document.querySelectorAll(".cb-legend")].map((l) => l.classList.contains("cb-collapsed")),
      }));
    const open = async (id: string) => {
      await c.page.goto(`${t.server.url}/?token=${t.server.token}&run=${id}`);
      await c.until((s) => s.run === id && s.series.every((x) => x.points === 30), `run ${id} drawn`);
      return layout();
    };
    const before = await open("ema-1");
    assert.deepEqual(before.folded, [false, false]);
    // The separator is the strip between the two panes; drag it 120 px down, then fold the equity legend.
    const [price] = await c.page.evaluate(() => (globalThis as unknown as Hooked).__chartbridge.paneBoxes());
    const x = (price.left + price.right) / 2;
    await c.page.mouse.move(x, price.bottom + 1);
    await c.page.mouse.down();
    await c.page.mouse.move(x, price.bottom + 61, { steps: 5 });
    await c.page.mouse.move(x, price.bottom + 121, { steps: 5 });
    await c.page.mouse.up();
    await c.page.click(".cb-legend[data-pane='1'] .cb-pane-title");
    const dragged = await layout();
    assert.ok(Math.abs(dragged.heights[0] - before.heights[0] - 120) <= 2, `price pane ${before.heights[0]} -> ${dragged.heights[0]} px, not 120 px taller`);
    assert.deepEqual(dragged.folded, [false, true]);

    assert.deepEqual(await open("other-1"), before, "another strategy opens with the defaults");
    const again = await open("ema-2");
    assert.deepEqual(again.folded, [false, true]);
    assert.ok(Math.abs(again.heights[0] - dragged.heights[0]) <= 1 && Math.abs(again.heights[1] - dragged.heights[1]) <= 1, `heights ${again.heights} after reopening, ${dragged.heights} left`);
  });
});
