import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { OPERATIONS, type Comparison, type RunDetail, type RunIdentity, type SeriesComparison } from "../src/shared/api.js";
import { testRedis } from "./harness/rootHooks.js";
import { query, useTestServer, writeRun, type TestServer } from "./harness/server.js";

const ROOT = join(__dirname, "..");
const PYTHON = join(ROOT, ".venv", "bin", "python");
const run = promisify(execFile);
const BARS = 400;
const BAR_TYPE = "EUR/USD.SIM-1-MINUTE-LAST-EXTERNAL";
const T0_NS = 1_700_000_000_000_000_000n;

/** What the fixture computes from Nautilus itself, per fast EMA period. */
interface Backtest {
  times: string[];
  ema: (number | null)[];
  fills: [string, number, string][];
  trades: [string, string, string, number][];
  config: Record<string, unknown>;
}

const us = (ns: string) => Number(BigInt(ns) / 1000n);

/** The first index at which two lists of comparable rows differ (or one ends), or null. */
function firstDifference<T>(a: T[], b: T[]): number | null {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (JSON.stringify(a[i]) !== JSON.stringify(b[i])) return i;
  return a.length === b.length ? null : Math.min(a.length, b.length);
}

async function backtests(t: TestServer, ...periods: number[]): Promise<Record<string, Backtest>> {
  const { stdout } = await run(PYTHON, [join(__dirname, "fixtures", "nautilus_compare.py"), testRedis().url, t.prefix, String(BARS), ...periods.map(String)], {
    maxBuffer: 64 << 20,
  });
  return JSON.parse(stdout) as Record<string, Backtest>;
}

async function git(...args: string[]): Promise<string> {
  return (await run("git", ["-C", ROOT, ...args], { encoding: "buffer", maxBuffer: 256 << 20 })).stdout.toString("latin1");
}

describe("compare: runs published by the Python SDK (two Nautilus backtests of the example: fast EMA 10 against 12)", function () {
  this.timeout(180_000);
  const t = useTestServer();

  it("each run's identity holds its strategy config, the data it ran on, the git state and the versions", async () => {
    const facts = await backtests(t, 10, 12);
    const diff = Buffer.from(await git("diff", "HEAD", "--binary"), "latin1");
    const commit = (await git("rev-parse", "HEAD")).trim();
    const reply = await query<{ runs: { id: string; identity: RunIdentity | null }[] }>(t.ws, OPERATIONS.runIdentities.document);
    const byId = new Map(reply.data?.runs.map((r) => [r.id, r.identity]));
    for (const period of ["10", "12"]) {
      const identity = byId.get(`ema-${period}`);
      assert.ok(identity);
      assert.deepEqual(identity.params, facts[period].config);
      assert.equal(identity.params.fast_ema_period, Number(period));
      const times = facts[period].times;
      assert.deepEqual(identity.data, [{ instrument: "EUR/USD.SIM", barType: BAR_TYPE, firstUs: us(times[0]), lastUs: us(times[BARS - 1]), count: BARS }]);
      assert.deepEqual(identity.git, {
        root: ROOT,
        commit,
        dirty: diff.length > 0,
        diffHash: diff.length > 0 ? createHash("sha256").update(diff).digest("hex") : null,
      });
      assert.deepEqual(Object.keys(identity.versions).sort(), ["chartbridge", "nautilus_trader", "python", "redis"]);
      assert.equal(identity.versions.chartbridge, "0.1.0");
    }
  });

  it("finds the first divergence of each series, the statistics' deltas and the trades that differ, as Nautilus computes them", async () => {
    const facts = await backtests(t, 10, 12);
    const [a, b] = [facts["10"], facts["12"]];
    const reply = await query<{ compare: Comparison }>(t.ws, OPERATIONS.compare.document, { runs: ["ema-10", "ema-12"], tolerance: 0 });
    assert.equal(reply.errors, undefined, JSON.stringify(reply.errors));
    const cmp = reply.data?.compare as Comparison;
    const bySeries = new Map(cmp.series.map((s) => [s.series, s]));

    // The fast EMA: Nautilus's own EMA of each period, charted once initialized.
    const emaPoints = (x: Backtest) => x.times.flatMap((ns, i) => (x.ema[i] === null ? [] : [[us(ns), x.ema[i]] as const]));
    const [ea, eb] = [emaPoints(a), emaPoints(b)];
    const i = firstDifference(ea, eb) as number;
    assert.ok(i !== null);
    const timeUs = Math.min(ea[i]?.[0] ?? Infinity, eb[i]?.[0] ?? Infinity);
    const fast = bySeries.get("EMACross-000.fast_ema") as SeriesComparison;
    assert.deepEqual(fast, {
      series: "EMACross-000.fast_ema",
      run: "ema-12",
      kind: "line",
      baseCount: ea.length,
      count: eb.length,
      divergence: {
        timeUs,
        index: i,
        baseValues: ea[i]?.[0] === timeUs ? [ea[i][1]] : null,
        values: eb[i]?.[0] === timeUs ? [eb[i][1]] : null,
        baseText: null,
        text: null,
      },
    });
    assert.equal(timeUs, us(a.times[9]), "EMA(10) starts at the 10th bar, EMA(12) two bars later");

    // The same bars and slow EMA in both runs: no divergence.
    assert.equal(bySeries.get(BAR_TYPE)?.divergence, null);
    assert.equal(bySeries.get("EMACross-000.slow_ema")?.divergence, null);

    // Fills: the first fill that differs in time, price or side.
    const fills = bySeries.get("fills:EUR/USD.SIM") as SeriesComparison;
    const f = firstDifference(a.fills, b.fills) as number;
    assert.ok(f !== null);
    assert.equal(fills.divergence?.timeUs, Math.min(us(a.fills[f]?.[0] ?? "9".repeat(18)), us(b.fills[f]?.[0] ?? "9".repeat(18))));

    // The headline is the earliest divergence of all; the list is ordered by time.
    const times = cmp.series.map((s) => s.divergence?.timeUs ?? Infinity);
    assert.deepEqual(times, [...times].sort((x, y) => x - y));
    assert.deepEqual(cmp.first, cmp.series[0]);
    assert.ok((cmp.first?.divergence?.timeUs ?? Infinity) <= timeUs);

    // Statistics: one column per run and the delta, from each run's results.
    const results = await Promise.all(["ema-10", "ema-12"].map(async (id) => (await query<{ run: RunDetail }>(t.ws, OPERATIONS.run.document, { id })).data?.run.results));
    const names = Object.keys(results[0]?.stats ?? {}).sort();
    assert.ok(names.length > 10);
    assert.deepEqual(cmp.stats.map((s) => s.name), names);
    for (const stat of cmp.stats) {
      const [x, y] = [results[0]?.stats[stat.name], results[1]?.stats[stat.name]];
      assert.deepEqual(stat.values, [x, y]);
      assert.deepEqual(stat.deltas, [null, typeof x === "number" && typeof y === "number" ? y - x : null]);
    }

    // Trades: Nautilus's closed positions, matched by entry time and side.
    const key = (tr: [string, string, string, number] | { entry_t: string; side?: string }) => (Array.isArray(tr) ? `${tr[0]} ${tr[2]}` : `${tr.entry_t} ${tr.side}`);
    const [ka, kb] = [new Set(a.trades.map(key)), new Set(b.trades.map(key))];
    const trades = cmp.trades[0];
    assert.deepEqual([trades.run, trades.baseCount, trades.count], ["ema-12", a.trades.length, b.trades.length]);
    assert.deepEqual(trades.onlyBase.map(key), a.trades.filter((tr) => !kb.has(key(tr))).map(key));
    assert.deepEqual(trades.onlyOther.map(key), b.trades.filter((tr) => !ka.has(key(tr))).map(key));
    const changed = a.trades.filter((tr) => {
      const other = b.trades.find((o) => key(o) === key(tr));
      return other !== undefined && (other[1] !== tr[1] || other[3] !== tr[3]);
    });
    assert.deepEqual(trades.changed.map((c) => key(c.base)), changed.map(key));
    assert.ok(trades.onlyBase.length + trades.onlyOther.length + trades.changed.length > 0, "the periods trade differently");
  });

  it("diverges where values differ beyond the tolerance: exactly at bar 40, within 0.01 at bar 70", async () => {
    // Two runs written by the Python SDK: b adds 0.001 from bar 40 and 5 from bar 70.
    const script = `
import sys, chartbridge as cb
cb.configure(url=sys.argv[1], prefix=sys.argv[2])
for run, shifts in (("a", (0, 0)), ("b", (0.001, 5))):
    with cb.run(run, params={"shift": shifts[1]}):
        cb.publish_points("y", [${T0_NS} + i * 60_000_000_000 for i in range(100)],
                          [i + (shifts[0] if i >= 40 else 0) + (shifts[1] if i >= 70 else 0) for i in range(100)])
assert cb.flush(10)`;
    await run(PYTHON, ["-c", script, testRedis().url, t.prefix]);
    const divergence = async (tolerance: number) =>
      (await query<{ compare: Comparison }>(t.ws, OPERATIONS.compare.document, { runs: ["a", "b"], tolerance })).data?.compare.first?.divergence ?? null;
    const at = (i: number) => us(String(T0_NS + BigInt(i) * 60_000_000_000n));
    assert.deepEqual(await divergence(0), { timeUs: at(40), index: 40, baseValues: [40], values: [40.001], baseText: null, text: null });
    assert.deepEqual(await divergence(0.01), { timeUs: at(70), index: 70, baseValues: [70], values: [75.001], baseText: null, text: null });
    assert.equal(await divergence(10), null);
  });

  it("reads an identity that is not a JSON object as none, said on the run's error, and unusable parts as absent", async () => {
    await writeRun(t, "bad", { p: { kind: "line" } });
    await t.redis.hset(t.keys.manifest("bad"), "identity", "[1, 2]");
    await writeRun(t, "odd", { p: { kind: "line" } });
    await t.redis.hset(t.keys.manifest("odd"), "identity", JSON.stringify({ params: [1], git: { commit: 7 }, data: [{ bar_type: "B", first: "x", count: 2 }], versions: { python: 3, chartbridge: "0.1.0" } }));
    const ask = async (id: string) =>
      (await query<{ run: { identity: RunIdentity | null; error: string | null } }>(t.ws, `query($id: ID!) { run(id: $id) { error identity { params git { commit } data { instrument barType firstUs lastUs count } versions } } }`, { id })).data?.run;
    assert.deepEqual(await ask("bad"), { identity: null, error: "run bad: identity is not a JSON object; left out" });
    assert.deepEqual(await ask("odd"), {
      error: null,
      identity: { params: {}, git: null, data: [{ instrument: "", barType: "B", firstUs: null, lastUs: null, count: 2 }], versions: { chartbridge: "0.1.0" } },
    });
  });

  it("refuses one run, an unknown run and a negative tolerance with the reason", async () => {
    const ask = (runs: string[], tolerance = 0) => query<{ compare: Comparison }>(t.ws, OPERATIONS.compare.document, { runs, tolerance });
    assert.equal((await ask(["a"])).errors?.[0].message, "compare takes 2 to 16 runs, not 1");
    assert.equal((await ask(["a", "b"])).errors?.[0].message, "no run a");
    assert.equal((await ask(["a", "b"], -1)).errors?.[0].message, "tolerance must be a finite number >= 0, not -1");
  });
});
