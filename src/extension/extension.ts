/**
 * Extension entry. Activation only wires things up: the server starts when a chart needs it (or,
 * with `chartbridge.autoOpen`, in the background to watch for new runs), never on the activation path.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import { DebugByBar, followDebugger } from "./debugCursor.js";
import { registerCommands } from "./commands.js";
import { listRuns, runFacts } from "./graphql.js";
import { ChartLenses } from "./lenses.js";
import { ChartPanels } from "./panel.js";
import { RunWatcher } from "./runWatcher.js";
import { readSettings, SERVER_SETTINGS, serverEnv, workspacePluginDir } from "./settings.js";
import { retentionArgs } from "../shared/retention.js";
import { keepServerRecord, recordDir } from "./serverRecord.js";
import { StatusItem } from "./status.js";
import { ServerSupervisor } from "./supervisor.js";

/** While the chart is open, the lens facts are re-read this often. */
const FACTS_MS = 3000;

let supervisor: ServerSupervisor | null = null;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel("Chartbridge", { log: true });
  context.subscriptions.push(log);
  log.info(`Chartbridge ${String(context.extension.packageJSON.version)} activated`);

  const storage = context.globalStorageUri.fsPath;
  const server = new ServerSupervisor({
    serverPath: path.join(context.extensionPath, "dist", "server.js"),
    cwd: context.extensionPath,
    args: () => {
      const s = readSettings();
      // Restricted Mode: the server watches an empty private folder, never the workspace's.
      const plugins = workspacePluginDir(s) ?? path.join(storage, "no-workspace-plugins");
      return ["--prefix", s.keyPrefix, "--plugins", plugins, ...retentionArgs(s.retention)];
    },
    env: () => serverEnv(readSettings()),
    portRange: () => readSettings().portRange,
    log: (level, message) => log[level](message),
  });
  supervisor = server;
  // Notebook kernels find this server through its record (serverRecord.ts): none of our env reaches them.
  const dropRecord = keepServerRecord((listener) => server.onState(listener), {
    dir: recordDir(),
    prefix: () => readSettings().keyPrefix,
    workspaceFolders: () => (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
    log: (message) => log.warn(message),
  });
  context.subscriptions.push({ dispose: dropRecord });
  const charts = new ChartPanels(context, server, log);
  const lenses = new ChartLenses(charts);
  const status = new StatusItem(() => charts.takePoints());
  context.subscriptions.push(charts, lenses, status);
  const debugCursor = followDebugger((timeUs) => charts.send({ type: "timeCursor", payload: { timeUs } }), () => charts.isOpen, (m) => log.debug(m));
  const debugByBar = new DebugByBar((m) => log.info(m));
  context.subscriptions.push(debugCursor, debugByBar);

  const setContext = (key: string, value: boolean) => void vscode.commands.executeCommand("setContext", key, value);
  server.onState((state) => {
    status.update(state);
    setContext("chartbridge.serverRunning", server.server !== null);
  });
  let chartWasOpen = false;
  charts.onDidChange(() => {
    setContext("chartbridge.chartOpen", charts.isOpen);
    // Opened while a debug session is paused: the chart shows where the strategy stands at once.
    if (charts.isOpen && !chartWasOpen) debugCursor.refresh();
    chartWasOpen = charts.isOpen;
    lenses.refresh();
    void refreshFacts();
  });

  const refreshFacts = async () => {
    const running = server.server;
    if (!charts.isOpen || running === null) {
      status.setLost(0);
      if (lenses.facts.size > 0) (lenses.facts = new Map()), lenses.refresh();
      return;
    }
    try {
      const run = charts.run ?? (await listRuns(running))[0]?.id;
      const facts = run === undefined ? [] : (await runFacts(running, run))?.series ?? [];
      lenses.facts = new Map(facts.map((s) => [s.id, { count: s.count, lastTimeUs: s.lastTimeUs, lastValue: s.lastValue, lost: s.lost }]));
      status.setLost(facts.reduce((sum, s) => sum + s.lost, 0));
      lenses.refresh();
    } catch (err) {
      log.debug(`lens facts: ${(err as Error).message}`);
    }
  };
  const factsTimer = setInterval(() => void refreshFacts(), FACTS_MS);
  context.subscriptions.push({ dispose: () => clearInterval(factsTimer) });

  registerCommands({ context, server, charts, log, debug: debugByBar });

  context.subscriptions.push(
    vscode.languages.registerCodeLensProvider([{ language: "python" }, { language: "rust" }], lenses),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (SERVER_SETTINGS.some((s) => e.affectsConfiguration(s)) && server.state.kind !== "stopped") void server.restart();
      if (e.affectsConfiguration("chartbridge.codeLens")) lenses.refresh();
      if (e.affectsConfiguration("chartbridge.timeZone")) charts.send({ type: "setTimeZone", payload: { zone: readSettings().timeZone } });
    }),
    // Trust granted: workspace plugins may run now; the server watches their folder and the page allows them.
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      if (server.state.kind !== "stopped") void server.restart();
      charts.refresh();
    }),
  );

  if (readSettings().autoOpen) {
    // In the background: a run that starts opens the chart beside the editor.
    const watcher = new RunWatcher(
      () => server.ready(),
      (event) => {
        if (event.type === "start" && readSettings().autoOpen && !charts.isOpen) charts.show(event.run);
      },
      (m) => log.debug(m),
    );
    context.subscriptions.push({ dispose: () => watcher.dispose() });
  }
}

export async function deactivate(): Promise<void> {
  await supervisor?.dispose();
  supervisor = null;
}
