/**
 * Conditions (protocol/SPEC.md section 5, role `condition`) written by a real Python process with
 * `cb.condition`, read back over GraphQL from a real server on a real Redis: each condition's
 * points exactly, and `conditionBars`, the bars where a chosen set all held.
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ConditionBars, SeriesMeta } from "../src/shared/api.js";
import { OPERATIONS } from "../src/shared/api.js";
import type { ValuePoints } from "../src/shared/protocol.js";
import { testRedis } from "./harness/rootHooks.js";
import { lineFields, query, useTestServer, writeRun, xadd } from "./harness/server.js";

const PYTHON = join(__dirname, "..", ".venv", "bin", "python");
const T0 = 1_700_000_000_123_456_789n;
const N = 120;
const us = (i: number) => Number((T0 + BigInt(i) * 60_000_000_000n) / 1000n);
const bars = (keep: (i: number) => boolean) => Array.from({ length: N }, (_, i) => i).filter(keep);
const ENTRY = "Bars.entry";

describe("conditions: recorded per bar by the Python SDK, read back over GraphQL", function () {
  this.timeout(60_000);
  const t = useTestServer();

  const filter = async (conditions: string[], max = 1000, from: number | null = null, to: number | null = null) => {
    const r = await query<{ conditionBars: ConditionBars }>(t.ws, OPERATIONS.conditionBars.document, { run: "cond", conditions: conditions.map((c) => `${ENTRY}:${c}`), from, to, max });
    assert.equal(r.errors, undefined);
    return r.data?.conditionBars;
  };

  beforeEach(async () => {
    await promisify(execFile)(PYTHON, [join(__dirname, "fixtures", "conditions_run.py"), testRedis().url, t.prefix, "cond", String(T0), String(N)]);
  });

  it("lists each condition with its role, title, pane and the signal that checked it, and reads its points exactly", async () => {
    const run = await query<{ run: { series: SeriesMeta[] } }>(t.ws, OPERATIONS.run.document, { id: "cond" });
    const conditions = run.data?.run.series.filter((s) => s.role === "condition").map((s) => [s.id, s.title, s.pane, s.target, s.count]);
    assert.deepEqual(conditions, [
      [`${ENTRY}:even`, "even", "conditions", ENTRY, N],
      [`${ENTRY}:fourth`, "fourth", "conditions", ENTRY, N / 2],
      [`${ENTRY}:not_fifth`, "not fifth", "conditions", ENTRY, N],
      [`${ENTRY}:third`, "third", "conditions", ENTRY, N],
    ]);
    assert.deepEqual(run.data?.run.series.filter((s) => s.role !== "condition").map((s) => [s.id, s.role]), [["Bars.entry", null], ["Bars.on_bar", null]]);
    const points = async (c: string) => (await query<{ range: { points: ValuePoints } }>(t.ws, OPERATIONS.range.document, { run: "cond", series: `${ENTRY}:${c}`, from: null, to: null, max: 1000 })).data?.range.points;
    assert.deepEqual(await points("third"), { t: bars(() => true).map(us), y: bars(() => true).map((i) => (i % 3 === 0 ? 1 : 0)) });
    assert.deepEqual(await points("fourth"), { t: bars((i) => i % 2 === 0).map(us), y: bars((i) => i % 2 === 0).map((i) => (i % 4 === 0 ? 1 : 0)) });
  });

  it("answers the bars where every chosen condition held, exactly (a condition not recorded at a bar did not hold there)", async () => {
    assert.deepEqual(await filter(["even", "third"]), { count: 20, bucketUs: 0, t: bars((i) => i % 6 === 0).map(us) });
    assert.deepEqual(await filter(["even", "third", "not_fifth"]), { count: 16, bucketUs: 0, t: bars((i) => i % 6 === 0 && i % 5 !== 0).map(us) });
    assert.deepEqual(await filter(["third", "fourth"]), { count: 10, bucketUs: 0, t: bars((i) => i % 12 === 0).map(us) });
    assert.deepEqual(await filter(["fourth"], 1000, us(10), us(40)), { count: 8, bucketUs: 0, t: [12, 16, 20, 24, 28, 32, 36, 40].map(us) });
    // The signal fired exactly where its three conditions held.
    const markers = await query<{ range: { points: { t: number[] } } }>(t.ws, OPERATIONS.range.document, { run: "cond", series: ENTRY, from: null, to: null, max: 1000 });
    assert.deepEqual(markers.data?.range.points.t, (await filter(["even", "third", "not_fifth"]))?.t);
  });

  it("counts exactly when it answers buckets, and refuses a series that is not a condition", async () => {
    const coarse = await filter(["even"], 10);
    assert.equal(coarse?.count, 60);
    assert.ok((coarse?.bucketUs ?? 0) > 0 && (coarse?.t.length ?? 0) <= 11, JSON.stringify(coarse));
    assert.deepEqual(coarse?.t.map((b) => b % (coarse.bucketUs)), coarse?.t.map(() => 0), "bucket starts on the grid");
    const r = await query(t.ws, OPERATIONS.conditionBars.document, { run: "cond", conditions: ["Bars.on_bar"], from: null, to: null, max: 100 });
    assert.equal(r.errors?.[0]?.message, "series Bars.on_bar of run cond is not a condition (protocol/SPEC.md section 5)");
  });

  it("reads a role only on a line series, and a condition of another writer by the same rule", async () => {
    await writeRun(t, "foreign", { a: { kind: "line", role: "condition" }, b: { kind: "histogram", role: "condition" } });
    await xadd(t, t.keys.series("foreign", "a"), lineFields([1000n, 2000n, 3000n], [1, 0, 1]));
    const run = await query<{ run: { series: SeriesMeta[] } }>(t.ws, OPERATIONS.run.document, { id: "foreign" });
    assert.deepEqual(run.data?.run.series.map((s) => [s.id, s.role]), [["a", "condition"], ["b", null]]);
    const r = await query<{ conditionBars: ConditionBars }>(t.ws, OPERATIONS.conditionBars.document, { run: "foreign", conditions: ["a"], from: null, to: null, max: 10 });
    assert.deepEqual(r.data?.conditionBars, { count: 2, bucketUs: 0, t: [1, 3] });
  });
});
