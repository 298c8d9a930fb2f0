import { strict as assert } from "node:assert";
import type { ValuePoints } from "../src/shared/protocol.js";
import { collect, lineFields, query, useTestServer, writeRun, xadd } from "./harness/server.js";

const T0 = 1_700_000_000_000_000_000n;

interface EventReply {
  runEvents: { run: string; type: string; data: Record<string, unknown>; id: string };
}
const EVENTS = `subscription($run: ID, $after: String) { runEvents(run: $run, after: $after) { run type data id } }`;

describe("server: run events, plugins, results, deletion and ranges", () => {
  const t = useTestServer();

  it("replays and follows a run's events, and setPlugin reaches them and the run's plugin list", async () => {
    await writeRun(t, "ev", { p: { kind: "line" } });
    await t.redis.xadd(t.keys.events("ev"), "*", "type", "series", "data", JSON.stringify({ id: "p" }));
    await t.redis.xadd(t.keys.events("ev"), "*", "type", "bogus", "data", "{}");
    const sub = collect<EventReply>(t.ws, EVENTS, { run: "ev", after: "0-0" });
    await sub.until((xs) => xs.length === 1);
    const set = await query<{ setPlugin: { name: string; enabled: boolean; params: unknown } }>(
      t.ws,
      `mutation { setPlugin(run: "ev", name: "bollinger", enabled: true, params: { period: 20, k: 2 }) { name enabled params } }`,
    );
    assert.deepEqual(set.data?.setPlugin, { name: "bollinger", enabled: true, params: { period: 20, k: 2 } });
    await t.redis.xadd(t.keys.events("ev"), "*", "type", "publish", "data", JSON.stringify({ topic: "signals", payload: [1, 2] }));
    const items = await sub.until((xs) => xs.length === 3);
    assert.deepEqual(
      items.map((x) => [x.runEvents.type, x.runEvents.data]),
      [
        ["series", { id: "p" }],
        ["plugin", { name: "bollinger", enabled: true, params: { period: 20, k: 2 } }],
        ["publish", { topic: "signals", payload: [1, 2] }],
      ],
    );
    assert.ok(t.logs.some((l) => l.includes('unknown type "bogus"')));
    const run = await query<{ run: { plugins: unknown[] } }>(t.ws, `{ run(id: "ev") { plugins { name enabled params } } }`);
    assert.deepEqual(run.data?.run.plugins, [{ name: "bollinger", enabled: true, params: { period: 20, k: 2 } }]);
  });

  it("returns a run's results and deletes a run with every key it had, announcing it", async () => {
    await writeRun(t, "gone", { p: { kind: "line" } });
    await xadd(t, t.keys.series("gone", "p"), lineFields([T0], [1]));
    await t.redis.set(t.keys.results("gone"), JSON.stringify({ stats: { sharpe: 1.5 }, trades: [] }));
    const r = await query<{ run: { results: unknown } }>(t.ws, `{ run(id: "gone") { results } }`);
    assert.deepEqual(r.data?.run.results, { stats: { sharpe: 1.5 }, trades: [] });
    const list = collect<EventReply>(t.ws, EVENTS, { run: null, after: "0-0" });
    const del = await query<{ deleteRun: boolean }>(t.ws, `mutation { deleteRun(run: "gone") }`);
    assert.equal(del.data?.deleteRun, true);
    assert.deepEqual(await t.redis.keys(`${t.prefix}:{gone}:*`), []);
    const runs = await query<{ runs: unknown[] }>(t.ws, "{ runs { id } }");
    assert.deepEqual(runs.data?.runs, []);
    const events = await list.until((xs) => xs.length === 1);
    assert.deepEqual([events[0].runEvents.run, events[0].runEvents.type], ["gone", "delete"]);
    const again = await query<{ deleteRun: boolean }>(t.ws, `mutation { deleteRun(run: "gone") }`);
    assert.equal(again.data?.deleteRun, false);
  });

  it("answers range queries decimated to maxPoints with the ID to continue live from", async () => {
    await writeRun(t, "big", { p: { kind: "line" } });
    const n = 20_000;
    const times = Array.from({ length: n }, (_, i) => T0 + BigInt(i) * 1_000_000_000n);
    const ys = Array.from({ length: n }, (_, i) => (i === 12_345 ? 1000 : i % 7));
    const lastId = await xadd(t, t.keys.series("big", "p"), lineFields(times, ys));
    const r = await query<{ range: { count: number; total: number; decimated: boolean; lastId: string; points: ValuePoints } }>(
      t.ws,
      `{ range(run: "big", series: "p", maxPoints: 500) { count total decimated lastId points } }`,
    );
    const range = r.data?.range;
    assert.equal(range?.total, n);
    assert.equal(range?.decimated, true);
    assert.ok((range?.count ?? 0) <= 500 && (range?.count ?? 0) > 400, `${range?.count} points`);
    assert.equal(range?.lastId, lastId);
    assert.equal(Math.max(...(range?.points.y ?? [])), 1000, "the spike survived decimation");
    const bad = await query(t.ws, `{ range(run: "big", series: "p", maxPoints: 100000000) { count } }`);
    assert.match(bad.errors?.[0]?.message ?? "", /maxPoints must be an integer in 2\.\.200000/);
  });
});

describe("server: series cache memory budget", () => {
  const t = useTestServer({ cacheBytes: 600_000 });

  it("drops the least recently used series nobody follows, and reloads it exactly when asked again", async () => {
    const series = { a: { kind: "line" as const }, b: { kind: "line" as const }, c: { kind: "line" as const } };
    await writeRun(t, "mem", series);
    const n = 20_000;
    const times = Array.from({ length: n }, (_, i) => T0 + BigInt(i) * 1_000_000_000n);
    for (const id of Object.keys(series)) await xadd(t, t.keys.series("mem", id), lineFields(times, times.map((_, i) => i)));
    const count = async (id: string) =>
      (await query<{ history: { count: number } }>(t.ws, `{ history(run: "mem", series: "${id}", maxPoints: 100000) { count } }`)).data?.history.count;
    // Each series takes ~20k points x 16 bytes x growth headroom; three do not fit in 600 kB.
    assert.equal(await count("a"), n);
    assert.equal(await count("b"), n);
    assert.equal(await count("c"), n);
    assert.ok(t.logs.some((l) => /dropped .*:s:a \(20000 points/.test(l)), t.logs.join("\n"));
    assert.ok(!t.logs.some((l) => /dropped .*:s:c /.test(l)), "the newest stays");
    assert.equal(await count("a"), n, "reloaded from Redis, whole");
  });
});
