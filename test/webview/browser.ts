/**
 * Shared pieces of the webview tests and benchmarks: the bundle build, headless Chromium, the page
 * served by the real server, the test hook, and writers of OHLC/marker entries.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import type { RunningServer, ServerOptions } from "../../src/server/app.js";
import type { HookState } from "../../src/webview/hookState.js";
import { startTestServer, type TestServer } from "../harness/server.js";

export const ROOT = join(__dirname, "..", "..");
export const WEBVIEW_BUNDLE = join(ROOT, "dist", "webview.js");
export const RESULTS_DIR = join(ROOT, "test-results");

/** Builds dist/ with the project's build script, so the test runs the bundle users get. */
export function buildBundle(): void {
  execFileSync(process.execPath, [join(ROOT, "scripts", "build.mjs")], { cwd: ROOT, stdio: "inherit" });
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
}

/** The page's globals the tests read (testHook.ts). */
export interface Hooked {
  __chartbridge: { state(): HookState; setVisibleRange(fromUs: number, toUs: number): void; paneBoxes(): { top: number; bottom: number; left: number; right: number }[] };
}

export interface ChartPage {
  page: Page;
  /** Console errors and CSP violations seen by the page. */
  problems: string[];
  state(): Promise<HookState>;
  /** Polls the hook state until `ok` accepts it. */
  until(ok: (s: HookState) => boolean, what: string, timeoutMs?: number): Promise<HookState>;
  screenshot(name: string): Promise<void>;
}

/** Opens the chart page of `run` (default: the newest run); `init`: a script run before the page's own (e.g. a stand-in for VS Code's webview API). */
export async function openChart(browser: Browser, server: Pick<RunningServer, "url" | "token">, size = { width: 1200, height: 700 }, run?: string, init?: string): Promise<ChartPage> {
  const page = await browser.newPage({ viewport: size });
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  await page.addInitScript({
    content: 'document.addEventListener("securitypolicyviolation", (e) => console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI));',
  });
  if (init !== undefined) await page.addInitScript({ content: init });
  await page.goto(`${server.url}/?token=${server.token}${run === undefined ? "" : `&run=${encodeURIComponent(run)}`}`);
  const state = () => page.evaluate(() => (globalThis as unknown as Hooked).__chartbridge.state());
  return {
    page,
    problems,
    state,
    async until(ok, what, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      let last: HookState | null = null;
      while (Date.now() < deadline) {
        last = await state().catch(() => null);
        if (last !== null && ok(last)) return last;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for ${what}; state: ${JSON.stringify(last)}; problems: ${problems.join(" | ")}`);
    },
    async screenshot(name) {
      mkdirSync(RESULTS_DIR, { recursive: true });
      await page.screenshot({ path: join(RESULTS_DIR, `${name}.png`) });
    },
  };
}

function f64(values: number[]): Buffer {
  const b = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => b.writeDoubleLE(v, i * 8));
  return b;
}

function i64(values: bigint[]): Buffer {
  const b = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => b.writeBigInt64LE(v, i * 8));
  return b;
}

/** A candlestick/bar entry; each bar spans its close ± 1 around an open one step back. */
/**
 * The hooks a Chromium suite with a fresh server per test repeats: one browser for the suite, a
 * server per test, and after each test the page (`chart`, once a test opened it) checked for
 * console errors or CSP violations, then closed. Read the fields inside tests: the hooks set them.
 */
export interface ChartSuite {
  browser: Browser;
  t: TestServer;
  chart: ChartPage | null;
}

/** `server`: options every test's server starts with (e.g. the built-in plugins' folder). */
export function chartSuitePerTest(server: Partial<ServerOptions> = {}): ChartSuite {
  const s = { chart: null } as ChartSuite;
  before(async () => {
    buildBundle();
    s.browser = await launchBrowser();
  });
  after(async () => {
    await s.browser?.close();
  });
  beforeEach(async () => {
    s.t = await startTestServer({ webviewBundle: WEBVIEW_BUNDLE, ...server });
  });
  afterEach(async () => {
    if (s.chart) assert.deepEqual(s.chart.problems.filter((p) => !p.includes("WebSocket")), [], "console errors or CSP violations");
    await s.chart?.page.close();
    s.chart = null;
    await s.t.close();
  });
  return s;
}

export function ohlcFields(timesNs: bigint[], closes: number[], kind = "candlestick"): Record<string, Buffer | string> {
  const opens = closes.map((c, i) => (i === 0 ? c : closes[i - 1]));
  return {
    v: "1",
    k: kind,
    n: String(timesNs.length),
    t: i64(timesNs),
    o: f64(opens),
    h: f64(closes.map((c, i) => Math.max(c, opens[i]) + 1)),
    l: f64(closes.map((c, i) => Math.min(c, opens[i]) - 1)),
    c: f64(closes),
  };
}

export function markerFields(timesNs: bigint[], prices: number[], markers: { side: "buy" | "sell" | null; text: string }[]): Record<string, Buffer | string> {
  return { v: "1", k: "marker", n: String(timesNs.length), t: i64(timesNs), y: f64(prices), m: JSON.stringify(markers) };
}
