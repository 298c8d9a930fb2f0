/** Ceilings a client meets: history's maxPoints and setPlugin's parameter size and depth (stated in the schema). */
import { strict as assert } from "node:assert";
import type { ValuePoints } from "../src/shared/protocol.js";
import { lineFields, query, useTestServer, writeRun, xadd } from "./harness/server.js";

const T0 = 1_700_000_000_000_000_000n;
const at = (i: number) => T0 + BigInt(i) * 1_000_000_000n;
const us = (i: number) => Number(at(i) / 1000n);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

interface History {
  history: { count: number; lastId: string; points: ValuePoints };
}
const HISTORY = `query($after: String, $max: Int) { history(run: "lim", series: "p", after: $after, maxPoints: $max) { count lastId points } }`;

describe("server: limits on history and setPlugin", () => {
  const t = useTestServer();

  it("history holds maxPoints at whole entries (issue 25: 3 asked, 60 returned): never more, except one entry bigger than maxPoints", async () => {
    await writeRun(t, "lim", { p: { kind: "line" } });
    const key = t.keys.series("lim", "p");
    // Entries of 20, 20, 20 and 5 points.
    const ids: string[] = [];
    for (const [from, to] of [[0, 20], [20, 40], [40, 60], [60, 65]]) ids.push(await xadd(t, key, lineFields(range(from, to).map(at), range(from, to))));
    const ask = async (max: number, after = "0-0") => (await query<History>(t.ws, HISTORY, { max, after })).data?.history;
    assert.deepEqual(await ask(45), { count: 40, lastId: ids[1], points: { t: range(0, 40).map(us), y: range(0, 40) } });
    // Entries 3 and 4 (25 points) fit in 30 but not the first three (60): before the fix the tail came whole.
    assert.deepEqual((await ask(22, ids[1]))?.count, 20);
    assert.deepEqual(await ask(30, ids[1]), { count: 25, lastId: ids[3], points: { t: range(40, 65).map(us), y: range(40, 65) } });
    // One entry alone over maxPoints is the reply whole: an entry is never split, so lastId stays exact.
    assert.deepEqual((await ask(3))?.count, 20);
    const over = await query(t.ws, HISTORY, { max: 100_001 });
    assert.equal(over.errors?.[0].message, "maxPoints must be an integer in 1..100000, not 100001");
    const zero = await query(t.ws, HISTORY, { max: 0 });
    assert.equal(zero.errors?.[0].message, "maxPoints must be an integer in 1..100000, not 0");
  });

  it("setPlugin refuses parameters over 65536 bytes of JSON or nested deeper than 64 levels, and stores nothing", async () => {
    await writeRun(t, "lim", { p: { kind: "line" } });
    const SET = `mutation($params: JSON) { setPlugin(run: "lim", name: "big", enabled: true, params: $params) { name } }`;
    const big = await query(t.ws, SET, { params: { blob: "x".repeat(70_000) } });
    assert.equal(big.errors?.[0].message, "params are 70011 bytes as JSON, over the limit of 65536");
    let nested: unknown = 1;
    for (let i = 0; i < 65; i++) nested = [nested];
    const deep = await query(t.ws, SET, { params: { a: nested } });
    assert.equal(deep.errors?.[0].message, "params nest deeper than 64 levels");
    assert.equal(await t.redis.exists(t.keys.plugins("lim")), 0);
    const fits = await query<{ setPlugin: { name: string } }>(t.ws, SET, { params: { blob: "x".repeat(60_000) } });
    assert.deepEqual(fits.data?.setPlugin, { name: "big" });
  });
});
