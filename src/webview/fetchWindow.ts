/**
 * Level of detail on the client: which window to ask the server for, at what resolution, and when
 * the held data no longer fits the view. The server decimates (src/server/lod.ts); the chart holds
 * one window per series: the visible range widened by one visible width on each side, at about
 * two points per pixel, so at most ~6x the visible width in points per series, whatever the run's size.
 */
import type { Micros } from "./time.js";

export interface TimeWindow {
  fromUs: Micros;
  toUs: Micros;
}

/** A window to fetch; a null end is open (from the first point / to the live tail). */
export interface FetchWindow {
  fromUs: Micros | null;
  toUs: Micros | null;
  maxPoints: number;
}

/** What the chart holds: the window it fetched and the server's bucket width (0: raw points). */
export interface Held extends FetchWindow {
  bucketUs: number;
}

/** The server's ceiling on maxPoints (src/server/resolvers.ts). */
const SERVER_MAX_POINTS = 200_000;
export const POINTS_PER_PIXEL = 2;

/** The whole series at screen resolution: the first view of a run. */
export function wholeRun(widthPx: number): FetchWindow {
  return { fromUs: null, toUs: null, maxPoints: Math.max(2, Math.round(widthPx * POINTS_PER_PIXEL)) };
}

/**
 * The window to fetch for a visible range: one visible width of margin each side (scrolling a
 * little needs no round trip), ends snapped open when they reach the run's extent (so the tail
 * stays live), resolution 2 points per pixel of the visible part.
 */
export function windowFor(visible: TimeWindow, extent: TimeWindow, widthPx: number): FetchWindow {
  const span = Math.max(1, visible.toUs - visible.fromUs);
  const from = visible.fromUs - span;
  const to = visible.toUs + span;
  const fromUs = from <= extent.fromUs ? null : Math.floor(from);
  const toUs = to >= extent.toUs ? null : Math.ceil(to);
  const covered = (toUs ?? extent.toUs) - (fromUs ?? extent.fromUs);
  const maxPoints = Math.round((widthPx * POINTS_PER_PIXEL * Math.max(covered, span)) / span);
  return { fromUs, toUs, maxPoints: Math.min(SERVER_MAX_POINTS, Math.max(2, maxPoints)) };
}

/**
 * True when the held window no longer serves the view: it does not cover the visible range, or
 * the view zoomed in past twice the held resolution (buckets wider than two points per pixel).
 */
export function needsRefetch(held: Held, visible: TimeWindow, widthPx: number): boolean {
  if (held.fromUs !== null && visible.fromUs < held.fromUs) return true;
  if (held.toUs !== null && visible.toUs > held.toUs) return true;
  if (held.bucketUs === 0) return false;
  const idealBucket = (visible.toUs - visible.fromUs) / (widthPx * POINTS_PER_PIXEL);
  return held.bucketUs > 4 * idealBucket;
}

/**
 * The time a live point lands on: its own time when the series holds raw points, else the start
 * of its bucket on the server's grid (so the tail continues the decimated series instead of
 * piling raw points onto its end), but never before the last held time (the ordering rule).
 */
export function liveSlot(t: Micros, bucketUs: number, lastUs: Micros | null): Micros {
  const slot = bucketUs > 0 ? Math.floor(t / bucketUs) * bucketUs : t;
  return lastUs !== null && slot < lastUs ? lastUs : slot;
}
