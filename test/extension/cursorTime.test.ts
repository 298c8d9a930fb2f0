import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { CURSOR_EXPRESSION, CursorFollower, parseCursorTime } from "../../src/extension/cursorTime.js";

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

describe("extension: which pause's time the cursor shows", () => {
  const follow = () => {
    const shown: (number | null)[] = [];
    const logs: string[] = [];
    return { shown, logs, follower: new CursorFollower((t) => shown.push(t), (m) => logs.push(m)) };
  };
  const deferred = () => {
    let resolve: (v: unknown) => void = () => {};
    const promise = new Promise<unknown>((r) => (resolve = r));
    return { ask: () => promise, resolve };
  };

  it("shows the paused frame's time, and removes it when the session ends", async () => {
    const { shown, follower } = follow();
    await follower.paused(async () => "1700000000123456789");
    follower.ended();
    follower.ended();
    assert.deepEqual(shown, [1_700_000_000_123_456, null], "removed once");
  });

  it("drops an answer that comes after the next pause, or after the session ended", async () => {
    const { shown, follower } = follow();
    const slow = deferred();
    const first = follower.paused(slow.ask);
    await follower.paused(async () => "2000");
    slow.resolve("1000");
    await first;
    assert.deepEqual(shown, [2], "the newer pause's time only");
    const late = deferred();
    const pending = follower.paused(late.ask);
    follower.ended();
    late.resolve("3000");
    await pending;
    assert.deepEqual(shown, [2, null], "nothing drawn after the end");
  });

  it("removes the cursor when the debugger moves to a frame with no time or no frame, and sends nothing when none is shown", async () => {
    const { shown, logs, follower } = follow();
    await follower.paused(null);
    await follower.paused(async () => "None");
    assert.deepEqual(shown, [], "nothing to remove");
    await follower.paused(async () => "5000");
    await follower.paused(async () => "None");
    await follower.paused(async () => "6000");
    await follower.paused(null);
    await follower.paused(async () => {
      throw new Error("frame gone");
    });
    assert.deepEqual(shown, [5, null, 6, null]);
    assert.deepEqual(logs, ["time cursor: the paused frame did not answer: frame gone"]);
  });
});
