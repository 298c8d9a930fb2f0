/**
 * Which runs "Compare with Previous Run" takes, and the strategy classes a CodeLens offers it on.
 * No vscode import: unit-tested as it is.
 */
import type { RunSummary } from "../shared/api.js";

/** Arguments of chartbridge.compareWithPrevious when a lens runs it. */
export interface StrategyArgs {
  strategy: string;
}

/** The newest run of `strategy` and the one before it (runs are newest first), or why there are not two. */
export function latestPair(runs: readonly RunSummary[], strategy: string): [string, string] | string {
  const mine = runs.filter((r) => r.strategy === strategy || r.strategy.split("+").includes(strategy));
  if (mine.length < 2) return `${strategy} has ${mine.length === 0 ? "no run" : "one run"} yet: run it again to compare`;
  return [mine[0].id, mine[1].id];
}

/**
 * Python classes that are strategies, with their 0-based line: a base named `Strategy` or
 * `*Strategy` (not `StrategyConfig`), or a method charted with `@cb.chart` (the SDK names such a
 * run after that class). `charted` are the ids of the file's chart sites (`Class.method`).
 */
export function strategyClasses(text: string, charted: readonly string[] = []): { line: number; name: string }[] {
  const chartedClasses = new Set(charted.map((id) => id.split(".")[0]));
  const out: { line: number; name: string }[] = [];
  for (const [line, source] of text.split("\n").entries()) {
    const m = /^class\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(([^)]*)\))?\s*:/.exec(source);
    if (m !== null && (chartedClasses.has(m[1]) || (m[2] ?? "").split(",").some((base) => /Strategy$/.test(base.trim())))) out.push({ line, name: m[1] });
  }
  return out;
}
