/**
 * The legends: one per pane, inside that pane's top left, titled with the pane's name (`main` is
 * "price"); a click on the title collapses it to one line (the default in a narrow panel) or
 * expands it. One row per series with a visibility swatch, its name (click: reveal the source line
 * in the editor), its value under the crosshair (else its last value), a badge when the server
 * rejected entries of it (count + last reason) and one when the producer could not store points
 * of it (an outage beyond its backlog: protocol/SPEC.md section 11), and why its stream cannot be
 * read when a bad key keeps it empty (section 10), so an empty series never looks like no data.
 */
import type { MouseEventParams } from "lightweight-charts";
import type { SeriesMeta } from "../shared/api.js";
import type { ChartView } from "./chartView.js";
import type { ChartPoint } from "./seriesData.js";
import { el } from "./dom.js";
import { formatNumber, withUnit, type NumberFormat } from "./format.js";
import type { Micros } from "./time.js";

export interface LegendActions {
  toggle(id: string): void;
  revealSource(source: { file: string; line: number }): void;
  /** Whether pane `name`'s legend was left folded (undefined: the default for the width), and remembering a fold (paneLayout.ts). */
  collapsed(name: string): boolean | undefined;
  setCollapsed(name: string, collapsed: boolean): void;
}

interface Row {
  root: HTMLElement;
  swatch: HTMLElement;
  value: HTMLElement;
  badge: HTMLElement;
  lost: HTMLElement;
  unreadable: HTMLElement;
}

/** Below this chart width, pane legends start collapsed to one line. */
const NARROW_PX = 600;

export class Legend {
  readonly root = el("div", "cb-legends");
  private readonly rows = new Map<string, Row>();
  /** Each pane's legend, by pane index. */
  private readonly panes = new Map<number, HTMLElement>();

  constructor(private readonly view: ChartView, private readonly actions: LegendActions) {
    for (const [id, entry] of view.allSeries()) if (entry.meta.role !== "condition") this.addRow(id, entry.meta);
    view.chart.subscribeCrosshairMove(this.onCrosshair);
    // The plot's width changes with the window and with the price scale's labels.
    view.chart.timeScale().subscribeSizeChange(this.place);
    this.refresh();
  }

  dispose(): void {
    this.view.chart.unsubscribeCrosshairMove(this.onCrosshair);
    this.view.chart.timeScale().unsubscribeSizeChange(this.place);
    this.root.remove();
  }

  /** The legend of pane `index`, made on first use. */
  private paneLegend(index: number): HTMLElement {
    let legend = this.panes.get(index);
    if (legend === undefined) {
      legend = el("div", "cb-legend");
      legend.dataset.pane = String(index);
      const name = this.view.paneNames()[index] ?? "";
      const title = el("button", "cb-pane-title", name === "main" ? "price" : name);
      title.title = "collapse / expand";
      title.addEventListener("click", () => {
        if (legend !== undefined) this.actions.setCollapsed(name, legend.classList.toggle("cb-collapsed"));
      });
      legend.append(title);
      legend.classList.toggle("cb-collapsed", this.actions.collapsed(name) ?? this.view.widthPx() < NARROW_PX);
      this.panes.set(index, legend);
      this.root.append(legend);
    }
    return legend;
  }

  /** Puts each pane's legend at its pane's top (pane heights change with the data, a resize, a drag). */
  readonly place = (): void => {
    const panes = this.view.chart.panes();
    const origin = this.view.chart.chartElement().getBoundingClientRect().top;
    // Within the plot, left of the price scale.
    const width = `${Math.max(0, this.view.chart.timeScale().width() - 12)}px`;
    for (const [index, legend] of this.panes) {
      const pane = panes[index]?.getHTMLElement();
      if (pane) legend.style.top = `${pane.getBoundingClientRect().top - origin + 4}px`;
      legend.style.maxWidth = width;
    }
  };

  private addRow(id: string, meta: SeriesMeta): void {
    const root = el("div", "cb-legend-row");
    root.dataset.series = id;
    const swatch = el("span", "cb-swatch");
    swatch.title = "show / hide";
    swatch.addEventListener("click", () => this.actions.toggle(id));
    const name = el("span", "cb-name", meta.title || id);
    name.title = meta.source ? `${meta.source.file}:${meta.source.line}` : id;
    name.addEventListener("click", () => {
      if (meta.source) this.actions.revealSource(meta.source);
    });
    const value = el("span", "cb-value");
    const badge = el("span", "cb-badge");
    const lost = el("span", "cb-badge cb-lost");
    lost.title = "lost by the producer during a Redis outage (beyond its backlog)";
    const unreadable = el("span", "cb-badge cb-unreadable");
    root.append(swatch, name, value, badge, lost, unreadable);
    this.paneLegend(this.view.paneOf(id)).append(root);
    this.rows.set(id, { root, swatch, value, badge, lost, unreadable });
  }

  /** Re-reads colours, visibility, last values, rejected and lost counts, read errors. */
  refresh(): void {
    this.place();
    for (const [id, row] of this.rows) {
      const entry = this.view.series(id);
      if (entry === undefined) continue;
      row.root.classList.toggle("cb-hidden", !entry.visible);
      const options = entry.api?.options() as { color?: string; lineColor?: string; upColor?: string } | undefined;
      row.swatch.style.background = options?.color ?? options?.lineColor ?? options?.upColor ?? "currentColor";
      this.showValue(id, entry.data[entry.data.length - 1]);
      const { rejected, lastError } = entry.meta;
      row.badge.hidden = rejected === 0;
      row.badge.textContent = rejected === 0 ? "" : `${rejected} rejected`;
      row.badge.title = lastError ? `${lastError.code}: ${lastError.message} (entry ${lastError.entryId})` : "";
      const lost = entry.meta.lost;
      row.lost.hidden = lost === 0;
      row.lost.textContent = lost === 0 ? "" : `${lost.toLocaleString("en-US")} points not stored`;
      row.unreadable.hidden = entry.meta.error === null;
      row.unreadable.textContent = entry.meta.error === null ? "" : `not readable: ${entry.meta.error}`;
    }
  }

  updateMeta(series: SeriesMeta[]): void {
    for (const meta of series) {
      const entry = this.view.series(meta.id);
      if (entry) Object.assign(entry.meta, { rejected: meta.rejected, stale: meta.stale, lost: meta.lost, lastError: meta.lastError, error: meta.error, count: meta.count });
    }
    this.refresh();
  }

  flash(id: string): void {
    const row = this.rows.get(id);
    if (row === undefined) return;
    // Asked for by name (a lens): a folded pane legend opens to show it, without remembering that.
    row.root.closest(".cb-legend")?.classList.remove("cb-collapsed");
    row.root.classList.add("cb-flash");
    row.root.scrollIntoView({ block: "nearest" });
    setTimeout(() => row.root.classList.remove("cb-flash"), 1500);
  }

  private readonly onCrosshair = (param: MouseEventParams<Micros>) => {
    // A dragged pane separator moves the panes under the cursor.
    this.place();
    for (const [id, entry] of this.view.allSeries()) {
      if (entry.api === null) continue;
      const point = param.time === undefined ? undefined : (param.seriesData.get(entry.api) as ChartPoint | undefined);
      this.showValue(id, point ?? entry.data[entry.data.length - 1]);
    }
  };

  private showValue(id: string, point: ChartPoint | undefined): void {
    const row = this.rows.get(id);
    const entry = this.view.series(id);
    if (row === undefined || entry?.api == null) return;
    row.value.textContent = point === undefined ? "" : pointText(point, this.view.formatOf(id));
  }
}

/** A point as the legend and the data window read it: `O 1.08123 H … C 1.08150`, or `1,000,018.16 USD`. */
export function pointText(point: ChartPoint, f: NumberFormat): string {
  const n = (v: number) => formatNumber(v, f.precision);
  if ("open" in point) return withUnit(`O ${n(point.open)} H ${n(point.high)} L ${n(point.low)} C ${n(point.close)}`, f.unit);
  return "value" in point ? withUnit(n(point.value), f.unit) : "";
}
