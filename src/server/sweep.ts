/**
 * A parameter sweep: every run of one strategy with its identity's parameters and its numeric
 * end-of-run statistics, in one answer (the panel's sweep table and heatmap). The manifests come
 * in one pipeline (the run list's), the results in one round of concurrent GETs: no per-run query.
 */
import { GraphQLError } from "graphql";
import type { Sweep, SweepRun } from "../shared/api.js";
import type { RunCatalog } from "./runCatalog.js";

/** A sweep table beyond this many runs is cut (newest kept) and says so in `truncated`. */
export const MAX_SWEEP_RUNS = 10_000;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The numeric statistics of a run's results (cb.results); text statistics have no place in a sortable column. */
function numericStats(results: unknown): Record<string, number> {
  const stats = isRecord(results) && isRecord(results.stats) ? results.stats : {};
  return Object.fromEntries(Object.entries(stats).filter((e): e is [string, number] => typeof e[1] === "number" && Number.isFinite(e[1])));
}

/** Parameters as table cells: scalars as they are, anything nested as its JSON text. */
function cells(params: Record<string, unknown>): Record<string, string | number | boolean | null> {
  return Object.fromEntries(
    Object.entries(params).map(([k, v]) => [k, v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? v : JSON.stringify(v)]),
  );
}

export async function sweepOf(catalog: RunCatalog, strategy: string): Promise<Sweep> {
  if (strategy.length === 0) throw new GraphQLError("sweep needs a strategy name, not an empty string");
  const all = (await catalog.runs()).filter((r) => r.strategy === strategy);
  const runs = all.slice(0, MAX_SWEEP_RUNS);
  // A run whose results cannot be read has no statistics here; its own `error` says why.
  const results = await Promise.all(runs.map((r) => catalog.results(r.id).catch(() => null)));
  const rows: SweepRun[] = runs.map((r, i) => ({
    id: r.id,
    status: r.status,
    startedUs: Number(r.startedNs / 1000n),
    params: cells(r.identity?.params ?? {}),
    stats: numericStats(results[i]),
  }));
  const names = (pick: (row: SweepRun) => object) => [...new Set(rows.flatMap((row) => Object.keys(pick(row))))].sort();
  return { strategy, params: names((r) => r.params), stats: names((r) => r.stats), runs: rows, truncated: all.length > runs.length };
}
