/**
 * Spans drawn on a series' price scale: the trade picked in the results view (a box from entry to
 * exit with the line joining them) and the equity's peak and maximum drawdown (from the peak
 * before the trough, through the trough, to the recovery or the end), like backtesting.py's plot.
 * A series primitive, so lightweight-charts redraws it with the pane as it scrolls and zooms.
 */
import type { ISeriesPrimitive, IPrimitivePaneRenderer, IPrimitivePaneView, SeriesAttachedParameter } from "lightweight-charts";
import type { Micros } from "./time.js";

type Target = Parameters<IPrimitivePaneRenderer["draw"]>[0];

/** A box between two (time, price) corners, a line from the first to the second (or to `lineTo`), and a label. */
export interface Span {
  from: { t: Micros; y: number };
  to: { t: Micros; y: number };
  lineTo?: { t: Micros; y: number };
  color: string;
  label: string;
}

/** Where a span is drawn, px from the pane's top left (null: off the scale). */
export interface DrawnSpan {
  label: string;
  x0: number | null;
  y0: number | null;
  x1: number | null;
  y1: number | null;
  /** Where the line ends. */
  lx: number | null;
  ly: number | null;
}

export class SpanDrawing implements ISeriesPrimitive<Micros> {
  private params: SeriesAttachedParameter<Micros> | null = null;
  private spans: Span[] = [];
  private placed: DrawnSpan[] = [];
  private readonly view: IPrimitivePaneView = { zOrder: () => "top", renderer: () => this.renderer };
  private readonly renderer: IPrimitivePaneRenderer = { draw: (target) => this.draw(target) };

  attached(params: SeriesAttachedParameter<Micros>): void {
    this.params = params;
  }

  detached(): void {
    this.params = null;
  }

  set(spans: Span[]): void {
    this.spans = spans;
    this.updateAllViews();
    this.params?.requestUpdate();
  }

  /** The spans as last placed on the pane. */
  drawn(): DrawnSpan[] {
    return this.placed;
  }

  updateAllViews(): void {
    const p = this.params;
    const x = (t: Micros) => p?.chart.timeScale().timeToCoordinate(t) ?? null;
    const y = (v: number) => p?.series.priceToCoordinate(v) ?? null;
    this.placed = this.spans.map((s) => ({ label: s.label, x0: x(s.from.t), y0: y(s.from.y), x1: x(s.to.t), y1: y(s.to.y), lx: x((s.lineTo ?? s.to).t), ly: y((s.lineTo ?? s.to).y) }));
  }

  paneViews(): readonly IPrimitivePaneView[] {
    return [this.view];
  }

  private draw(target: Target): void {
    target.useMediaCoordinateSpace(({ context, mediaSize }) => {
      this.placed.forEach((at, i) => {
        const { color } = this.spans[i];
        // A time off the held data has no coordinate: the span then runs to the pane's edge.
        const x0 = at.x0 ?? 0;
        const x1 = at.x1 ?? mediaSize.width;
        if (at.y0 === null || at.y1 === null) return;
        context.globalAlpha = 0.15;
        context.fillStyle = color;
        context.fillRect(Math.min(x0, x1), Math.min(at.y0, at.y1), Math.max(1, Math.abs(x1 - x0)), Math.max(1, Math.abs(at.y1 - at.y0)));
        context.globalAlpha = 1;
        context.strokeStyle = color;
        context.lineWidth = 2;
        context.setLineDash([4, 3]);
        context.beginPath();
        context.moveTo(x0, at.y0);
        context.lineTo(at.lx ?? x1, at.ly ?? at.y1);
        context.stroke();
        context.setLineDash([]);
        context.fillStyle = color;
        context.font = "11px sans-serif";
        // Above the box, or inside its top when the box touches the pane's top (a short pane clips the rest).
        const top = Math.min(at.y0, at.y1);
        context.fillText(at.label, Math.min(x0, x1) + 2, top > 14 ? top - 4 : top + 12);
      });
    });
  }
}

/** The equity's highest point and its deepest fall from a running peak. */
export interface Drawdown {
  peak: { t: Micros; y: number };
  /** The running peak the deepest fall starts from, its trough, and when equity regained the start (null: not by the end). */
  start: { t: Micros; y: number };
  trough: { t: Micros; y: number };
  recoveryUs: Micros | null;
  endUs: Micros;
  /** The fall as a fraction of the start (0.25: 25 %). */
  depth: number;
  /** From the start to the recovery, or to the end if none. */
  durationUs: number;
}

/** The peak and maximum drawdown of `points` (time ascending); null for fewer than two points or no fall. */
export function maxDrawdown(points: readonly { time: Micros; value: number }[]): Drawdown | null {
  if (points.length < 2) return null;
  let peak = points[0];
  let high = points[0];
  let best: { start: typeof high; trough: typeof high; depth: number } | null = null;
  for (const p of points) {
    if (p.value > high.value) high = p;
    if (p.value > peak.value) peak = p;
    const depth = high.value === 0 ? 0 : (high.value - p.value) / Math.abs(high.value);
    if (depth > 0 && (best === null || depth > best.depth)) best = { start: high, trough: p, depth };
  }
  if (best === null) return null;
  const { start, trough, depth } = best;
  const recovery = points.find((p) => p.time > trough.time && p.value >= start.value);
  const endUs = points[points.length - 1].time;
  return {
    peak: { t: peak.time, y: peak.value },
    start: { t: start.time, y: start.value },
    trough: { t: trough.time, y: trough.value },
    recoveryUs: recovery?.time ?? null,
    endUs,
    depth,
    durationUs: (recovery?.time ?? endUs) - start.time,
  };
}

/** A duration in its two largest units: "3d 4h", "2h 5m", "45s". */
export function formatDuration(us: number): string {
  const units: [string, number][] = [["d", 86_400e6], ["h", 3_600e6], ["m", 60e6], ["s", 1e6]];
  const parts: string[] = [];
  let rest = Math.round(us);
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || parts.length > 0) parts.push(`${n}${name}`);
    if (parts.length === 2) break;
  }
  return parts.filter((p) => !p.startsWith("0")).join(" ") || "0s";
}
