import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { breakCondition, breakTarget, chartTimeNs, enclosingTarget, pythonModuleName, utcLabel } from "../../src/extension/breakpoints.js";

const EXAMPLE = join(__dirname, "..", "..", "examples", "nautilus-ema-cross", "ema_cross.py");

describe("debug by bar: where the breakpoint goes and its condition", () => {
  it("puts a Python breakpoint on the first statement after the docstring of the example's charted function", () => {
    const text = readFileSync(EXAMPLE, "utf8");
    const lines = text.split("\n");
    const decorator = lines.findIndex((l) => l.includes("@cb.chart(kind=\"histogram\""));
    const target = breakTarget(text, "python", decorator, "ema_cross.py");
    assert.equal(target.name, "ema_gap");
    assert.equal(lines[target.line].trim(), "return (self.fast_ema.value - self.slow_ema.value) * 10_000");
    assert.equal(target.line, decorator + 3);
  });

  it("skips multi-line signatures, stacked decorators, comments and multi-line docstrings", () => {
    const text = [
      "import chartbridge as cb",       // 0
      "class S:",                       // 1
      "    @cb.ema(20)",                // 2
      "    @cb.chart(",                 // 3
      "        kind='line')",           // 4
      "    def mid(self,",              // 5
      "            bar):  # (",         // 6
      "        '''Mid price.",          // 7
      "",                               // 8
      "        Of a bar.'''",           // 9
      "        # the mean",             // 10
      "        m = (bar.high + bar.low) / 2", // 11
      "        return m",               // 12
      "    def other(self): pass",      // 13
    ].join("\n");
    assert.deepEqual([breakTarget(text, "python", 2).line, breakTarget(text, "python", 3).line], [11, 11]);
    assert.deepEqual([enclosingTarget(text, "python", 12)?.line, enclosingTarget(text, "python", 12)?.site], [11, 3]);
    assert.equal(enclosingTarget(text, "python", 13), null);
    assert.equal(enclosingTarget(text, "python", 1), null);
  });

  it("says what is wrong when the source line holds no charted function", () => {
    const text = "import chartbridge as cb\nclass S:\n    fast = cb.series(kind='line')\n";
    assert.throws(() => breakTarget(text, "python", 0, "s.py"), { message: "no @chart / #[chart] function at s.py:1 (the file changed since the run?)" });
    assert.throws(() => breakTarget(text, "python", 2, "s.py"), { message: "fast at s.py:3 is not a function with a body (a series attribute has no line to stop on)" });
  });

  it("finds a Rust #[chart] fn's first body line and compares the call's time #[chart] keeps in a local", () => {
    const text = [
      "impl Strat {",                        // 0
      "    #[chart(name = \"mid\")]",         // 1
      "    fn mid(&mut self, bar: &Bar) -> f64 {", // 2
      "        // mid price",                 // 3
      "        (bar.high + bar.low) / 2.0",   // 4
      "    }",                                // 5
      "    #[chart]",                         // 6
      "    fn tick(ts_event: u64, px: f64) -> f64 { px }", // 7
      "}",
    ].join("\n");
    const mid = breakTarget(text, "rust", 1);
    assert.deepEqual([mid.line, mid.name], [4, "mid"]);
    assert.equal(breakCondition("rust", 1_700_000_000_000_000_000n, text), "__chartbridge_ns == 1700000000000000000");
    const tick = breakTarget(text, "rust", 6);
    assert.equal(tick.line, 7);
    assert.equal(breakCondition("rust", 5n, text), "__chartbridge_ns == 5");
    assert.equal(enclosingTarget(text, "rust", 4)?.name, "mid");
  });

  it("writes the Python condition with the module's name in the file and the time in words", () => {
    assert.equal(breakCondition("python", 1_700_000_000_000_000_000n, "import chartbridge as cb\n"), "cb.at(1700000000000000000)  # 2023-11-14 22:13:20 UTC");
    assert.equal(breakCondition("python", 1_700_000_000_123_450_000n, "import chartbridge\n"), "chartbridge.at(1700000000123450000)  # 2023-11-14 22:13:20.12345 UTC");
    assert.equal(breakCondition("python", 60_000_000_000n, "from chartbridge import chart\n"), "__import__('chartbridge').at(60000000000)  # 1970-01-01 00:01:00 UTC");
    assert.equal(pythonModuleName("x = 1\nimport chartbridge as cbx  # charts\n"), "cbx");
    assert.equal(utcLabel(0n), "1970-01-01 00:00:00 UTC");
    assert.equal(chartTimeNs(1_700_000_000_000_001), 1_700_000_000_000_001_000n);
  });
});
