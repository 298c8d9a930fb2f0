/**
 * cb.show() and cb.load_run() for real: test/fixtures/notebook_show.ipynb executed with nbclient on a
 * real Python kernel, then opened in a real JupyterLab (loopback, no token, a free port) in
 * Chromium, where it runs again: the chart's canvas inside the cell output shows the candles, and a
 * point published from the kernel appears live. The kernel starts the chart server itself
 * (node dist/server.js serve), as a user's notebook does.
 */
import { strict as assert } from "node:assert";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Browser, Frame, Page } from "playwright-core";
import type { Points } from "../src/shared/protocol.js";
import type { HookState } from "../src/webview/hookState.js";
import { testRedis } from "./harness/rootHooks.js";
import { query, startTestServer, type TestServer } from "./harness/server.js";
import { buildBundle, launchBrowser, ROOT } from "./webview/browser.js";

const VENV = join(ROOT, ".venv", "bin");
const FIXTURE = join(__dirname, "fixtures", "notebook_show.ipynb");
const RUN = "notebook-demo";
const T0 = 1_700_000_000_000_000_000n;
const MIN = 60_000_000_000n;
// The chart's candle colors (src/webview/theme.ts), light and dark theme.
const UP = [[0x08, 0x99, 0x81], [0x26, 0xa6, 0x9a]];
const DOWN = [[0xf2, 0x36, 0x45], [0xef, 0x53, 0x50]];

interface Output {
  output_type: string;
  data?: Record<string, unknown>;
  text?: string | string[];
}
interface Notebook {
  metadata: { widgets: Record<string, { state: Record<string, { state: Record<string, unknown> }> }> };
  cells: { cell_type: string; source: string | string[]; outputs?: Output[] }[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** Starts JupyterLab in its own process group (so its kernels and their chart servers stop with it). */
async function startJupyterLab(dir: string, env: NodeJS.ProcessEnv): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  // A fresh settings folder, with JupyterLab's news prompt off (it would cover the chart in the picture).
  const settings = join(dir, ".lab-settings");
  mkdirSync(join(settings, "@jupyterlab", "apputils-extension"), { recursive: true });
  writeFileSync(join(settings, "@jupyterlab", "apputils-extension", "notification.jupyterlab-settings"), JSON.stringify({ fetchNews: "false" }));
  const proc = spawn(join(VENV, "jupyter"), [
    "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", `--ServerApp.port=${port}`, "--ServerApp.port_retries=0",
    "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
    `--ServerApp.root_dir=${dir}`, "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    `--LabApp.workspaces_dir=${join(dir, ".workspaces")}`, `--LabApp.user_settings_dir=${settings}`, "--expose-app-in-browser", "--allow-root",
  ], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes(`http://127.0.0.1:${port}/lab`)) resolve();
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", onData);
    proc.on("exit", (code) => reject(new Error(`jupyter lab exited with ${code}:\n${log}`)));
  });
  return { url: `http://127.0.0.1:${port}`, proc };
}

/** Polls `fn` until it returns a value `ok` accepts. */
async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await fn().catch(() => undefined);
    if (last !== undefined && ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 2000)}`);
}

/**
 * Pixels of the up and down candle colors on the chart's canvases in `frame`, and the tallest
 * unbroken run of up-colored pixels in one column as a share of its canvas's height (one candle).
 */
function candlePixels(frame: Frame): Promise<{ up: number; down: number; tallestUp: number }> {
  return frame.evaluate(([up, down]) => {
    const count = { up: 0, down: 0, tallestUp: 0 };
    for (const canvas of Array.from(document.querySelectorAll(".cb-chart canvas")) as HTMLCanvasElement[]) {
      const { width, height } = canvas;
      if (width === 0 || height === 0) continue;
      const data = canvas.getContext("2d")?.getImageData(0, 0, width, height).data ?? [];
      // No named helper inside: tsx would wrap it in a __name() call the page does not have.
      for (let x = 0; x < width; x++) {
        let run = 0;
        for (let y = 0; y < height; y++) {
          const i = (y * width + x) * 4;
          let isUp = false;
          for (const [r, g, b] of up) if (data[i] === r && data[i + 1] === g && data[i + 2] === b) isUp = true;
          for (const [r, g, b] of down) if (data[i] === r && data[i + 1] === g && data[i + 2] === b) count.down++;
          run = isUp ? run + 1 : 0;
          if (isUp) count.up++;
          count.tallestUp = Math.max(count.tallestUp, run / height);
        }
      }
    }
    return count;
  }, [UP, DOWN]);
}

const hookState = (frame: Frame) => frame.evaluate(() => (globalThis as unknown as { __chartbridge: { state(): HookState } }).__chartbridge.state());

/** Runs JupyterLab commands through its app object (--expose-app-in-browser). */
const lab = (page: Page, js: string) => page.evaluate(`(async () => { const app = window.jupyterapp; const nb = app.shell.currentWidget; ${js} })()`);

describe("notebooks: cb.show and cb.load_run in a real kernel, JupyterLab and Chromium", function () {
  this.timeout(240_000);
  let t: TestServer;
  let dir: string;
  let browser: Browser | null = null;
  let jupyter: ChildProcess | null = null;

  before(() => buildBundle());
  beforeEach(async () => {
    t = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), "cb-notebook-"));
  });
  afterEach(async () => {
    await browser?.close();
    browser = null;
    if (jupyter?.pid !== undefined && jupyter.exitCode === null) {
      const exited = new Promise((r) => jupyter?.once("exit", r));
      process.kill(-jupyter.pid, "SIGTERM"); // the group: JupyterLab, its kernels and their chart servers
      await exited;
    }
    jupyter = null;
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("executes with nbclient (picture, no token, DataFrames equal to GraphQL history), then charts live in JupyterLab", async () => {
    const env = { ...process.env, CHARTBRIDGE_REDIS_URL: testRedis().url, CHARTBRIDGE_NOTEBOOK_PREFIX: t.prefix, JUPYTER_CONFIG_DIR: join(dir, ".jupyter-config"), JUPYTER_RUNTIME_DIR: join(dir, ".jupyter-runtime") };
    mkdirSync(join(dir, "nb"));
    const executed = join(dir, "nb", "notebook_show.ipynb");
    await promisify(execFile)(join(VENV, "python"), [join(__dirname, "fixtures", "run_notebook.py"), FIXTURE, executed], { env });

    // The saved notebook: the widget, a PNG for viewers without a kernel, and no token anywhere.
    const text = readFileSync(executed, "utf8");
    assert.doesNotMatch(text, /token/i);
    const nb = JSON.parse(text) as Notebook;
    const code = nb.cells.filter((c) => c.cell_type === "code");
    const shown = code[2].outputs ?? [];
    assert.equal(shown.length, 1);
    assert.deepEqual(Object.keys(shown[0].data ?? {}).sort(), ["application/vnd.jupyter.widget-view+json", "image/png", "text/plain"]);
    const png = Buffer.from(String(shown[0].data?.["image/png"]), "base64");
    assert.equal(png.subarray(1, 4).toString(), "PNG");
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [800, 400]);
    // nbclient saved the widget state too: it holds the same picture, for a frontend with no kernel behind it.
    const picture = `data:image/png;base64,${String(shown[0].data?.["image/png"])}`;
    const states = Object.values(nb.metadata.widgets["application/vnd.jupyter.widget-state+json"].state);
    assert.deepEqual(states.filter((w) => w.state.run === RUN).map((w) => w.state.picture), [picture]);

    // cb.load_run in the kernel, in the JSON form, equals what the server's GraphQL history answers.
    const printed = [code[4].outputs?.[0].text ?? ""].flat().join("");
    const frames = JSON.parse(printed) as Record<string, Points>;
    assert.deepEqual(Object.keys(frames), ["bars", "fills", "sma10"]);
    for (const [sid, points] of Object.entries(frames)) {
      const h = await query<{ history: { count: number; points: Points } }>(t.ws, `{ history(run: "${RUN}", series: "${sid}") { count points } }`);
      assert.deepEqual(points, h.data?.history.points, sid);
    }
    assert.equal(frames.bars.t.length, 80);

    // JupyterLab in Chromium: run the notebook on a live kernel; the chart appears in the output.
    const started = await startJupyterLab(join(dir, "nb"), env);
    jupyter = started.proc;
    browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${started.url}/lab/tree/notebook_show.ipynb`);
    await until(() => lab(page, "await nb.sessionContext.ready; return nb.sessionContext.session?.kernel?.status ?? null;"), (s) => s === "idle", "the kernel");
    // Before any cell runs, the saved output shows its picture (JupyterLab finds no widget model for it, so it
    // renders the output's image/png).
    const saved = await until(() => page.evaluate(() => {
      const img = document.querySelector<HTMLImageElement>(".jp-OutputArea-output img[src^='data:image/png']");
      return img === null || !img.complete ? null : { src: img.src, width: img.naturalWidth, height: img.naturalHeight };
    }), (x) => x !== null, "the saved picture");
    assert.deepEqual(saved, { src: picture, width: 800, height: 400 });
    await lab(page, `await app.commands.execute("notebook:run-all-cells");`);
    const frame = await until(async () => page.frames().find((f) => f.url().includes(`run=${RUN}`)) ?? null, (f) => f !== null, "the chart's iframe");
    assert.ok(frame !== null);
    const drawn = await until(() => hookState(frame), (s) => s.run === RUN && s.series.some((x) => x.id === "bars" && x.points === 80), "80 candles drawn");
    // The cells ran again into the same run: candles and lines at equal times replace theirs; of the
    // two markers, the first is earlier than the last (stale, dropped) and the second, at the last
    // time, is one more event (markers are events: protocol/SPEC.md section 3).
    assert.deepEqual(drawn.series.map((x) => [x.id, x.points]).sort(), [["bars", 80], ["fills", 3], ["sma10", 80]]);
    // Chromium does not paint a cross-origin iframe out of view: bring it into view, as a user scrolls to it.
    await page.evaluate(() => document.querySelector(".jp-OutputArea-output iframe")?.scrollIntoView({ block: "center" }));
    const pixels = await until(() => candlePixels(frame), (p) => p.up > 200 && p.down > 200, "candles on the canvas");
    // 80 candles of about 1.5 each over a range of about 15: none is a fifth of the pane high.
    assert.ok(pixels.tallestUp > 0.02 && pixels.tallestUp < 0.2, JSON.stringify(pixels));
    // The picture in python/README.md (docs/notebook.png is a copy of it).
    mkdirSync(join(ROOT, "test-results"), { recursive: true });
    await page.screenshot({ path: join(ROOT, "test-results", "notebook.png") });

    // A point from the kernel appears live: a new cell publishes a rising 81st candle.
    const t81 = T0 + 80n * MIN;
    await lab(page, `
      nb.content.activeCellIndex = nb.content.widgets.length - 1;
      await app.commands.execute("notebook:insert-cell-below");
      nb.content.activeCell.model.sharedModel.setSource("cb.publish_points('bars', [${t81}], [(120.0, 140.0, 119.0, 139.0)], kind='candlestick')");
      await app.commands.execute("notebook:run-cell");`);
    await page.evaluate(() => document.querySelector(".jp-OutputArea-output iframe")?.scrollIntoView({ block: "center" }));
    const live = await until(() => hookState(frame), (s) => s.series.some((x) => x.id === "bars" && x.points === 81), "the live candle");
    assert.equal(live.series.find((x) => x.id === "bars")?.lastUs, Number(t81 / 1000n));
    // The live candle spans 119..140 of a range now about 96..141: a column of up color over a quarter of the pane high (scale margins aside).
    const after = await until(() => candlePixels(frame), (p) => p.tallestUp > 0.25, "the live candle's pixels");
    assert.ok(after.tallestUp < 0.6, JSON.stringify(after));

  });
});
