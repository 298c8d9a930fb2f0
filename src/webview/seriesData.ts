/**
 * What a chart holds, apart from how it is drawn (chartView.ts): per series the points of the
 * fetched window plus the live tail, the window and its bucket width, and the run's extent. A range
 * answer replaces a series' points; live batches merge into them (the ordering rule, the server's
 * bucket grid); a followed tail is trimmed to the budget. It reports what changed so the view draws
 * only that. No DOM and no lightweight-charts here.
 */
import type { BatchReply, RangeReply, SeriesMeta } from "../shared/api.js";
import type { Marker, MarkerPoints, OhlcPoints, Points, SeriesKind, ValuePoints } from "../shared/protocol.js";
import { compareStreamIds } from "../shared/streamIds.js";
import { liveSlot, type FetchWindow, type Held, type TimeWindow } from "./fetchWindow.js";
import type { Micros } from "./time.js";

export interface BarPoint {
  time: Micros;
  open: number;
  high: number;
  low: number;
  close: number;
  /** The bar's volume where the candles carry it (summed over a bucket). */
  volume?: number;
}
export interface ValuePoint {
  time: Micros;
  value: number;
}
export type ChartPoint = BarPoint | ValuePoint;

export interface HeldMarker {
  t: Micros;
  y: number | null;
  m: Marker;
}

/** One series as held. */
export interface HeldSeries {
  meta: SeriesMeta;
  /** The points the chart holds (the fetched window, plus the live tail); empty for marker series. */
  data: ChartPoint[];
  markers: HeldMarker[];
  /** Bucket width of the held data (0: raw points). */
  bucketUs: number;
  /** Time of the last point applied, for dropping replayed or late points. */
  lastRawUs: Micros | null;
  /** Stream ID the held data and applied live batches reach; live batches continue after it. */
  liveAfter: string | null;
  /**
   * Points of the series the held data and applied batches reach (Range.through, Batch.offset +
   * count): a batch that raced a range answer repeats those before it, and a marker must not be
   * merged twice (markers at one time are all kept, SPEC section 3).
   */
  through: number;
  visible: boolean;
}

/** What applying live batches changed. */
export interface LiveChanges {
  /** Series whose points changed, with the first index that changed. */
  touched: Map<string, number>;
  /** Series whose oldest points were dropped (they need a full redraw). */
  trimmed: Set<string>;
  /** A touched series holds more than twice the budget: ask for coarser buckets. */
  overBudget: boolean;
}

export class ChartData {
  private readonly series = new Map<string, HeldSeries>();
  private heldWindow: Held | null = null;
  private extentWindow: TimeWindow | null = null;

  add(meta: SeriesMeta): void {
    this.series.set(meta.id, { meta, data: [], markers: [], bucketUs: 0, lastRawUs: null, liveAfter: null, through: 0, visible: true });
  }

  get(id: string): Readonly<HeldSeries> | undefined {
    return this.series.get(id);
  }

  /** Every series, in registry order. */
  entries(): IterableIterator<[string, Readonly<HeldSeries>]> {
    return this.series.entries();
  }

  ids(): string[] {
    return [...this.series.keys()];
  }

  get size(): number {
    return this.series.size;
  }

  /** What the chart holds: the window fetched last (trimmed by a followed tail), or null before the first answer. */
  get held(): Held | null {
    return this.heldWindow;
  }

  /** From the run's first point to the newest point applied, or null while nothing is held. */
  get extent(): TimeWindow | null {
    return this.extentWindow;
  }

  /** False when there is no such series. */
  setVisible(id: string, visible: boolean): boolean {
    const entry = this.series.get(id);
    if (entry === undefined) return false;
    entry.visible = visible;
    return true;
  }

  /** Replaces every series' points with a range answer for `window` (`replies[i]` answers `ids[i]`). */
  applyRange(window: FetchWindow, ids: string[], replies: RangeReply[]): void {
    // Marker clusters span several buckets (src/server/lod.ts): the grid is the other series'.
    const grid = replies.filter((_, i) => this.series.get(ids[i])?.meta.kind !== "marker");
    this.heldWindow = { ...window, bucketUs: Math.max(0, ...grid.map((r) => r.bucketUs)) };
    ids.forEach((id, i) => {
      const entry = this.series.get(id);
      if (entry !== undefined) applyReply(entry, replies[i]);
    });
    this.updateExtent();
  }

  /**
   * Merges live batches. A batch already in the held data (replayed, or one that raced a range
   * answer) is skipped. `followSpan`: the view follows the tail with this span, so history more
   * than two spans left of the view is dropped (trimFollowed).
   */
  applyLive(batches: BatchReply[], followSpan: number | null): LiveChanges {
    const touched = new Map<string, number>();
    for (const batch of batches) {
      const entry = this.series.get(batch.series);
      if (entry === undefined || (entry.liveAfter !== null && compareStreamIds(batch.lastId, entry.liveAfter) <= 0)) continue;
      entry.liveAfter = batch.lastId;
      const repeated = Math.max(0, entry.through - batch.offset);
      entry.through = Math.max(entry.through, batch.offset + batch.count);
      const firstChanged = this.mergeLive(entry, batch.points, entry.meta.kind === "marker" ? repeated : 0);
      if (firstChanged !== null) touched.set(batch.series, Math.min(touched.get(batch.series) ?? Infinity, firstChanged));
    }
    this.updateExtent();
    const trimmed = new Set(followSpan === null ? [] : this.trimFollowed(followSpan));
    for (const id of trimmed) touched.set(id, 0);
    const held = this.heldWindow;
    // Live markers past what the server answers unclustered (a sixteenth of maxPoints, lod.ts) ask for clusters.
    const overBudget = held !== null && [...touched.keys()].some((id) => {
      const entry = this.series.get(id);
      return (entry?.data.length ?? 0) > 2 * held.maxPoints || (entry?.markers.length ?? 0) > held.maxPoints / 8;
    });
    return { touched, trimmed, overBudget };
  }

  /** Points of a series inside `w`. */
  pointsIn(id: string, w: TimeWindow): ChartPoint[] {
    return (this.series.get(id)?.data ?? []).filter((p) => p.time >= w.fromUs && p.time <= w.toUs);
  }

  /** Markers of a marker series inside `w`. */
  markersIn(id: string, w: TimeWindow): HeldMarker[] {
    return (this.series.get(id)?.markers ?? []).filter((m) => m.t >= w.fromUs && m.t <= w.toUs);
  }

  private updateExtent(): void {
    let from = Infinity;
    let to = -Infinity;
    for (const e of this.series.values()) {
      const first = e.meta.firstTimeUs ?? (e.data[0]?.time ?? e.markers[0]?.t);
      const last = e.lastRawUs;
      if (first !== undefined && first !== null) from = Math.min(from, first);
      if (last !== null) to = Math.max(to, last);
    }
    this.extentWindow = Number.isFinite(from) && Number.isFinite(to) ? { fromUs: from, toUs: to } : null;
  }

  /**
   * A followed tail keeps two view spans of history left of the view and drops older points here
   * rather than by a refetch: the held data, which every frame's setData walks, stays within the
   * budget, and no round trip interrupts the tail. Scrolling back refetches what was dropped.
   * Returns the series trimmed.
   */
  private trimFollowed(span: number): string[] {
    const held = this.heldWindow;
    if (held === null || this.extentWindow === null) return [];
    const cutoff = this.extentWindow.toUs - 3 * span;
    const trimmed: string[] = [];
    for (const [id, entry] of this.series) {
      if (entry.meta.kind === "marker" || entry.data.length <= held.maxPoints) continue;
      const first = entry.data.findIndex((p) => p.time >= cutoff);
      if (first <= 0) continue;
      entry.data = entry.data.slice(first);
      trimmed.push(id);
    }
    if (trimmed.length > 0) this.heldWindow = { ...held, fromUs: Math.max(held.fromUs ?? cutoff, cutoff) };
    return trimmed;
  }

  /** Merges live points after the first `skip` into the held data; returns the first changed index, or null. */
  private mergeLive(entry: HeldSeries, points: Points, skip: number): number | null {
    const held = this.heldWindow;
    let firstChanged: number | null = null;
    for (let i = skip; i < points.t.length; i++) {
      const t = points.t[i];
      if (entry.lastRawUs !== null && t < entry.lastRawUs) continue;
      entry.lastRawUs = t;
      // Past the end of a window scrolled into history: the next refetch brings it.
      if (held !== null && held.toUs !== null && t > held.toUs) continue;
      if (entry.meta.kind === "marker") {
        const p = points as MarkerPoints;
        entry.markers.push({ t, y: p.y[i], m: p.m[i] });
        firstChanged = 0;
        continue;
      }
      const last = entry.data[entry.data.length - 1] as ChartPoint | undefined;
      const slot = liveSlot(t, entry.bucketUs, last?.time ?? null);
      const merged = mergePoint(entry.meta.kind, last?.time === slot ? last : undefined, slot, points, i, entry.bucketUs > 0);
      if (last?.time === slot) entry.data[entry.data.length - 1] = merged;
      else entry.data.push(merged);
      const index = entry.data.length - 1;
      firstChanged = firstChanged === null ? index : Math.min(firstChanged, index);
    }
    return firstChanged;
  }
}

function applyReply(entry: HeldSeries, reply: RangeReply): void {
  entry.bucketUs = reply.bucketUs;
  entry.liveAfter = reply.lastId;
  entry.through = reply.through;
  const t = reply.points.t;
  // Decimated times may sit half a bucket after the last raw point: keep the bucket start.
  const last = t.length > 0 ? t[t.length - 1] : null;
  if (last !== null) entry.lastRawUs = reply.bucketUs > 0 ? Math.floor(last / reply.bucketUs) * reply.bucketUs : last;
  if (entry.meta.kind === "marker") {
    const p = reply.points as MarkerPoints;
    entry.markers = p.t.map((time, i) => ({ t: time, y: p.y[i], m: p.m[i] }));
  } else {
    entry.data = toChartPoints(reply.points);
  }
}

function toChartPoints(points: Points): ChartPoint[] {
  if ("o" in points) {
    const p = points as OhlcPoints;
    return p.t.map((time, i) => withVolume({ time, open: p.o[i], high: p.h[i], low: p.l[i], close: p.c[i] }, p.vol?.[i]));
  }
  const p = points as ValuePoints;
  return p.t.map((time, i) => ({ time, value: p.y[i] }));
}

/** `bar` with its volume, if it has one (NaN: the producer sent none for it). */
function withVolume(bar: BarPoint, volume: number | undefined): BarPoint {
  return volume === undefined || Number.isNaN(volume) ? bar : { ...bar, volume };
}

/** One live point merged into the held point of its slot (or a new point when `last` is undefined). */
function mergePoint(kind: SeriesKind, last: ChartPoint | undefined, time: Micros, points: Points, i: number, decimated: boolean): ChartPoint {
  if ("o" in points) {
    const p = points as OhlcPoints;
    const bar = last as BarPoint | undefined;
    if (bar === undefined || !decimated) return withVolume({ time, open: p.o[i], high: p.h[i], low: p.l[i], close: p.c[i] }, p.vol?.[i]);
    const vol = p.vol?.[i];
    const summed = bar.volume === undefined ? vol : vol === undefined || Number.isNaN(vol) ? bar.volume : bar.volume + vol;
    return withVolume({ time, open: bar.open, high: Math.max(bar.high, p.h[i]), low: Math.min(bar.low, p.l[i]), close: p.c[i] }, summed);
  }
  const y = (points as ValuePoints).y[i];
  const prev = last as ValuePoint | undefined;
  // A decimated histogram keeps each bucket's peak (as the server does); lines show the latest value.
  if (kind === "histogram" && decimated && prev !== undefined && Math.abs(prev.value) > Math.abs(y)) return prev;
  return { time, value: y };
}
