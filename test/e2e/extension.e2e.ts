/**
 * The extension as a user gets it: the .vsix installed into a real VS Code (code-server) in
 * Chromium, on a workspace whose strategy published a run into a private Redis through the
 * Python SDK. Run by scripts/test-e2e.sh (which installs code-server and packages the .vsix first).
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPrivateRedis, type PrivateRedis } from "../../src/server/privateRedis.js";
import type { HookState } from "../../src/webview/hookState.js";
import { openWorkbench, ROOT, serverPids, type Workbench } from "./codeServer.js";

const VSIX = join(ROOT, "chartbridge.vsix");
const PYTHON = join(ROOT, ".venv", "bin", "python");
const FIXTURE = join(__dirname, "fixtures", "workspace");
/** Runs `action`, after which the chart must be a page loaded anew (VS Code discards a hidden or closed webview's page). */
async function reloadsChart(wb: Workbench, action: () => Promise<void>): Promise<void> {
  await (await wb.chart()).evaluate(() => Object.assign(window, { __discarded: true }));
  await action();
  const fresh = async () => !(await (await wb.chart()).evaluate(() => "__discarded" in window).catch(() => true));
  for (let i = 0; i < 100 && !(await fresh()); i++) await wb.page.waitForTimeout(100);
  assert.ok(await fresh(), "the chart's page was loaded anew");
}

/** Opens `file` (not open yet) over the chart's tab, shows the chart again, and closes the file. */
const coverChart = (wb: Workbench, file: string) =>
  reloadsChart(wb, async () => {
    const tab = wb.page.locator(".tab", { hasText: "Chartbridge" });
    await tab.click();
    await wb.openFile(file);
    const cover = wb.page.locator(`.tab[data-resource-name="${file}"]`);
    await cover.and(wb.page.locator(".tab.active")).waitFor({ timeout: 15_000 });
    await tab.click();
    // An inactive tab's close button takes clicks only while the tab is hovered.
    await cover.hover();
    await cover.getByRole("button", { name: /^Close/ }).click();
    await cover.waitFor({ state: "detached", timeout: 15_000 });
  });

const plugin = (version: string) => `export default function setup(ctx) { ctx.log("band ${version}"); return { dispose() {} }; }\n`;

describe("e2e: the .vsix in code-server", function () {
  this.timeout(180_000);
  let redis: PrivateRedis;
  let wb: Workbench;

  before(async () => {
    redis = await startPrivateRedis();
    // The strategy itself publishes the run, through the real Python SDK.
    execFileSync(PYTHON, ["strategy.py"], { cwd: FIXTURE, env: { ...process.env, CHARTBRIDGE_REDIS_URL: redis.url } });
    // A second, newer run of one point (its breakpoint() off outside the debugger).
    execFileSync(PYTHON, ["debug_me.py"], { cwd: FIXTURE, env: { ...process.env, CHARTBRIDGE_REDIS_URL: redis.url, PYTHONBREAKPOINT: "0" } });
  });
  after(async () => {
    await redis?.stop();
  });
  afterEach(async function () {
    const test = this.currentTest;
    // A failed try that mocha will retry (scripts/test-e2e.sh: --retries 1) is left without a state.
    if (test === undefined || test.state === "passed" || test.state === "pending") return;
    await wb?.shot(`failed-${test.title.slice(0, 40).replace(/\W+/g, "-")}`).catch(() => {});
    // A failed try is tried once more (test/harness/retry-reporter.cjs prints why), and what it left (a dialog,
    // a paused debug session, focus in the chart) must fail neither its retry nor the tests after it.
    await wb?.reset().catch((e: unknown) => console.log(`      e2e: could not reset the workbench: ${String(e)}`));
  });

  describe("trusted workspace", () => {
    before(async () => {
      // The Python extension, which runs debugpy for VS Code, cannot be installed offline: a
      // test extension runs the same debugpy adapter (from PyPI, in the venv) for the debugger test.
      const adapter = join(mkdtempSync(join(tmpdir(), "cb-debugpy-")), "debugpy-adapter.vsix");
      execFileSync(join(ROOT, "node_modules", ".bin", "vsce"), ["package", "--allow-missing-repository", "--skip-license", "-o", adapter], { cwd: join(__dirname, "fixtures", "debugpy-adapter"), stdio: "pipe" });
      process.env.CHARTBRIDGE_E2E_PYTHON = PYTHON;
      // The extension's discovery records for notebooks go here, not into this machine's runtime dir.
      process.env.CHARTBRIDGE_RUNTIME_DIR = join(mkdtempSync(join(tmpdir(), "cb-runtime-")), "chartbridge");
      wb = await openWorkbench({ vsix: VSIX, moreVsix: [adapter], fixture: FIXTURE, settings: { "security.workspace.trust.enabled": false, "chartbridge.redisUrl": redis.url, "chartbridge.autoOpen": false } });
      mkdirSync(join(wb.workspace, ".chartbridge", "plugins"), { recursive: true });
      writeFileSync(join(wb.workspace, ".chartbridge", "plugins", "band.js"), plugin("v1"));
    });
    after(() => wb?.close());

    it("shows the CodeLens over @cb.chart, and Show chart opens the run beside the editor", async () => {
      const { page } = wb;
      await wb.openFile("strategy.py");
      const show = page.locator(".codelens-decoration a", { hasText: "Show chart" });
      await show.first().waitFor({ timeout: 60_000 });
      assert.equal(await show.count(), 2, "one lens per charted function");
      await show.first().click();
      // The lens' series is revealed in the new panel (its legend row flashes) once the chart is there.
      await (await wb.chart()).locator('.cb-legend-row.cb-flash[data-series="EMACross.mid"]').waitFor({ timeout: 30_000 });
      const s = await wb.until("the run's series drawn", (st) => st.run === "e2e-run" && st.series.length >= 2 && st.series.every((x) => x.points > 0));
      assert.deepEqual(s.series.map((x) => x.id).sort(), ["EMACross.entries", "EMACross.fast.ema5", "EMACross.mid"]);
      assert.equal(s.series.find((x) => x.id === "EMACross.mid")?.points, 200);
      // The run's facts on the lens of `mid`: its last price is 109 at the 200th minute.
      await page.locator(".codelens-decoration", { hasText: "200 points · last 109 at 2023-11-15 01:32:20 UTC" }).first().waitFor({ timeout: 30_000 });
      assert.equal(await page.locator(".editor-group-container").count(), 2, "the chart opened beside the editor");
      assert.match((await page.evaluate(() => document.activeElement?.className ?? "")) as string, /inputarea|native-edit-context|monaco/, "focus stayed in the editor");
      await wb.shot("1-show-chart");
    });

    // Needs the server the first test started (run both: -g "Show chart opens|discovery record").
    it("keeps a discovery record by which a notebook kernel's cb.show finds its server", async () => {
      const [pid] = serverPids();
      assert.ok(pid !== undefined, "the extension's server runs");
      const file = join(process.env.CHARTBRIDGE_RUNTIME_DIR!, `server-${pid}.json`);
      for (let i = 0; i < 150 && !existsSync(file); i++) await wb.page.waitForTimeout(100);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const record = JSON.parse(readFileSync(file, "utf8"));
      assert.deepEqual({ ...record, url: undefined, token: undefined }, { version: 1, url: undefined, token: undefined, pid, redis: redis.url, prefix: "chartbridge", workspaceFolders: [wb.workspace] });
      // A kernel in the workspace (no variable of ours in its environment but the SDK's Redis URL) finds it.
      const script = "import json; from chartbridge import notebook as n; s = n.server(); print(json.dumps([s.url, s.token, s.proc is None]))";
      const env: NodeJS.ProcessEnv = { ...process.env, CHARTBRIDGE_REDIS_URL: redis.url };
      delete env.CHARTBRIDGE_SERVER;
      const found = JSON.parse(execFileSync(PYTHON, ["-c", script], { cwd: wb.workspace, env, encoding: "utf8" }));
      assert.deepEqual(found, [record.url, record.token, true]);
      const res = await fetch(`${record.url}/graphql`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${record.token}` }, body: JSON.stringify({ query: "{ runs { id } }" }) });
      const runs = ((await res.json()) as { data: { runs: { id: string }[] } }).data.runs.map((r) => r.id);
      assert.ok(runs.includes("e2e-run"), runs.join(", "));
    });

    it("toggles a series from the lens, and the lens follows the legend", async () => {
      const lens = (title: string) => wb.page.locator(".codelens-decoration a", { hasText: title });
      await lens("Hide series").first().waitFor();
      assert.equal(await lens("Hide series").count(), 2, "both charted functions are shown");
      await lens("Hide series").first().click();
      await wb.until("EMACross.mid hidden", (s) => s.series.find((x) => x.id === "EMACross.mid")?.visible === false);
      await lens("Show series").first().click();
      await wb.until("EMACross.mid shown again", (s) => s.series.find((x) => x.id === "EMACross.mid")?.visible === true);
      // Hidden from the chart's own legend: the page tells the host, and the lens over `mid` says so.
      const frame = await wb.chart();
      await frame.locator('.cb-legend-row[data-series="EMACross.mid"] .cb-swatch').click();
      await wb.until("EMACross.mid hidden from the legend", (s) => s.series.find((x) => x.id === "EMACross.mid")?.visible === false);
      await wb.settles("the lens over mid says Show", () => wb.page.locator(".codelens-decoration a", { hasText: /^(Hide|Show) series$/ }).allTextContents(), ["Show series", "Hide series"]);
      await frame.locator('.cb-legend-row[data-series="EMACross.mid"] .cb-swatch').click();
      await lens("Show series").waitFor({ state: "detached", timeout: 15_000 });
      assert.equal(await lens("Hide series").count(), 2, "shown again from the legend");
      await wb.shot("2-toggle-series");
      await wb.command("View: Focus First Editor Group");
    });

    it("reveals the code that made a marker when the marker is clicked", async () => {
      const frame = await wb.chart();
      const at = await frame.evaluate(() => (window as unknown as { __chartbridge: { markerAt(id: string, i: number): { x: number; y: number } | null } }).__chartbridge.markerAt("EMACross.entries", 0));
      assert.ok(at !== null, "the marker is on screen");
      await frame.locator(".cb-chart").click({ position: at });
      // strategy.py line 24 is the cb.marker call that created EMACross.entries.
      await wb.page.locator("#status\\.editor\\.selection", { hasText: "Ln 24," }).waitFor({ timeout: 15_000 });
      await wb.page.locator('.tab.active[data-resource-name="strategy.py"]').waitFor({ timeout: 5_000 });
    });

    it("shows a time cursor at the event time of a debug session paused in a charted function", async () => {
      // The fixture's .vscode/launch.json runs debug_me.py with this Python (set before code-server started).
      const startDebugging = async () => {
        await wb.command("Debug: Select and Start Debugging");
        const config = wb.page.locator(".quick-input-list .monaco-list-row", { hasText: "debug_me" });
        await config.waitFor({ timeout: 15_000 });
        await config.click();
      };
      await startDebugging();
      // debug_me.py pauses inside `probe` at the 150th minute of the run.
      const minute150 = (1_700_000_000 + 150 * 60) * 1_000_000;
      const paused = await wb.until("the cursor at the paused event time", (s) => s.timeCursorUs === minute150, 60_000);
      assert.ok(paused.visible !== null && paused.visible.fromUs <= minute150 && paused.visible.toUs >= minute150, "the cursor is in view");
      await wb.shot("debug-time-cursor");
      // Still paused: the page loaded again when its tab is shown gets the cursor anew.
      await coverChart(wb, "signals.rs");
      await wb.until("the cursor on the page shown again", (s) => s.timeCursorUs === minute150, 15_000);
      await wb.command("Debug: Continue");
      await wb.until("the cursor gone when the session ends", (s) => s.timeCursorUs === null, 30_000);

      // Paused while no chart is open: the chart opened then shows the cursor at once.
      const chartTab = wb.page.locator(".tab", { hasText: "Chartbridge" });
      await chartTab.hover();
      await chartTab.getByRole("button", { name: /^Close/ }).click();
      await chartTab.waitFor({ state: "detached", timeout: 15_000 });
      await startDebugging();
      await wb.page.getByText("Paused on breakpoint").waitFor({ timeout: 60_000 });
      await wb.command("Chartbridge: Show Chart");
      await wb.until("the cursor on a chart opened while paused", (s) => s.timeCursorUs === minute150, 30_000);
      await wb.command("Debug: Continue");
      await wb.until("the cursor gone again", (s) => s.timeCursorUs === null, 30_000);
    });

    it("opens the run in a browser tab through VS Code's forwarded address (code-server's /proxy/<port>/)", async () => {
      const tab = wb.page.context().waitForEvent("page", { timeout: 30_000 });
      await wb.command("Chartbridge: Open in Browser");
      const page = await tab;
      assert.match(page.url(), /^http:\/\/127\.0\.0\.1:\d+\/proxy\/\d+\/\?token=[0-9a-f]+&run=e2e-run$/);
      const deadline = Date.now() + 30_000;
      let drawn: { run: string | null; points: number[] } | null = null;
      while (Date.now() < deadline) {
        drawn = (await page.evaluate(() => {
          const hook = (window as unknown as { __chartbridge?: { state(): { run: string | null; series: { points: number }[] } } }).__chartbridge;
          const s = hook?.state();
          return s ? { run: s.run, points: s.series.map((x) => x.points) } : null;
        }).catch(() => null));
        if (drawn?.run === "e2e-run" && drawn.points.includes(200)) break;
        await page.waitForTimeout(200);
      }
      assert.equal(drawn?.run, "e2e-run", `the tab shows the run: ${JSON.stringify(drawn)}`);
      assert.ok(drawn?.points.includes(200), `and draws it: ${JSON.stringify(drawn)}`);
      await page.screenshot({ path: join(ROOT, "test-results", "e2e", "6-open-in-browser.png") });
      await page.close();
    });

    it("toggles a plugin from the QuickPick, and hot-reloads it on save", async () => {
      await wb.until("workspace plugin band running", (s) => s.plugins.some((p) => p.name === "band" && p.running !== null));
      await wb.command("Chartbridge: Toggle Plugin");
      const row = wb.page.locator(".quick-input-list .monaco-list-row", { hasText: "band" });
      await row.waitFor();
      await row.click();
      await wb.until("band turned off", (s) => s.plugins.some((p) => p.name === "band" && p.running === null));
      await wb.command("Chartbridge: Toggle Plugin");
      await row.waitFor();
      await row.click();
      const on = await wb.until("band on again", (s) => s.plugins.some((p) => p.name === "band" && p.running !== null));
      const version = on.plugins.find((p) => p.name === "band")?.running ?? 0;
      writeFileSync(join(wb.workspace, ".chartbridge", "plugins", "band.js"), plugin("v2"));
      const reloaded = await wb.until("band hot-reloaded", (s) => s.plugins.some((p) => p.name === "band" && (p.running ?? 0) > version));
      assert.ok(reloaded.plugins.find((p) => p.name === "band")?.logs.includes("band v2"));
    });

    it("writes a new plugin from the template with New Plugin, and it draws on the chart at once", async () => {
      await wb.command("Chartbridge: New Plugin");
      const input = wb.page.locator(".quick-input-widget input");
      await input.waitFor();
      await input.fill("sma");
      await input.press("Enter");
      await wb.page.locator('.tab.active[data-resource-name="sma.js"]').waitFor({ timeout: 15_000 });
      // The template's SMA(20) of the run's first price series: EMA(5)'s 196 points give 177.
      const s = await wb.until("the new plugin's line drawn", (st) => st.plugins.some((p) => p.name === "sma" && p.running !== null) && st.paneSeries[0]?.includes(177));
      assert.deepEqual(s.plugins.find((p) => p.name === "sma")?.logs, ["SMA(20) of EMACross.fast.ema5"]);
      assert.deepEqual([...s.paneSeries[0]].sort((a, b) => a - b), [177, 196, 200], "the run's two lines and the plugin's");
      await wb.command("View: Hide Panel");
      await wb.command("View: Show Explorer");
      await (await wb.chart()).locator(".cb-side-toggle").click();
      await wb.shot("3-plugin");
      await (await wb.chart()).locator(".cb-side-toggle").click();
      // Clicks in the chart focused its group: files opened next must not replace the chart there.
      await wb.command("View: Focus First Editor Group");
    });

    it("shows the CodeLens over a Rust #[chart] fn too", async () => {
      await wb.openFile("signals.rs");
      await wb.page.locator('.tab.active[data-resource-name="signals.rs"]').waitFor({ timeout: 15_000 });
      const show = wb.page.locator(".codelens-decoration a", { hasText: "Show chart" });
      await show.first().waitFor({ timeout: 30_000 });
      assert.equal(await show.count(), 1, "one lens over the one #[chart] fn");
    });

    it("offers its walkthrough", async () => {
      await wb.command("Welcome: Open Walkthrough...");
      const entry = wb.page.locator(".quick-input-list .monaco-list-row", { hasText: "Chart your strategy with Chartbridge" });
      await entry.waitFor({ timeout: 15_000 });
      await entry.click();
      for (const step of ["Chart a value with one decorator", "Show the chart beside the code", "Draw more with plugins", "Debug side by side", "Open the chart in a browser"]) {
        await wb.page.locator(".getting-started-step", { hasText: step }).first().waitFor({ timeout: 15_000 });
      }
      await wb.shot("7-walkthrough");
    });

    it("recovers from the server being killed", async () => {
      const [pid] = serverPids();
      assert.ok(pid !== undefined, "the extension's server runs");
      process.kill(pid, "SIGKILL");
      await wb.until("connection lost", (s) => s.connection !== "connected", 10_000).catch(() => null);
      const s = await wb.until("reconnected with the run drawn", (st) => st.connection === "connected" && st.series.some((x) => x.points === 200), 60_000);
      assert.equal(s.run, "e2e-run");
      const [again] = serverPids();
      assert.ok(again !== undefined && again !== pid, "a new server process");
      await wb.shot("4-recovered");
    });

    it("compares the strategy's newest run with the one before, from the palette and from the CodeLens on its class", async () => {
      await wb.openFile("strategy.py");
      await wb.page.locator('.tab.active[data-resource-name="strategy.py"]').waitFor({ timeout: 15_000 });
      await wb.command("Chartbridge: Compare with Previous Run");
      // EMACross's runs, newest first: e2e-debug (one point of probe), then e2e-run, whose mid starts at
      // minute 0 (its EMA once it has 5 prices): e2e-debug lacks it.
      await wb.until("the newest EMACross run shown", (s) => s.run === "e2e-debug");
      const head = (await wb.chart()).locator(".cb-compare-head");
      await head.waitFor({ timeout: 30_000 });
      assert.match((await head.textContent()) ?? "", /^Runs agree until 2023-11-14 22:13:20(\.000)?( UTC)?; first: EMACross\.mid \(e2e-run\)$/);
      await wb.shot("9-compare");
      // In the narrow panel beside the editor the compare picker sits under the toolbar's "⋯".
      const frame = await wb.chart();
      if (!(await frame.locator(".cb-compare-with").isVisible())) await frame.locator(".cb-more-toggle").click();
      await frame.selectOption(".cb-compare-with", "");
      await head.waitFor({ state: "detached", timeout: 15_000 });
      await wb.command("View: Focus First Editor Group");
      // Earlier tests leave the editor scrolled down; the class's lens is above its first line.
      await wb.page.keyboard.press("Control+Home");
      const lens = wb.page.locator(".codelens-decoration a", { hasText: "Compare with Previous Run" });
      await lens.first().waitFor({ timeout: 30_000 });
      assert.equal(await lens.count(), 1, "one lens, on the class EMACross");
      await lens.first().click();
      await (await wb.chart()).locator(".cb-compare-head").waitFor({ timeout: 30_000 });
    });

    it("breaks on a bar chosen on the chart, steps to the next bar and runs to a later one under debugpy", async () => {
      execFileSync(PYTHON, ["debug_bars.py"], { cwd: FIXTURE, env: { ...process.env, CHARTBRIDGE_REDIS_URL: redis.url } });
      const minute = (i: number) => (1_700_000_000 + i * 60) * 1_000_000;
      await wb.openFile("debug_bars.py");
      await wb.page.locator(".codelens-decoration a", { hasText: "Show chart" }).first().waitFor({ timeout: 60_000 });
      await wb.command("Chartbridge: Show Chart");
      const frame = await wb.chart();
      await frame.selectOption(".cb-runs", "e2e-bars");
      await wb.until("the bars drawn", (s) => s.run === "e2e-bars" && s.series.map((x) => `${x.id}:${x.points}`).join() === "BarStrategy.close:20,picks:2");
      const markerAt = (index: number) => frame.evaluate((i) => (window as unknown as { __chartbridge: { markerAt(id: string, i: number): { x: number; y: number } | null } }).__chartbridge.markerAt("picks", i), index);
      // Placed once the chart has laid out the run it just loaded.
      for (let i = 0; i < 50 && (await markerAt(0)) === null; i++) await wb.page.waitForTimeout(200);
      // Zoomed onto bars 4 to 14: a bar is ~100 px wide, a right click finds it whatever the panel's width.
      // (lightweight-charts refuses a range until it has laid out the data: asked again until then).
      const zoom = () => frame.evaluate((r) => (window as unknown as { __chartbridge: { setVisibleRange(f: number, t: number): void } }).__chartbridge.setVisibleRange(r[0], r[1]), [minute(4), minute(14)]).then(() => true, () => false);
      for (let i = 0; i < 50 && !(await zoom()); i++) await wb.page.waitForTimeout(200);
      await wb.until("zoomed onto bars 4 to 14", (s) => s.visible !== null && s.visible.fromUs >= minute(3) && s.visible.toUs <= minute(15));
      const pick = async (index: number, item: string) => {
        const at = await markerAt(index);
        assert.ok(at !== null, `marker ${index} on screen`);
        await frame.locator(".cb-chart").hover({ position: at });
        await frame.locator(".cb-chart").click({ button: "right", position: at });
        await frame.locator(".cb-debug-menu button", { hasText: item }).click();
      };
      await pick(0, "Break Here on Next Run: BarStrategy.close at 2023-11-14 22:20:20");
      // The Breakpoints view: exactly one, on the first body line of `close` (after its docstring).
      await wb.command("Run and Debug: Focus on Breakpoints View");
      const rows = wb.page.locator(".debug-breakpoints .monaco-list-row", { hasText: "debug_bars.py" });
      await rows.first().waitFor({ timeout: 15_000 });
      assert.equal(await rows.count(), 1);
      // The row reads file name, folder (none: the workspace's root), line: the workspace's copy,
      // though the run was recorded from the fixture's folder, which also exists.
      assert.equal(await rows.first().textContent(), "debug_bars.py18");
      assert.equal(await rows.first().getAttribute("aria-label"), "debug_bars.py 18, Condition: cb.at(1700000420000000000)  # 2023-11-14 22:20:20 UTC");

      await wb.command("Debug: Select and Start Debugging");
      const config = wb.page.locator(".quick-input-list .monaco-list-row", { hasText: "debug_bars" });
      await config.waitFor({ timeout: 15_000 });
      await config.click();
      await wb.until("stopped on bar 7", (s) => s.timeCursorUs === minute(7), 60_000);
      await wb.shot("debug-break-here");
      await wb.command("Chartbridge: Step to Next Bar");
      await wb.until("stepped to bar 8", (s) => s.timeCursorUs === minute(8), 30_000);
      await pick(1, "Run to This Bar: BarStrategy.close at 2023-11-14 22:24:20");
      await wb.until("ran to bar 11", (s) => s.timeCursorUs === minute(11), 30_000);
      // The temporary breakpoints went when hit: the one set from the chart is there as it was.
      assert.equal(await rows.count(), 1);
      assert.equal(await rows.first().getAttribute("aria-label"), "debug_bars.py 18, Condition: cb.at(1700000420000000000)  # 2023-11-14 22:20:20 UTC");
      await wb.command("Remove All Breakpoints");
      await wb.command("Debug: Continue");
      await wb.until("the cursor gone when the session ends", (s) => s.timeCursorUs === null, 30_000);
    });
  });

  describe("window reload", () => {
    before(async () => {
      wb = await openWorkbench({ vsix: VSIX, fixture: FIXTURE, settings: { "security.workspace.trust.enabled": false, "chartbridge.redisUrl": redis.url, "chartbridge.autoOpen": false } });
    });
    after(() => wb?.close());

    it("keeps the run picked in the panel and its hidden series when its tab is hidden and shown, and after a window reload", async () => {
      await wb.openFile("strategy.py");
      const show = wb.page.locator(".codelens-decoration a", { hasText: "Show chart" });
      await show.first().waitFor({ timeout: 60_000 });
      await show.first().click();
      await wb.until("e2e-run drawn", (s) => s.run === "e2e-run" && s.series.some((x) => x.points === 200));
      // Picked inside the webview: only the webview's own state knows it.
      await (await wb.chart()).selectOption(".cb-runs", "e2e-debug");
      await wb.until("the picked run drawn", (s) => s.run === "e2e-debug" && s.series.some((x) => x.points === 1));
      const probeHidden = (s: HookState) => s.run === "e2e-debug" && s.series.length === 1 && s.series[0].points === 1 && !s.series[0].visible;
      await (await wb.chart()).locator('.cb-legend-row[data-series="EMACross.probe"] .cb-swatch').click();
      await wb.until("EMACross.probe hidden", probeHidden);

      // Another editor over the chart's tab: VS Code discards the page, and loads it again when shown.
      await coverChart(wb, "signals.rs");
      await wb.until("the page shown again on the picked run, the series still hidden", (s) => probeHidden(s) && s.connection === "connected");

      await wb.command("Developer: Reload Window");
      await wb.page.waitForTimeout(2000);
      await wb.page.locator(".monaco-workbench").waitFor({ timeout: 60_000 });
      await wb.until("the restored panel on the picked run, the series still hidden", probeHidden, 90_000);
      await wb.shot("8-restored");
    });
  });

  describe("Restricted Mode", () => {
    before(async () => {
      wb = await openWorkbench({ vsix: VSIX, fixture: FIXTURE, settings: { "security.workspace.trust.enabled": true, "security.workspace.trust.startupPrompt": "never", "chartbridge.redisUrl": redis.url, "chartbridge.autoOpen": false } });
      mkdirSync(join(wb.workspace, ".chartbridge", "plugins"), { recursive: true });
      writeFileSync(join(wb.workspace, ".chartbridge", "plugins", "band.js"), plugin("v1"));
    });
    after(() => wb?.close());

    it("charts data but runs no workspace plugin, and says why", async () => {
      await wb.openFile("strategy.py");
      const show = wb.page.locator(".codelens-decoration a", { hasText: "Show chart" });
      await show.first().waitFor({ timeout: 60_000 });
      await show.first().click();
      const s = await wb.until("the run drawn", (st) => st.run === "e2e-run" && st.series.some((x) => x.points > 0));
      assert.ok(!s.plugins.some((p) => p.running !== null), "no plugin runs");
      await wb.page.locator(".notifications-toasts", { hasText: "workspace plugins do not run in Restricted Mode" }).waitFor({ timeout: 15_000 });
      await wb.shot("5-restricted");
    });
  });
});
