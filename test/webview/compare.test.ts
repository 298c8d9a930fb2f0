import { strict as assert } from "node:assert";
import { formatTime } from "../../src/webview/time.js";
import { lineFields, writeRun, xadd } from "../harness/server.js";
import { chartSuitePerTest, openChart } from "./browser.js";

const T0 = 1_700_000_000_000_000_000n;
const MIN = 60_000_000_000n;
const at = (i: number) => T0 + BigInt(i) * MIN;
const us = (i: number) => Number(at(i) / 1000n);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const N = 100;
const DIVERGES_AT = 37;

const identity = (fast: number, commit: string) =>
  JSON.stringify({ params: { fast, slow: 20 }, git: { root: "/repo", commit, dirty: false, diff_hash: null }, data: [], versions: { python: "3.13.0" } });

describe("webview: comparing runs in headless Chromium against the real server", function () {
  this.timeout(60_000);
  const suite = chartSuitePerTest();

  it("overlays the other run's same-named series dashed, heads with the first divergence, tables statistics and parameters", async () => {
    // Two runs of one line, equal until bar 37, then the second one 5 higher.
    for (const [run, fast, commit, shift] of [["old", 10, "a".repeat(40), 0], ["new", 12, "b".repeat(40), 5]] as const) {
      await writeRun(suite.t, run, { price: { kind: "line", color: "#00ff00" } });
      await suite.t.redis.hset(suite.t.keys.manifest(run), "identity", identity(fast, commit));
      await xadd(suite.t, suite.t.keys.series(run, "price"), lineFields(range(N).map(at), range(N).map((i) => 100 + (i >= DIVERGES_AT ? shift : 0) + Math.sin(i / 6) * 10)));
      // The new run's one trade exits later; it also has a trade the old run lacks.
      const trades = [{ entry_t: String(at(10)), exit_t: String(at(shift ? 25 : 20)), side: "buy", pnl: 5 + shift }, ...(shift ? [{ entry_t: String(at(50)), exit_t: String(at(60)), side: "sell", pnl: -1 }] : [])];
      await suite.t.redis.set(suite.t.keys.results(run), JSON.stringify({ stats: { "PnL": 100 + shift, "Trades": 4 }, trades }));
    }
    suite.chart = await openChart(suite.browser, suite.t.server);
    await suite.chart.until((s) => s.run === "new" && s.series[0]?.points === N, "the newest run drawn");
    // Colour counts of the chart's canvases: the run's own line and the overlay's.
    const pixels = () => suite.chart!.page.evaluate(`(() => {
      const counts = { own: 0, overlay: 0 };
      for (const canvas of document.querySelectorAll(".cb-chart canvas")) {
        if (canvas.width === 0 || canvas.height === 0) continue;
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 0; i < data.length; i += 4) {
          const rgb = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
          if (rgb === 0x00ff00) counts.own++;
          if (rgb === 0xff9800) counts.overlay++;
        }
      }
      return counts;
    })()`) as Promise<{ own: number; overlay: number }>;
    const before = await pixels();
    assert.ok(before.own > 100, `the run's line is drawn: ${before.own}`);
    assert.equal(before.overlay, 0, "no overlay before comparing");

    await suite.chart.page.selectOption(".cb-compare-with", "old");
    const s = await suite.chart.until((x) => x.paneSeries[0]?.length === 2, "the overlay added to the price pane");
    assert.deepEqual(s.paneSeries[0], [N, N], "the overlay holds every point of the other run");
    await suite.chart.page.waitForSelector(".cb-compare-head");
    await new Promise((r) => setTimeout(r, 200));
    const after = await pixels();
    assert.ok(after.own > 100 && after.overlay > 50, `both lines drawn: ${JSON.stringify(after)}`);
    await suite.chart.screenshot("webview-compare");

    const text = (selector: string) => suite.chart!.page.$$eval(selector, (els) => els.map((e) => e.textContent));
    assert.deepEqual(await text(".cb-compare-head"), [`Runs agree until ${formatTime(us(DIVERGES_AT), "utc")}; first: price (old)`]);
    assert.equal((await text(".cb-compare-divergences li")).length, 1);
    // A column per run, then the delta of the other run from the shown one.
    assert.deepEqual(await text(".cb-compare-stats tr"), ["statisticnewoldΔ old", "PnL105100-5", "Trades440"]);
    assert.deepEqual(await text(".cb-compare-params tr"), ["parameternewold", "fast1210"]);
    assert.deepEqual(await text(".cb-compare-commits tr"), ["commitnewold", `${"b".repeat(10)}${"a".repeat(10)}`]);

    const time = (i: number) => formatTime(us(i), "utc");
    assert.deepEqual(await text(".cb-compare-trades li"), [
      "old: 1 trades against 2; 1 only in new, 0 only in old, 1 with other exit or PnL",
      `only in new: ${time(50)} sell pnl -1`,
      `${time(10)} buy pnl 10 → exit ${time(20)}, pnl 5`,
    ]);

    // Within a tolerance of 6 the lines agree (the new one is 5 higher).
    await suite.chart.page.fill(".cb-compare-tolerance", "6");
    await suite.chart.page.dispatchEvent(".cb-compare-tolerance", "change");
    await suite.chart.page.locator(".cb-compare-head", { hasText: "The runs agree on every series." }).waitFor({ timeout: 10_000 });
    await suite.chart.page.fill(".cb-compare-tolerance", "0");
    await suite.chart.page.dispatchEvent(".cb-compare-tolerance", "change");
    await suite.chart.page.locator(".cb-compare-head", { hasText: "Runs agree until" }).waitFor({ timeout: 10_000 });

    await suite.chart.page.click(".cb-compare-go");
    await suite.chart.until((x) => x.timeCursorUs === us(DIVERGES_AT), "the time cursor at the first divergence");

    await suite.chart.page.selectOption(".cb-compare-with", "");
    await suite.chart.until((x) => x.paneSeries[0]?.length === 1, "the overlay removed");
    assert.equal(await suite.chart.page.$(".cb-compare-head"), null);
  });
});
