/**
 * Compares runs on the stored columns: where each same-named series first diverges, how the
 * statistics and the trades differ. The first run is the base; every other run is compared with it.
 * One pass over the columns per pair of series, no copy: fast on million-point series.
 */
import { GraphQLError } from "graphql";
import type { Comparison, SeriesComparison, StatComparison, Trade, TradesComparison } from "../shared/api.js";
import { isOhlcKind, NAME_PATTERNS, type MarkerPoints, type SeriesInfo, type SeriesKind } from "../shared/protocol.js";
import type { RunCatalog } from "./runCatalog.js";
import type { SeriesCache } from "./seriesCache.js";
import { SeriesStore } from "./seriesStore.js";

export const MAX_COMPARED_RUNS = 16;

const VALUE_COLUMNS = ["y"] as const;
const OHLC_COLUMNS = ["o", "h", "l", "c", "vol"] as const;

/** Equal within `tolerance` (0: exactly); NaN equals NaN (a missing volume, a marker without price). */
function same(a: number, b: number, tolerance: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= tolerance;
}

/** GraphQL Floats cannot be NaN: a missing value travels as null. */
const finite = (v: number): number | null => (Number.isNaN(v) ? null : v);

function valuesAt(store: SeriesStore, i: number): (number | null)[] | null {
  if (i >= store.length) return null;
  return (isOhlcKind(store.kind) ? OHLC_COLUMNS : VALUE_COLUMNS).map((name) => finite(store.col(name)[i]));
}

const markerTexts = (store: SeriesStore): string[] | null =>
  store.kind === "marker" ? (store.slice(0, store.length) as MarkerPoints).m.map((m) => JSON.stringify(m)) : null;

/** The first index at which two series differ in time, value or marker, or null when they agree. */
export function firstDivergence(base: SeriesStore, other: SeriesStore, tolerance: number): number | null {
  const n = Math.min(base.length, other.length);
  const bt = base.times;
  const ot = other.times;
  if (base.length === 0 && other.length === 0) return null;
  if (base.kind !== other.kind) return 0;
  const columns = isOhlcKind(base.kind) ? OHLC_COLUMNS : VALUE_COLUMNS;
  const bc = columns.map((name) => base.col(name));
  const oc = columns.map((name) => other.col(name));
  const bm = markerTexts(base);
  const om = markerTexts(other);
  if (bc.length === 1 && bm === null) {
    // Lines, the most common series: one column, kept in locals so the loop stays tight.
    const [by, oy] = [bc[0], oc[0]];
    for (let i = 0; i < n; i++) if (bt[i] !== ot[i] || (by[i] !== oy[i] && !same(by[i], oy[i], tolerance))) return i;
    return base.length === other.length ? null : n;
  }
  for (let i = 0; i < n; i++) {
    if (bt[i] !== ot[i]) return i;
    // Exact equality first: the common case stays one comparison per column.
    for (let c = 0; c < bc.length; c++) if (bc[c][i] !== oc[c][i] && !same(bc[c][i], oc[c][i], tolerance)) return i;
    if (bm !== null && om !== null && bm[i] !== om[i]) return i;
  }
  return base.length === other.length ? null : n;
}

function compareSeries(id: string, run: string, base: SeriesStore, other: SeriesStore, tolerance: number): SeriesComparison {
  const index = firstDivergence(base, other, tolerance);
  const summary = { series: id, run, kind: base.length > 0 ? base.kind : other.kind, baseCount: base.length, count: other.length };
  if (index === null) return { ...summary, divergence: null };
  const bt = index < base.length ? base.times[index] : Infinity;
  const ot = index < other.length ? other.times[index] : Infinity;
  const timeUs = Math.min(bt, ot);
  // Where the times differ, the run whose point comes later lacks a point at `timeUs`.
  const marker = (store: SeriesStore, has: boolean) => (has && store.kind === "marker" ? (store.slice(index, index + 1) as MarkerPoints).m[0].text : null);
  return {
    ...summary,
    divergence: {
      timeUs,
      index,
      baseValues: bt === timeUs ? valuesAt(base, index) : null,
      values: ot === timeUs ? valuesAt(other, index) : null,
      baseText: marker(base, bt === timeUs),
      text: marker(other, ot === timeUs),
    },
  };
}

/** Statistics by name: each run's value (null where it has none) and each run's numeric delta from the base. */
export function compareStats(stats: (Record<string, number | string> | null)[]): StatComparison[] {
  const names = [...new Set(stats.flatMap((s) => Object.keys(s ?? {})))].sort();
  return names.map((name) => {
    const values = stats.map((s) => s?.[name] ?? null);
    const base = values[0];
    const deltas = values.map((v, i) => (i > 0 && typeof v === "number" && typeof base === "number" ? v - base : null));
    return { name, values, deltas };
  });
}

/** A trade is the same trade in both runs when it opened at the same time on the same side and instrument. */
const tradeKey = (t: Trade) => `${t.entry_t}|${String(t.side ?? "")}|${String(t.instrument ?? "")}|${String(t.account ?? "")}`;
const TRADE_FIELDS = ["exit_t", "entry_price", "exit_price", "pnl"] as const;

export function compareTrades(run: string, base: Trade[], other: Trade[]): TradesComparison {
  const n = Math.min(base.length, other.length);
  let first: number | null = null;
  for (let i = 0; i < n && first === null; i++) if (JSON.stringify(base[i]) !== JSON.stringify(other[i])) first = i;
  if (first === null && base.length !== other.length) first = n;
  const byKey = new Map(other.map((t) => [tradeKey(t), t]));
  const baseKeys = new Set(base.map(tradeKey));
  const changed = base.flatMap((b) => {
    const o = byKey.get(tradeKey(b));
    return o !== undefined && TRADE_FIELDS.some((f) => b[f] !== o[f]) ? [{ base: b, other: o }] : [];
  });
  return {
    run,
    baseCount: base.length,
    count: other.length,
    firstDifference: first,
    baseTrade: first !== null ? (base[first] ?? null) : null,
    trade: first !== null ? (other[first] ?? null) : null,
    onlyBase: base.filter((t) => !byKey.has(tradeKey(t))),
    onlyOther: other.filter((t) => !baseKeys.has(tradeKey(t))),
    changed,
  };
}

function resultsOf(value: unknown): { stats: Record<string, number | string>; trades: Trade[] } | null {
  if (typeof value !== "object" || value === null) return null;
  const r = value as { stats?: unknown; trades?: unknown };
  const stats = typeof r.stats === "object" && r.stats !== null && !Array.isArray(r.stats) ? (r.stats as Record<string, number | string>) : {};
  const trades = Array.isArray(r.trades) ? (r.trades.filter((t) => typeof t === "object" && t !== null) as Trade[]) : [];
  return { stats, trades };
}

export async function compareRuns(catalog: RunCatalog, cache: SeriesCache, runs: string[], tolerance: number): Promise<Comparison> {
  if (runs.length < 2 || runs.length > MAX_COMPARED_RUNS) throw new GraphQLError(`compare takes 2 to ${MAX_COMPARED_RUNS} runs, not ${runs.length}`);
  if (!(tolerance >= 0) || !Number.isFinite(tolerance)) throw new GraphQLError(`tolerance must be a finite number >= 0, not ${tolerance}`);
  for (const run of runs) {
    if (!NAME_PATTERNS.run.test(run)) throw new GraphQLError(`invalid run id ${JSON.stringify(run)}`);
    if ((await catalog.run(run)) === null) throw new GraphQLError(`no run ${run}`);
  }
  if (new Set(runs).size !== runs.length) throw new GraphQLError("compare takes each run once");
  const registries = await Promise.all(runs.map((run) => catalog.series(run)));
  // A series that cannot be read compares as empty (its fault is on the series, SPEC section 10).
  // A series one run lacks compares as empty, of the other's kind.
  const store = (run: string, id: string, info: SeriesInfo | undefined, kind: SeriesKind) =>
    info === undefined ? new SeriesStore(kind) : cache.get(run, id, info.kind).catch(() => new SeriesStore(info.kind));
  const series: SeriesComparison[] = [];
  const [baseRun, ...others] = runs;
  for (const [k, run] of others.entries()) {
    const ids = [...new Set([...registries[0].keys(), ...registries[k + 1].keys()])].sort();
    for (const id of ids) {
      const [bi, oi] = [registries[0].get(id), registries[k + 1].get(id)];
      const kind = (bi ?? oi)?.kind ?? "line";
      const [b, o] = await Promise.all([store(baseRun, id, bi, kind), store(run, id, oi, kind)]);
      series.push(compareSeries(id, run, b, o, tolerance));
    }
  }
  // Ordered by the time they diverge (agreeing series last), then by name.
  const at = (s: SeriesComparison) => s.divergence?.timeUs ?? Infinity;
  series.sort((a, b) => at(a) - at(b) || a.series.localeCompare(b.series) || a.run.localeCompare(b.run));
  const results = (await Promise.all(runs.map((run) => catalog.results(run)))).map(resultsOf);
  const baseTrades = results[0]?.trades ?? [];
  return {
    runs,
    first: series.find((s) => s.divergence !== null) ?? null,
    series,
    stats: compareStats(results.map((r) => r?.stats ?? null)),
    trades: others.map((run, k) => compareTrades(run, baseTrades, results[k + 1]?.trades ?? [])),
  };
}
