/**
 * The editor side of comparing runs: the strategy of the active editor, and VS Code's diff of the two
 * runs' commits.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as vscode from "vscode";
import { findChartSites } from "./chartSites.js";
import { strategyClasses } from "./strategyRuns.js";

/** Arguments of chartbridge.openCommitDiff (the panel's commit row). */
export interface CommitDiffArgs {
  root: string;
  from: string;
  to: string;
}

/** The strategy of the active editor: the class the cursor is in (else its file's first strategy class). */
export function activeStrategy(): string | undefined {
  const editor = vscode.window.activeTextEditor;
  if (editor === undefined) return undefined;
  const text = editor.document.getText();
  const classes = strategyClasses(text, findChartSites(text, "python").flatMap((s) => s.series));
  const cursor = editor.selection.active.line;
  return ([...classes].reverse().find((c) => c.line <= cursor) ?? classes[0])?.name;
}

const git = async (root: string, ...args: string[]) => (await promisify(execFile)("git", ["-C", root, ...args], { maxBuffer: 64 << 20 })).stdout;

/** The git extension's URI of `file` at `ref` (what its own diffs open). */
const gitUri = (file: vscode.Uri, ref: string) => file.with({ scheme: "git", query: JSON.stringify({ path: file.fsPath, ref }) });

/** Opens VS Code's diff of two commits: every file that changed, side by side. */
export async function openCommitDiff({ root, from, to }: CommitDiffArgs): Promise<void> {
  if (from === to) {
    void vscode.window.showInformationMessage(`Chartbridge: both runs ran commit ${from.slice(0, 10)}; only their uncommitted changes can differ.`);
    return;
  }
  const files = (await git(root, "diff", "--name-only", from, to)).split("\n").filter((f) => f !== "");
  if (files.length === 0) {
    void vscode.window.showInformationMessage(`Chartbridge: commits ${from.slice(0, 10)} and ${to.slice(0, 10)} have the same files.`);
    return;
  }
  const title = `${from.slice(0, 10)} ↔ ${to.slice(0, 10)}`;
  const uris = files.map((f) => vscode.Uri.joinPath(vscode.Uri.file(root), f));
  if (uris.length === 1) {
    await vscode.commands.executeCommand("vscode.diff", gitUri(uris[0], from), gitUri(uris[0], to), `${files[0]} (${title})`);
    return;
  }
  await vscode.commands.executeCommand("vscode.changes", `Chartbridge: ${title}`, uris.map((u) => [u, gitUri(u, from), gitUri(u, to)]));
}
