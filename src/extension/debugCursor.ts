/**
 * Side-by-side debugging: while a Python debug session is paused, the open chart shows a time
 * cursor at the strategy's event time, which the paused frame is asked for (cursorTime.ts); it
 * goes when the session continues or ends. Nothing is asked while no chart is open. The way back,
 * from a bar to the debugger, is DebugByBar below.
 */
import * as vscode from "vscode";
import { breakCondition, breakTarget, enclosingTarget, languageOf } from "./breakpoints.js";
import { CURSOR_EXPRESSION, CursorFollower } from "./cursorTime.js";

/** Debug adapters that evaluate Python (the Python extension's debugpy, older "python" configs). */
const PYTHON_DEBUGGERS = new Set(["debugpy", "python"]);

export interface DebugCursor extends vscode.Disposable {
  /** Asks the paused frame again: a chart opened while the session was already paused. */
  refresh(): void;
}

export function followDebugger(show: (timeUs: number | null) => void, isChartOpen: () => boolean, log: (message: string) => void): DebugCursor {
  const follower = new CursorFollower(show, log);
  // 'watch', as a Watch entry is asked: an expression read, not a statement run at the debug console ('repl').
  const ask = (frame: vscode.DebugStackFrame) => async () =>
    ((await frame.session.customRequest("evaluate", { expression: CURSOR_EXPRESSION, frameId: frame.frameId, context: "watch" })) as { result?: unknown }).result;
  const focused = (item: vscode.DebugThread | vscode.DebugStackFrame | undefined) => {
    const askable = item instanceof vscode.DebugStackFrame && PYTHON_DEBUGGERS.has(item.session.type) && isChartOpen();
    void follower.paused(askable ? ask(item) : null);
  };
  const subscriptions = vscode.Disposable.from(
    vscode.debug.onDidChangeActiveStackItem(focused),
    vscode.debug.onDidTerminateDebugSession(() => follower.ended()),
  );
  return { refresh: () => focused(vscode.debug.activeStackItem), dispose: () => subscriptions.dispose() };
}

/** A series' source as the SDK records it (1-based line of its decorator / attribute). */
export interface SeriesSource {
  file: string;
  line: number;
}

/** How long to wait for the debug adapter to take a new breakpoint before continuing. */
const SET_BREAKPOINTS_MS = 3000;

/**
 * Debug by bar (breakpoints.ts says where and with which condition): "Break Here on Next Run" adds a
 * conditional breakpoint; "Run to This Bar" and "Step to Next Bar" add a temporary one and continue,
 * and a tracker of the debug adapter's messages removes it at the next stop (the cursor follows the
 * stop as for any other).
 */
export class DebugByBar implements vscode.Disposable {
  private readonly temporary = new Set<vscode.SourceBreakpoint>();
  private readonly taken = new vscode.EventEmitter<void>();
  private readonly subscriptions: vscode.Disposable;

  constructor(private readonly log: (message: string) => void) {
    const removeTemporary = () => {
      if (this.temporary.size === 0) return;
      vscode.debug.removeBreakpoints([...this.temporary]);
      this.temporary.clear();
    };
    this.subscriptions = vscode.Disposable.from(
      this.taken,
      vscode.debug.registerDebugAdapterTrackerFactory("*", {
        createDebugAdapterTracker: () => ({
          onDidSendMessage: (m: { type?: string; event?: string; command?: string }) => {
            if (m.type === "event" && m.event === "stopped") removeTemporary();
            if (m.type === "response" && m.command === "setBreakpoints") this.taken.fire();
          },
        }),
      }),
      vscode.debug.onDidTerminateDebugSession(removeTemporary),
    );
  }

  /** Adds the breakpoint that stops `source`'s function at `timeNs` on the next run; returns it. */
  async breakHere(source: SeriesSource, timeNs: bigint): Promise<vscode.SourceBreakpoint> {
    const wanted = await this.breakpointAt(source, timeNs);
    // The same bar twice is one breakpoint.
    const same = vscode.debug.breakpoints.find((b): b is vscode.SourceBreakpoint => b instanceof vscode.SourceBreakpoint && sameLocation(b, wanted) && b.condition === wanted.condition);
    if (same !== undefined) return same;
    vscode.debug.addBreakpoints([wanted]);
    this.log(`break here: ${wanted.location.uri.fsPath}:${wanted.location.range.start.line + 1} if ${wanted.condition}`);
    return wanted;
  }

  /** While paused: continues to `source`'s function at `timeNs`. */
  async runTo(source: SeriesSource, timeNs: bigint): Promise<void> {
    await this.continueTo(await this.breakpointAt(source, timeNs));
  }

  /** While paused in a charted function: continues to its next call. */
  async stepToNextBar(): Promise<void> {
    const frame = pausedFrame();
    const trace = (await frame.session.customRequest("stackTrace", { threadId: frame.threadId, startFrame: 0, levels: 50 })) as { stackFrames: { line: number; source?: { path?: string } }[] };
    for (const f of trace.stackFrames) {
      const path = f.source?.path;
      const language = path === undefined ? null : languageOf(path);
      if (path === undefined || language === null) continue;
      const text = await readText(path);
      const target = enclosingTarget(text, language, f.line - 1);
      if (target !== null) return this.continueTo(new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file(path), new vscode.Position(target.line, 0))));
    }
    throw new Error("Step to Next Bar: the paused stack is in no @chart / #[chart] function");
  }

  dispose(): void {
    this.subscriptions.dispose();
  }

  private async breakpointAt(source: SeriesSource, timeNs: bigint): Promise<vscode.SourceBreakpoint> {
    const language = languageOf(source.file);
    if (language === null) throw new Error(`${source.file} is neither Python nor Rust: no function to break in`);
    const text = await readText(source.file);
    const target = breakTarget(text, language, source.line - 1, source.file);
    const position = new vscode.Position(target.line, 0);
    return new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file(source.file), position), true, breakCondition(language, timeNs, text, target));
  }

  private async continueTo(breakpoint: vscode.SourceBreakpoint): Promise<void> {
    pausedFrame();
    const taken = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, SET_BREAKPOINTS_MS);
      const once = this.taken.event(() => {
        clearTimeout(timer);
        once.dispose();
        resolve();
      });
    });
    this.temporary.add(breakpoint);
    vscode.debug.addBreakpoints([breakpoint]);
    // The adapter must hold the breakpoint before the strategy runs on.
    await taken;
    await vscode.commands.executeCommand("workbench.action.debug.continue");
  }
}

function pausedFrame(): vscode.DebugStackFrame {
  const item = vscode.debug.activeStackItem;
  if (!(item instanceof vscode.DebugStackFrame)) throw new Error("no paused debug session: start the strategy under the debugger and pause it first");
  return item;
}

function sameLocation(a: vscode.SourceBreakpoint, b: vscode.SourceBreakpoint): boolean {
  return a.location.uri.toString() === b.location.uri.toString() && a.location.range.start.line === b.location.range.start.line;
}

/** The file as the editor holds it (unsaved edits included), else from disk. */
async function readText(file: string): Promise<string> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === file);
  if (open !== undefined) return open.getText();
  return new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.file(file)));
}
