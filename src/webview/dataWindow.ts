/**
 * The data window (TradingView's): every series' value at the crosshair time, pane by pane, each
 * in its own precision and unit; a candle series as its open, high, low and close, and its volume
 * where the candles carry one (a bucket's: the sum); a marker series every marker at that time. A
 * series with no point at that time shows its last one before it. Without a crosshair: the values
 * at the debugger's time cursor while paused, else the newest. Conditions (`cb.condition`) follow,
 * each green where it held at that bar, red where it did not, "–" where it was not recorded.
 */
import type { MouseEventParams } from "lightweight-charts";
import type { ChartView } from "./chartView.js";
import { el } from "./dom.js";
import { formatNumber, formatValue, inferPrecision } from "./format.js";
import type { ChartPoint } from "./seriesData.js";
import { formatTime, type Micros } from "./time.js";

export class DataWindow {
  readonly root = el("div", "cb-datawindow");
  private time: Micros | null = null;

  constructor(private readonly view: ChartView) {
    view.chart.subscribeCrosshairMove(this.onCrosshair);
    this.render();
  }

  dispose(): void {
    this.view.chart.unsubscribeCrosshairMove(this.onCrosshair);
    this.root.remove();
  }

  private readonly onCrosshair = (param: MouseEventParams<Micros>) => {
    this.time = param.time ?? null;
    this.render();
  };

  /** Re-reads the values (also after new data). */
  render(): void {
    const names = this.view.paneNames();
    const time = this.time ?? this.view.cursor.time;
    const rows: HTMLElement[] = [el("div", "cb-dw-time", time === null ? "latest" : formatTime(time, this.view.scale.zone))];
    const byPane = new Map<number, HTMLElement[]>();
    for (const [id, entry] of this.view.allSeries()) {
      if (!entry.visible) continue;
      const f = this.view.formatOf(id);
      // A marker series: every marker at that time (several: partial fills), by its text. A condition
      // has no markers: it is listed below.
      const markers = entry.api === null && time !== null ? entry.markers.filter((m) => m.t === time && m.m.cluster === undefined) : [];
      if (entry.api === null && markers.length === 0) continue;
      const point = entry.api === null ? undefined : pointAt(entry.data, time);
      const cells: [string, string][] = entry.api === null
        ? markers.map((m): [string, string] => [entry.meta.title || id, m.m.text || [m.m.side?.toUpperCase(), m.y === null ? null : formatValue(m.y, f)].filter(Boolean).join(" ")])
        : point === undefined ? [[entry.meta.title || id, "–"]]
        : "open" in point ? [
          ...[["O", point.open], ["H", point.high], ["L", point.low], ["C", point.close]].map(([k, v]): [string, string] => [`${entry.meta.title || id} ${k}`, formatValue(v as number, f)]),
          ...(point.volume === undefined ? [] : [[`${entry.meta.title || id} V`, formatNumber(point.volume, inferPrecision([point.volume]))] as [string, string]]),
        ]
        : [[entry.meta.title || id, formatValue(point.value, f)]];
      const pane = this.view.paneOf(id);
      const list = byPane.get(pane) ?? [];
      for (const [name, value] of cells) {
        const row = el("div", "cb-dw-row");
        row.dataset.series = id;
        row.append(el("span", "cb-dw-name", name), el("span", "cb-dw-value", value));
        list.push(row);
      }
      byPane.set(pane, list);
    }
    for (const [pane, list] of [...byPane].sort((a, b) => a[0] - b[0])) {
      rows.push(el("div", "cb-dw-pane", names[pane] === "main" ? "price" : names[pane] ?? ""), ...list);
    }
    const conditions = conditionsAt(this.view, time);
    if (conditions.length > 0) rows.push(el("div", "cb-dw-pane", "conditions"), ...conditionRows(conditions));
    this.root.replaceChildren(...rows);
  }
}

/** The last point at or before `time` (the newest when null). */
export function pointAt(data: readonly ChartPoint[], time: Micros | null): ChartPoint | undefined {
  if (time === null) return data[data.length - 1];
  let lo = 0;
  let hi = data.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (data[mid].time <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? undefined : data[lo - 1];
}

/** A condition at a time: held, not held, or null when it was not recorded at that bar. */
export interface ConditionAt {
  id: string;
  title: string;
  held: boolean | null;
}

/** Every condition of the chart at exactly `time` (null: its newest point). */
export function conditionsAt(view: ChartView, time: Micros | null): ConditionAt[] {
  return view.allSeries().filter(([, s]) => s.meta.role === "condition").map(([id, s]) => {
    const point = pointAt(s.data, time);
    const at = point !== undefined && (time === null || point.time === time) ? point : undefined;
    return { id, title: s.meta.title || id, held: at === undefined ? null : "value" in at && at.value === 1 };
  });
}

/** One row per condition: its name, and green "held" or red "not held" ("–": not recorded). */
export function conditionRows(conditions: readonly ConditionAt[]): HTMLElement[] {
  return conditions.map((c) => {
    const row = el("div", "cb-cond");
    row.dataset.series = c.id;
    row.dataset.held = String(c.held);
    row.append(el("span", "cb-cond-name", c.title), el("span", "cb-cond-state", c.held === null ? "–" : c.held ? "✓ held" : "✗ not held"));
    return row;
  });
}
