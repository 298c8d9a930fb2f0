/**
 * The server's copy of one series: columns in growable typed arrays, the stream ID of every
 * entry, and what was rejected. It applies the ordering rule of SPEC section 3 once, so every
 * client (history or live, first or resumed) sees the same points.
 */
import type { DecodedBatch, Rejection } from "../shared/decode.js";
import { compareStreamIds } from "../shared/streamIds.js";
import type { Columns } from "./lod.js";
import { isOhlcKind, type Marker, type Points, type SeriesKind } from "../shared/protocol.js";

export interface SeriesError extends Rejection {
  entryId: string;
}

/** Called after points [from, to) changed; `from` may be below the old length (a replaced last point). */
export type AppendListener = (from: number, to: number) => void;

const VALUE_COLUMNS = ["y"] as const;
const OHLC_COLUMNS = ["o", "h", "l", "c", "vol"] as const;
type ColumnName = "y" | "o" | "h" | "l" | "c" | "vol";
const NO_COLUMN = new Float64Array(0);

function grow(arr: Float64Array, need: number): Float64Array {
  if (need <= arr.length) return arr;
  const next = new Float64Array(Math.max(need, arr.length * 2, 64));
  next.set(arr);
  return next;
}

export class SeriesStore implements Columns {
  length = 0;
  rejected = 0;
  stale = 0;
  lastError: SeriesError | null = null;
  /** Set when this copy no longer matches Redis (it restarted without the data): clients must reload. */
  invalidated: string | null = null;
  /** ID of the last stream entry applied (valid or not); readers continue after it. */
  lastId = "0-0";
  private t: Float64Array = new Float64Array(0);
  private cols = new Map<ColumnName, Float64Array>();
  private markers: Marker[] = [];
  /** Entry i (in stream order, valid ones only) starts at point entryStart[i]. */
  private entryIds: string[] = [];
  private entryStart: number[] = [];
  private listeners = new Set<AppendListener>();

  constructor(readonly kind: SeriesKind) {
    const names = isOhlcKind(kind) ? OHLC_COLUMNS : VALUE_COLUMNS;
    for (const name of names) this.cols.set(name, new Float64Array(0));
  }

  /** Times in µs; valid up to `length` (the array is over-allocated). */
  get times(): Float64Array {
    return this.t;
  }

  col(name: ColumnName): Float64Array {
    return this.cols.get(name) ?? NO_COLUMN;
  }

  get firstTimeUs(): number | null {
    return this.length > 0 ? this.t[0] : null;
  }

  get lastTimeUs(): number | null {
    return this.length > 0 ? this.t[this.length - 1] : null;
  }

  /** The last point's value: its close for candles and bars, its price for a marker (null if none). */
  get lastValue(): number | null {
    if (this.length === 0) return null;
    const value = (this.cols.get(isOhlcKind(this.kind) ? "c" : "y") as Float64Array)[this.length - 1];
    return Number.isNaN(value) ? null : value;
  }

  /** Approximate bytes held, for the memory budget. */
  get bytes(): number {
    return this.t.byteLength * (1 + this.cols.size) + this.markers.length * 64 + this.entryIds.length * 48;
  }

  /** Subscriptions following this series: a store with any is never evicted. */
  get followers(): number {
    return this.listeners.size;
  }

  onAppend(listener: AppendListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  invalidate(reason: string): void {
    this.invalidated = reason;
    for (const listener of this.listeners) listener(this.length, this.length);
  }

  reject(entryId: string, error: Rejection): void {
    this.rejected++;
    this.lastError = { ...error, entryId };
    this.lastId = entryId;
  }

  /**
   * Applies a valid batch (SPEC section 3's ordering rule): drops points before the last time
   * (stale); at an equal time a value or candle replaces the last point, a marker (an event) is
   * appended, so every marker keeps its index.
   */
  apply(entryId: string, batch: DecodedBatch): void {
    this.lastId = entryId;
    let from = this.length;
    this.reserve(batch.n);
    if (this.appendsWhole(batch)) {
      // The common case (a producer's batch after the last point, times strictly rising): copy
      // columns whole instead of point by point. Loading a 10M-point series is dominated by this.
      this.t.set(batch.tUs, from);
      for (const [name, col] of this.cols) {
        const src = batch[name];
        if (src === undefined) col.fill(NaN, from, from + batch.n);
        else col.set(src, from);
      }
      if (batch.m !== undefined) for (let i = 0; i < batch.n; i++) this.markers[from + i] = batch.m[i];
      this.length = from + batch.n;
      this.recordEntry(entryId, from);
      return;
    }
    const events = this.kind === "marker";
    for (let i = 0; i < batch.n; i++) {
      const time = batch.tUs[i];
      let at = this.length;
      if (at > 0) {
        const last = this.t[at - 1];
        if (time < last) {
          this.stale++;
          continue;
        }
        if (time === last && !events) at--;
      }
      this.t[at] = time;
      for (const [name, col] of this.cols) {
        const src = batch[name];
        col[at] = src === undefined ? NaN : src[i];
      }
      if (batch.m !== undefined) this.markers[at] = batch.m[i];
      this.length = at + 1;
      if (at < from) from = at;
    }
    if (from < this.length) this.recordEntry(entryId, from);
  }

  /** Every point of `batch` is appended: times rising (markers: not falling) from the last point. */
  private appendsWhole(batch: DecodedBatch): boolean {
    const t = batch.tUs;
    const after = this.kind === "marker" ? (a: number, b: number) => a >= b : (a: number, b: number) => a > b;
    if (this.length > 0 && !after(t[0], this.t[this.length - 1])) return false;
    for (let i = 1; i < batch.n; i++) if (!after(t[i], t[i - 1])) return false;
    return true;
  }

  private recordEntry(entryId: string, from: number): void {
    this.entryIds.push(entryId);
    this.entryStart.push(from);
    for (const listener of this.listeners) listener(from, this.length);
  }

  /** Index of the first point of the first valid entry after `afterId` ("0-0": all, "$": none yet). */
  indexAfter(afterId: string): number {
    if (afterId === "$") return this.length;
    let lo = 0;
    let hi = this.entryIds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareStreamIds(this.entryIds[mid], afterId) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.entryIds.length ? this.entryStart[lo] : this.length;
  }

  /**
   * Where a message of at most `maxPoints` points starting at `from` ends, on an entry boundary so
   * that `lastId` (the ID to resume after) covers exactly the points sent. An entry is never split:
   * when the one at `from` alone holds more than `maxPoints`, it is the whole message.
   */
  cut(from: number, maxPoints: number): { to: number; lastId: string } {
    const end = from + maxPoints;
    if (this.length <= end) return { to: this.length, lastId: this.lastId };
    const starts = this.entryStart;
    // lo: the number of entries starting at or before `end`.
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= end) lo = mid + 1;
      else hi = mid;
    }
    // Entry lo-1 runs past `end`: stop before it, unless it is the one `from` is in.
    if (starts[lo - 1] > from) return { to: starts[lo - 1], lastId: this.entryIds[lo - 2] };
    return lo === starts.length ? { to: this.length, lastId: this.lastId } : { to: starts[lo], lastId: this.entryIds[lo - 1] };
  }

  /** Points [from, to) in the JSON form of SPEC section 4. */
  slice(from: number, to: number): Points {
    const t = Array.from(this.t.subarray(from, to));
    const col = (name: ColumnName) => Array.from((this.cols.get(name) as Float64Array).subarray(from, to));
    if (isOhlcKind(this.kind)) {
      const points = { t, o: col("o"), h: col("h"), l: col("l"), c: col("c") };
      const vol = col("vol");
      return vol.some((v) => !Number.isNaN(v)) ? { ...points, vol } : points;
    }
    if (this.kind === "marker") {
      return { t, y: col("y").map((v) => (Number.isNaN(v) ? null : v)), m: this.markers.slice(from, to) };
    }
    return { t, y: col("y") };
  }

  /** Makes room for `extra` more points. */
  reserve(extra: number): void {
    const need = this.length + extra;
    this.t = grow(this.t, need);
    for (const [name, col] of this.cols) this.cols.set(name, grow(col, need));
  }
}
