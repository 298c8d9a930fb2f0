/**
 * Comparing runs in the panel: the other runs' same-named series overlaid dashed on the chart of
 * the shown run (the base), the first divergences (the server's `compare`), a statistics table with
 * a column per run and the deltas, the parameter and commit diff. Uses ChartView's public chart and
 * panes only; the overlays are its own lightweight-charts series, removed by `dispose`.
 */
import { createSeriesMarkers, LineSeries, LineStyle, type ISeriesApi, type LineData } from "lightweight-charts";
import type { Comparison, RunIdentity, Trade } from "../shared/api.js";
import type { TimeZoneSetting } from "../shared/webviewProtocol.js";
import type { ChartView } from "./chartView.js";
import { el } from "./dom.js";
import { formatTime, nsStringToMicros, type Micros } from "./time.js";

/** What the compare view needs of the app: the server, the host, where to put the cursor. */
export interface CompareHooks {
  compare(runs: string[], tolerance: number): Promise<Comparison>;
  identities(): Promise<Map<string, RunIdentity | null>>;
  range(run: string, series: string, maxPoints: number): Promise<{ t: number[]; y?: (number | null)[]; c?: number[] }>;
  /** `runs`: the two runs, when either was dirty (their saved diffs make the working states). */
  openCommitDiff(root: string, from: string, to: string, runs: [string, string] | null): void;
  revealSource(source: { file: string; line: number }): void;
}

/** Overlay colours per compared run (the base keeps its own colours). */
const OVERLAY_COLOURS = ["#ff9800", "#00bcd4", "#e91e63", "#8bc34a"];
const OVERLAY_POINTS = 4000;
/** Trades listed per kind of difference; the counts say how many there are. */
const TRADES_LISTED = 20;

export class CompareView {
  readonly root = el("div", "cb-compare");
  private overlays: ISeriesApi<"Line", Micros>[] = [];
  comparison: Comparison | null = null;
  private disposed = false;
  private others: string[] = [];
  private tolerance = 0;

  constructor(
    private readonly view: ChartView,
    private readonly hooks: CompareHooks,
    private readonly zone: TimeZoneSetting,
  ) {}

  /** Compares the shown run with `others`: overlays, divergences, tables. */
  async show(others: string[]): Promise<void> {
    this.others = others.filter((r) => r !== this.view.run.id);
    await this.load(true);
  }

  /** Asks the server to compare (again, after the tolerance changed: the overlays stay). */
  private async load(overlay: boolean): Promise<void> {
    const runs = [this.view.run.id, ...this.others];
    const [comparison, identities] = await Promise.all([this.hooks.compare(runs, this.tolerance), this.hooks.identities()]);
    if (this.disposed) return;
    this.comparison = comparison;
    if (overlay) await this.overlay(this.others, comparison);
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
    const tolerance = el("input", "cb-compare-tolerance");
    tolerance.type = "number";
    tolerance.min = "0";
    tolerance.step = "any";
    tolerance.value = String(this.tolerance);
    tolerance.title = "Values within this tolerance count as equal (0: exactly)";
    tolerance.addEventListener("change", () => {
      const value = Number(tolerance.value);
      if (!Number.isFinite(value) || value < 0) return;
      this.tolerance = value;
      void this.load(false);
    });

    const divergences = el("ol", "cb-compare-divergences");
    for (const s of c.series) {
      if (s.divergence === null) continue;
      const d = s.divergence;
      const item = el("li", "", `${time(d.timeUs)} ${s.series} (${s.run}): ${fmtValues(d.baseText ?? d.baseValues)} → ${fmtValues(d.text ?? d.values)}`);
      item.addEventListener("click", () => this.view.setTimeCursor(d.timeUs));
      const source = this.view.series(s.series)?.meta.source;
      if (source) {
        const link = el("a", "cb-compare-source", " source");
        link.href = "#";
        link.title = `${source.file}:${source.line}`;
        link.addEventListener("click", (e) => {
          e.preventDefault();
          e.stopPropagation();
          this.hooks.revealSource(source);
        });
        item.append(link);
      }
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
    const k = ids.findIndex((i, n) => n > 0 && i?.git);
    const other = ids[k]?.git;
    if (base && other && (base.commit !== other.commit || base.diffHash !== other.diffHash)) {
      const dirty = base.dirty || other.dirty;
      commits.title = dirty ? "Open the diff of the two runs' working states (commit + uncommitted changes)" : "Open the diff of the two commits";
      commits.addEventListener("click", () => this.hooks.openCommitDiff(base.root, base.commit, other.commit, dirty ? [c.runs[0], c.runs[k]] : null));
    }

    const trades = el("ul", "cb-compare-trades");
    const trade = (x: Trade) => `${time(nsStringToMicros(x.entry_t))} ${x.side ?? ""} pnl ${fmt(x.pnl ?? null)}`;
    for (const t of c.trades) {
      trades.append(el("li", "", `${t.run}: ${t.count} trades against ${t.baseCount}; ${t.onlyBase.length} only in ${c.runs[0]}, ${t.onlyOther.length} only in ${t.run}, ${t.changed.length} with other exit or PnL`));
      const rows = [
        ...t.onlyBase.slice(0, TRADES_LISTED).map((x) => `only in ${c.runs[0]}: ${trade(x)}`),
        ...t.onlyOther.slice(0, TRADES_LISTED).map((x) => `only in ${t.run}: ${trade(x)}`),
        ...t.changed.slice(0, TRADES_LISTED).map((x) => `${trade(x.base)} → exit ${time(nsStringToMicros(x.other.exit_t))}, pnl ${fmt(x.other.pnl ?? null)}`),
      ];
      for (const row of rows) trades.append(el("li", "cb-compare-trade", row));
    }
    // A table without rows (no statistics, no parameter that differs) says nothing: left out.
    const filled = [stats, params].filter((t) => t.rows.length > 1);
    this.root.replaceChildren(head, go, tolerance, divergences, ...filled, commits, trades);
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
