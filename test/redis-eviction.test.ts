/**
 * A full Redis whose maxmemory-policy evicts (volatile-lru, a real `maxmemory` on a private
 * redis-server): the server says which series' streams Redis deleted (Series.error, Run.error),
 * and says nothing of a registered series whose stream simply has not arrived while nothing was
 * evicted (src/server/vanished.ts, protocol/SPEC.md section 11).
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { startServer, type RunningServer } from "../src/server/app.js";
import { startPrivateRedis, type PrivateRedis } from "../src/server/privateRedis.js";
import { redisKeys } from "../src/shared/protocol.js";
import type { Client } from "graphql-ws";
import { query, WEBVIEW_BUNDLE, wsClient } from "./harness/server.js";

const PYTHON = join(__dirname, "..", ".venv", "bin", "python");
const RUNS = ["r0", "r1", "r2", "r3", "r4", "r5"];
const POINTS = 20_000;
const PREFIX = "ev";

interface RunAnswer {
  run: { error: string | null; series: { id: string; count: number; error: string | null }[] } | null;
}

const cause = (evicted: number) =>
  `Redis evicted keys to stay under its maxmemory (maxmemory-policy volatile-lru, ${evicted} keys evicted since it started), so the points they held are lost. Give Chartbridge a Redis with maxmemory-policy noeviction (protocol/SPEC.md section 11)`;

describe("Redis evicting keys (maxmemory-policy volatile-lru)", function () {
  this.timeout(120_000);
  let redis: PrivateRedis;
  let admin: Redis;
  let server: RunningServer;
  let ws: Client;
  const keys = redisKeys(PREFIX);

  before(async () => {
    redis = await startPrivateRedis();
    admin = new Redis(redis.url);
    // Real producers: one line series of POINTS points per run.
    for (const run of RUNS) await promisify(execFile)(PYTHON, [join(__dirname, "fixtures", "publish_points.py"), redis.url, PREFIX, run, "price", "1700000000000000000", String(POINTS)]);
    server = await startServer({ redisUrl: redis.url, prefix: PREFIX, log: () => {}, pluginsDir: null, builtinPluginsDir: null, webviewBundle: WEBVIEW_BUNDLE, nautilusBus: false });
    ws = wsClient(server);
  });
  after(async () => {
    await ws?.dispose();
    await server?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  const ask = async (run: string) => {
    const r = await query<RunAnswer>(ws, "query($run: ID!) { run(id: $run) { error series { id count error } } }", { run });
    assert.deepEqual(r.errors, undefined);
    return r.data?.run ?? null;
  };

  it("says nothing of a registered series without a stream while Redis evicted nothing", async () => {
    await admin.hset(keys.registry("r0"), "pending", JSON.stringify({ kind: "line", pane: "main", title: "pending", options: {}, source: null }));
    const run = await ask("r0");
    assert.deepEqual(run, { error: null, series: [{ id: "pending", count: 0, error: null }, { id: "price", count: POINTS, error: null }] });
    await admin.hdel(keys.registry("r0"), "pending");
  });

  it("names every series whose stream Redis evicted, on the series and on its run; the others answer whole", async () => {
    const used = Number(/used_memory:(\d+)/.exec(await admin.info("memory"))?.[1]);
    const streams = RUNS.map((r) => keys.series(r, "price"));
    // Only keys with a TTL may go under volatile-lru: the point streams get one (a day), so Redis
    // evicts streams and keeps every manifest and registry (allkeys-lru picks among all keys by
    // sampling, which under load sometimes took a run's registry with its stream).
    for (const stream of streams) await admin.expire(stream, 86_400);
    await admin.config("SET", "maxmemory-policy", "volatile-lru");
    // Room for about half the streams; the next write makes Redis evict down to it.
    await admin.config("SET", "maxmemory", String(used - 2 * POINTS * 16 * 2));
    await admin.set("filler", "x");
    // No more evictions from here on (the count the messages name stays put).
    await admin.config("SET", "maxmemory", "0");
    const evicted = Number(/evicted_keys:(\d+)/.exec(await admin.info("stats"))?.[1]);
    assert.ok(evicted > 0, "Redis evicted keys");
    const present = await Promise.all(streams.map((k) => admin.exists(k)));
    let gone = 0;
    for (const [i, run] of RUNS.entries()) {
      const answer = await ask(run);
      assert.ok(answer !== null && answer.series.length === 1, `${run}'s manifest and registry stay`);
      if (present[i] === 1) {
        assert.deepEqual(answer, { error: null, series: [{ id: "price", count: POINTS, error: null }] }, run);
      } else {
        gone++;
        assert.deepEqual(answer, {
          error: `run ${run}: 1 of its 1 series are gone from Redis (price): ${cause(evicted)}`,
          // r0's points were read by the server before (the first test): it still shows what it holds.
          series: [{ id: "price", count: run === "r0" ? POINTS : 0, error: `${keys.series(run, "price")} is gone from Redis though the run's registry lists the series: ${cause(evicted)}` }],
        });
      }
    }
    assert.ok(gone > 0, `a listed run lost its stream (present: ${present.join(",")})`);
  });
});
