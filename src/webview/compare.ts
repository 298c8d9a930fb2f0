/**
 * Comparing runs in the panel: the other runs' same-named series overlaid dashed on the chart of
 * the shown run (the base), the first divergences (the server's `compare`), a statistics table with
 * a column per run and the deltas, the parameter and commit diff. Uses ChartView's public chart and
 * panes only; the overlays are its own lightweight-charts series, removed by `dispose`.
 */
import { createSeriesMarkers, LineSeries, LineStyle, type ISeriesApi, type LineData } from "lightweight-charts";
import type { Comparison, RunIdentity } from "../shared/api.js";
import type { TimeZoneSetting } from "../shared/webviewProtocol.js";
import type { ChartView } from "./chartView.js";
import { el } from "./dom.js";
import { formatTime, type Micros } from "./time.js";

/** What the compare view needs of the app: the server, the host, where to put the cursor. */
export interface CompareHooks {
  compare(runs: string[]): Promise<Comparison>;
  identities(): Promise<Map<string, RunIdentity | null>>;
  range(run: string, series: string, maxPoints: number): Promise<{ t: number[]; y?: (number | null)[]; c?: number[] }>;
  openCommitDiff(root: string, from: string, to: string): void;
}

/** Overlay colours per compared run (the base keeps its own colours). */
const OVERLAY_COLOURS = ["#ff9800", "#00bcd4", "#e91e63", "#8bc34a"];
const OVERLAY_POINTS = 4000;

export class CompareView {
  readonly root = el("div", "cb-compare");
  private overlays: ISeriesApi<"Line", Micros>[] = [];
  comparison: Comparison | null = null;
  private disposed = false;

  constructor(
    private readonly view: ChartView,
    private readonly hooks: CompareHooks,
    private readonly zone: TimeZoneSetting,
  ) {}

  /** Compares the shown run with `others`: overlays, divergences, tables. */
  async show(others: string[]): Promise<void> {
    const runs = [this.view.run.id, ...others.filter((r) => r !== this.view.run.id)];
    const [comparison, identities] = await Promise.all([this.hooks.compare(runs), this.hooks.identities()]);
    if (this.disposed) return;
    this.comparison = comparison;
    await this.overlay(others, comparison);
    if (this.disposed) return;
    this.render(comparison, identities);
  }

  /** The compared runs' series named as a series of the shown run, drawn dashed in its pane. */
  private async overlay(others: string[], comparison: Comparison): Promise<void> {
    for (const [k, run] of others.entries()) {
      const colour = OVERLAY_COLOURS[k % OVERLAY_COLOURS.length];
      const ids = new Set(comparison.series.filter((s) => s.run === run && s.count > 0).map((s) => s.series));
      for (const meta of this.view.run.series) {
        if (!ids.has(meta.id) || meta.kind === "marker") continue;
        const points = await this.hooks.range(run, meta.id, OVERLAY_POINTS);
        if (this.disposed) return;
        const values = points.y ?? points.c ?? [];
        const data: LineData<Micros>[] = points.t.flatMap((t, i) => (values[i] == null ? [] : [{ time: t, value: values[i] as number }]));
        const series = this.view.chart.addSeries(LineSeries, {
          color: colour,
          lineStyle: LineStyle.Dashed,
          lineWidth: 1,
          title: `${run} ${meta.title || meta.id}`,
          priceLineVisible: false,
          lastValueVisible: false,
        }, this.view.paneIndex(meta.pane));
        series.setData(data);
        this.overlays.push(series);
      }
    }
    // The first divergence, marked on the time axis of the first overlay that reaches it.
    const first = comparison.first?.divergence;
    const host = this.overlays[0];
    if (first && host) createSeriesMarkers(host, [{ time: first.timeUs, position: "belowBar", shape: "arrowUp", color: "#f44336", text: "≠ first divergence" }]);
  }

  goToFirstDivergence(): void {
    const first = this.comparison?.first?.divergence;
    if (first) this.view.setTimeCursor(first.timeUs);
  }

  private render(c: Comparison, identities: Map<string, RunIdentity | null>): void {
    const time = (us: number) => formatTime(us, this.zone);
    const head = el("div", "cb-compare-head");
    const first = c.first;
    head.textContent = first?.divergence
      ? `Runs agree until ${time(first.divergence.timeUs)}; first: ${first.series} (${first.run})`
      : "The runs agree on every series.";
    const go = el("button", "cb-compare-go", "Go to first divergence");
    go.disabled = first === null;
    go.addEventListener("click", () => this.goToFirstDivergence());

    const divergences = el("ol", "cb-compare-divergences");
    for (const s of c.series) {
      if (s.divergence === null) continue;
      const d = s.divergence;
      const item = el("li", "", `${time(d.timeUs)} ${s.series} (${s.run}): ${fmtValues(d.baseText ?? d.baseValues)} → ${fmtValues(d.text ?? d.values)}`);
      item.addEventListener("click", () => this.view.setTimeCursor(d.timeUs));
      divergences.append(item);
    }

    const stats = table(["statistic", ...c.runs, ...c.runs.slice(1).map((r) => `Δ ${r}`)],
      c.stats.map((s) => [s.name, ...s.values.map(fmt), ...s.deltas.slice(1).map(fmt)]));
    stats.classList.add("cb-compare-stats");

    const ids = c.runs.map((r) => identities.get(r) ?? null);
    const paramNames = [...new Set(ids.flatMap((i) => Object.keys(i?.params ?? {})))].sort();
    const differing = paramNames.filter((n) => new Set(ids.map((i) => JSON.stringify(i?.params[n] ?? null))).size > 1);
    const params = table(["parameter", ...c.runs], differing.map((n) => [n, ...ids.map((i) => fmt(i?.params[n] ?? null))]));
    params.classList.add("cb-compare-params");
    const commits = table(["commit", ...c.runs], [["", ...ids.map((i) => (i?.git ? `${i.git.commit.slice(0, 10)}${i.git.dirty ? ` + changes ${i.git.diffHash?.slice(0, 8)}` : ""}` : "no git"))]]);
    commits.classList.add("cb-compare-commits");
    const base = ids[0]?.git;
    const other = ids.slice(1).find((i) => i?.git)?.git;
    if (base && other && base.commit !== other.commit) {
      commits.title = "Open the diff of the two commits";
      commits.addEventListener("click", () => this.hooks.openCommitDiff(base.root, base.commit, other.commit));
    }

    const trades = el("ul", "cb-compare-trades");
    for (const t of c.trades) {
      trades.append(el("li", "", `${t.run}: ${t.count} trades against ${t.baseCount}; ${t.onlyBase.length} only in ${c.runs[0]}, ${t.onlyOther.length} only in ${t.run}, ${t.changed.length} with other exit or PnL`));
    }
    // A table without rows (no statistics, no parameter that differs) says nothing: left out.
    const filled = [stats, params].filter((t) => t.rows.length > 1);
    this.root.replaceChildren(head, go, divergences, ...filled, commits, trades);
  }

  dispose(): void {
    this.disposed = true;
    for (const series of this.overlays.splice(0)) this.view.chart.removeSeries(series);
    this.root.remove();
  }
}

const fmt = (v: unknown): string => (v === null || v === undefined ? "–" : typeof v === "number" ? String(Number(v.toPrecision(10))) : typeof v === "string" ? v : JSON.stringify(v));
const fmtValues = (v: string | (number | null)[] | null): string => (v === null ? "no point" : typeof v === "string" ? v : v.map(fmt).join(" / "));

function table(header: string[], rows: string[][]): HTMLTableElement {
  const t = el("table");
  const head = el("tr");
  for (const h of header) head.append(el("th", "", h));
  t.append(head);
  for (const row of rows) {
    const tr = el("tr");
    for (const cell of row) tr.append(el("td", "", cell));
    t.append(tr);
  }
  return t;
}
