import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { OPERATIONS, type Sweep } from "../src/shared/api.js";
import { testRedis } from "./harness/rootHooks.js";
import { query, useTestServer, type TestServer } from "./harness/server.js";

const ROOT = join(__dirname, "..");
const PYTHON = join(ROOT, ".venv", "bin", "python");
const run = promisify(execFile);

type Published = Record<string, { params: Record<string, unknown>; stats: Record<string, number | string> }>;

async function publishSweep(t: TestServer): Promise<Published> {
  const { stdout } = await run(PYTHON, [join(__dirname, "fixtures", "python_sweep.py"), testRedis().url, t.prefix], { maxBuffer: 16 << 20 });
  return JSON.parse(stdout) as Published;
}

describe("sweep: 50 runs of one strategy written by the Python SDK", function () {
  this.timeout(120_000);
  const t = useTestServer();

  it("orders runs started in one millisecond by their exact start time, not by id", async () => {
    // The run index's score is in ms (SPEC section 5): a sweep's runs can share one.
    const ms = 1_700_000_000_123;
    for (const [id, ns] of [["sweep-a", 7n], ["sweep-b", 3n], ["sweep-c", 5n]] as const) {
      await t.redis.zadd(t.keys.runs, ms, id);
      await t.redis.hset(t.keys.manifest(id), { v: "1", run: id, strategy: "ms-sweep", status: "ended", started: String(BigInt(ms) * 1_000_000n + ns) });
    }
    const reply = await query<{ sweep: Sweep }>(t.ws, OPERATIONS.sweep.document, { strategy: "ms-sweep" });
    assert.deepEqual(reply.data?.sweep.runs.map((r) => r.id), ["sweep-a", "sweep-c", "sweep-b"]);
  });

  it("answers every run of the strategy with its params and numeric statistics, newest first, in one query", async () => {
    const published = await publishSweep(t);
    const reply = await query<{ sweep: Sweep }>(t.ws, OPERATIONS.sweep.document, { strategy: "ma-sweep" });
    assert.equal(reply.errors, undefined, JSON.stringify(reply.errors));
    const sweep = reply.data?.sweep as Sweep;
    assert.equal(sweep.strategy, "ma-sweep");
    assert.equal(sweep.truncated, false);
    assert.deepEqual(sweep.params, ["fast", "mode", "slow"]);
    // "Currency" is text: not a sortable column.
    assert.deepEqual(sweep.stats, ["PnL", "Trades", "Win rate"]);
    assert.equal(sweep.runs.length, 50);
    // Newest first: the runs were written in order, so the reverse of the order published.
    assert.deepEqual(
      sweep.runs.map((r) => r.id),
      Object.keys(published).reverse(),
    );
    for (const row of sweep.runs) {
      const p = published[row.id];
      assert.deepEqual(row.params, { fast: p.params.fast, slow: p.params.slow, mode: '{"long_only":true}' });
      assert.deepEqual(row.stats, { PnL: p.stats.PnL, Trades: p.stats.Trades, "Win rate": p.stats["Win rate"] });
      assert.equal(row.status, "ended");
    }
    const runsReply = await query<{ runs: { id: string }[] }>(t.ws, OPERATIONS.runs.document);
    assert.equal(runsReply.data?.runs.length, 51);
  });

  it("answers an empty sweep for a strategy with no runs, and a clear error for an empty name", async () => {
    const empty = await query<{ sweep: Sweep }>(t.ws, OPERATIONS.sweep.document, { strategy: "nothing-here" });
    assert.deepEqual(empty.data?.sweep, { strategy: "nothing-here", params: [], stats: [], truncated: false, runs: [] });
    const bad = await query<{ sweep: Sweep }>(t.ws, OPERATIONS.sweep.document, { strategy: "" });
    assert.equal(bad.errors?.[0]?.message, "sweep needs a strategy name, not an empty string");
  });
});
