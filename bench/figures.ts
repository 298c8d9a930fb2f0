/**
 * How every TypeScript benchmark reports: one line per figure for people, then one JSON line
 * (`{"figures": [...]}`) that `npm run bench` collects into bench/results/latest.json.
 */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** An operator and a number, e.g. "<= 1000" or ">= 30". */
  target: string;
  /** The same measure of the baseline, taken in the same run (null: none applies). */
  baseline: number | null;
  /** What the baseline is, in words. */
  baselineLabel?: string;
  /** Which way is better; decides how the ratio is printed. Default "lower". */
  better?: "lower" | "higher";
}

/** How many times better than the baseline (above 1: better). */
export function ratioOf(f: Figure): number | null {
  if (f.baseline === null || f.value === 0 || f.baseline === 0) return null;
  return f.better === "higher" ? f.value / f.baseline : f.baseline / f.value;
}

export function printFigures(figures: Figure[]): void {
  for (const f of figures) {
    const ratio = ratioOf(f);
    const vs = f.baseline === null ? "" : `  (baseline${f.baselineLabel ? ` = ${f.baselineLabel}` : ""}: ${f.baseline.toFixed(1)} ${f.unit}; ${ratio?.toFixed(2)}x ${f.better === "higher" ? "of" : "faster than"} it)`;
    console.log(`${f.name}: ${f.value.toFixed(1)} ${f.unit}  target ${f.target}${vs}`);
  }
  const round = (x: number | null) => (x === null ? null : Number(x.toFixed(3)));
  console.log(JSON.stringify({ figures: figures.map((f) => ({ ...f, value: round(f.value), baseline: round(f.baseline) })) }));
}
