/**
 * What the debugger asks a paused Python frame for the chart's time cursor, and how the answer is
 * read. No vscode import (unit-tested against the real SDK in a real Python frame).
 *
 * The strategy's event time is, in order: the Chartbridge integration clock (the Nautilus actor
 * sets it to the simulated time), a `ts_event`/`ts_init` attribute of a local (a Bar, a tick),
 * an int `ts_event`/`ts_init` local (a decorated function's parameter). The SDK is not imported
 * by the expression: a process without Chartbridge answers None, and no cursor is drawn.
 */

/** One expression, evaluated in the paused frame (its locals are the frame's). */
export const CURSOR_EXPRESSION =
  "(lambda c, l: (c.point_time(list(l.values())) if c else None)" +
  " or next((v for v in (l.get('ts_event'), l.get('ts_init')) if type(v) is int and v >= 0), None))" +
  "(__import__('sys').modules.get('chartbridge.clock'), locals())";

/** The event time in µs from the evaluated result (Python's repr of an int of ns), else null. */
export function parseCursorTime(result: unknown): number | null {
  if (typeof result !== "string" || !/^\d{1,19}$/.test(result.trim())) return null;
  return Number(BigInt(result.trim()) / 1000n);
}
