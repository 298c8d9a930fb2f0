/** The chart's data model without a chart (src/webview/seriesData.ts): range answers, live merges, trimming. */
import { strict as assert } from "node:assert";
import type { BatchReply, RangeReply, SeriesMeta } from "../../src/shared/api.js";
import type { SeriesKind } from "../../src/shared/protocol.js";
import { ChartData } from "../../src/webview/seriesData.js";

const meta = (id: string, kind: SeriesKind): SeriesMeta => ({
  id, kind, pane: "main", title: id, color: null, options: {}, source: null, target: null, role: null, count: 0,
  firstTimeUs: null, lastTimeUs: null, rejected: 0, stale: 0, lost: 0, lastError: null, error: null,
});
const range = (kind: SeriesKind, t: number[], y: number[], bucketUs = 0, lastId = "1-0"): RangeReply => ({
  kind, count: t.length, total: t.length, decimated: bucketUs > 0, bucketUs, lastId, through: t.length, points: { t, y },
});
const batch = (series: string, t: number[], y: number[], lastId: string, offset = 0): BatchReply => ({ series, count: t.length, offset, lastId, points: { t, y } });

describe("webview: the chart's data model", () => {
  it("holds a range answer, and merges live points after it by the ordering rule", () => {
    const d = new ChartData();
    d.add(meta("p", "line"));
    d.applyRange({ fromUs: null, toUs: null, maxPoints: 100 }, ["p"], [range("line", [10, 20], [1, 2])]);
    assert.deepEqual(d.extent, { fromUs: 10, toUs: 20 });
    const changes = d.applyLive([batch("p", [30, 25, 40], [3, 9, 4], "2-0"), batch("p", [50], [5], "1-5")], null);
    // 25 is earlier than 30 (dropped); the batch ending at 1-5 is already in the range answer (skipped).
    assert.deepEqual(d.get("p")?.data, [{ time: 10, value: 1 }, { time: 20, value: 2 }, { time: 30, value: 3 }, { time: 40, value: 4 }]);
    assert.deepEqual([...changes.touched], [["p", 2]]);
    assert.equal(changes.overBudget, false);
    assert.deepEqual(d.extent, { fromUs: 10, toUs: 40 });
  });

  it("lands live points of a decimated series on the server's bucket grid, keeping a histogram's peak", () => {
    const d = new ChartData();
    d.add(meta("h", "histogram"));
    d.applyRange({ fromUs: null, toUs: null, maxPoints: 100 }, ["h"], [range("histogram", [0, 100], [5, 7], 100)]);
    d.applyLive([batch("h", [150, 160, 210], [-9, 3, 1], "2-0")], null);
    assert.deepEqual(d.get("h")?.data, [{ time: 0, value: 5 }, { time: 100, value: -9 }, { time: 200, value: 1 }]);
  });

  it("trims a followed tail over budget to two spans left of the view, and says it is over budget while it is", () => {
    const d = new ChartData();
    d.add(meta("p", "line"));
    const t = Array.from({ length: 10 }, (_, i) => i * 10);
    d.applyRange({ fromUs: null, toUs: null, maxPoints: 4 }, ["p"], [range("line", t, t)]);
    const changes = d.applyLive([batch("p", [100], [100], "2-0")], 10);
    // Cutoff = 100 - 3 * 10 = 70: points before it go.
    assert.deepEqual(d.get("p")?.data.map((p) => p.time), [70, 80, 90, 100]);
    assert.deepEqual([...changes.trimmed], ["p"]);
    assert.deepEqual([...changes.touched], [["p", 0]]);
    assert.equal(changes.overBudget, false);
    assert.equal(d.held?.fromUs, 70);
    const more = d.applyLive([batch("p", [101, 102, 103, 104, 105], [1, 2, 3, 4, 5], "3-0")], null);
    assert.equal(more.overBudget, true, "9 points against a budget of 4");
  });

  it("keeps every marker at one time, and drops only the markers a racing live batch repeats from the range answer", () => {
    const d = new ChartData();
    d.add(meta("fills", "marker"));
    const buy = (text: string) => ({ side: "buy" as const, text });
    const reply: RangeReply = { kind: "marker", count: 2, total: 2, decimated: false, bucketUs: 0, lastId: "2-0", through: 2,
      points: { t: [10, 10], y: [1, 1], m: [buy("BUY 1 @ 1"), buy("BUY 1 @ 1")] } };
    d.applyRange({ fromUs: null, toUs: null, maxPoints: 100 }, ["fills"], [reply]);
    // Sent before the range answer was computed: entries 2-0 (the second marker, held) and 3-0 (two new ones at 10).
    const raced: BatchReply = { series: "fills", count: 3, offset: 1, lastId: "3-0",
      points: { t: [10, 10, 10], y: [1, 2, 3], m: [buy("BUY 1 @ 1"), buy("BUY 1 @ 2"), buy("BUY 1 @ 3")] } };
    d.applyLive([raced], null);
    d.applyLive([{ series: "fills", count: 1, offset: 4, lastId: "4-0", points: { t: [20], y: [4], m: [buy("BUY 1 @ 4")] } }], null);
    assert.deepEqual(d.get("fills")?.markers.map((m) => [m.t, m.y, m.m.text]), [
      [10, 1, "BUY 1 @ 1"], [10, 1, "BUY 1 @ 1"], [10, 2, "BUY 1 @ 2"], [10, 3, "BUY 1 @ 3"], [20, 4, "BUY 1 @ 4"],
    ]);
  });
});
