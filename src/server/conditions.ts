/**
 * The chart's condition filter (protocol/SPEC.md section 5, role `condition`): the bars where every
 * chosen condition held, computed on the stored columns so the count is exact at any zoom.
 */
import { bound, type Columns } from "./lod.js";

export interface ConditionBars {
  /** Bars in the window where every condition held. */
  count: number;
  /** 0: `t` lists the bars; else `t` lists the start of each bucket of this width holding at least one. */
  bucketUs: number;
  t: number[];
}

/** At most this many conditions in one filter. */
export const MAX_FILTER_CONDITIONS = 16;

/**
 * Times (µs) in [fromUs, toUs] at which each of `conditions` has a point and that point is 1 (a
 * condition not recorded at a bar did not hold there). More than `maxPoints` of them are answered
 * on the grid lod.ts puts candles on for the same window, so the marks fall on the drawn bars.
 */
export function barsWhereAllHeld(conditions: Columns[], fromUs: number | null, toUs: number | null, maxPoints: number): ConditionBars {
  const [first, ...others] = conditions;
  const held: number[] = [];
  if (first !== undefined) {
    const cursors = others.map(() => 0);
    const i1 = toUs === null ? first.length : bound(first.times, first.length, toUs, true);
    const y = first.col("y");
    for (let i = fromUs === null ? 0 : bound(first.times, first.length, fromUs); i < i1; i++) {
      if (y[i] !== 1) continue;
      const t = first.times[i];
      // Times are sorted in every store: each cursor only moves forward.
      const all = others.every((s, k) => {
        let j = cursors[k];
        while (j < s.length && s.times[j] < t) j++;
        cursors[k] = j;
        return j < s.length && s.times[j] === t && s.col("y")[j] === 1;
      });
      if (all) held.push(t);
    }
  }
  if (held.length <= maxPoints) return { count: held.length, bucketUs: 0, t: held };
  const window = (toUs ?? held[held.length - 1]) - (fromUs ?? held[0]) + 1;
  const unit = Math.max(1, Math.ceil(window / Math.max(1, maxPoints - 1)));
  const t: number[] = [];
  for (const time of held) {
    const grid = Math.floor(time / unit) * unit;
    if (t[t.length - 1] !== grid) t.push(grid);
  }
  return { count: held.length, bucketUs: unit, t };
}
