/**
 * The chart panel: one webview beside the editor with the run picker inside it, restored after a
 * window reload by a WebviewPanelSerializer (no retainContextWhenHidden: the page reloads its
 * chart from the server when shown again). The page comes from the shared renderer with a fresh
 * nonce; the only local resources it may load are the dist bundle; its GraphQL runs over the
 * tunnel (tunnel.ts).
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs/promises";
import * as vscode from "vscode";
import { renderWebviewHtml } from "../shared/webviewHtml.js";
import type { HostMessage, UiCommand, WebviewMessage, WebviewState } from "../shared/webviewProtocol.js";
import { readSettings } from "./settings.js";
import type { ServerSupervisor } from "./supervisor.js";
import { TunnelRelay } from "./tunnel.js";

export const VIEW_TYPE = "chartbridge.chart";
/** Where the tunnel's URL would point; the host ignores it and connects to its own server. */
const TUNNEL_URL = "chartbridge-host:/graphql";
const LAST_RUN_KEY = "chartbridge.lastRun";

export class ChartPanels implements vscode.Disposable {
  private panel: vscode.WebviewPanel | null = null;
  private tunnel: TunnelRelay | null = null;
  private ready = false;
  private queued: UiCommand[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  private readonly changed = new vscode.EventEmitter<void>();
  /** The panel opened, closed, or changed run or series visibility (lenses redraw). */
  readonly onDidChange = this.changed.event;
  /** The run the panel was last told to show. */
  run: string | undefined;
  /** The debugger's cursor while one is shown: a page loaded again (its tab shown) is sent it anew. */
  private cursor: Extract<UiCommand, { type: "timeCursor" }> | null = null;
  /** Series the chart hides, as the page last reported (the lens says "Show series" for them). */
  readonly hidden = new Set<string>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly supervisor: ServerSupervisor,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(
      this.changed,
      vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state: unknown) => {
          const run = (state as WebviewState | undefined)?.run ?? this.context.workspaceState.get<string>(LAST_RUN_KEY);
          this.adopt(panel, run);
        },
      }),
    );
  }

  /** The debugger's time cursor shown now (µs), null when no session is paused with a time. */
  get cursorTimeUs(): number | null {
    return this.cursor?.payload.timeUs ?? null;
  }

  get isOpen(): boolean {
    return this.panel !== null;
  }

  /** Points relayed to the chart since the last call. */
  takePoints(): number {
    return this.tunnel?.takePoints() ?? 0;
  }

  /** Opens (or reveals) the chart beside the active editor, keeping focus in the editor. */
  show(run?: string): void {
    if (this.panel === null) {
      const panel = vscode.window.createWebviewPanel(VIEW_TYPE, "Chartbridge", { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {});
      this.adopt(panel, run ?? this.context.workspaceState.get<string>(LAST_RUN_KEY));
    } else {
      this.panel.reveal(undefined, true);
      if (run !== undefined && run !== this.run) this.send({ type: "selectRun", payload: { run } });
    }
    if (run !== undefined) this.setRun(run);
  }

  /** Sends a UI command to the page (queued until the page says it is ready). */
  send(command: UiCommand): void {
    if (command.type === "timeCursor") this.cursor = command.payload.timeUs === null ? null : command;
    if (this.panel !== null && this.ready) void this.panel.webview.postMessage(command);
    else this.queued.push(command);
  }

  /** Renders the page again (trust granted, settings changed). */
  refresh(): void {
    if (this.panel !== null) this.render(this.panel);
  }

  dispose(): void {
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }

  private setRun(run: string): void {
    this.run = run;
    void this.context.workspaceState.update(LAST_RUN_KEY, run);
    this.changed.fire();
  }

  private adopt(panel: vscode.WebviewPanel, run: string | undefined): void {
    this.panel = panel;
    this.run = run;
    this.hidden.clear();
    const post = (message: HostMessage) => void panel.webview.postMessage(message);
    const tunnel = new TunnelRelay(() => this.supervisor.server, post, (m) => this.log.debug(m));
    this.tunnel = tunnel;
    this.supervisor.start();
    const listener = panel.webview.onDidReceiveMessage((message: WebviewMessage) => {
      if (!tunnel.handle(message)) void this.onMessage(message);
    });
    // Hidden, the page is discarded (no retainContextWhenHidden): its sockets go, and commands wait
    // until the page, loaded again when shown, says it is ready.
    const visibility = panel.onDidChangeViewState(() => {
      if (!panel.visible) this.pageGone(tunnel);
    });
    panel.onDidDispose(() => {
      listener.dispose();
      visibility.dispose();
      tunnel.closeAll();
      if (this.panel === panel) {
        this.panel = null;
        this.tunnel = null;
        this.ready = false;
        this.changed.fire();
      }
    });
    this.render(panel);
    this.changed.fire();
    if (!vscode.workspace.isTrusted) void explainRestrictedMode();
  }

  private pageGone(tunnel: TunnelRelay): void {
    this.ready = false;
    tunnel.closeAll();
    if (this.cursor !== null) this.queued.push(this.cursor);
  }

  private render(panel: vscode.WebviewPanel): void {
    const dist = vscode.Uri.joinPath(this.context.extensionUri, "dist");
    panel.webview.options = { enableScripts: true, localResourceRoots: [dist] };
    if (this.tunnel !== null) this.pageGone(this.tunnel);
    panel.webview.html = renderWebviewHtml({
      nonce: randomBytes(18).toString("base64"),
      scriptUrl: panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, "webview.js")).toString(),
      cspSource: panel.webview.cspSource,
      config: {
        transport: { kind: "postMessage", url: TUNNEL_URL },
        run: this.run,
        timeZone: readSettings().timeZone,
        // Workspace plugins are code: in Restricted Mode none runs, and the panel says why.
        pluginsAllowed: vscode.workspace.isTrusted,
      },
    });
  }

  private async onMessage(message: WebviewMessage): Promise<void> {
    switch (message.type) {
      case "ready":
        this.ready = true;
        for (const command of this.queued.splice(0)) void this.panel?.webview.postMessage(command);
        return;
      case "revealSource":
        await revealSource(message.payload.file, message.payload.line);
        return;
      case "runShown":
        // The webview also keeps it with setState; the workspace state covers a panel closed and reopened.
        if (message.payload.run !== this.run) this.setRun(message.payload.run);
        return;
      case "seriesVisibility":
        this.hidden.clear();
        for (const series of message.payload.hidden) this.hidden.add(series);
        this.changed.fire();
        return;
      case "saveFile":
        await this.saveFile(message.payload.name, message.payload.base64);
        return;
      case "openCommitDiff":
        await vscode.commands.executeCommand("chartbridge.openCommitDiff", message.payload);
        return;
      case "debugBar":
        // One home for what each action does: the command of the same name (commands.ts).
        await vscode.commands.executeCommand(`chartbridge.${message.payload.action}`, message.payload);
        return;
      default:
        return;
    }
  }

  private async saveFile(name: string, base64: string): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({ defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined, saveLabel: "Export" });
    if (target === undefined) return;
    await vscode.workspace.fs.writeFile(target, Buffer.from(base64, "base64"));
    this.log.info(`exported ${target.fsPath}`);
  }
}

/**
 * Opens the file and line a series came from (1-based line, as the SDKs record it); see localSource.
 */
export async function revealSource(file: string, line: number): Promise<void> {
  const uri = await localSource(file);
  if (uri === null) {
    void vscode.window.showWarningMessage(`Chartbridge: the source ${file} is not in this workspace.`);
    return;
  }
  const position = new vscode.Position(Math.max(0, line - 1), 0);
  await vscode.window.showTextDocument(uri, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(position, position), preserveFocus: false });
}

/**
 * The file a run's recorded source names, here: the path itself when it is in the workspace; a run
 * recorded elsewhere (another checkout, a container) names a path outside it, and the workspace
 * file of the same name is meant (the one a breakpoint must be in); else the path if it exists.
 */
export async function localSource(file: string): Promise<vscode.Uri | null> {
  const uri = vscode.Uri.file(file);
  if (vscode.workspace.getWorkspaceFolder(uri) !== undefined) return uri;
  const name = file.split(/[\\/]/).pop() ?? file;
  const [found] = await vscode.workspace.findFiles(`**/${name}`, "**/node_modules/**", 1);
  if (found !== undefined) return found;
  return (await fs.stat(file).then(() => true, () => false)) ? uri : null;
}

/** Workspace plugins are code: in Restricted Mode none runs, and the user is told why and how to change it. */
async function explainRestrictedMode(): Promise<void> {
  const manage = "Manage Workspace Trust";
  const answer = await vscode.window.showInformationMessage("Chartbridge: workspace plugins do not run in Restricted Mode. Charts of data still work; trust the workspace to run its plugins.", manage);
  if (answer === manage) await vscode.commands.executeCommand("workbench.trust.manage");
}
