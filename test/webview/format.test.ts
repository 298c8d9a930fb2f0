/** How a series' numbers read without a chart (src/webview/format.ts): declared and inferred precisions, separators, units. */
import { strict as assert } from "node:assert";
import { declaredFormat, formatValue, inferPrecision } from "../../src/webview/format.js";

describe("webview: number formats", () => {
  it("infers the fewest decimals that write the data exactly, within float noise and 10 significant digits", () => {
    assert.equal(inferPrecision([1.0812, 1.08123, 1.081]), 5, "EUR/USD");
    assert.equal(inferPrecision([42990.9, 43001]), 1);
    assert.equal(inferPrecision([100_000, -100_000, 0]), 0);
    assert.equal(inferPrecision([0.1 + 0.2, 2.0812299999999997]), 5, "float noise is not a decimal");
    assert.equal(inferPrecision([1.0812345678912345]), 9, "an EMA of 1.08: 10 significant digits");
    assert.equal(inferPrecision([1_000_012.345678912]), 3, "an EMA of a million");
    assert.equal(inferPrecision([Number.NaN, Infinity]), 0);
  });

  it("reads a declared priceFormat and unit; anything else is not a declaration", () => {
    assert.deepEqual(declaredFormat({ priceFormat: { type: "price", precision: 5, minMove: 0.00001 } }), { precision: 5, minMove: 0.00001, unit: "" });
    assert.deepEqual(declaredFormat({ priceFormat: { precision: 2 }, unit: "USD" }), { precision: 2, minMove: 0.01, unit: "USD" });
    assert.equal(declaredFormat({ priceFormat: { type: "volume" } }), null);
    assert.equal(declaredFormat({ priceFormat: { precision: 2.5 } }), null);
    assert.equal(declaredFormat({ unit: "USD" }), null, "a unit alone: the precision is inferred");
  });

  it("writes thousands separators, the precision and the unit", () => {
    assert.equal(formatValue(1_000_018.16, { precision: 2, minMove: 0.01, unit: "USD" }), "1,000,018.16 USD");
    assert.equal(formatValue(-0.16, { precision: 2, minMove: 0.01, unit: "%" }), "-0.16%");
    assert.equal(formatValue(1.1, { precision: 5, minMove: 0.00001, unit: "" }), "1.10000");
    assert.equal(formatValue(-100_000, { precision: 0, minMove: 1, unit: "" }), "-100,000");
  });
});
