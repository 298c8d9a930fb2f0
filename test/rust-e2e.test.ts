import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ValuePoints } from "../src/shared/protocol.js";
import { testRedis } from "./harness/rootHooks.js";
import { query, useTestServer, type TestServer } from "./harness/server.js";

const ROOT = join(__dirname, "..");
const run = promisify(execFile);
const T0_US = 1_700_000_000_000_000; // the example's T0 (ns) in microseconds
const THREADS = 4;
const CALLS = 250_000;

interface RustStats {
  written: number;
  dropped: number;
  refused: number;
  series: Record<string, { written: number; dropped: number; refused: number }>;
}

/** Every point of a series over GraphQL `history`, page by page. */
async function history(t: TestServer, runId: string, series: string): Promise<ValuePoints> {
  const all: ValuePoints = { t: [], y: [] };
  let after = "0-0";
  for (;;) {
    const h = await query<{ history: { count: number; lastId: string; points: ValuePoints } }>(
      t.ws,
      `query($run: ID!, $series: ID!, $after: String) { history(run: $run, series: $series, after: $after, maxPoints: 50000) { count lastId points } }`,
      { run: runId, series, after },
    );
    assert.deepEqual(h.errors, undefined);
    const page = h.data?.history;
    if (page === undefined || page.count === 0) return all;
    for (let i = 0; i < page.points.t.length; i++) {
      all.t.push(page.points.t[i] as number);
      all.y.push(page.points.y[i] as number);
    }
    after = page.lastId;
  }
}

/** EMA over every input as SPEC's indicators define it: the mean of the first n, then v += 2/(n+1) (x - v). */
function ema(xs: number[], n: number): number[] {
  const alpha = 2 / (n + 1);
  const out: number[] = [];
  let v = 0;
  for (let i = 0; i < xs.length; i++) {
    if (i + 1 === n) v = xs.slice(0, n).reduce((a, b) => a + b, 0) / n;
    else if (i + 1 > n) v = v + alpha * ((xs[i] as number) - v);
    if (i + 1 >= n) out.push(v);
  }
  return out;
}

describe("end to end: a Rust tight loop (#[chart] on 4 threads) -> Redis -> server -> GraphQL", function () {
  this.timeout(600_000);
  const t = useTestServer();

  before(async () => {
    // Debug build, as `cargo test` builds; the dependencies are already built by then.
    await run("cargo", ["build", "--quiet", "--manifest-path", join(ROOT, "rust", "Cargo.toml"), "-p", "chartbridge", "--example", "tight_loop"], { maxBuffer: 1 << 24 });
  });

  it("1M calls on 4 threads: every point and every EMA value arrives exact, nothing lost", async () => {
    const binary = join(ROOT, "rust", "target", "debug", "examples", "tight_loop");
    const out = await run(binary, [testRedis().url, t.prefix, "rust-tight", String(THREADS), String(CALLS)], { maxBuffer: 1 << 24 });
    const stats = JSON.parse(out.stdout) as RustStats;
    assert.deepEqual([stats.written, stats.dropped, stats.refused], [THREADS * (2 * CALLS - 2), 0, 0]);

    const runs = await query<{ run: { status: string; language: string; series: { id: string; count: number; lost: number; rejected: number }[] } }>(
      t.ws,
      `{ run(id: "rust-tight") { status language series { id count lost rejected } } }`,
    );
    assert.deepEqual(runs.errors, undefined);
    const lanes = Array.from({ length: THREADS }, (_, k) => k);
    assert.deepEqual(runs.data?.run.series, lanes.flatMap((k) => [
      { id: `lane${k}`, count: CALLS, lost: 0, rejected: 0 },
      { id: `lane${k}.ema3`, count: CALLS - 2, lost: 0, rejected: 0 },
    ]));
    assert.deepEqual([runs.data?.run.status, runs.data?.run.language], ["ended", "rust"]);

    const times = Array.from({ length: CALLS }, (_, i) => T0_US + i * 1000);
    for (const k of lanes) {
      const inputs = Array.from({ length: CALLS }, (_, i) => (i % 1000) * 0.25 + k);
      const raw = await history(t, "rust-tight", `lane${k}`);
      assert.ok(raw.t.length === CALLS && raw.t.every((x, i) => x === times[i]), `lane${k} times`);
      assert.ok(raw.y.every((y, i) => y === inputs[i]), `lane${k} values`);
      const expected = ema(inputs, 3);
      const line = await history(t, "rust-tight", `lane${k}.ema3`);
      assert.ok(line.t.length === CALLS - 2 && line.t.every((x, i) => x === times[i + 2]), `lane${k}.ema3 times`);
      const wrong = line.y.findIndex((y, i) => y !== expected[i]);
      assert.equal(wrong, -1, `lane${k}.ema3 value ${wrong}: ${line.y[wrong]} != ${expected[wrong]}`);
    }
  });
});
