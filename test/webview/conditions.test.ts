/**
 * Conditions drawn in Chromium: recorded per bar by a real Python process (`cb.condition` in a
 * `@cb.signals` function, test/fixtures/conditions_run.py), listed green/red at the debugger's time
 * cursor (its tooltip and the data window), and the filter marking exactly the bars where the
 * chosen conditions all held.
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { testRedis } from "../harness/rootHooks.js";
import { chartSuitePerTest, openChart, ROOT } from "./browser.js";

const T0 = 1_700_000_000_000_000_000n;
const N = 60;
const us = (i: number) => Number((T0 + BigInt(i) * 60_000_000_000n) / 1000n);
/** The page's light theme (theme.ts): up and down as CSS computes them. */
const GREEN = "rgb(8, 153, 129)";
const RED = "rgb(242, 54, 69)";

describe("webview: conditions (why a signal did not fire)", function () {
  this.timeout(60_000);
  const suite = chartSuitePerTest();

  it("lists the conditions at the cursor's bar green/red, and marks exactly the bars where the chosen ones all held", async () => {
    await promisify(execFile)(join(ROOT, ".venv", "bin", "python"), [join(ROOT, "test", "fixtures", "conditions_run.py"), testRedis().url, suite.t.prefix, "cond", String(T0), String(N)]);
    suite.chart = await openChart(suite.browser, suite.t.server);
    const page = suite.chart.page;
    const s = await suite.chart.until((st) => st.series.find((x) => x.id === "Bars.on_bar")?.points === N && st.series.filter((x) => x.id.startsWith("Bars.entry:")).every((x) => x.points > 0), "the run drawn");
    // Conditions are held, not drawn: the one lightweight-charts series is the bars' line.
    assert.deepEqual(s.paneSeries, [[N]]);
    assert.equal(await page.locator(".cb-legend-row").count(), 2, "no legend rows for conditions");
    const hook = (js: string) => page.evaluate(`globalThis.__chartbridge.${js}`);
    await hook(`setVisibleRange(${us(0)}, ${us(N - 1)})`);

    // Paused at bar 9: even no, fourth not checked (only on even bars), not fifth yes, third yes.
    await page.locator(".cb-data-toggle").click();
    await hook(`hostMessage({ type: "timeCursor", payload: { timeUs: ${us(9)} } })`);
    await suite.chart.until((st) => st.timeCursorUs === us(9), "paused at bar 9");
    const listed = (root: string) => page.evaluate(`[...document.querySelectorAll("${root} .cb-cond")].map((r) => [r.querySelector(".cb-cond-name").textContent, r.querySelector(".cb-cond-state").textContent, getComputedStyle(r.querySelector(".cb-cond-state")).color])`);
    const bar9 = [["even", "✗ not held", RED], ["fourth", "–", "rgb(51, 51, 51)"], ["not fifth", "✓ held", GREEN], ["third", "✓ held", GREEN]];
    assert.deepEqual(await listed(".cb-cursor-label"), bar9);
    assert.deepEqual(await listed(".cb-datawindow"), bar9);
    const label = await page.locator(".cb-cursor-label").boundingBox();
    const chart = await page.locator(".cb-chart").boundingBox();
    const x9 = (await hook(`timeX(${us(9)})`)) as number;
    assert.ok(label !== null && chart !== null && Math.abs(label.x - chart.x - (Math.round(x9) + 6)) <= 1, "the tooltip sits beside the cursor's line");
    await hook(`hostMessage({ type: "timeCursor", payload: { timeUs: ${us(12)} } })`);
    await suite.chart.until((st) => st.timeCursorUs === us(12), "stepped to bar 12");
    assert.deepEqual(((await listed(".cb-cursor-label")) as string[][]).map((r) => r[1]), ["✓ held", "✓ held", "✓ held", "✓ held"]);
    await suite.chart.screenshot("webview-conditions-cursor");

    // The filter: even and third held together on every sixth bar, 10 of the 60.
    await page.locator(".cb-cond-summary").click();
    assert.deepEqual(await page.locator(".cb-cond-option").allTextContents(), [" even", " fourth", " not fifth", " third"]);
    await page.locator(".cb-cond-option", { hasText: "even" }).locator("input").check();
    await page.locator(".cb-cond-option", { hasText: "third" }).locator("input").check();
    const sixth = Array.from({ length: N }, (_, i) => i).filter((i) => i % 6 === 0);
    await suite.chart.until((st) => st.conditionFilter?.count === 10, "10 bars where both held");
    assert.equal(await page.locator(".cb-cond-count").textContent(), "10 bars where all held");
    assert.deepEqual((await suite.chart.state()).conditionFilter, { chosen: ["Bars.entry:even", "Bars.entry:third"], count: 10, bucketUs: 0, times: sixth.map(us) });
    await new Promise((r) => setTimeout(r, 150));
    const marks = (await hook("conditionMarks()")) as { x: number; width: number }[];
    const xs = (await Promise.all(sixth.map((i) => hook(`timeX(${us(i)})`)))) as number[];
    assert.deepEqual(marks.map((m) => Math.round(m.x)), xs.map(Math.round), "one band on each of the 10 bars, nowhere else");
    // A third condition narrows it: bar 30 is a fifth.
    await page.locator(".cb-cond-option", { hasText: "not fifth" }).locator("input").check();
    await suite.chart.until((st) => st.conditionFilter?.count === 8, "8 bars where all three held");
    assert.deepEqual((await suite.chart.state()).conditionFilter?.times, sixth.filter((i) => i % 5 !== 0).map(us));
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(((await hook("conditionMarks()")) as unknown[]).length, 8);
    await suite.chart.screenshot("webview-conditions-filter");
  });
});
