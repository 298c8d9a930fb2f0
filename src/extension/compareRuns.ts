/**
 * The editor side of comparing runs: the strategy of the active editor, and VS Code's diff of the two
 * runs' commits, or of their working states when a run was dirty.
 */
import * as vscode from "vscode";
import { findChartSites } from "./chartSites.js";
import { strategyClasses } from "./strategyRuns.js";
import { changedFiles, fileAt, workingTree } from "./workingState.js";

/** Arguments of chartbridge.openCommitDiff (the panel's commit row); a dirty run brings its saved diff. */
export interface CommitDiffArgs {
  root: string;
  from: string;
  to: string;
  fromDirty?: string | null;
  toDirty?: string | null;
}

/** Virtual documents of a working state: `chartbridge-state:/<path>?{"root","tree"}`. */
const STATE_SCHEME = "chartbridge-state";
let stateProvider: vscode.Disposable | undefined;

/** Opens VS Code's diff of two runs' working states (each commit plus its saved uncommitted diff). */
async function openWorkingStateDiff({ root, from, to, fromDirty, toDirty }: CommitDiffArgs): Promise<void> {
  // Registered on first use; it lives as long as the extension host.
  stateProvider ??= vscode.workspace.registerTextDocumentContentProvider(STATE_SCHEME, {
    provideTextDocumentContent: (uri) => {
      const { root: r, tree } = JSON.parse(uri.query) as { root: string; tree: string };
      return fileAt(r, tree, uri.path.slice(1));
    },
  });
  const [a, b] = await Promise.all([workingTree(root, from, fromDirty ?? null), workingTree(root, to, toDirty ?? null)]);
  const files = await changedFiles(root, a, b);
  const label = (commit: string, dirty: string | null | undefined) => `${commit.slice(0, 10)}${dirty ? " + changes" : ""}`;
  const title = `${label(from, fromDirty)} ↔ ${label(to, toDirty)}`;
  if (files.length === 0) {
    void vscode.window.showInformationMessage(`Chartbridge: ${title}: the two runs' files are the same.`);
    return;
  }
  const state = (tree: string, f: string) => vscode.Uri.from({ scheme: STATE_SCHEME, path: `/${f}`, query: JSON.stringify({ root, tree }) });
  if (files.length === 1) {
    await vscode.commands.executeCommand("vscode.diff", state(a, files[0]), state(b, files[0]), `${files[0]} (${title})`);
    return;
  }
  const uris = files.map((f) => vscode.Uri.joinPath(vscode.Uri.file(root), f));
  await vscode.commands.executeCommand("vscode.changes", `Chartbridge: ${title}`, uris.map((u, i) => [u, state(a, files[i]), state(b, files[i])]));
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

/** The git extension's URI of `file` at `ref` (what its own diffs open). */
const gitUri = (file: vscode.Uri, ref: string) => file.with({ scheme: "git", query: JSON.stringify({ path: file.fsPath, ref }) });

/** Opens VS Code's diff of two commits: every file that changed, side by side (of the working states when a run was dirty). */
export async function openCommitDiff(args: CommitDiffArgs): Promise<void> {
  const { root, from, to } = args;
  if (args.fromDirty || args.toDirty) {
    await openWorkingStateDiff(args);
    return;
  }
  if (from === to) {
    void vscode.window.showInformationMessage(`Chartbridge: both runs ran commit ${from.slice(0, 10)}; only their uncommitted changes can differ.`);
    return;
  }
  const files = await changedFiles(root, from, to);
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
