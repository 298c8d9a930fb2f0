/**
 * What each Chartbridge command does. extension.ts wires the parts together and registers these;
 * each body here sees only the parts it is given (CommandParts), so a new command is one entry in
 * COMMANDS plus its contribution in package.json.
 */
import * as vscode from "vscode";
import { pluginEnabled } from "../shared/api.js";
import { pluginNameProblem } from "../shared/protocol.js";
import { deleteRun, listPlugins, listRuns, newestRunWith, runFacts, setPlugin } from "./graphql.js";
import { activeStrategy, openCommitDiff, type CommitDiffArgs } from "./compareRuns.js";
import { latestPair, type StrategyArgs } from "./strategyRuns.js";
import type { SiteArgs } from "./lenses.js";
import { breakTarget, chartTimeNs, enclosingTarget, languageOf } from "./breakpoints.js";
import type { DebugByBar, SeriesSource } from "./debugCursor.js";
import type { ChartPanels } from "./panel.js";
import { readSettings } from "./settings.js";
import { showMenu } from "./status.js";
import type { ServerSupervisor } from "./supervisor.js";

export interface CommandParts {
  context: vscode.ExtensionContext;
  server: ServerSupervisor;
  charts: ChartPanels;
  log: vscode.LogOutputChannel;
  debug: DebugByBar;
}

/** A point of a series chosen on the chart (its context menu): the webview's `debugBar` payload. */
interface BarArgs {
  source: SeriesSource;
  timeUs: number;
}

/**
 * From the palette: the debugger's cursor time, and the charted function the editor's cursor is in
 * (or on the decorator of).
 */
function barAtCursors(charts: ChartPanels): BarArgs {
  const timeUs = charts.cursorTimeUs;
  if (timeUs === null) throw new Error("no time cursor: pause the strategy under the debugger, or right-click a bar on the chart");
  const editor = vscode.window.activeTextEditor;
  const file = editor?.document.uri.fsPath;
  const language = file === undefined ? null : languageOf(file);
  if (editor === undefined || file === undefined || language === null) throw new Error("put the editor's cursor in a charted Python or Rust function");
  const text = editor.document.getText();
  const line = editor.selection.active.line;
  const site = enclosingTarget(text, language, line)?.site ?? (() => {
    try {
      return breakTarget(text, language, line).site;
    } catch {
      throw new Error(`line ${line + 1} of ${file} is in no @chart / #[chart] function`);
    }
  })();
  return { source: { file, line: site + 1 }, timeUs };
}

type Command = (parts: CommandParts, ...args: never[]) => unknown;

/** The run a command acts on: one the user picks. */
async function pickRun({ server }: CommandParts, title: string): Promise<string | undefined> {
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
}

export const COMMANDS: Record<string, Command> = {
  "chartbridge.showChart": async ({ server, charts }, site?: SiteArgs) => {
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
  },

  "chartbridge.toggleSeries": async ({ server, charts }, site?: SiteArgs) => {
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
  },

  "chartbridge.togglePlugin": async ({ server, charts, log }) => {
    const running = await server.ready();
    const runs = await listRuns(running);
    const run = runs.find((r) => r.id === charts.run) ?? runs[0];
    if (run === undefined) throw new Error("no run to enable a plugin for");
    const plugins = await listPlugins(running);
    const trusted = vscode.workspace.isTrusted;
    const pick = await vscode.window.showQuickPick(
      plugins.map((p) => {
        const on = pluginEnabled(p, run.plugins.find((c) => c.name === p.name)?.enabled);
        return { label: `${on ? "$(pass-filled)" : "$(circle-large-outline)"} ${p.name}`, name: p.name, on, description: `${p.origin}${p.error ? " · build failed" : ""}`, detail: p.error ?? undefined };
      }),
      { title: `Chartbridge plugins of ${run.id}${trusted ? "" : " (Restricted Mode: plugins do not run until the workspace is trusted)"}`, placeHolder: plugins.length === 0 ? "No plugins: create one with Chartbridge: New Plugin" : "Toggle a plugin" },
    );
    if (pick === undefined) return;
    await setPlugin(running, run.id, pick.name, !pick.on);
    log.info(`plugin ${pick.name} ${pick.on ? "disabled" : "enabled"} for ${run.id}`);
  },

  "chartbridge.newPlugin": async ({ context }) => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (folder === undefined) throw new Error("open a folder first: plugins live in the workspace");
    const name = await vscode.window.showInputBox({
      title: "Chartbridge: new plugin",
      prompt: "Plugin name (ASCII letters, digits, _, . and -; starting with a letter, digit or _)",
      value: "my-plugin",
      // The server's rule: a file it would not load is refused here, with the reason.
      validateInput: (v) => pluginNameProblem(v) ?? undefined,
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
  },

  "chartbridge.restartServer": ({ server }) => server.restart(),
  "chartbridge.stopServer": ({ server }) => server.stop(),
  "chartbridge.showLog": ({ log }) => log.show(),
  "chartbridge.showMenu": ({ server, charts }) => showMenu(server.state, charts.isOpen),

  "chartbridge.openInBrowser": async ({ server, charts }) => {
    const running = await server.ready();
    const uri = await vscode.env.asExternalUri(vscode.Uri.parse(`${running.url}/?token=${running.token}${charts.run ? `&run=${encodeURIComponent(charts.run)}` : ""}`));
    // Remote or code-server: the browser reaches the server under VS Code's forwarded name.
    if (uri.authority !== new URL(running.url).host) server.allowHost(uri.authority);
    await vscode.env.openExternal(uri);
  },

  "chartbridge.exportPng": ({ charts }) => {
    charts.show();
    charts.send({ type: "exportPng", payload: {} });
  },

  /** The newest run of the strategy (a lens's, the active editor's, else the chart's) against the one before. */
  "chartbridge.compareWithPrevious": async ({ server, charts }, args?: StrategyArgs) => {
    const runs = await listRuns(await server.ready());
    const strategy = args?.strategy ?? activeStrategy() ?? runs.find((r) => r.id === charts.run)?.strategy;
    if (strategy === undefined) throw new Error("open a strategy's file (a class deriving from Strategy) or a chart to compare its runs");
    const pair = latestPair(runs, strategy);
    if (typeof pair === "string") {
      void vscode.window.showInformationMessage(`Chartbridge: ${pair}`);
      return;
    }
    charts.show(pair[0]);
    charts.send({ type: "compareRuns", payload: { base: pair[0], runs: [pair[1]] } });
  },

  "chartbridge.openCommitDiff": (_parts, args: CommitDiffArgs) => openCommitDiff(args),
  "chartbridge.breakHere": async ({ debug, charts }, bar?: BarArgs) => {
    const { source, timeUs } = bar ?? barAtCursors(charts);
    const added = await debug.breakHere(source, chartTimeNs(timeUs));
    void vscode.window.showInformationMessage(`Chartbridge: breakpoint at ${vscode.workspace.asRelativePath(added.location.uri)}:${added.location.range.start.line + 1} if ${added.condition}`);
  },
  "chartbridge.runToBar": ({ debug, charts }, bar?: BarArgs) => {
    const { source, timeUs } = bar ?? barAtCursors(charts);
    return debug.runTo(source, chartTimeNs(timeUs));
  },
  "chartbridge.stepToNextBar": ({ debug }) => debug.stepToNextBar(),

  "chartbridge.deleteRun": async (parts) => {
    const run = await pickRun(parts, "Chartbridge: delete a run");
    if (run === undefined) return;
    const answer = await vscode.window.showWarningMessage(`Delete run ${run} and all its data from Redis?`, { modal: true }, "Delete");
    if (answer !== "Delete") return;
    await deleteRun(await parts.server.ready(), run);
    parts.log.info(`deleted run ${run}`);
  },
};

/** Registers COMMANDS; a command that throws shows its error and logs it. */
export function registerCommands(parts: CommandParts): void {
  for (const [id, run] of Object.entries(COMMANDS)) {
    parts.context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: never[]) => {
        try {
          await run(parts, ...args);
        } catch (err) {
          parts.log.error(`${id}: ${(err as Error).message}`);
          void vscode.window.showErrorMessage(`Chartbridge: ${(err as Error).message}`);
        }
      }),
    );
  }
}
