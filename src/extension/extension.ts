/**
 * Extension entry. Activation stays light: it only opens the log channel; the server, panel and
 * CodeLens arrive with the extension issue and are started on demand, not here.
 */
import * as vscode from "vscode";

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel("Chartbridge", { log: true });
  context.subscriptions.push(log);
  log.info(`Chartbridge ${String(context.extension.packageJSON.version)} activated`);
}

export function deactivate(): void {}
