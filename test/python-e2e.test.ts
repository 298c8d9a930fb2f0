import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ValuePoints } from "../src/shared/protocol.js";
import { testRedis } from "./harness/rootHooks.js";
import { collect, query, useTestServer, type TestServer } from "./harness/server.js";

const ROOT = join(__dirname, "..");
const PYTHON = join(ROOT, ".venv", "bin", "python");
const T0 = 1_700_000_000_123_456_789n;

const HOUR = 3_600_000_000_000n;

async function publish(t: TestServer, run: string, series: string, n: number, t0 = T0): Promise<void> {
  await promisify(execFile)(PYTHON, [join(__dirname, "fixtures", "publish_points.py"), testRedis().url, t.prefix, run, series, String(t0), String(n)]);
}

/** What publish_points.py writes, in the JSON form: microsecond times (floor of the ns). */
const expected = (n: number, t0 = T0) => ({
  t: Array.from({ length: n }, (_, i) => Number((t0 + BigInt(i) * 60_000_000_000n) / 1000n)),
  y: Array.from({ length: n }, (_, i) => i * 0.5 - 1),
});

describe("end to end: a real Python process -> Redis -> server -> graphql-ws client", () => {
  const t = useTestServer();

  it("a subscriber that is waiting receives exactly the points Python publishes next", async () => {
    await publish(t, "py-live", "price", 3);
    const h = await query<{ history: { count: number; lastId: string } }>(t.ws, `{ history(run: "py-live", series: "price") { count lastId } }`);
    assert.equal(h.data?.history.count, 3);
    const sub = collect<{ batches: { points: ValuePoints } }>(
      t.ws,
      `subscription($after: String) { batches(run: "py-live", series: "price", after: $after) { points } }`,
      { after: h.data?.history.lastId },
    );
    await publish(t, "py-live", "price", 5, T0 + HOUR);
    const items = await sub.until((xs) => xs.reduce((k, b) => k + b.batches.points.t.length, 0) >= 5);
    assert.deepEqual({ t: items.flatMap((b) => b.batches.points.t), y: items.flatMap((b) => b.batches.points.y) }, expected(5, T0 + HOUR));
    sub.unsubscribe();
  });

  it("a client that connects after the publish lists the run and fetches the points as history", async () => {
    await publish(t, "py-hist", "ema", 250);
    const runs = await query<{ runs: { id: string; status: string; strategy: string; language: string; series: { id: string; kind: string; count: number; rejected: number }[] }[] }>(
      t.ws,
      "{ runs { id status strategy language series { id kind count rejected } } }",
    );
    assert.deepEqual(runs.data?.runs, [
      { id: "py-hist", status: "ended", strategy: "e2e", language: "python", series: [{ id: "ema", kind: "line", count: 250, rejected: 0 }] },
    ]);
    const h = await query<{ history: { count: number; points: ValuePoints } }>(t.ws, `{ history(run: "py-hist", series: "ema") { count points } }`);
    assert.equal(h.data?.history.count, 250);
    assert.deepEqual(h.data?.history.points, expected(250));
  });
});
