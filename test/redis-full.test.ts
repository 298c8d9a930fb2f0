/**
 * Redis full (`maxmemory` with `noeviction`, a real private redis-server): a real Python strategy
 * keeps running, the points it could not hold are counted in the run's lost record (SPEC section
 * 11), the server reports them (Series.lost) and the extension's status bar says how many, through
 * the same query and text the extension uses (src/extension/graphql.ts runFacts, supervisor.ts statusBar).
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Redis } from "ioredis";
import { runFacts } from "../src/extension/graphql.js";
import { statusBar } from "../src/extension/supervisor.js";
import { startServer } from "../src/server/app.js";
import { startPrivateRedis, type PrivateRedis } from "../src/server/privateRedis.js";
import { WEBVIEW_BUNDLE } from "./harness/server.js";

const PYTHON = join(__dirname, "..", ".venv", "bin", "python");
const TOTAL = 400_000;

describe("Redis full (maxmemory 4mb, noeviction): points not stored reach the status bar", function () {
  this.timeout(120_000);
  let redis: PrivateRedis;
  before(async () => {
    redis = await startPrivateRedis({ args: ["--maxmemory", "4mb", "--maxmemory-policy", "noeviction"] });
  });
  after(async () => {
    await redis?.stop();
  });

  it("the producer's dropped count is the run's Series.lost and the status bar's 'N points not stored'", async () => {
    const producer = spawn(PYTHON, [join(__dirname, "fixtures", "redis_full_producer.py"), redis.url, "full", "oom", String(TOTAL), "20000"], { stdio: ["pipe", "pipe", "pipe"] });
    let said = "";
    producer.stderr.on("data", (d: Buffer) => (said += d.toString()));
    const lines = createInterface({ input: producer.stdout })[Symbol.asyncIterator]();
    assert.equal((await lines.next()).value, "full");
    // Memory freed (a bigger maxmemory, or `chartbridge gc`): what the producer holds arrives, with the lost record.
    const admin = new Redis(redis.url);
    await admin.config("SET", "maxmemory", "0");
    admin.disconnect();
    producer.stdin.end("freed\n");
    const result = JSON.parse((await lines.next()).value as string) as { dropped: number; lost: Record<string, number> };
    await once(producer, "close");
    assert.ok(result.dropped > 0, said);
    assert.match(said, /is full and refuses writes/);
    assert.deepEqual(result.lost, { price: result.dropped });

    const server = await startServer({ redisUrl: redis.url, prefix: "full", log: () => {}, pluginsDir: null, builtinPluginsDir: null, webviewBundle: WEBVIEW_BUNDLE, nautilusBus: false });
    try {
      const facts = await runFacts({ port: server.port, token: server.token }, "oom");
      assert.deepEqual(facts?.series.map((s) => [s.id, s.count + s.lost, s.lost]), [["price", TOTAL, result.dropped]]);
      const lost = facts?.series.reduce((sum, s) => sum + s.lost, 0) ?? 0;
      const state = { kind: "connected", server: { url: server.url, port: server.port, token: server.token, redis: redis.url, pid: process.pid } } as const;
      const shown = statusBar(state, 0, lost);
      assert.equal(shown.text, `Chartbridge: ${result.dropped.toLocaleString("en-US")} points not stored`);
      assert.equal(shown.warning, true);
    } finally {
      await server.close();
    }
  });
});
