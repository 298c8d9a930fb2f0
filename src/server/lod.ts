/**
 * Level of detail: a time range of a series cut to about `maxPoints` points for the screen.
 *
 * Buckets are a grid of equal time width on absolute multiples of the width, so every series
 * queried with the same range and maxPoints lands on the same times: lightweight-charts gives each
 * distinct time a slot, and misaligned series would multiply the slots.
 * - candlestick/bar: the OHLC of the bucket (first open, highest high, lowest low, last close, summed volume);
 * - line/area/baseline: the bucket's min and max, in the order they occurred, at the bucket time
 *   and half a bucket later, so no spike disappears;
 * - histogram: the value of largest magnitude (a volume spike or a MACD extreme stays visible);
 * - marker: as they are while fewer than one per MARKER_CELL buckets (~8 px); more are clustered
 *   per cell of MARKER_CELL buckets: a cell of one marker keeps it, a cell of several becomes one
 *   marker at the cell's time with their count, buys and sells (`Marker.cluster`), at the last
 *   one's price. Asked for a cell's window, the server answers its markers one by one.
 */
import { isOhlcKind, type Marker, type MarkerPoints, type OhlcPoints, type Points, type SeriesKind, type ValuePoints } from "../shared/protocol.js";

/** Buckets per marker cluster cell: about 8 px at the chart's two buckets a pixel. */
export const MARKER_CELL = 16;

export interface Columns {
  kind: SeriesKind;
  length: number;
  times: Float64Array;
  col(name: "y" | "o" | "h" | "l" | "c" | "vol"): Float64Array;
  slice(from: number, to: number): Points;
}

export interface RangeResult {
  points: Points;
  total: number;
  decimated: boolean;
  /** Width of a bucket in microseconds; 0 when not decimated. */
  bucketUs: number;
}

/** First index with t[i] >= value (or with t[i] > value when `after`). */
export function bound(t: Float64Array, length: number, value: number, after = false): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid] < value || (after && t[mid] === value)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function decimate(s: Columns, fromUs: number | null, toUs: number | null, maxPoints: number): RangeResult {
  const i0 = fromUs === null ? 0 : bound(s.times, s.length, fromUs);
  const i1 = toUs === null ? s.length : bound(s.times, s.length, toUs, true);
  const total = Math.max(0, i1 - i0);
  const most = s.kind === "marker" ? Math.floor(maxPoints / MARKER_CELL) : maxPoints;
  if (total <= most || total === 0) {
    return { points: s.slice(i0, Math.max(i0, i1)), total, decimated: false, bucketUs: 0 };
  }
  // The width depends on the requested window only (the data span where a side is open), so
  // series asked for the same window share one grid: one cell fewer than fits, since a window
  // rarely starts on a grid line. Lines take two points a cell, so their cells are exactly two
  // candle cells wide and both halves land on the candle grid.
  const window = (toUs ?? s.times[i1 - 1]) - (fromUs ?? s.times[i0]) + 1;
  const unit = Math.max(1, Math.ceil(window / Math.max(1, maxPoints - 1)));
  if (s.kind === "marker") return { points: markerClusters(s, i0, i1, MARKER_CELL * unit), total, decimated: true, bucketUs: MARKER_CELL * unit };
  const points = isOhlcKind(s.kind)
    ? ohlcBuckets(s, i0, i1, unit)
    : s.kind === "histogram"
      ? peakBuckets(s, i0, i1, unit)
      : minMaxBuckets(s, i0, i1, 2 * unit);
  const bucketUs = isOhlcKind(s.kind) || s.kind === "histogram" ? unit : 2 * unit;
  return { points, total, decimated: true, bucketUs };
}

/** Calls `visit(grid, i, j)` for each non-empty grid cell of `width`, holding points [i, j). */
function eachCell(s: Columns, i0: number, i1: number, width: number, visit: (grid: number, i: number, j: number) => void): void {
  let i = i0;
  while (i < i1) {
    const grid = Math.floor(s.times[i] / width) * width;
    const end = grid + width;
    let j = i + 1;
    while (j < i1 && s.times[j] < end) j++;
    visit(grid, i, j);
    i = j;
  }
}

function ohlcBuckets(s: Columns, i0: number, i1: number, width: number): OhlcPoints {
  const [o, h, l, c, vol] = (["o", "h", "l", "c", "vol"] as const).map((n) => s.col(n));
  const out: Required<OhlcPoints> = { t: [], o: [], h: [], l: [], c: [], vol: [] };
  let hasVol = false;
  eachCell(s, i0, i1, width, (grid, i, j) => {
    let hi = h[i];
    let lo = l[i];
    let v = 0;
    for (let k = i; k < j; k++) {
      if (h[k] > hi) hi = h[k];
      if (l[k] < lo) lo = l[k];
      if (!Number.isNaN(vol[k])) {
        v += vol[k];
        hasVol = true;
      }
    }
    out.t.push(grid);
    out.o.push(o[i]);
    out.h.push(hi);
    out.l.push(lo);
    out.c.push(c[j - 1]);
    out.vol.push(v);
  });
  if (hasVol) return out;
  const { vol: _unused, ...withoutVol } = out;
  return withoutVol;
}

function markerClusters(s: Columns, i0: number, i1: number, width: number): MarkerPoints {
  const out: MarkerPoints = { t: [], y: [], m: [] };
  eachCell(s, i0, i1, width, (grid, i, j) => {
    const cell = s.slice(i, j) as MarkerPoints;
    const last = j - i - 1;
    if (last === 0) {
      out.t.push(cell.t[0]);
      out.y.push(cell.y[0]);
      out.m.push(cell.m[0]);
      return;
    }
    let buys = 0;
    let sells = 0;
    for (const m of cell.m) {
      if (m.side === "buy") buys++;
      else if (m.side === "sell") sells++;
    }
    const side = buys === j - i ? "buy" : sells === j - i ? "sell" : null;
    const marker: Marker = { side, text: String(j - i), cluster: { count: j - i, buys, sells, toUs: grid + width - 1 } };
    out.t.push(grid);
    out.y.push(cell.y[last]);
    out.m.push(marker);
  });
  return out;
}

function peakBuckets(s: Columns, i0: number, i1: number, width: number): ValuePoints {
  const y = s.col("y");
  const out: ValuePoints = { t: [], y: [] };
  eachCell(s, i0, i1, width, (grid, i, j) => {
    let peak = y[i];
    for (let k = i + 1; k < j; k++) if (Math.abs(y[k]) > Math.abs(peak)) peak = y[k];
    out.t.push(grid);
    out.y.push(peak);
  });
  return out;
}

function minMaxBuckets(s: Columns, i0: number, i1: number, width: number): ValuePoints {
  const y = s.col("y");
  const out: ValuePoints = { t: [], y: [] };
  eachCell(s, i0, i1, width, (grid, i, j) => {
    let min = i;
    let max = i;
    for (let k = i + 1; k < j; k++) {
      if (y[k] < y[min]) min = k;
      if (y[k] > y[max]) max = k;
    }
    out.t.push(grid);
    if (min === max) {
      out.y.push(y[min]);
    } else {
      const [first, second] = min < max ? [min, max] : [max, min];
      out.y.push(y[first]);
      out.t.push(grid + width / 2);
      out.y.push(y[second]);
    }
  });
  return out;
}
