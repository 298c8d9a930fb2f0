/**
 * Isolation (protocol/SPEC.md section 10): whatever one key holds (another Redis type, the greatest
 * stream ID, JSON nested 5,000 deep, null) affects that key alone. Each numbered case is issue 20's
 * reproduction; the last test puts every poison into every key the server reads.
 */
import { strict as assert } from "node:assert";
import type { ValuePoints } from "../src/shared/protocol.js";
import { MAX_STREAM_ID } from "../src/shared/streamIds.js";
import { collect, lineFields, query, useTestServer, writeRun, xadd, type TestServer } from "./harness/server.js";

const T0 = 1_700_000_000_000_000_000n;
const at = (i: number) => T0 + BigInt(i) * 1_000_000_000n;
const us = (i: number) => Number(at(i) / 1000n);
const deep = (levels: number) => "[".repeat(levels) + "]".repeat(levels);

interface BatchReply {
  batches: { points: ValuePoints };
}
interface EventReply {
  runEvents: { type: string; data: unknown };
}
interface SeriesRow {
  id: string;
  count: number;
  error: string | null;
}
interface RunRow {
  id: string;
  error: string | null;
  series: SeriesRow[];
  plugins: { name: string }[];
  results: unknown;
}
const BATCHES = `subscription($run: ID!, $series: ID!) { batches(run: $run, series: $series, after: "0-0") { points } }`;
const EVENTS = `subscription($run: ID) { runEvents(run: $run, after: "0-0") { type data } }`;
const RUNS = `{ runs { id error series { id count error } plugins { name } results } }`;
const RUN = `query($id: ID!) { run(id: $id) { id error series { id count error } plugins { name } results } }`;

/** A healthy run `ok` with one live subscriber; returns a check that a new point still reaches it. */
async function liveRun(t: TestServer) {
  await writeRun(t, "ok", { p: { kind: "line" } });
  const sub = collect<BatchReply>(t.ws, BATCHES, { run: "ok", series: "p" });
  let next = 0;
  const send = async () => {
    const i = next++;
    await xadd(t, t.keys.series("ok", "p"), lineFields([at(i)], [i]));
    await sub.until((xs) => xs.flatMap((b) => b.batches.points.t).includes(us(i)));
  };
  await send();
  return { sub, send };
}

async function runsOk(t: TestServer): Promise<RunRow[]> {
  const r = await query<{ runs: RunRow[] }>(t.ws, RUNS);
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  return r.data?.runs ?? [];
}

const linesAbout = (t: TestServer, key: string) => t.logs.filter((l) => l.includes(key));

describe("server: isolation of one bad key (SPEC section 10)", function () {
  this.timeout(20000);
  const t = useTestServer();

  it("1. a run's event stream turned into a hash stops nobody: live batches of other runs keep arriving, the fault is logged once", async () => {
    const { send } = await liveRun(t);
    await writeRun(t, "ghost", { q: { kind: "line" } });
    const ghost = collect<EventReply>(t.ws, EVENTS, { run: "ghost" });
    await send(); // the ghost's (empty) event stream is now part of the shared XREAD
    const wrongType = async () => Number(/errorstat_WRONGTYPE:count=(\d+)/.exec(await t.redis.info("errorstats"))?.[1] ?? 0);
    const before = await wrongType();
    await t.redis.hset(t.keys.events("ghost"), "a", "b");
    for (let i = 0; i < 4; i++) await send();
    // Several XREAD rounds later (and retries with backoff), still one line about the key.
    await new Promise((r) => setTimeout(r, 2000));
    await send();
    // Retried after 1 s, then 2 s: at most 3 refused reads in these ~2 s (the old loop retried every 200 ms).
    const refused = (await wrongType()) - before;
    assert.ok(refused >= 1 && refused <= 3, `${refused} XREADs refused with WRONGTYPE`);
    assert.equal(linesAbout(t, `${t.keys.events("ghost")} holds a hash, not a stream`).length, 1, t.logs.join("\n"));
    const run = await query<{ run: RunRow }>(t.ws, RUN, { id: "ghost" });
    assert.match(run.data?.run.error ?? "", /:events holds a hash, not a stream/);
    // Fixed by the user: the ghost's events flow again, after its backoff, and nothing else stopped.
    await t.redis.del(t.keys.events("ghost"));
    await t.redis.xadd(t.keys.events("ghost"), "*", "type", "end", "data", "{}");
    await ghost.until((xs) => xs.length === 1);
    assert.deepEqual(ghost.errors, []);
    await send();
  });

  it("2. a run whose plugins key is a string, series key a hash, or series holding the greatest ID leaves the run list answering", async () => {
    await writeRun(t, "good", { p: { kind: "line" } });
    await xadd(t, t.keys.series("good", "p"), lineFields([at(0), at(1)], [1, 2]));
    await writeRun(t, "x", { s: { kind: "line" }, w: { kind: "line" }, m: { kind: "line" } });
    await t.redis.set(t.keys.plugins("x"), "oops");
    await t.redis.hset(t.keys.series("x", "w"), "a", "b");
    await t.redis.xadd(t.keys.series("x", "m"), MAX_STREAM_ID, ...Object.entries(lineFields([at(5)], [5])).flat());
    await xadd(t, t.keys.series("x", "s"), lineFields([at(0)], [1]));
    // Asked twice: the first answer's reads have met the bad series key, and the run's own error
    // must not change with that (the series' fault is the series' error).
    await runsOk(t);
    const runs = await runsOk(t);
    const good = runs.find((r) => r.id === "good");
    const x = runs.find((r) => r.id === "x");
    assert.deepEqual(good, { id: "good", error: null, series: [{ id: "p", count: 2, error: null }], plugins: [], results: null });
    assert.deepEqual(x?.series, [
      { id: "m", count: 1, error: null },
      { id: "s", count: 1, error: null },
      { id: "w", count: 0, error: `${t.keys.series("x", "w")} holds a hash, not a stream` },
    ]);
    assert.deepEqual(x?.plugins, []);
    assert.equal(x?.error, `${t.keys.plugins("x")} holds a string, not a hash`);
    // Writing to it says so too, and announces nothing (it answered as stored before).
    const set = await query(t.ws, `mutation { setPlugin(run: "x", name: "b", enabled: true) { name } }`);
    assert.equal(set.errors?.[0].message, `${t.keys.plugins("x")} holds a string, not a hash; nothing was stored`);
    assert.equal(await t.redis.exists(t.keys.events("x")), 0);
  });

  it("3. one wrong-type series key hides none of its run's valid series", async () => {
    await writeRun(t, "x", { good: { kind: "line" }, bad: { kind: "line" } });
    await xadd(t, t.keys.series("x", "good"), lineFields([at(0), at(1), at(2)], [1, 2, 3]));
    await t.redis.hset(t.keys.series("x", "bad"), "a", "b");
    const r = await query<{ run: RunRow }>(t.ws, `{ run(id: "x") { series { id count error } } }`);
    assert.deepEqual(r.data?.run.series, [
      { id: "bad", count: 0, error: `${t.keys.series("x", "bad")} holds a hash, not a stream` },
      { id: "good", count: 3, error: null },
    ]);
    // Asked for alone, the bad series says what is wrong instead of "Unexpected error.".
    const h = await query(t.ws, `{ history(run: "x", series: "bad") { count } }`);
    assert.equal(h.errors?.[0].message, `${t.keys.series("x", "bad")} holds a hash, not a stream`);
  });

  it("4. a series holding the greatest stream ID is read to its end, history and live", async () => {
    await writeRun(t, "x", { s: { kind: "line" } });
    await xadd(t, t.keys.series("x", "s"), lineFields([at(0)], [0]));
    await t.redis.xadd(t.keys.series("x", "s"), MAX_STREAM_ID, ...Object.entries(lineFields([at(1)], [1])).flat());
    const h = await query<{ history: { count: number; lastId: string; points: ValuePoints } }>(t.ws, `{ history(run: "x", series: "s") { count lastId points } }`);
    assert.equal(h.errors, undefined, JSON.stringify(h.errors));
    assert.deepEqual(h.data?.history, { count: 2, lastId: MAX_STREAM_ID, points: { t: [us(0), us(1)], y: [0, 1] } });
    const after = await query<{ history: { count: number } }>(t.ws, `{ history(run: "x", series: "s", after: "${MAX_STREAM_ID}") { count } }`);
    assert.deepEqual(after.data?.history, { count: 0 });
  });

  it("5. an event nested 5,000 deep or with null data is skipped and logged; the subscription goes on", async () => {
    await writeRun(t, "x", { s: { kind: "line" } });
    const sub = collect<EventReply>(t.ws, EVENTS, { run: "x" });
    const events = t.keys.events("x");
    await t.redis.xadd(events, "*", "type", "publish", "data", `{"topic":"deep","payload":${deep(5000)}}`);
    await t.redis.xadd(events, "*", "type", "publish", "data", "null");
    await t.redis.xadd(events, "*", "type", "publish", "data", JSON.stringify({ topic: "after", payload: 1 }));
    await sub.until((xs) => xs.length === 1);
    await t.redis.xadd(events, "*", "type", "end", "data", "{}");
    const items = await sub.until((xs) => xs.length === 2);
    assert.deepEqual(items.map((x) => x.runEvents), [{ type: "publish", data: { topic: "after", payload: 1 } }, { type: "end", data: {} }]);
    assert.deepEqual(sub.errors, []);
    assert.equal(t.logs.filter((l) => l.includes(`of ${events}: data is nested deeper than 64 levels`)).length, 1);
    assert.equal(t.logs.filter((l) => l.includes(`of ${events}: data is not a JSON object`)).length, 1);
  });

  it("6. values nested 5,000 deep in plugin params, registry options and results leave the run openable over HTTP", async () => {
    await writeRun(t, "x", { s: { kind: "line" } });
    await xadd(t, t.keys.series("x", "s"), lineFields([at(0)], [1]));
    await t.redis.hset(t.keys.registry("x"), "d", `{"kind":"line","options":{"a":${deep(5000)}}}`);
    await t.redis.hset(t.keys.plugins("x"), "p", `{"enabled":true,"params":{"a":${deep(5000)}}}`, "fine", JSON.stringify({ enabled: true, params: {} }));
    await t.redis.set(t.keys.results("x"), `{"stats":{"a":${deep(5000)}},"trades":[]}`);
    const res = await fetch(`${t.server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${t.server.token}` },
      body: JSON.stringify({ query: RUN, variables: { id: "x" } }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { data: { run: RunRow } };
    assert.deepEqual(body.data.run.series, [{ id: "s", count: 1, error: null }]);
    assert.deepEqual(body.data.run.plugins, [{ name: "fine" }]);
    assert.equal(body.data.run.results, null);
    assert.equal(
      body.data.run.error,
      [
        "run x: plugin entry p is nested deeper than 64 levels; left out",
        "run x: registry entry of d is nested deeper than 64 levels; series left out",
        "run x: results are nested deeper than 64 levels",
      ].join("; "),
    );
    // Removed by the user: the run reports nothing any more.
    await t.redis.hdel(t.keys.registry("x"), "d");
    await t.redis.hdel(t.keys.plugins("x"), "p");
    await t.redis.del(t.keys.results("x"));
    const after = await query<{ run: RunRow }>(t.ws, RUN, { id: "x" });
    assert.equal(after.data?.run.error, null);
  });

  it("walks every key the server reads with every poison: the other run, the run list and live batches go on", async () => {
    const { send } = await liveRun(t);
    const k = t.keys;
    const valid = Object.entries(lineFields([at(9)], [9])).flat();
    /** A poison, and what the poisoned run then answers about it (matched in its `run(id)` reply; null: nothing to report). */
    type Poison = [name: string, apply: (run: string) => Promise<unknown>, reported: RegExp | null];
    const poisons: Poison[] = [
      ["manifest: a string", (r) => t.redis.del(k.manifest(r)).then(() => t.redis.set(k.manifest(r), "x")), /:manifest holds a string, not a hash/],
      ["manifest: nested and null fields", (r) => t.redis.hset(k.manifest(r), "strategy", deep(5000), "language", "null"), null],
      ["registry: a string", (r) => t.redis.del(k.registry(r)).then(() => t.redis.set(k.registry(r), "x")), /:series holds a string, not a hash/],
      ["registry: a nested entry", (r) => t.redis.hset(k.registry(r), "s", `{"kind":"line","options":{"a":${deep(5000)}}}`), /registry entry of s is nested deeper than 64 levels/],
      ["registry: a null entry", (r) => t.redis.hset(k.registry(r), "s", "null"), /registry entry of s is not an object/],
      ["series: a hash", (r) => t.redis.del(k.series(r, "s")).then(() => t.redis.hset(k.series(r, "s"), "a", "b")), /:s:s holds a hash, not a stream/],
      ["series: the greatest ID", (r) => t.redis.xadd(k.series(r, "s"), MAX_STREAM_ID, ...valid), /"count":2,"error":null/],
      ["series: a nested marker", (r) => t.redis.xadd(k.series(r, "s"), "*", "v", "1", "k", "line", "n", "1", "t", Buffer.alloc(8), "y", Buffer.alloc(8), "m", deep(5000)), /"count":1,"error":null/],
      ["events: a hash", (r) => t.redis.del(k.events(r)).then(() => t.redis.hset(k.events(r), "a", "b")), /:events holds a hash, not a stream/],
      ["events: the greatest ID", (r) => t.redis.xadd(k.events(r), MAX_STREAM_ID, "type", "end", "data", "{}"), null],
      ["events: nested and null data", (r) => t.redis.xadd(k.events(r), "*", "type", "publish", "data", deep(5000)).then(() => t.redis.xadd(k.events(r), "*", "type", "end", "data", "null")), null],
      ["plugins: a string", (r) => t.redis.set(k.plugins(r), "x"), /:plugins holds a string, not a hash/],
      ["plugins: nested and null entries", (r) => t.redis.hset(k.plugins(r), "a", `{"enabled":true,"params":${deep(5000)}}`, "b", "null"), /plugin entry a is nested deeper than 64 levels; left out; run bad\d+: plugin entry b is not an object/],
      ["results: a hash", (r) => t.redis.hset(k.results(r), "a", "b"), /:results holds a hash, not a string/],
      ["results: nested", (r) => t.redis.set(k.results(r), deep(5000)), /results are nested deeper than 64 levels/],
      ["results: null", (r) => t.redis.set(k.results(r), "null"), null],
    ];
    for (const [i, [name, apply, reported]] of poisons.entries()) {
      const run = `bad${i}`;
      await writeRun(t, run, { s: { kind: "line" } });
      await xadd(t, k.series(run, "s"), lineFields([at(0)], [0]));
      await t.redis.xadd(k.events(run), "*", "type", "series", "data", JSON.stringify({ id: "s" }));
      // The poisoned run is being followed (its series and events are in the shared XREAD) when it turns bad.
      const followers = [collect<BatchReply>(t.ws, BATCHES, { run, series: "s" }), collect<EventReply>(t.ws, EVENTS, { run })];
      await followers[0].until((xs) => xs.length >= 1);
      await apply(run);
      await send();
      const runs = await runsOk(t);
      const ok = runs.find((r) => r.id === "ok");
      assert.deepEqual(ok?.series, [{ id: "p", count: ok?.series[0].count, error: null }], name);
      assert.equal(ok?.error, null, name);
      const single = await query<{ run: RunRow | null }>(t.ws, RUN, { id: "ok" });
      assert.equal(single.data?.run?.id, "ok", name);
      // The poisoned run says what is wrong (a followed key turns up once the shared read re-arms).
      let answer = "";
      for (let tries = 0; tries < 100; tries++) {
        answer = JSON.stringify(await query(t.ws, RUN, { id: run }));
        if (reported === null || reported.test(answer)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      if (reported !== null) assert.match(answer, reported, name);
      else assert.doesNotMatch(answer, /"error":"|"errors"/, name);
      for (const f of followers) f.unsubscribe();
    }
    // Global keys: the run list's own keys answer their own clear error; runs and live batches go on.
    await t.redis.del(k.runlog);
    await t.redis.hset(k.runlog, "a", "b");
    const runlog = collect<EventReply>(t.ws, EVENTS, { run: null });
    await runlog.until(() => runlog.errors.length > 0);
    assert.match(JSON.stringify(runlog.errors), /:runlog holds a hash, not a stream/);
    await send();
    await t.redis.rename(k.runs, `${k.runs}:saved`);
    await t.redis.set(k.runs, "x");
    const r = await query(t.ws, RUNS);
    assert.equal(r.errors?.[0].message, `${k.runs} holds a string, not a zset`);
    const single = await query<{ run: RunRow | null }>(t.ws, RUN, { id: "ok" });
    assert.equal(single.data?.run?.id, "ok");
    await send();
  });
});
