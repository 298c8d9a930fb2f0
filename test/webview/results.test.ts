/**
 * The results view in headless Chromium: a run's statistics of several accounts (protocol/SPEC.md
 * sections 6 and 8: `<account id> | <name>`) are shown one table per account, and each trade says
 * whose it is; a trade clicked or stepped to with n/p is zoomed to and drawn from entry to exit;
 * the equity pane carries its peak and maximum drawdown; the EMA-cross example is drawn whole and
 * zoomed to its first trade (the README's screenshots).
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { testRedis } from "../harness/rootHooks.js";
import { lineFields, writeRun, xadd } from "../harness/server.js";
import { chartSuitePerTest, ohlcFields, openChart, ROOT } from "./browser.js";
import { formatDuration, maxDrawdown } from "../../src/webview/spans.js";

const BARS = 5_000;

// The example's engine, published to the test's Redis under the test's prefix.
const BACKTEST = `
import sys
sys.path.insert(0, sys.argv[3])
import chartbridge as cb
from ema_cross import build_engine
cb.configure(url=sys.argv[1], prefix=sys.argv[2])
engine, _ = build_engine(int(sys.argv[4]))
engine.run()
assert cb.flush(10)
engine.dispose()
`;

const T0 = 1_700_000_000_000_000_000n;
const MIN = 60_000_000_000n;

describe("webview: the results view", function () {
  this.timeout(30_000);
  const s = chartSuitePerTest();

  it("shows each account's statistics in a table of its own, and the account of each trade", async () => {
    const t = s.t;
    await writeRun(t, "accounts", { "equity:SIM:USD": { kind: "line" } });
    await xadd(t, t.keys.series("accounts", "equity:SIM:USD"), lineFields([T0, T0 + MIN], [1_000_000, 1_000_100]));
    const trade = (account: string, i: number) => ({ entry_t: String(T0 + BigInt(i) * MIN), exit_t: String(T0 + BigInt(i + 1) * MIN), side: "buy", entry_price: 1.1, exit_price: 1.2, pnl: 10, account });
    await t.redis.set(t.keys.results("accounts"), JSON.stringify({
      stats: { "SIM-001 | PnL (total) (USD)": 100, "SIM-001 | Long Ratio": 0.5, "BINANCE-001 | PnL (total) (USDT)": -3.5, "BINANCE-001 | Long Ratio": 1, Runtime: "2 days" },
      trades: [trade("SIM-001", 0), trade("BINANCE-001", 1)],
    }));
    const chart = (s.chart = await openChart(s.browser, s.t.server));
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
  });

  it("zooms to a trade clicked, draws it from entry to exit, steps to the next and previous with n and p; marks the equity's peak and max drawdown", async () => {
    const t = s.t;
    const times = Array.from({ length: 60 }, (_, i) => T0 + BigInt(i) * MIN);
    await writeRun(t, "trades", { bars: { kind: "candlestick" }, "equity:SIM:USD": { kind: "line", pane: "equity" } });
    await xadd(t, t.keys.series("trades", "bars"), ohlcFields(times, times.map((_, i) => 100 + (i % 10))));
    // Peak 130 at minute 4; the deepest fall is 120 -> 90 (25 %) from minute 1, recovered at minute 4.
    await xadd(t, t.keys.series("trades", "equity:SIM:USD"), lineFields(times.slice(0, 6), [100, 120, 90, 110, 130, 100]));
    const trades = [
      { entry_t: String(times[10]), exit_t: String(times[20]), side: "buy", entry_price: 101, exit_price: 105, pnl: 4 },
      { entry_t: String(times[30]), exit_t: String(times[34]), side: "sell", entry_price: 108, exit_price: 109, pnl: -1 },
    ];
    await t.redis.set(t.keys.results("trades"), JSON.stringify({ stats: {}, trades }));
    const chart = (s.chart = await openChart(s.browser, s.t.server, undefined, "trades"));
    await chart.until((s) => s.run === "trades" && s.series.every((x) => x.points > 0), "the run drawn");
    await chart.page.click(".cb-side-toggle");
    await chart.page.waitForSelector(".cb-trade");
    const us = (i: number) => Number(times[i] / 1000n);
    const picked = () =>
      chart.page.evaluate(() => {
        const h = (window as unknown as { __chartbridge: { drawnSpans(): { trade: { label: string; x0: number | null; x1: number | null; y0: number | null; y1: number | null }[] } | null } }).__chartbridge;
        return { spans: h.drawnSpans(), selected: [...document.querySelectorAll(".cb-trade")].findIndex((r) => r.classList.contains("cb-selected")) };
      });

    await chart.page.click(".cb-trade[data-trade='0']");
    // The trade and as much again either side: minutes 0 to 30.
    await chart.until((x) => x.visible !== null && Math.abs(x.visible.fromUs - us(0)) < 1 && Math.abs(x.visible.toUs - us(30)) < 1, "zoomed to trade 1");
    await chart.screenshot("results-trade");
    let p = await picked();
    assert.equal(p.selected, 0);
    assert.equal(p.spans?.trade.length, 1);
    assert.equal(p.spans?.trade[0].label, "#1 buy 101 -> 105, pnl 4");
    const x = (tUs: number) => chart.page.evaluate((tt) => (window as unknown as { __chartbridge: { timeX(t: number): number | null } }).__chartbridge.timeX(tt), tUs);
    assert.equal(p.spans?.trade[0].x0, await x(us(10)));
    assert.equal(p.spans?.trade[0].x1, await x(us(20)));
    assert.ok(p.spans!.trade[0].y0! > p.spans!.trade[0].y1!, "the exit (105) is drawn above the entry (101)");

    await chart.page.focus(".cb-results");
    await chart.page.keyboard.press("n");
    await chart.until((x) => x.visible !== null && Math.abs(x.visible.fromUs - us(26)) < 1 && Math.abs(x.visible.toUs - us(38)) < 1, "zoomed to trade 2");
    p = await picked();
    assert.equal(p.selected, 1);
    assert.equal(p.spans?.trade[0].label, "#2 sell 108 -> 109, pnl -1");
    await chart.page.keyboard.press("n");
    assert.equal((await picked()).selected, 1, "n on the last trade stays on it");
    await chart.page.keyboard.press("p");
    await chart.until((x) => x.visible !== null && Math.abs(x.visible.fromUs - us(0)) < 1, "back to trade 1");
    assert.equal((await picked()).selected, 0);

    // The equity pane carries its peak and its maximum drawdown.
    const spans = await chart.page.evaluate(() => (window as unknown as { __chartbridge: { drawnSpans(): { equity: { label: string }[] } | null } }).__chartbridge.drawnSpans());
    assert.deepEqual(spans?.equity.map((e) => e.label), ["peak 130", "max drawdown -25.00% (30), 3m"]);
  });

  it("finds the maximum drawdown from the running peak, and says when it never recovered", () => {
    const pts = (ys: number[]) => ys.map((value, i) => ({ time: i * 60e6, value }));
    assert.deepEqual(maxDrawdown(pts([100, 120, 90, 110, 130, 100])), {
      peak: { t: 240e6, y: 130 }, start: { t: 60e6, y: 120 }, trough: { t: 120e6, y: 90 }, recoveryUs: 240e6, endUs: 300e6, depth: 0.25, durationUs: 180e6,
    });
    assert.deepEqual(maxDrawdown(pts([100, 80, 90])), { peak: { t: 0, y: 100 }, start: { t: 0, y: 100 }, trough: { t: 60e6, y: 80 }, recoveryUs: null, endUs: 120e6, depth: 0.2, durationUs: 120e6 });
    assert.equal(maxDrawdown(pts([1, 2, 3])), null);
    assert.equal(formatDuration(3 * 86_400e6 + 4 * 3_600e6 + 5 * 60e6), "3d 4h");
    assert.equal(formatDuration(2 * 3_600e6 + 7e6), "2h");
    assert.equal(formatDuration(45e6), "45s");
  });
  // The example a user runs first: the EMA-cross backtest of examples/nautilus-ema-cross (a real
  // NautilusTrader run through the Chartbridge actor). Its screenshots are the README's
  // (test-results/demo-zoomed-out.png and demo-zoomed-in.png, copied to docs/chart-demo-*.png).
  it("draws the EMA-cross example's run whole, and zoomed to its first trade from entry to exit", async function () {
    this.timeout(180_000);
    // Once in a fresh-clone CI run the view after the trade's zoom and its refetch was not the
    // trade's: the race the zoom test in chart.test.ts meets too, not found yet. One more try on a
    // fresh server and page; the reporter prints the first failure.
    this.retries(1);
    await promisify(execFile)(join(ROOT, ".venv", "bin", "python"), ["-c", BACKTEST, testRedis().url, s.t.prefix, join(ROOT, "examples", "nautilus-ema-cross"), String(BARS)], { maxBuffer: 64 << 20 });
    const c = (s.chart = await openChart(s.browser, s.t.server, { width: 1200, height: 700 }));
    const loaded = await c.until((s) => s.run !== null && s.series.length > 0 && s.series.every((x) => x.points > 0), "the run drawn", 30_000);
    const bars = loaded.series.find((s) => s.kind === "candlestick");
    assert.ok(bars, `a candle series among ${loaded.series.map((s) => s.id)}`);
    await c.page.waitForTimeout(300);
    await c.screenshot("demo-zoomed-out");

    await c.page.click(".cb-side-toggle");
    await c.page.waitForSelector(".cb-trade");
    const trades = await c.page.locator(".cb-trade").count();
    assert.ok(trades > 0, "the backtest traded");
    await c.page.click(".cb-trade[data-trade='0']");
    await c.until((s) => s.visible !== null && loaded.visible !== null && s.visible.toUs - s.visible.fromUs < (loaded.visible.toUs - loaded.visible.fromUs) / 10, "zoomed to the first trade");
    const spans = await c.page.evaluate(() => (window as unknown as { __chartbridge: { drawnSpans(): { trade: { label: string; x0: number | null; x1: number | null }[]; equity: { label: string }[] } | null } }).__chartbridge.drawnSpans());
    assert.equal(spans?.trade.length, 1);
    assert.match(spans?.trade[0].label ?? "", /^#1 /);
    assert.ok(spans?.trade[0].x0 !== null && spans?.trade[0].x1 !== null, "entry and exit on screen");
    const equity = spans?.equity.map((e) => e.label).join(" | ") ?? "";
    assert.match(equity, /peak 1,00\d,\d{3}\.\d\d USD/, "the equity's peak, in USD at cents");
    assert.match(equity, /max drawdown -\d+\.\d\d% \([\d,]+\.\d\d USD\), \d+[dhms]/, "its max drawdown: depth, amount, duration");
    await c.page.waitForTimeout(300);
    await c.screenshot("demo-zoomed-in");
    assert.deepEqual(c.problems.filter((m) => !m.includes("WebSocket")), [], "console errors or CSP violations");
  });
});
