/**
 * Markers that stay readable at any density. The server clusters them per cell of a few pixels
 * (src/server/lod.ts: a cluster carries its count); here each marker's label is kept only where it
 * does not overlap the label before it in its lane (above, below, in the bar), and hovering a
 * marker or a cluster shows its details (MarkerTooltip): a marker with others of its series at its
 * time (two partial fills) lists them all; clicking a cluster zooms to its cell.
 */
import type { MouseEventParams } from "lightweight-charts";
import type { Marker } from "../shared/protocol.js";
import type { Api } from "./client.js";
import { el } from "./dom.js";
import { formatTime, type Micros } from "./time.js";

/** Pixels kept free between two labels of a lane. */
const GAP_PX = 6;
/** Longer marker texts are cut in their label (the tooltip tells them whole). */
export const LABEL_CHARS = 24;
/** Markers of a cluster listed in its tooltip. */
const LISTED = 20;

export interface Placed {
  /** Pixel x of the marker's bar; null when off the time scale (then no label). */
  x: number | null;
  lane: string;
  text: string;
}

/**
 * The label each marker gets (in time order): its text (cut to LABEL_CHARS) where it fits, ""
 * where it would overlap the last label of its lane. `width`: a text's drawn width in px.
 */
export function labels(placed: readonly Placed[], width: (text: string) => number): string[] {
  const right = new Map<string, number>();
  return placed.map(({ x, lane, text }) => {
    if (x === null || text === "") return "";
    const label = [...text].length > LABEL_CHARS ? `${[...text].slice(0, LABEL_CHARS - 1).join("")}…` : text;
    const half = width(label) / 2;
    if (x - half < (right.get(lane) ?? -Infinity) + GAP_PX) return "";
    right.set(lane, x + half);
    return label;
  });
}

/** The id lightweight-charts reports for a hovered or clicked marker: its series and its index there. */
export function markerId(seriesId: string, index: number): string {
  return `${seriesId}\n${index}`;
}

export function parseMarkerId(id: unknown): { seriesId: string; index: number } | null {
  if (typeof id !== "string") return null;
  const cut = id.lastIndexOf("\n");
  return cut < 0 ? null : { seriesId: id.slice(0, cut), index: Number(id.slice(cut + 1)) };
}

/** A text's width in lightweight-charts' marker font (its layout's font family and size). */
export function textMeasurer(font: string): (text: string) => number {
  const context = document.createElement("canvas").getContext("2d");
  if (context === null) return (text) => text.length * 8;
  context.font = font;
  return (text) => context.measureText(text).width;
}

export interface HoveredMarker {
  seriesId: string;
  t: Micros;
  y: number | null;
  m: Marker;
}

export interface TooltipSource {
  readonly runId: string;
  marker(id: unknown): HoveredMarker | null;
  /** The markers of a series at one time (not clusters), in stream order. */
  markersAt(seriesId: string, t: Micros): readonly { t: Micros; y: number | null; m: Marker }[];
  zone(): "utc" | "local";
  /** A price as the marker's target series reads it. */
  price(seriesId: string, y: number): string;
}

/** The details of the hovered marker (a cluster's markers fetched one by one) beside the cursor. */
export class MarkerTooltip {
  readonly root = el("div", "cb-tooltip");
  private shown: unknown = null;
  private ticket = 0;

  constructor(private readonly api: Api, private readonly source: TooltipSource) {
    this.root.hidden = true;
  }

  readonly onCrosshair = (param: MouseEventParams<Micros>): void => {
    const id = param.hoveredInfo?.objectId ?? param.hoveredObjectId;
    const hovered = this.source.marker(id);
    if (hovered === null || param.point === undefined) {
      this.root.hidden = true;
      this.shown = null;
      return;
    }
    this.root.style.left = `${param.point.x + 12}px`;
    this.root.style.top = `${param.point.y + 12}px`;
    this.root.hidden = false;
    if (this.shown === id) return;
    this.shown = id;
    this.show(hovered);
  };

  private show({ seriesId, t, y, m }: HoveredMarker): void {
    const ticket = ++this.ticket;
    const zone = this.source.zone();
    const cluster = m.cluster;
    if (cluster === undefined) {
      // Markers are events: several at one time (partial fills) are each listed.
      const same = this.source.markersAt(seriesId, t);
      if (same.length <= 1) this.root.replaceChildren(...this.lines(seriesId, t, y, m));
      else {
        const head = el("div", "cb-tooltip-head", `${same.length} markers at ${formatTime(t, zone)}`);
        this.root.replaceChildren(head, ...same.map((s) => el("div", "cb-tooltip-row", this.oneLine(seriesId, s.t, s.y, s.m))));
      }
      return;
    }
    const head = el("div", "cb-tooltip-head", `${cluster.count.toLocaleString("en-US")} markers (${cluster.buys} buy, ${cluster.sells} sell)`);
    const span = el("div", "", `${formatTime(t, zone)} – ${formatTime(cluster.toUs, zone)}`);
    this.root.replaceChildren(head, span, el("div", "cb-tooltip-more", "click to zoom in"));
    // The cell's window asked at full resolution answers its markers one by one (lod.ts).
    void this.api.range(this.source.runId, seriesId, t, cluster.toUs, 100_000).then((reply) => {
      if (ticket !== this.ticket || !("m" in reply.points)) return;
      const p = reply.points;
      const rows = p.m.slice(0, LISTED).map((marker, i) => el("div", "cb-tooltip-row", this.oneLine(seriesId, p.t[i], p.y[i], marker)));
      const rest = p.m.length - LISTED;
      this.root.replaceChildren(head, ...rows, el("div", "cb-tooltip-more", rest > 0 ? `… ${rest.toLocaleString("en-US")} more: click to zoom in` : "click to zoom in"));
    }, () => {});
  }

  private lines(seriesId: string, t: Micros, y: number | null, m: Marker): HTMLElement[] {
    const head = [m.side?.toUpperCase(), formatTime(t, this.source.zone())].filter(Boolean).join(" · ");
    return [
      el("div", "cb-tooltip-head", head),
      ...(y === null ? [] : [el("div", "cb-tooltip-price", `price ${this.source.price(seriesId, y)}`)]),
      ...(m.text === "" ? [] : [el("div", "cb-tooltip-text", m.text)]),
    ];
  }

  private oneLine(seriesId: string, t: Micros, y: number | null, m: Marker): string {
    return [formatTime(t, this.source.zone()), m.side?.toUpperCase(), y === null ? null : this.source.price(seriesId, y), m.text].filter(Boolean).join("  ");
  }
}
