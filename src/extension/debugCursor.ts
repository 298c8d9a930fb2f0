/**
 * Side-by-side debugging: while a Python debug session is paused, the open chart shows a time
 * cursor at the strategy's event time, which the paused frame is asked for (cursorTime.ts); it
 * goes when the session continues or ends. Nothing is asked while no chart is open.
 */
import * as vscode from "vscode";
import { CURSOR_EXPRESSION, parseCursorTime } from "./cursorTime.js";

/** Debug adapters that evaluate Python (the Python extension's debugpy, older "python" configs). */
const PYTHON_DEBUGGERS = new Set(["debugpy", "python"]);

export function followDebugger(show: (timeUs: number | null) => void, isChartOpen: () => boolean, log: (message: string) => void): vscode.Disposable {
  let shown = false;
  // Only the newest pause counts: an answer that comes after the next step is dropped.
  let asked = 0;
  const clear = () => {
    if (shown) show(null);
    shown = false;
  };
  const onItem = async (item: vscode.DebugThread | vscode.DebugStackFrame | undefined) => {
    const ticket = ++asked;
    if (!(item instanceof vscode.DebugStackFrame) || !PYTHON_DEBUGGERS.has(item.session.type) || !isChartOpen()) return clear();
    let timeUs: number | null = null;
    try {
      const reply = (await item.session.customRequest("evaluate", { expression: CURSOR_EXPRESSION, frameId: item.frameId, context: "watch" })) as { result?: unknown };
      timeUs = parseCursorTime(reply.result);
    } catch (err) {
      log(`time cursor: the paused frame did not answer: ${(err as Error).message}`);
    }
    if (ticket !== asked) return;
    if (timeUs === null) return clear();
    shown = true;
    show(timeUs);
  };
  return vscode.Disposable.from(
    vscode.debug.onDidChangeActiveStackItem((item) => void onItem(item)),
    vscode.debug.onDidTerminateDebugSession(() => {
      asked++;
      clear();
    }),
  );
}
