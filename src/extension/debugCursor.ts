/**
 * Side-by-side debugging: while a Python debug session is paused, the open chart shows a time
 * cursor at the strategy's event time, which the paused frame is asked for (cursorTime.ts); it
 * goes when the session continues or ends. Nothing is asked while no chart is open.
 */
import * as vscode from "vscode";
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
