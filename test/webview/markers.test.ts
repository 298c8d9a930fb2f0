/**
 * Markers at one time in headless Chromium against the real server (protocol/SPEC.md section 3:
 * markers are events): lightweight-charts holds every one, from history and live, and hovering one
 * lists all of them, as does the data window.
 */
import { strict as assert } from "node:assert";
import { writeRun, xadd } from "../harness/server.js";
import { chartSuitePerTest, markerFields, ohlcFields, openChart } from "./browser.js";

const T0 = 1_700_000_000_000_000_000n;
const MIN = 60_000_000_000n;
const at = (i: number) => T0 + BigInt(i) * MIN;
const us = (i: number) => Number(at(i) / 1000n);

interface Drawn {
  x: number | null;
  lane: string;
  text: string;
  time: number;
}

describe("webview: markers at one time are all drawn (headless Chromium, real server)", function () {
  this.timeout(30_000);
  const s = chartSuitePerTest();

  it("draws and lists every marker at one time, from history and live, each once", async () => {
    const { t } = s;
    await writeRun(t, "parts", { bars: { kind: "candlestick" }, fills: { kind: "marker", target: "bars" } });
    await xadd(t, t.keys.series("parts", "bars"), ohlcFields([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(at), [10, 11, 12, 13, 12, 11, 12, 13, 14, 15]));
    // Two partial fills at bar 3 in one entry, a third part at that time in the next, an exit at bar 6.
    await xadd(t, t.keys.series("parts", "fills"), markerFields([at(3), at(3)], [13, 13], [{ side: "buy", text: "BUY 1 @ 13" }, { side: "buy", text: "BUY 1 @ 13" }]));
    await xadd(t, t.keys.series("parts", "fills"), markerFields([at(3), at(6)], [14, 12], [{ side: "buy", text: "BUY 2 @ 14" }, { side: "sell", text: "SELL 4 @ 12" }]));
    const chart = (s.chart = await openChart(s.browser, t.server));
    await chart.until((st) => st.series.find((x) => x.id === "fills")?.points === 4, "the four markers held");
    const drawn = () => chart.page.evaluate(() => (globalThis as unknown as { __chartbridge: { drawnMarkers(id: string): Drawn[] } }).__chartbridge.drawnMarkers("bars"));
    // lightweight-charts holds all four: three stacked below bar 3, one above bar 6.
    assert.deepEqual((await drawn()).map((m) => [m.time, m.lane]), [[us(3), "belowBar"], [us(3), "belowBar"], [us(3), "belowBar"], [us(6), "aboveBar"]]);

    // Live: a further part at bar 6, the time of the last marker, is a marker of its own.
    await xadd(t, t.keys.series("parts", "fills"), markerFields([at(6)], [12], [{ side: "sell", text: "SELL 4 @ 12" }]));
    await chart.until((st) => st.series.find((x) => x.id === "fills")?.points === 5, "the live marker held");
    assert.deepEqual((await drawn()).map((m) => m.time), [us(3), us(3), us(3), us(6), us(6)]);

    // Hovering one of bar 3's markers (found down its column, as a user would) lists all three.
    const column = (await drawn())[0].x as number;
    const box = await chart.page.locator(".cb-chart").boundingBox();
    const pane = (await chart.page.evaluate(() => (globalThis as unknown as { __chartbridge: { paneBoxes(): { top: number; bottom: number }[] } }).__chartbridge.paneBoxes()))[0];
    let tip: string[] = [];
    for (let y = pane.top + 2; y < pane.bottom && tip.length === 0; y += 2) {
      await chart.page.mouse.move((box?.x ?? 0) + column, y);
      if ((await chart.page.locator(".cb-tooltip:not([hidden]) .cb-tooltip-head").count()) > 0) {
        tip = await chart.page.locator(".cb-tooltip").evaluate((e) => [...e.children].map((c) => c.textContent ?? ""));
      }
    }
    assert.equal(tip[0], "3 markers at 2023-11-14 22:16:20");
    assert.deepEqual(tip.slice(1).map((row) => row.split("  ").slice(1)), [["BUY", "13", "BUY 1 @ 13"], ["BUY", "13", "BUY 1 @ 13"], ["BUY", "14", "BUY 2 @ 14"]]);

    // The data window at bar 3 lists each of its markers.
    await chart.page.click(".cb-data-toggle");
    await chart.page.mouse.move((box?.x ?? 0) + column, pane.top + 40);
    await chart.page.locator('.cb-dw-row[data-series="fills"]').first().waitFor({ timeout: 5000 });
    const rows = await chart.page.locator('.cb-dw-row[data-series="fills"]').evaluateAll((els) => els.map((e) => [...e.children].map((x) => x.textContent).join("=")));
    assert.deepEqual(rows, ["fills=BUY 1 @ 13", "fills=BUY 1 @ 13", "fills=BUY 2 @ 14"]);

    // A chart opened after the live merge (a range read) holds each marker once.
    const again = await openChart(s.browser, t.server);
    try {
      await again.until((st) => st.series.find((x) => x.id === "fills")?.points === 5, "the five markers held");
      const times = await again.page.evaluate(() => (globalThis as unknown as { __chartbridge: { drawnMarkers(id: string): Drawn[] } }).__chartbridge.drawnMarkers("bars").map((m) => m.time));
      assert.deepEqual(times, [us(3), us(3), us(3), us(6), us(6)]);
      assert.deepEqual(again.problems.filter((p) => !p.includes("WebSocket")), []);
    } finally {
      await again.page.close();
    }
  });
});
