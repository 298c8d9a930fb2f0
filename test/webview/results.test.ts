/**
 * The results view in headless Chromium: a run's statistics of several accounts (protocol/SPEC.md
 * sections 6 and 8: `<account id> | <name>`) are shown one table per account, and each trade says
 * whose it is.
 */
import { strict as assert } from "node:assert";
import type { Browser } from "playwright-core";
import { lineFields, startTestServer, writeRun, xadd, type TestServer } from "../harness/server.js";
import { buildBundle, launchBrowser, openChart, WEBVIEW_BUNDLE, type ChartPage } from "./browser.js";

const T0 = 1_700_000_000_000_000_000n;
const MIN = 60_000_000_000n;

describe("webview: the results view", function () {
  this.timeout(30_000);
  let browser: Browser;
  let t: TestServer;
  let chart: ChartPage;

  // One test: one browser and one server, closed after it.
  before(async () => {
    buildBundle();
    [browser, t] = await Promise.all([launchBrowser(), startTestServer({ webviewBundle: WEBVIEW_BUNDLE })]);
  });
  after(async () => {
    await chart?.page.close();
    await t?.close();
    await browser?.close();
  });

  it("shows each account's statistics in a table of its own, and the account of each trade", async () => {
    await writeRun(t, "accounts", { "equity:SIM:USD": { kind: "line" } });
    await xadd(t, t.keys.series("accounts", "equity:SIM:USD"), lineFields([T0, T0 + MIN], [1_000_000, 1_000_100]));
    const trade = (account: string, i: number) => ({ entry_t: String(T0 + BigInt(i) * MIN), exit_t: String(T0 + BigInt(i + 1) * MIN), side: "buy", entry_price: 1.1, exit_price: 1.2, pnl: 10, account });
    await t.redis.set(t.keys.results("accounts"), JSON.stringify({
      stats: { "SIM-001 | PnL (total) (USD)": 100, "SIM-001 | Long Ratio": 0.5, "BINANCE-001 | PnL (total) (USDT)": -3.5, "BINANCE-001 | Long Ratio": 1, Runtime: "2 days" },
      trades: [trade("SIM-001", 0), trade("BINANCE-001", 1)],
    }));
    chart = await openChart(browser, t.server);
    await chart.until((s) => s.run === "accounts" && s.series.some((x) => x.points === 2), "the run drawn");
    await chart.page.click(".cb-side-toggle");
    await chart.page.waitForSelector(".cb-stats");
    const view = await chart.page.evaluate(() => ({
      headings: [...document.querySelectorAll(".cb-results h3")].map((h) => h.textContent),
      tables: [...document.querySelectorAll<HTMLElement>(".cb-stats")].map((table) => ({
        group: table.dataset.group,
        rows: [...table.querySelectorAll("tr")].map((row) => [...row.querySelectorAll("td")].map((td) => td.textContent)),
      })),
      trades: [...document.querySelectorAll(".cb-trades tr")].map((row) => [...row.querySelectorAll("th, td")].map((cell) => cell.textContent)[0]),
    }));
    assert.deepEqual(view.headings, ["Statistics: SIM-001", "Statistics: BINANCE-001", "Statistics", "Trades (2)"]);
    assert.deepEqual(view.tables.map((x) => x.group), ["SIM-001", "BINANCE-001", ""]);
    assert.deepEqual(view.tables[0].rows.map(([name]) => name), ["PnL (total) (USD)", "Long Ratio"]);
    assert.deepEqual(view.tables[1].rows.map(([name]) => name), ["PnL (total) (USDT)", "Long Ratio"]);
    assert.deepEqual(view.tables[2].rows, [["Runtime", "2 days"]]);
    assert.deepEqual(view.trades, ["account", "SIM-001", "BINANCE-001"]);
    assert.deepEqual(chart.problems.filter((p) => !p.includes("WebSocket")), [], "console errors or CSP violations");
  });
});
