/**
 * Markers are events (protocol/SPEC.md section 3): the server keeps every marker at one time, in
 * stream order, in history, range and live answers, and a client merging live batches into a range
 * answer is told which markers it already holds (Range.through, Batch.offset).
 */
import { strict as assert } from "node:assert";
import { encodeBatch } from "../src/shared/encode.js";
import type { Marker, MarkerPoints } from "../src/shared/protocol.js";
import { collect, query, useTestServer, writeRun, xadd, type TestServer } from "./harness/server.js";

const T0 = 1_700_000_000_000_000_000n;
const MIN = 60_000_000_000n;
const us = (ns: bigint) => Number(ns / 1000n);
const buy = (text: string): Marker => ({ side: "buy", text });

interface BatchData {
  batches: { count: number; offset: number; lastId: string; points: MarkerPoints };
}
interface RangeData {
  range: { count: number; total: number; through: number; lastId: string; points: MarkerPoints };
}

async function markers(t: TestServer, run: string, times: bigint[], y: number[], m: Marker[]): Promise<string> {
  const fields = encodeBatch("marker", { t: times, y, m });
  return xadd(t, t.keys.series(run, "fills"), Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === "string" ? v : Buffer.from(v)])));
}

async function range(t: TestServer, run: string): Promise<RangeData["range"]> {
  const r = await query<RangeData>(t.ws, `query($run: ID!) { range(run: $run, series: "fills", maxPoints: 1000) { count total through lastId points } }`, { run });
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  return r.data?.range as RangeData["range"];
}

describe("server: markers at one time are all kept (SPEC section 3)", () => {
  const t = useTestServer();

  it("answers history and range with every marker at one time, in stream order", async () => {
    await writeRun(t, "m1", { fills: { kind: "marker", target: "bars" } });
    // Two partial fills of one order at one time in one entry, a third part at that time in the next.
    await markers(t, "m1", [T0, T0], [1.1005, 1.1005], [buy("BUY 100 @ 1.1005"), buy("BUY 100 @ 1.1005")]);
    const last = await markers(t, "m1", [T0, T0 + MIN], [1.1007, 1.1012], [buy("BUY 50 @ 1.1007"), { side: "sell", text: "SELL 250 @ 1.1012" }]);
    const expected: MarkerPoints = {
      t: [us(T0), us(T0), us(T0), us(T0 + MIN)],
      y: [1.1005, 1.1005, 1.1007, 1.1012],
      m: [buy("BUY 100 @ 1.1005"), buy("BUY 100 @ 1.1005"), buy("BUY 50 @ 1.1007"), { side: "sell", text: "SELL 250 @ 1.1012" }],
    };
    const h = await query<{ history: { count: number; offset: number; points: MarkerPoints } }>(t.ws, `{ history(run: "m1", series: "fills") { count offset points } }`);
    assert.deepEqual(h.data?.history, { count: 4, offset: 0, points: expected });
    assert.deepEqual(await range(t, "m1"), { count: 4, total: 4, through: 4, lastId: last, points: expected });
    const s = await query<{ run: { series: { id: string; count: number; stale: number }[] } }>(t.ws, `{ run(id: "m1") { series { id count stale } } }`);
    assert.deepEqual(s.data?.run.series, [{ id: "fills", count: 4, stale: 0 }]);
  });

  it("delivers live markers at an equal time, and a range read after the live merge holds each once", async () => {
    await writeRun(t, "m2", { fills: { kind: "marker", target: "bars" } });
    await markers(t, "m2", [T0], [2], [buy("BUY 1 @ 2")]);
    const before = await range(t, "m2");
    assert.deepEqual([before.count, before.through], [1, 1]);
    const live = collect<BatchData>(t.ws, `subscription($after: String) { batches(run: "m2", series: "fills", after: $after) { count offset lastId points } }`, { after: before.lastId });
    // The same fill again at the same time (a second part of equal size and price), then a later one.
    await markers(t, "m2", [T0, T0], [2, 2], [buy("BUY 1 @ 2"), buy("BUY 1 @ 2")]);
    await markers(t, "m2", [T0 + MIN], [3], [{ side: "sell", text: "SELL 3 @ 3" }]);
    await live.until((items) => items.reduce((n, b) => n + b.batches.count, 0) === 3);
    assert.deepEqual(live.errors, []);
    assert.deepEqual(live.items.map((b) => b.batches.offset), live.items.map((_, i) => 1 + live.items.slice(0, i).reduce((n, b) => n + b.batches.count, 0)));
    assert.deepEqual(live.items.flatMap((b) => b.batches.points.m.map((m) => m.text)), ["BUY 1 @ 2", "BUY 1 @ 2", "SELL 3 @ 3"]);
    live.unsubscribe();
    const after = await range(t, "m2");
    assert.deepEqual([after.count, after.through], [4, 4]);
    assert.deepEqual(after.points, {
      t: [us(T0), us(T0), us(T0), us(T0 + MIN)],
      y: [2, 2, 2, 3],
      m: [buy("BUY 1 @ 2"), buy("BUY 1 @ 2"), buy("BUY 1 @ 2"), { side: "sell", text: "SELL 3 @ 3" }],
    });
    // A history resumed after the first range answer holds exactly the three live markers, numbered from 1.
    const resumed = await query<{ history: { count: number; offset: number } }>(t.ws, `query($after: String) { history(run: "m2", series: "fills", after: $after) { count offset } }`, { after: before.lastId });
    assert.deepEqual(resumed.data?.history, { count: 3, offset: 1 });
  });
});
