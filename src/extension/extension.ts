/**
 * Extension entry. Activation only wires things up: the server starts when a chart needs it (or,
 * with `chartbridge.autoOpen`, in the background to watch for new runs), never on the activation path.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import { followDebugger } from "./debugCursor.js";
import { deleteRun, listPlugins, listRuns, newestRunWith, pluginEnabled, runFacts, setPlugin } from "./graphql.js";
import { ChartLenses, type SiteArgs } from "./lenses.js";
import { ChartPanels } from "./panel.js";
import { RunWatcher } from "./runWatcher.js";
import { readSettings, SERVER_SETTINGS, serverEnv, workspacePluginDir } from "./settings.js";
import { showMenu, StatusItem } from "./status.js";
import { keepServerRecord, recordDir } from "./serverRecord.js";
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
      return ["--prefix", s.keyPrefix, "--plugins", plugins];
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
  context.subscriptions.push(debugCursor);

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
      if (lenses.facts.size > 0) (lenses.facts = new Map()), lenses.refresh();
      return;
    }
    try {
      const run = charts.run ?? (await listRuns(running))[0]?.id;
      const facts = run === undefined ? [] : (await runFacts(running, run))?.series ?? [];
      lenses.facts = new Map(facts.map((s) => [s.id, { count: s.count, lastTimeUs: s.lastTimeUs, lastValue: s.lastValue }]));
      lenses.refresh();
    } catch (err) {
      log.debug(`lens facts: ${(err as Error).message}`);
    }
  };
  const factsTimer = setInterval(() => void refreshFacts(), FACTS_MS);
  context.subscriptions.push({ dispose: () => clearInterval(factsTimer) });

  /** The run a command acts on: the chart's, else one the user picks. */
  const pickRun = async (title: string): Promise<string | undefined> => {
    const runs = await listRuns(await server.ready());
    if (runs.length === 0) {
      void vscode.window.showInformationMessage("Chartbridge: no runs yet. Run a strategy that uses @cb.chart.");
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(
      runs.map((r) => ({ label: r.id, description: `${r.strategy} · ${r.status}`, detail: new Date(r.startedUs / 1000).toLocaleString() })),
      { title },
    );
    return pick?.label;
  };

  const command = (id: string, run: (...args: never[]) => unknown) =>
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: never[]) => {
        try {
          await run(...args);
        } catch (err) {
          log.error(`${id}: ${(err as Error).message}`);
          void vscode.window.showErrorMessage(`Chartbridge: ${(err as Error).message}`);
        }
      }),
    );

  command("chartbridge.showChart", async (site?: SiteArgs) => {
    if (site === undefined) {
      charts.show();
      return;
    }
    // From a lens: the newest run that has the series, scrolled to it.
    const runs = await listRuns(await server.ready());
    const run = newestRunWith(runs, site.series)?.id;
    if (run === undefined) void vscode.window.showInformationMessage(`Chartbridge: no run has charted ${site.series[0]} yet.`);
    charts.show(run);
    for (const series of site.series) charts.send({ type: "revealSeries", payload: { series } });
  });

  command("chartbridge.toggleSeries", async (site?: SiteArgs) => {
    let series = site?.series;
    if (series === undefined) {
      const run = charts.run ?? (await listRuns(await server.ready()))[0]?.id;
      const facts = run === undefined ? null : await runFacts(await server.ready(), run);
      const pick = await vscode.window.showQuickPick(
        (facts?.series ?? []).map((s) => ({ label: s.id, description: charts.hidden.has(s.id) ? "hidden" : "shown" })),
        { title: "Chartbridge: toggle a series" },
      );
      if (pick === undefined) return;
      series = [pick.label];
    }
    charts.show();
    // A site's series go together: all shown, or all hidden.
    const visible = charts.hidden.has(series[0]);
    for (const id of series) charts.send({ type: "toggleSeries", payload: { series: id, visible } });
  });

  command("chartbridge.togglePlugin", async () => {
    const running = await server.ready();
    const runs = await listRuns(running);
    const run = runs.find((r) => r.id === charts.run) ?? runs[0];
    if (run === undefined) throw new Error("no run to enable a plugin for");
    const plugins = await listPlugins(running);
    const trusted = vscode.workspace.isTrusted;
    const pick = await vscode.window.showQuickPick(
      plugins.map((p) => {
        const on = pluginEnabled(p, run);
        return { label: `${on ? "$(pass-filled)" : "$(circle-large-outline)"} ${p.name}`, name: p.name, on, description: `${p.origin}${p.error ? " · build failed" : ""}`, detail: p.error ?? undefined };
      }),
      { title: `Chartbridge plugins of ${run.id}${trusted ? "" : " (Restricted Mode: plugins do not run until the workspace is trusted)"}`, placeHolder: plugins.length === 0 ? "No plugins: create one with Chartbridge: New Plugin" : "Toggle a plugin" },
    );
    if (pick === undefined) return;
    await setPlugin(running, run.id, pick.name, !pick.on);
    log.info(`plugin ${pick.name} ${pick.on ? "disabled" : "enabled"} for ${run.id}`);
  });

  command("chartbridge.newPlugin", async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (folder === undefined) throw new Error("open a folder first: plugins live in the workspace");
    const name = await vscode.window.showInputBox({
      title: "Chartbridge: new plugin",
      prompt: "Plugin name (letters, digits, - and _)",
      value: "my-plugin",
      validateInput: (v) => (/^[A-Za-z0-9_-]{1,64}$/.test(v) ? undefined : "letters, digits, - and _ only"),
    });
    if (name === undefined) return;
    const dir = vscode.Uri.joinPath(folder.uri, readSettings().pluginFolder);
    const file = vscode.Uri.joinPath(dir, `${name}.js`);
    const exists = await vscode.workspace.fs.stat(file).then(() => true, () => false);
    if (!exists) {
      const template = await vscode.workspace.fs.readFile(vscode.Uri.joinPath(context.extensionUri, "snippets", "plugin-template.js"));
      await vscode.workspace.fs.createDirectory(dir);
      await vscode.workspace.fs.writeFile(file, template);
    }
    await vscode.window.showTextDocument(file);
  });

  command("chartbridge.restartServer", () => server.restart());
  command("chartbridge.stopServer", () => server.stop());
  command("chartbridge.showLog", () => log.show());
  command("chartbridge.showMenu", () => showMenu(server.state, charts.isOpen));

  command("chartbridge.openInBrowser", async () => {
    const running = await server.ready();
    const uri = await vscode.env.asExternalUri(vscode.Uri.parse(`${running.url}/?token=${running.token}${charts.run ? `&run=${encodeURIComponent(charts.run)}` : ""}`));
    // Remote or code-server: the browser reaches the server under VS Code's forwarded name.
    if (uri.authority !== new URL(running.url).host) server.allowHost(uri.authority);
    await vscode.env.openExternal(uri);
  });

  command("chartbridge.exportPng", () => {
    charts.show();
    charts.send({ type: "exportPng", payload: {} });
  });

  command("chartbridge.deleteRun", async () => {
    const run = await pickRun("Chartbridge: delete a run");
    if (run === undefined) return;
    const answer = await vscode.window.showWarningMessage(`Delete run ${run} and all its data from Redis?`, { modal: true }, "Delete");
    if (answer !== "Delete") return;
    await deleteRun(await server.ready(), run);
    log.info(`deleted run ${run}`);
  });

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
