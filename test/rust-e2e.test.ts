import { strict as assert } from "node:assert";
import { execFile, spawn } from "node:child_process";
import { createInterface } from "node:readline";
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

/** EMA over every input as the SDKs define it (Nautilus's ExponentialMovingAverage): alpha = 2/(n+1), the first input seeds it, then v = alpha x + (1 - alpha) v for every input; from the n-th. */
function ema(xs: number[], n: number): number[] {
  const alpha = 2 / (n + 1);
  const out: number[] = [];
  let v = xs[0] ?? 0;
  for (let i = 0; i < xs.length; i++) {
    v = alpha * (xs[i] as number) + (1 - alpha) * v;
    if (i + 1 >= n) out.push(v);
  }
  return out;
}

const BINARY = join(ROOT, "rust", "target", "debug", "examples", "e2e");

/**
 * Runs the e2e example in restart mode: `onLine` is awaited for each line it prints before the
 * stats (the test acts on Redis), then the example is told to go on. Resolves with its stats.
 */
function restartScenario(args: string[], onLine: (line: string) => Promise<void>): Promise<RustStats> {
  const child = spawn(BINARY, args, { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? undefined : reject(new Error(`e2e example exited with ${code}`))));
    lines.on("line", (line) => {
      if (line.startsWith("{")) resolve(JSON.parse(line) as RustStats);
      else onLine(line).then(() => child.stdin.write("go\n"), reject);
    });
  });
}

describe("end to end: a Rust process (#[chart]) -> Redis -> server -> GraphQL", function () {
  this.timeout(600_000);
  const t = useTestServer();

  before(async () => {
    // Debug build, as `cargo test` builds; the dependencies are already built by then.
    await run("cargo", ["build", "--quiet", "--manifest-path", join(ROOT, "rust", "Cargo.toml"), "-p", "chartbridge", "--example", "e2e"], { maxBuffer: 1 << 24 });
  });

  it("1M calls on 4 threads: every point and every EMA value arrives exact, nothing lost", async () => {
    const out = await run(BINARY, [testRedis().url, t.prefix, "rust-tight", "tight", String(THREADS), String(CALLS)], { maxBuffer: 1 << 24 });
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

  it("Redis killed, then restarted empty: the newest points within the backlog arrive exact, the rest is shown as lost", async () => {
    const calls = 20_000;
    const stats = await restartScenario([testRedis().url, t.prefix, "rust-restart", "restart", String(calls), "10000"], async (line) => {
      if (line === "written") await testRedis().kill();
      else if (line === "queued") await testRedis().restart(); // empty: no persistence
      else throw new Error(`unexpected line from the example: ${line}`);
    });
    const lane = stats.series.lane0;
    const ema3 = stats.series["lane0.ema3"];
    assert.ok(lane !== undefined && ema3 !== undefined);
    assert.ok(lane.dropped > 0 && ema3.dropped > 0, "the outage went beyond the backlog");

    const r = await query<{ run: { series: { id: string; count: number; lost: number }[] } }>(t.ws, `{ run(id: "rust-restart") { series { id count lost } } }`);
    assert.deepEqual(r.errors, undefined);
    // The first calls went with the killed Redis; of the rest, what was not dropped arrived.
    const kept = calls - lane.dropped;
    assert.deepEqual(r.data?.run.series, [
      { id: "lane0", count: kept, lost: lane.dropped },
      { id: "lane0.ema3", count: calls - ema3.dropped, lost: ema3.dropped },
    ]);
    const inputs = Array.from({ length: 2 * calls }, (_, i) => (i % 1000) * 0.25);
    const raw = await history(t, "rust-restart", "lane0");
    const first = 2 * calls - kept; // the newest points are kept, the oldest dropped
    assert.deepEqual(raw.t, Array.from({ length: kept }, (_, i) => T0_US + (first + i) * 1000));
    assert.deepEqual(raw.y, inputs.slice(first));
    // Every EMA value that arrived is the EMA over every input, the dropped ones included.
    const expected = ema(inputs, 3);
    const line = await history(t, "rust-restart", "lane0.ema3");
    const wrong = line.t.findIndex((us, i) => line.y[i] !== expected[(us - T0_US) / 1000 - 2]);
    assert.equal(wrong, -1, `lane0.ema3 point ${wrong}`);
  });
});
