import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { CURSOR_EXPRESSION, parseCursorTime } from "../../src/extension/cursorTime.js";

const PYTHON = join(__dirname, "..", "..", ".venv", "bin", "python");

/** Evaluates the cursor expression inside a real frame of a real Python process, as a debugger would. */
function evaluateIn(body: string): string {
  const script = `
import sys
EXPR = sys.argv[1]
${body}
`;
  return execFileSync(PYTHON, ["-c", script, CURSOR_EXPRESSION], { encoding: "utf8" }).trim();
}

describe("extension: the debugger's time cursor expression", () => {
  it("answers the integration clock's time when one is set (the Nautilus actor's simulated time)", () => {
    const out = evaluateIn(`
import chartbridge as cb
cb.set_clock(1_700_000_000_123_456_789)
def on_bar(self, bar):
    print(repr(eval(EXPR)))
on_bar(None, object())`);
    assert.equal(out, "1700000000123456789");
    assert.equal(parseCursorTime(out), 1_700_000_000_123_456);
  });

  it("answers a local's ts_event (a Bar), else an int ts_event parameter", () => {
    const out = evaluateIn(`
import chartbridge
class Bar:
    ts_event = 1_700_000_060_000_000_000
def on_bar(self, bar):
    print(repr(eval(EXPR)))
def mid(self, ts_event, price):
    print(repr(eval(EXPR)))
on_bar(None, Bar())
mid(None, 1_700_000_120_000_000_000, 1.5)`);
    assert.deepEqual(out.split("\n"), ["1700000060000000000", "1700000120000000000"]);
  });

  it("answers None where nothing tells the time, or where Chartbridge is not loaded", () => {
    const withSdk = evaluateIn(`
import chartbridge
def helper(x):
    print(repr(eval(EXPR)))
helper(3)`);
    const withoutSdk = evaluateIn(`
def on_bar(self, ts_event):
    print(repr(eval(EXPR)))
on_bar(None, 5)`);
    assert.equal(withSdk, "None");
    assert.equal(withoutSdk, "5", "an int ts_event needs no SDK");
    assert.equal(parseCursorTime("None"), null);
    assert.equal(parseCursorTime("'12'"), null);
  });
});
