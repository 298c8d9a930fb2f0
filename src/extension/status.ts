/** The status bar item: what the server is doing (with live points/s) and a menu of actions. */
import * as vscode from "vscode";
import { describeState, runningServer, statusBar, type ServerState } from "./supervisor.js";

const RATE_WINDOW_MS = 1000;

export class StatusItem implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("chartbridge.status", vscode.StatusBarAlignment.Left, 10);
  private state: ServerState = { kind: "stopped" };
  private rate = 0;
  /** Points of the open chart's run that were not stored (its series' `lost`). */
  private lost = 0;
  private readonly timer: NodeJS.Timeout;

  /** `takePoints` returns the live points relayed since its last call. */
  constructor(private readonly takePoints: () => number) {
    this.item.name = "Chartbridge";
    this.item.command = "chartbridge.showMenu";
    this.render();
    this.item.show();
    this.timer = setInterval(() => {
      const rate = this.takePoints() * (1000 / RATE_WINDOW_MS);
      if (rate === this.rate) return;
      this.rate = rate;
      this.render();
    }, RATE_WINDOW_MS);
  }

  update(state: ServerState): void {
    this.state = state;
    this.render();
  }

  setLost(points: number): void {
    if (points === this.lost) return;
    this.lost = points;
    this.render();
  }

  dispose(): void {
    clearInterval(this.timer);
    this.item.dispose();
  }

  private render(): void {
    const view = statusBar(this.state, this.rate, this.lost);
    this.item.text = `${view.icon} ${view.text}`;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor = view.warning ? new vscode.ThemeColor("statusBarItem.warningBackground") : undefined;
  }
}

/** The menu the status item opens: the commands that make sense in the current state. */
export async function showMenu(state: ServerState, chartOpen: boolean): Promise<void> {
  const running = runningServer(state) !== null;
  const items: (vscode.QuickPickItem & { command: string })[] = [
    { label: "$(graph) Show Chart", command: "chartbridge.showChart" },
    ...(chartOpen ? [{ label: "$(extensions) Toggle Plugin…", command: "chartbridge.togglePlugin" }, { label: "$(eye) Toggle Series…", command: "chartbridge.toggleSeries" }] : []),
    ...(running ? [{ label: "$(link-external) Open in Browser", command: "chartbridge.openInBrowser" }, { label: "$(trash) Delete Run…", command: "chartbridge.deleteRun" }] : []),
    { label: "$(new-file) New Plugin…", command: "chartbridge.newPlugin" },
    { label: state.kind === "stopped" ? "$(play) Start Server" : "$(debug-restart) Restart Server", command: "chartbridge.restartServer" },
    ...(state.kind === "stopped" ? [] : [{ label: "$(debug-stop) Stop Server", command: "chartbridge.stopServer" }]),
    { label: "$(output) Show Log", command: "chartbridge.showLog" },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: `Chartbridge: ${describeState(state)}`, placeHolder: "Chartbridge" });
  if (pick !== undefined) await vscode.commands.executeCommand(pick.command);
}
