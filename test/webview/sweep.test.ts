import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { testRedis } from "../harness/rootHooks.js";
import { chartSuitePerTest, openChart, ROOT } from "./browser.js";

const run = promisify(execFile);
type Published = Record<string, { params: { fast: number; slow: number }; stats: { PnL: number; Trades: number; "Win rate": number } }>;
/** How the table shows a number (six significant digits). */
const shown = (v: number) => String(Number(v.toPrecision(6)));

describe("webview: a parameter sweep of 50 runs written by the Python SDK, in headless Chromium", function () {
  this.timeout(120_000);
  const suite = chartSuitePerTest();

  it("tables every run's params and statistics, sorts, filters, draws the grid's heatmap and compares ticked rows", async () => {
    const { stdout } = await run(join(ROOT, ".venv", "bin", "python"), [join(ROOT, "test", "fixtures", "python_sweep.py"), testRedis().url, suite.t.prefix]);
    const published = JSON.parse(stdout) as Published;
    const newestFirst = Object.keys(published).reverse();
    suite.chart = await openChart(suite.browser, suite.t.server);
    await suite.chart.until((s) => s.run === "sweep-f10-s30", "the newest run shown");
    await suite.chart.page.click(".cb-sweep-open");
    const page = suite.chart.page;
    const rows = async () => page.$$eval(".cb-sweep-table tr", (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? "")));
    await page.waitForFunction(() => document.querySelectorAll(".cb-sweep-table tr").length === 51);
    const [head, ...body] = await rows();
    assert.deepEqual(head, ["", "run", "fast", "mode", "slow", "PnL", "Trades", "Win rate"]);
    const expected = (id: string) => {
      const p = published[id];
      return ["", id, String(p.params.fast), '{"long_only":true}', String(p.params.slow), shown(p.stats.PnL), String(p.stats.Trades), shown(p.stats["Win rate"])];
    };
    assert.deepEqual(body, newestFirst.map(expected));
    assert.equal(await page.textContent(".cb-sweep-status"), "50 of 50 runs");

    // Sorted by PnL: ascending, then descending (ties keep the newest-first order).
    const byPnl = (sign: number) => [...newestFirst].sort((a, b) => sign * (published[a].stats.PnL - published[b].stats.PnL));
    await page.click('.cb-sweep-sort[data-column="PnL"]');
    assert.deepEqual((await rows()).slice(1).map((r) => r[1]), byPnl(1));
    assert.equal((await rows())[0][5], "PnL ▲");
    await page.click('.cb-sweep-sort[data-column="PnL"]');
    assert.deepEqual((await rows()).slice(1).map((r) => r[1]), byPnl(-1));

    await page.fill(".cb-sweep-filter", "fast >= 6, slow < 20");
    const kept = byPnl(-1).filter((id) => published[id].params.fast >= 6 && published[id].params.slow < 20);
    assert.equal(kept.length, 12);
    assert.deepEqual((await rows()).slice(1).map((r) => r[1]), kept);
    assert.equal(await page.textContent(".cb-sweep-status"), "12 of 50 runs");
    await page.fill(".cb-sweep-filter", "sharpe > 1");
    assert.equal(await page.textContent(".cb-sweep-status"), 'filter "sharpe > 1": no column sharpe');

    // fast x slow is a full 5 x 10 grid: one cell per run, its PnL.
    const heat = await page.$$eval(".cb-sweep-heatmap tr", (trs) => trs.map((tr) => [...tr.children].map((c) => [c.textContent ?? "", (c as HTMLElement).dataset.run ?? ""])));
    assert.deepEqual(heat[0].map((c) => c[0]), ["slow \\ fast", "2", "4", "6", "8", "10"]);
    assert.equal(heat.length, 11);
    for (const [j, slow] of [12, 14, 16, 18, 20, 22, 24, 26, 28, 30].entries()) {
      const id = (fast: number) => `sweep-f${fast}-s${slow}`;
      assert.deepEqual(heat[j + 1], [[String(slow), ""], ...[2, 4, 6, 8, 10].map((f) => [shown(published[id(f)].stats.PnL), id(f)])]);
    }
    await page.selectOption(".cb-sweep-heat-stat", "Trades");
    assert.equal(await page.textContent('.cb-sweep-heatmap td[data-run="sweep-f2-s12"]'), String(published["sweep-f2-s12"].stats.Trades));

    // Two ticked rows: the first in table order is the base of the compare.
    await page.fill(".cb-sweep-filter", "");
    await page.check('.cb-sweep-table tr[data-run="sweep-f8-s30"] input');
    await page.check('.cb-sweep-table tr[data-run="sweep-f2-s12"] input');
    await page.click(".cb-sweep-compare");
    await suite.chart.until((s) => s.run === "sweep-f8-s30", "the first ticked run shown as the base");
    await page.waitForSelector(".cb-compare-stats");
    const stats = await page.$$eval(".cb-compare-stats tr", (trs) => trs.map((tr) => tr.textContent));
    assert.equal(stats[0], "statisticsweep-f8-s30sweep-f2-s12Δ sweep-f2-s12");
  });
});
