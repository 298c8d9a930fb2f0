/**
 * Side-by-side debugging: while a Python debug session is paused, the open chart shows a time
 * cursor at the strategy's event time, which the paused frame is asked for (cursorTime.ts); it
 * goes when the session continues or ends. Nothing is asked while no chart is open. The way back,
 * from a bar to the debugger, is DebugByBar below.
 */
import * as vscode from "vscode";
import { breakCondition, breakTarget, enclosingTarget, languageOf } from "./breakpoints.js";
import { CURSOR_EXPRESSION, CursorFollower } from "./cursorTime.js";
import { localSource } from "./panel.js";

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

/** The parts of Debug Adapter Protocol messages the tracker reads. */
interface DapMessage {
  type?: string;
  seq?: number;
  request_seq?: number;
  command?: string;
  event?: string;
  arguments?: unknown;
}
interface SetBreakpoints {
  source: { path?: string };
  breakpoints?: { line: number; condition?: string }[];
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
  /**
   * Breakpoints on a temporary one's line, taken out meanwhile (a debug adapter keeps one
   * breakpoint per line: debugpy would keep the condition of "Break Here" and never stop at the
   * next bar), put back at the next stop.
   */
  private readonly displaced: vscode.SourceBreakpoint[] = [];
  /** The adapter answered a setBreakpoints request: the file and the breakpoints it now holds there. */
  private readonly taken = new vscode.EventEmitter<SetBreakpoints>();
  private readonly subscriptions: vscode.Disposable;

  constructor(private readonly log: (message: string) => void) {
    const removeTemporary = () => {
      if (this.temporary.size === 0) return;
      vscode.debug.removeBreakpoints([...this.temporary]);
      this.temporary.clear();
      const back = this.displaced.splice(0).map((b) => new vscode.SourceBreakpoint(b.location, b.enabled, b.condition, b.hitCondition, b.logMessage));
      if (back.length > 0) vscode.debug.addBreakpoints(back);
    };
    this.subscriptions = vscode.Disposable.from(
      this.taken,
      vscode.debug.registerDebugAdapterTrackerFactory("*", {
        createDebugAdapterTracker: () => {
          const asked = new Map<number, SetBreakpoints>();
          return {
            onWillReceiveMessage: (m: DapMessage) => {
              if (m.type === "request" && m.command === "setBreakpoints" && m.seq !== undefined) asked.set(m.seq, m.arguments as SetBreakpoints);
            },
            onDidSendMessage: (m: DapMessage) => {
              if (m.type === "event" && m.event === "stopped") removeTemporary();
              const request = m.type === "response" && m.request_seq !== undefined ? asked.get(m.request_seq) : undefined;
              if (request !== undefined) {
                asked.delete(m.request_seq as number);
                this.taken.fire(request);
              }
            },
          };
        },
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
      if (path === undefined) continue;
      // In a remote window (code-server, SSH) the paths come back as the window's URIs of the
      // remote (vscode-remote://host/path); this extension host runs there, where the path is a file.
      const uri = vscode.Uri.file(/^[a-z][\w+.-]*:\/\//i.test(path) ? vscode.Uri.parse(path).path : path);
      const language = languageOf(uri.path);
      if (language === null) continue;
      const target = enclosingTarget(await readText(uri), language, f.line - 1);
      if (target !== null) return this.continueTo(new vscode.SourceBreakpoint(new vscode.Location(uri, new vscode.Position(target.line, 0))));
    }
    throw new Error("Step to Next Bar: the paused stack is in no @chart / #[chart] function");
  }

  dispose(): void {
    this.subscriptions.dispose();
  }

  private async breakpointAt(source: SeriesSource, timeNs: bigint): Promise<vscode.SourceBreakpoint> {
    const language = languageOf(source.file);
    if (language === null) throw new Error(`${source.file} is neither Python nor Rust: no function to break in`);
    const uri = await localSource(source.file);
    if (uri === null) throw new Error(`the source ${source.file} is not in this workspace`);
    const text = await readText(uri);
    const target = breakTarget(text, language, source.line - 1, uri.fsPath);
    const position = new vscode.Position(target.line, 0);
    return new vscode.SourceBreakpoint(new vscode.Location(uri, position), true, breakCondition(language, timeNs, text));
  }

  private async continueTo(breakpoint: vscode.SourceBreakpoint): Promise<void> {
    pausedFrame();
    this.log(`continuing to ${breakpoint.location.uri.toString()}:${breakpoint.location.range.start.line + 1}${breakpoint.condition ? ` if ${breakpoint.condition}` : ""}`);
    // The adapter must hold the breakpoint before the strategy runs on: a setBreakpoints of its
    // file with its line and condition answered (a request may also be the removal of another).
    const line = breakpoint.location.range.start.line + 1;
    const file = breakpoint.location.uri.path.split("/").pop() ?? "";
    const taken = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, SET_BREAKPOINTS_MS);
      const once = this.taken.event((request) => {
        const holds = (request.source.path ?? "").split(/[\\/]/).pop() === file && (request.breakpoints ?? []).some((b) => b.line === line && (b.condition ?? undefined) === breakpoint.condition);
        if (!holds) return;
        clearTimeout(timer);
        once.dispose();
        resolve();
      });
    });
    const sameLine = vscode.debug.breakpoints.filter((b): b is vscode.SourceBreakpoint => b instanceof vscode.SourceBreakpoint && sameLocation(b, breakpoint));
    this.displaced.push(...sameLine);
    vscode.debug.removeBreakpoints(sameLine);
    this.temporary.add(breakpoint);
    vscode.debug.addBreakpoints([breakpoint]);
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
async function readText(uri: vscode.Uri): Promise<string> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open !== undefined) return open.getText();
  return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
}
