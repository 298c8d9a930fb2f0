import { strict as assert } from "node:assert";
import { testRedis } from "./harness/rootHooks.js";
import { collect, lineFields, query, useTestServer, writeRun, xadd } from "./harness/server.js";
import { lostCopies } from "../src/server/redisStreams.js";
import type { ValuePoints } from "../src/shared/protocol.js";

const T0 = 1_700_000_000_000_000_000n;
const at = (i: number) => T0 + BigInt(i) * 1_000_000_000n;
const us = (i: number) => Number(at(i) / 1000n);

interface BatchReply {
  batches: { points: ValuePoints };
}
const SUBSCRIBE = `subscription { batches(run: "rs", series: "p", after: "0-0") { points } }`;
const timesOf = (items: BatchReply[]) => items.flatMap((b) => b.batches.points.t);

describe("server: Redis killed and restarted mid-stream", function () {
  this.timeout(30000);
  const t = useTestServer();

  it("resumes every reader from its last ID when Redis comes back with its data: nothing lost, nothing twice", async () => {
    await writeRun(t, "rs", { p: { kind: "line" } });
    const key = t.keys.series("rs", "p");
    const sub = collect<BatchReply>(t.ws, SUBSCRIBE, {});
    for (let i = 0; i < 3; i++) await xadd(t, key, lineFields([at(i)], [i]));
    await sub.until((xs) => timesOf(xs).length === 3);
    await t.redis.save();
    await testRedis().kill();
    await testRedis().restart({ keepData: true });
    // The writer reconnects too (ioredis queues the command until then).
    for (let i = 3; i < 6; i++) await xadd(t, key, lineFields([at(i)], [i]));
    await sub.until((xs) => timesOf(xs).length >= 6);
    assert.deepEqual(timesOf(sub.items), [0, 1, 2, 3, 4, 5].map(us));
  });

  it("tells subscribers to reload when Redis came back without the data they were shown", async () => {
    await writeRun(t, "rs", { p: { kind: "line" } });
    const key = t.keys.series("rs", "p");
    const sub = collect<BatchReply>(t.ws, SUBSCRIBE, {});
    await xadd(t, key, lineFields([at(0)], [0]));
    await sub.until((xs) => timesOf(xs).length === 1);
    await testRedis().kill();
    await testRedis().restart();
    await sub.until(() => sub.errors.length > 0);
    const [error] = sub.errors as { message: string; extensions?: { code?: string } }[][];
    assert.equal(error[0].extensions?.code, "REDIS_RESET");
    assert.match(error[0].message, /Redis restarted without the data of .*:s:p; reload the chart/);
    // After the reload the client sees what Redis holds now: a run written after the restart.
    await writeRun(t, "rs", { p: { kind: "line" } });
    await xadd(t, key, lineFields([at(7)], [7]));
    const h = await query<{ history: { points: ValuePoints } }>(t.ws, `{ history(run: "rs", series: "p") { points } }`);
    assert.deepEqual(h.data?.history.points, { t: [us(7)], y: [7] });
  });
});

describe("server: after a reconnect, which copies Redis lost", () => {
  const t = useTestServer();

  // The cause of the Redis-restart test's flake (1 run in ~15 under load): the check compared
  // Redis' newest ID with the copy's lastId read after Redis answered; the live reader had
  // meanwhile received the next entry (written just after the check ran), so a copy Redis still
  // held was declared lost and its subscribers told REDIS_RESET. The getter below is the reader
  // advancing while the question is in flight.
  it("compares Redis' newest entry with the last ID read before asking, not one the reader got meanwhile", async () => {
    const key = t.keys.series("rs", "p");
    const first = await xadd(t, key, lineFields([at(0)], [0]));
    let reads = 0;
    const copy = {
      get lastId() {
        return reads++ === 0 ? first : "99999999999999-0";
      },
    };
    const lost: string[] = [];
    for await (const [k] of lostCopies(t.redis, new Map([[key, Promise.resolve(copy)]]))) lost.push(k);
    assert.deepEqual(lost, []);
  });
});
