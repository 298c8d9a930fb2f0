import { strict as assert } from "node:assert";
import { describeFacts, seriesByInstance } from "../../src/extension/seriesFacts.js";

describe("extension: the lens facts of a series", () => {
  const at = Date.UTC(2024, 0, 2, 16, 39) * 1000;

  it("says how many points, the last value to six significant digits, and when", () => {
    assert.equal(describeFacts({ count: 1000, lastTimeUs: at, lastValue: 1.1023456, lost: 0 }), "1,000 points · last 1.10235 at 2024-01-02 16:39:00 UTC");
    assert.equal(describeFacts({ count: 1, lastTimeUs: at, lastValue: -1234567.5, lost: 0 }), "1 point · last -1,234,570 at 2024-01-02 16:39:00 UTC");
  });

  it("leaves out what is not known", () => {
    assert.equal(describeFacts({ count: 0, lastTimeUs: null, lastValue: null, lost: 0 }), "0 points");
    assert.equal(describeFacts({ count: 3, lastTimeUs: at, lastValue: null, lost: 0 }), "3 points · last at 2024-01-02 16:39:00 UTC");
  });

  it("says how many points the producer could not store, after the count", () => {
    assert.equal(describeFacts({ count: 9000, lastTimeUs: at, lastValue: 2, lost: 1500 }), "9,000 points · 1,500 not stored · last 2 at 2024-01-02 16:39:00 UTC");
  });

  it("finds a charted method's series of every further calling object, by key, the site's own first", () => {
    const site = ["Pair.price.ema3", "Pair.price"];
    const known = ["Pair.price", "Pair.price.ema3/EMACross-002", "Pair.price/EMACross-002", "Pair.price.ema3/3",
      "Pair.price.ema3/2/x", "Pair.price2/2", "Pair.price/", "EUR/USD.SIM-1-MINUTE-LAST-EXTERNAL", "Pair.price/2:wide"];
    assert.deepEqual([...seriesByInstance(site, known)], [
      ["", site],
      ["EMACross-002", ["Pair.price.ema3/EMACross-002", "Pair.price/EMACross-002"]],
      ["3", ["Pair.price.ema3/3"]],
    ]);  // a condition of the second object (`/2:wide`) is not an object of its own
    assert.deepEqual([...seriesByInstance(site, [])], [["", site]]);
  });
});
