/**
 * Pane heights and folded legends remembered per strategy, in headless Chromium (a browser tab:
 * the layout lives in localStorage; in VS Code the panel's state, the same PaneLayout): drag the
 * separator between the price and equity panes and fold the equity legend on one run, open
 * another run of the same strategy and find both as left; a run of another strategy opens with
 * the defaults.
 */
import { strict as assert } from "node:assert";
import type { Browser } from "playwright-core";
import { lineFields, startTestServer, writeRun, xadd, type TestServer } from "../harness/server.js";
import { buildBundle, launchBrowser, ohlcFields, openChart, WEBVIEW_BUNDLE, type ChartPage } from "./browser.js";

const T0 = 1_700_000_000_000_000_000n;
const MIN = 60_000_000_000n;

describe("webview: pane heights and folded legends per strategy", function () {
  this.timeout(30_000);
  let browser: Browser;
  let t: TestServer;
  let chart: ChartPage;

  before(async () => {
    buildBundle();
    [browser, t] = await Promise.all([launchBrowser(), startTestServer({ webviewBundle: WEBVIEW_BUNDLE })]);
  });
  after(async () => {
    await chart?.page.close();
    await t?.close();
    await browser?.close();
  });

  async function run(id: string, strategy: string): Promise<void> {
    const times = Array.from({ length: 30 }, (_, i) => T0 + BigInt(i) * MIN);
    await writeRun(t, id, { bars: { kind: "candlestick" }, "equity:SIM:USD": { kind: "line", pane: "equity" } });
    await t.redis.hset(t.keys.manifest(id), "strategy", strategy);
    await xadd(t, t.keys.series(id, "bars"), ohlcFields(times, times.map((_, i) => 100 + (i % 7))));
    await xadd(t, t.keys.series(id, "equity:SIM:USD"), lineFields(times, times.map((_, i) => 1000 + i)));
  }

  async function open(id: string): Promise<{ heights: number[]; folded: boolean[] }> {
    await chart.page.goto(`${t.server.url}/?token=${t.server.token}&run=${id}`);
    await chart.until((s) => s.run === id && s.series.every((x) => x.points === 30), `run ${id} drawn`);
    return layout();
  }

  const layout = () =>
    chart.page.evaluate(() => ({
      heights: (window as unknown as { __chartbridge: { paneBoxes(): { top: number; bottom: number }[] } }).__chartbridge.paneBoxes().map((b) => Math.round(b.bottom - b.top)),
      folded: [...document.querySelectorAll(".cb-legend")].map((l) => l.classList.contains("cb-collapsed")),
    }));

  it("restores the heights dragged and the legend folded when a run of the same strategy opens", async () => {
    await Promise.all([run("ema-1", "ema-cross"), run("ema-2", "ema-cross"), run("other-1", "breakout")]);
    chart = await openChart(browser, t.server, undefined, "ema-1");
    const before = await open("ema-1");
    assert.deepEqual(before.folded, [false, false]);
    // The separator is the strip between the two panes; drag it 120 px down.
    const [price] = await chart.page.evaluate(() => (window as unknown as { __chartbridge: { paneBoxes(): { bottom: number; left: number; right: number }[] } }).__chartbridge.paneBoxes());
    const x = (price.left + price.right) / 2;
    await chart.page.mouse.move(x, price.bottom + 1);
    await chart.page.mouse.down();
    await chart.page.mouse.move(x, price.bottom + 61, { steps: 5 });
    await chart.page.mouse.move(x, price.bottom + 121, { steps: 5 });
    await chart.page.mouse.up();
    await chart.page.click(".cb-legend[data-pane='1'] .cb-pane-title");
    const dragged = await layout();
    assert.ok(Math.abs(dragged.heights[0] - before.heights[0] - 120) <= 2, `price pane ${before.heights[0]} -> ${dragged.heights[0]} px, not 120 px taller`);
    assert.deepEqual(dragged.folded, [false, true]);

    const other = await open("other-1");
    assert.deepEqual(other, before, "another strategy opens with the defaults");
    const again = await open("ema-2");
    assert.deepEqual(again.folded, [false, true]);
    assert.ok(Math.abs(again.heights[0] - dragged.heights[0]) <= 1 && Math.abs(again.heights[1] - dragged.heights[1]) <= 1, `heights ${again.heights} after reopening, ${dragged.heights} left`);
    assert.deepEqual(chart.problems.filter((m) => !m.includes("WebSocket")), [], "console errors or CSP violations");
  });
});
