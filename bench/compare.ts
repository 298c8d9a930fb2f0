/**
 * The server's first divergence (src/server/compare.ts) of two 1M-point series that agree until
 * their last point (the whole columns are read), against one plain loop comparing the same two
 * value columns, in the same run. Run: npx tsx bench/compare.ts
 */
import { firstDivergence } from "../src/server/compare.js";
import { SeriesStore } from "../src/server/seriesStore.js";
import { printFigures } from "./figures.js";

const N = 1_000_000;
const ROUNDS = 15;
const T0_US = 1_700_000_000_000_000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A line of N one-second points, its last value moved by `last`. */
function line(last: number): SeriesStore {
  const store = new SeriesStore("line");
  const tUs = Float64Array.from({ length: N }, (_, i) => T0_US + i * 1_000_000);
  const y = Float64Array.from({ length: N }, (_, i) => Math.sin(i / 1000) + (i === N - 1 ? last : 0));
  store.apply("1-0", { kind: "line", n: N, tUs, y, timeNs: (i) => BigInt(tUs[i]) * 1000n });
  return store;
}

const a = line(0);
const b = line(1e-12);
const ours: number[] = [];
const plain: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  let t = performance.now();
  if (firstDivergence(a, b, 0) !== N - 1) throw new Error("the divergence is the last point");
  ours.push(performance.now() - t);
  const ya = a.col("y");
  const yb = b.col("y");
  t = performance.now();
  let i = 0;
  while (i < N && ya[i] === yb[i]) i++;
  plain.push(performance.now() - t + (i === N - 1 ? 0 : 1));
}
printFigures([
  { name: "first_divergence_1m_ms", value: median(ours), unit: "ms", target: "<= 50", baseline: median(plain), baselineLabel: "one plain loop comparing the two 1M value columns" },
]);
