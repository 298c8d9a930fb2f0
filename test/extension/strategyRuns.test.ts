import { strict as assert } from "node:assert";
import type { RunSummary } from "../../src/shared/api.js";
import { latestPair, strategyClasses } from "../../src/extension/strategyRuns.js";

const run = (id: string, strategy: string): RunSummary => ({ id, strategy, status: "ended", startedUs: 0 });

describe("Compare with Previous Run: which runs, and which classes get the lens", () => {
  it("takes the newest run of the strategy and the one before it, skipping other strategies' runs", () => {
    const runs = [run("c", "Other"), run("b", "EMACross"), run("x", "EMACross+Hedge"), run("a", "EMACross")];
    assert.deepEqual(latestPair(runs, "EMACross"), ["b", "x"]);
    assert.deepEqual(latestPair(runs, "Hedge"), "Hedge has one run yet: run it again to compare");
    assert.deepEqual(latestPair(runs, "None"), "None has no run yet: run it again to compare");
  });

  it("finds the classes deriving from a Strategy (not its config), with their line", () => {
    const text = ["from nautilus_trader.trading.strategy import Strategy", "", "class EMACross(Strategy):", "    pass",
      "class Config(StrategyConfig, frozen=True):", "class Helper:", "class Faster(ema.EMACross, MyStrategy):"].join("\n");
    assert.deepEqual(strategyClasses(text), [{ line: 2, name: "EMACross" }, { line: 6, name: "Faster" }]);
  });

  it("counts a class with a charted method as a strategy (the SDK names its runs after it)", () => {
    const text = ["class Plain:", "    pass", "class Charted:", "    @cb.chart", "    def mid(self): ..."].join("\n");
    assert.deepEqual(strategyClasses(text, ["Charted.mid"]), [{ line: 2, name: "Charted" }]);
  });
});
