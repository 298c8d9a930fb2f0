/**
 * A real VS Code (code-server, installed once per machine by scripts/vscode-server.sh) with the
 * packaged .vsix installed, driven in Debian's Chromium (shared/notes/real-vscode-in-tests.md).
 */
import { strict as assert } from "node:assert";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { chromium, type Browser, type Frame, type Page } from "playwright-core";
import { freePort } from "../../src/server/privateRedis.js";
import type { HookState } from "../../src/webview/hookState.js";

export const ROOT = join(__dirname, "..", "..");
export const RESULTS = join(ROOT, "test-results", "e2e");

const install = execFileSync("bash", [join(ROOT, "scripts", "vscode-server.sh"), "--path"], { encoding: "utf8" }).trim();
const NODE = join(install, "node24", "node_modules", "node", "bin", "node");
const ENTRY = join(install, "node_modules", "code-server", "out", "node", "entry.js");

export interface Workbench {
  page: Page;
  workspace: string;
  /** The chart page inside the webview, once a chart panel is open. */
  chart(): Promise<Frame>;
  state(): Promise<HookState>;
  until(what: string, test: (s: HookState) => boolean, timeoutMs?: number): Promise<HookState>;
  command(title: string): Promise<void>;
  openFile(name: string): Promise<void>;
  shot(name: string): Promise<void>;
  /** Polls `read` until it deep-equals `expected` (the workbench re-renders in steps); fails with the last value. */
  settles<T>(what: string, read: () => Promise<T>, expected: T, timeoutMs?: number): Promise<void>;
  /** After a failed test: no dialog, palette or debug session left over, the first editor group focused. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Installs the .vsix into a fresh profile, starts code-server on a copy of `fixture`, opens it in Chromium. */
export async function openWorkbench(options: { vsix: string; fixture: string; settings: Record<string, unknown>; moreVsix?: string[] }): Promise<Workbench> {
  const home = mkdtempSync(join(tmpdir(), "cb-e2e-"));
  const userData = join(home, "user-data");
  const extensions = join(home, "extensions");
  const workspace = join(home, "workspace");
  cpSync(options.fixture, workspace, { recursive: true });
  mkdirSync(join(userData, "User"), { recursive: true });
  writeFileSync(join(userData, "User", "settings.json"), JSON.stringify({ "workbench.startupEditor": "none", "chat.disableAIFeatures": true, "workbench.tips.enabled": false, "workbench.secondarySideBar.defaultVisibility": "hidden", "git.openRepositoryInParentFolders": "never", ...options.settings }));
  for (const vsix of [options.vsix, ...(options.moreVsix ?? [])]) {
    execFileSync(NODE, [ENTRY, "--user-data-dir", userData, "--extensions-dir", extensions, "--install-extension", vsix], { stdio: "pipe" });
  }

  const port = await freePort();
  const server: ChildProcess = spawn(NODE, [ENTRY, "--auth", "none", "--bind-addr", `127.0.0.1:${port}`, "--disable-telemetry", "--disable-update-check", "--user-data-dir", userData, "--extensions-dir", extensions, workspace], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  const log: string[] = [];
  server.stdout?.on("data", (d: Buffer) => log.push(d.toString()));
  server.stderr?.on("data", (d: Buffer) => log.push(d.toString()));
  for (let i = 0; i < 200 && !log.join("").includes("HTTP server listening"); i++) await new Promise((r) => setTimeout(r, 100));

  const browser: Browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
  const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
  await page.locator(".monaco-workbench").waitFor({ timeout: 60_000 });

  const chart = async (): Promise<Frame> => {
    for (let i = 0; i < 300; i++) {
      for (const frame of page.frames()) {
        if (await frame.evaluate(() => "__chartbridge" in window).catch(() => false)) return frame;
      }
      await page.waitForTimeout(100);
    }
    throw new Error("no chart webview appeared");
  };
  const state = async () => (await chart()).evaluate(() => (window as unknown as { __chartbridge: { state(): HookState } }).__chartbridge.state());
  /**
   * Opens a quick input, types, and clicks the first row that names what was typed (Enter would
   * take the focused row, which may be another: recent files before the list filters, a command
   * used more recently).
   */
  const quickPick = async (key: string, text: string) => {
    await page.keyboard.press(key);
    // Typed into the box itself: keys pressed from a focused webview could reach it before the box has focus.
    const input = page.locator(".quick-input-widget .quick-input-box input");
    await input.waitFor();
    await input.pressSequentially(text);
    const row = page.locator(".quick-input-list .monaco-list-row", { hasText: text }).first();
    await row.waitFor({ timeout: 30_000 });
    await row.click();
  };
  const wb: Workbench = {
    page,
    workspace,
    chart,
    state,
    async until(what, test, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last: HookState | null = null;
      while (Date.now() < deadline) {
        last = await state().catch(() => null);
        if (last !== null && test(last)) return last;
        await page.waitForTimeout(200);
      }
      throw new Error(`timed out waiting for ${what}; last state ${JSON.stringify(last)}`);
    },
    async settles(what, read, expected, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let last = await read();
      while (!isDeepStrictEqual(last, expected) && Date.now() < deadline) {
        await page.waitForTimeout(200);
        last = await read();
      }
      assert.deepStrictEqual(last, expected, what);
    },
    async reset() {
      for (let i = 0; i < 3; i++) await page.keyboard.press("Escape");
      await page.locator(".monaco-dialog-box").getByRole("button", { name: "Cancel" }).click({ timeout: 1_000 }).catch(() => {});
      if (await page.locator(".debug-toolbar").isVisible()) {
        await quickPick("F1", "Debug: Stop");
        await page.locator(".debug-toolbar").waitFor({ state: "hidden", timeout: 30_000 });
      }
      await quickPick("F1", "View: Focus First Editor Group");
    },
    command: (title) => quickPick("F1", title),
    openFile: (name) => quickPick("Control+P", name),
    async shot(name) {
      mkdirSync(RESULTS, { recursive: true });
      await page.screenshot({ path: join(RESULTS, `${name}.png`) });
    },
    async close() {
      await browser.close();
      // code-server's own children (extension host, and through it our server) go with its group.
      if (server.pid !== undefined) process.kill(-server.pid, "SIGTERM");
      await new Promise((r) => setTimeout(r, 500));
      rmSync(home, { recursive: true, force: true });
    },
  };
  return wb;
}

/** The pids of Chartbridge servers started from the extensions folder of `workbench`'s profile. */
export function serverPids(): number[] {
  const out = execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" });
  return out.split("\n").filter((l) => /cb-e2e-.*\/dist\/server\.js serve/.test(l)).map((l) => Number(l.trim().split(/\s+/)[0]));
}
