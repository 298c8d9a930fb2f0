/** The shape `window.__chartbridge.state()` returns (testHook.ts); DOM-free so node tests can import it. */
import type { Held, TimeWindow } from "./fetchWindow.js";

export interface HookState {
  connection: string;
  banner: string | null;
  run: string | null;
  /** Range requests made by the current view. */
  fetches: number;
  /** Milliseconds from navigation start to the first frame drawn with data. */
  firstPaintMs: number | null;
  held: Held | null;
  visible: TimeWindow | null;
  panes: number;
  /** The debugger's time cursor, µs, or null. */
  timeCursorUs: number | null;
  /** Every lightweight-charts series per pane (the run's and the plugins'), as its point count. */
  paneSeries: number[][];
  series: {
    id: string;
    kind: string;
    pane: number;
    visible: boolean;
    /** Points in the lightweight-charts series (markers: markers held; conditions: points held). */
    points: number;
    firstUs: number | null;
    lastUs: number | null;
    bucketUs: number;
    rejected: number;
    priceLines: number;
    /** Marker series: the markers its held markers and clusters stand for. */
    markersCounted: number;
  }[];
  /** The condition filter: the conditions ticked and the server's answer drawn (conditions.ts). */
  conditionFilter: { chosen: string[]; count: number | null; bucketUs: number; times: number[] } | null;
  plugins: { name: string; version: number; running: number | null; error: string | null; logs: string[] }[];
}
