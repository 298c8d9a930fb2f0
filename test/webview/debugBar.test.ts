import { strict as assert } from "node:assert";
import { lineFields, writeRun, xadd } from "../harness/server.js";
import { chartSuitePerTest, markerFields, openChart } from "./browser.js";

const T0 = 1_700_000_000_000_000_000n;
const MIN = 60_000_000_000n;
const at = (i: number) => T0 + BigInt(i) * MIN;
const us = (i: number) => Number(at(i) / 1000n);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const SOURCE = { file: "/work/strategy.py", line: 12 };
/**
 * VS Code's webview API is not in a plain Chromium page: this stand-in records what the page posts
 * to its host (the real host is exercised by the e2e in code-server).
 */
const FAKE_VSCODE_API = "globalThis.__posted = []; globalThis.acquireVsCodeApi = () => ({ postMessage: (m) => globalThis.__posted.push(m), setState() {}, getState() { return undefined; } });";

describe("webview: debug by bar (the chart's context menu, the future dimmed while paused)", function () {
  this.timeout(30_000);
  const suite = chartSuitePerTest();

  it("dims the points after the paused time, offers Break Here / Run to This Bar / Step on a point, and posts the chosen one", async () => {
    await writeRun(suite.t, "dbg", { price: { kind: "line", source: SOURCE }, mark: { kind: "marker", target: "price" } });
    await xadd(suite.t, suite.t.keys.series("dbg", "price"), lineFields(range(100).map(at), range(100).map(() => 50)));
    await xadd(suite.t, suite.t.keys.series("dbg", "mark"), markerFields([at(20), at(60)], [50, 50], [{ side: null, text: "" }, { side: null, text: "" }]));
    suite.chart = await openChart(suite.browser, suite.t.server, undefined, undefined, FAKE_VSCODE_API);
    await suite.chart.until((s) => s.series.map((x) => `${x.id}:${x.points}`).join() === "mark:2,price:100", "the run drawn");
    const hook = (js: string) => suite.chart!.page.evaluate(`globalThis.__chartbridge.${js}`);
    await hook(`setVisibleRange(${us(0)}, ${us(99)})`);
    await new Promise((r) => setTimeout(r, 200));
    const bar20 = (await hook(`markerAt("mark", 0)`)) as { x: number; y: number };
    const bar60 = (await hook(`markerAt("mark", 1)`)) as { x: number; y: number };
    // The veil over the chart right of the cursor, in CSS px from the chart's left; null: hidden.
    const veil = () => suite.chart!.page.evaluate(`(() => {
      const v = document.querySelector(".cb-chart .cb-veil");
      if (v === null || getComputedStyle(v).display === "none") return null;
      const chart = document.querySelector(".cb-chart").getBoundingClientRect();
      const r = v.getBoundingClientRect();
      return { left: r.left - chart.left, right: r.right - chart.left, top: r.top - chart.top, bottom: r.bottom - chart.top, opacity: getComputedStyle(v).opacity };
    })()`) as Promise<{ left: number; right: number; top: number; bottom: number; opacity: string } | null>;
    assert.equal(await veil(), null, "nothing veiled before a pause");
    await hook(`hostMessage({ type: "timeCursor", payload: { timeUs: ${us(40)} } })`);
    await suite.chart.until((s) => s.timeCursorUs === us(40), "paused at bar 40");
    await new Promise((r) => setTimeout(r, 150));
    const shown = await veil();
    assert.ok(shown !== null, "the future is veiled while paused");
    const bar40x = (bar20.x + bar60.x) / 2;
    assert.ok(Math.abs(shown.left - (Math.round(bar40x) + 1)) <= 1, `the veil starts right of the cursor's line: ${shown.left} vs ${bar40x}`);
    assert.ok(shown.right > bar60.x + 100 && shown.top === 0 && shown.bottom > bar60.y, `it covers bar 60 and the rest: ${JSON.stringify(shown)}`);
    assert.equal(shown.opacity, "0.7");
    await suite.chart.screenshot("webview-debug-dimmed");

    const chartBox = await suite.chart.page.locator(".cb-chart").boundingBox();
    assert.ok(chartBox !== null);
    await suite.chart.page.mouse.move(chartBox.x + bar60.x, chartBox.y + bar60.y);
    await suite.chart.page.mouse.click(chartBox.x + bar60.x, chartBox.y + bar60.y, { button: "right" });
    const items = suite.chart.page.locator(".cb-debug-menu button");
    assert.deepEqual(await items.allTextContents(), [
      "Break Here on Next Run: price at 2023-11-14 23:13:20",
      "Run to This Bar: price at 2023-11-14 23:13:20",
      "Step to Next Bar",
    ]);
    await items.nth(1).click();
    assert.equal(await suite.chart.page.locator(".cb-debug-menu").isVisible(), false, "the menu closes");
    const posted = (await suite.chart.page.evaluate("globalThis.__posted.filter((m) => m.type === 'debugBar')")) as unknown[];
    assert.deepEqual(posted, [{ type: "debugBar", payload: { action: "runToBar", series: "price", timeUs: us(60), source: SOURCE } }]);

    // Resumed: nothing veiled, and a point before where the strategy was offers no "Run to".
    await hook(`hostMessage({ type: "timeCursor", payload: { timeUs: null } })`);
    await suite.chart.until((s) => s.timeCursorUs === null, "resumed");
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(await veil(), null, "nothing veiled once resumed");
    await suite.chart.page.mouse.click(chartBox.x + bar20.x, chartBox.y + bar20.y, { button: "right" });
    assert.deepEqual(await items.allTextContents(), ["Break Here on Next Run: price at 2023-11-14 22:33:20"]);
  });
});
