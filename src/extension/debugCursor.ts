/**
 * Side-by-side debugging: while a Python debug session is paused, the open chart shows a time
 * cursor at the strategy's event time, which the paused frame is asked for (cursorTime.ts); it
 * goes when the session continues or ends. Nothing is asked while no chart is open.
 */
import * as vscode from "vscode";
import { CURSOR_EXPRESSION, CursorFollower } from "./cursorTime.js";

/** Debug adapters that evaluate Python (the Python extension's debugpy, older "python" configs). */
const PYTHON_DEBUGGERS = new Set(["debugpy", "python"]);

export function followDebugger(show: (timeUs: number | null) => void, isChartOpen: () => boolean, log: (message: string) => void): vscode.Disposable {
  const follower = new CursorFollower(show, log);
  // 'watch', as a Watch entry is asked: an expression read, not a statement run at the debug console ('repl').
  const ask = (frame: vscode.DebugStackFrame) => async () =>
    ((await frame.session.customRequest("evaluate", { expression: CURSOR_EXPRESSION, frameId: frame.frameId, context: "watch" })) as { result?: unknown }).result;
  return vscode.Disposable.from(
    vscode.debug.onDidChangeActiveStackItem((item) => {
      const askable = item instanceof vscode.DebugStackFrame && PYTHON_DEBUGGERS.has(item.session.type) && isChartOpen();
      void follower.paused(askable ? ask(item) : null);
    }),
    vscode.debug.onDidTerminateDebugSession(() => follower.ended()),
  );
}
