/**
 * What the debugger asks a paused Python frame for the chart's time cursor, how the answer is read,
 * and which answer is shown when. No vscode import (unit-tested; the expression against the real
 * SDK in a real Python frame).
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

/**
 * Turns pauses and their answers into cursor updates: only the newest pause's answer is shown (one
 * that comes after the next step or the session's end is dropped), and a shown cursor is removed
 * when the next pause has no time or the session ends.
 */
export class CursorFollower {
  private shown = false;
  private asked = 0;

  constructor(private readonly show: (timeUs: number | null) => void, private readonly log: (message: string) => void) {}

  /** The debugger's focus moved; `evaluate` asks the paused frame the expression, null when there is no frame to ask. */
  async paused(evaluate: (() => Promise<unknown>) | null): Promise<void> {
    const ticket = ++this.asked;
    if (evaluate === null) return this.clear();
    let timeUs: number | null = null;
    try {
      timeUs = parseCursorTime(await evaluate());
    } catch (err) {
      this.log(`time cursor: the paused frame did not answer: ${(err as Error).message}`);
    }
    if (ticket !== this.asked) return;
    if (timeUs === null) return this.clear();
    this.shown = true;
    this.show(timeUs);
  }

  ended(): void {
    this.asked++;
    this.clear();
  }

  private clear(): void {
    if (this.shown) this.show(null);
    this.shown = false;
  }
}
