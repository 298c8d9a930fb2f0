/**
 * The panel: toolbar (run picker, time zone, exports, results), connection banner, the chart of the
 * selected run with its legend, and the side panel (results, plugins). Wires the host's commands,
 * the GraphQL subscriptions and the theme to the parts.
 */
import type { Client } from "graphql-ws";
import type { HostToWebview, ThemeKind, TimeZoneSetting, WebviewConfig } from "../shared/webviewProtocol.js";
import type { Plugin, RunDetail } from "../shared/api.js";
import { Api } from "./client.js";
import { ChartView } from "./chartView.js";
import { CompareView } from "./compare.js";
import { ChartConditions } from "./conditions.js";
import { DebugMenu } from "./debugMenu.js";
import { SweepView } from "./sweep.js";
import { el } from "./dom.js";
import { DataWindow } from "./dataWindow.js";
import { exportCsv, exportPng } from "./exporter.js";
import type { Host } from "./host.js";
import { Legend } from "./legend.js";
import { PaneLayout } from "./paneLayout.js";
import { PluginHost } from "./pluginHost.js";
import { renderResults } from "./results.js";
import { applyPageTheme, readTheme, watchTheme, type Theme } from "./theme.js";
import { createGraphqlClient, type ConnectionStatus } from "./transport.js";

/** While a run is live, its series' rejected/stale counts are re-read this often. */
const STATS_POLL_MS = 2000;

export class App {
  readonly api: Api;
  private readonly client: Client;
  connection: ConnectionStatus = "connecting";
  private everConnected = false;
  zone: TimeZoneSetting;
  private forcedTheme: ThemeKind | undefined;
  private theme: Theme;
  view: ChartView | null = null;
  legend: Legend | null = null;
  dataWindow: DataWindow | null = null;
  plugins: PluginHost | null = null;
  compare: CompareView | null = null;
  debugMenu: DebugMenu | null = null;
  conditions: ChartConditions | null = null;
  sweep: SweepView | null = null;
  private readonly builds = new Map<string, Plugin>();
  private runCleanup: (() => void)[] = [];
  /** Bumped per showRun, so a slow load of a run the user already left is dropped. */
  private showing = 0;
  lastError: string | null = null;

  private readonly dom = {
    runs: el("select", "cb-runs"),
    compareWith: el("select", "cb-compare-with"),
    sweep: el("button", "cb-sweep-open", "Sweep"),
    zone: el("select", "cb-zone"),
    png: el("button", "cb-png", "PNG"),
    csvSeries: el("select", "cb-csv-series"),
    csv: el("button", "cb-csv", "CSV"),
    side: el("button", "cb-side-toggle", "Results"),
    data: el("button", "cb-data-toggle", "Data"),
    more: el("button", "cb-more-toggle", "⋯"),
    tools: el("div", "cb-tools"),
    banner: el("div", "cb-banner"),
    chart: el("div", "cb-chart"),
    panel: el("div", "cb-side"),
    results: el("div", "cb-results"),
    pluginList: el("div", "cb-plugins"),
  };

  constructor(private readonly config: WebviewConfig, readonly host: Host) {
    this.zone = config.timeZone ?? "utc";
    this.theme = readTheme();
    this.buildDom();
    this.applyTheme();
    watchTheme(() => this.applyTheme());
    this.listen();
    this.client = createGraphqlClient(config.transport, host, (s) => this.onConnection(s));
    this.api = new Api(this.client);
  }

  async start(): Promise<void> {
    this.client.on("error", () => {});
    this.api.plugins((build) => {
      this.builds.set(build.name, build);
      this.plugins?.announce(build);
    }, (m) => this.showError(`plugins: ${m}`));
    this.api.runListEvents((e) => {
      if (e.type === "start" || e.type === "delete") void this.refreshRuns();
    }, (m) => this.showError(`run list: ${m}`));
    // The host holds its commands (toggle, reveal a series) until "ready": they need the first chart.
    try {
      await this.refreshRuns();
    } finally {
      this.host.post("ready", {});
    }
  }

  private buildDom(): void {
    const app = document.getElementById("app") ?? document.body;
    const d = this.dom;
    for (const zone of ["utc", "local"] as const) d.zone.append(new Option(zone === "utc" ? "UTC" : "Local time", zone, false, zone === this.zone));
    d.runs.title = "Run";
    d.runs.addEventListener("change", () => void this.showRun(d.runs.value));
    d.compareWith.title = "Compare with another run";
    d.compareWith.addEventListener("change", () => this.host.dispatchLocal({ type: "compareRuns", payload: { runs: d.compareWith.value ? [d.compareWith.value] : [] } }));
    d.sweep.title = "Every run of this strategy: parameters and statistics";
    d.sweep.addEventListener("click", () => void this.showSweep());
    d.zone.addEventListener("change", () => this.host.dispatchLocal({ type: "setTimeZone", payload: { zone: d.zone.value as TimeZoneSetting } }));
    d.png.addEventListener("click", () => this.host.dispatchLocal({ type: "exportPng", payload: {} }));
    d.csv.addEventListener("click", () => this.host.dispatchLocal({ type: "exportCsv", payload: { series: d.csvSeries.value } }));
    d.side.addEventListener("click", () => (d.panel.hidden = !d.panel.hidden));
    d.data.title = "Data window: every series' value at the crosshair";
    d.data.addEventListener("click", () => this.toggleDataWindow());
    // A narrow panel keeps one toolbar row: the secondary tools go into this menu (webviewHtml.ts' CSS).
    d.more.title = "More";
    d.more.addEventListener("click", () => d.tools.classList.toggle("cb-open"));
    // A tool used closes the menu, so it no longer covers the panel under it.
    d.tools.addEventListener("change", () => d.tools.classList.remove("cb-open"));
    d.tools.addEventListener("click", (e) => {
      if (e.target instanceof HTMLButtonElement) d.tools.classList.remove("cb-open");
    });
    d.banner.hidden = true;
    d.banner.setAttribute("role", "status");
    d.panel.hidden = true;
    d.panel.append(d.results, d.pluginList);
    const toolbar = el("div", "cb-toolbar");
    // lightweight-charts' attribution (its NOTICE asks for a link to TradingView on the page).
    const credit = el("a", "cb-credit", "Charts by TradingView");
    credit.href = "https://www.tradingview.com/";
    credit.target = "_blank";
    credit.rel = "noopener";
    d.tools.append(d.sweep, d.compareWith, d.zone, d.png, d.csvSeries, d.csv);
    toolbar.append(d.runs, d.side, d.data, d.more, d.tools, credit);
    const main = el("div", "cb-main");
    main.append(d.chart, d.panel);
    app.append(toolbar, d.banner, main);
  }

  private listen(): void {
    const on = <K extends keyof HostToWebview>(type: K, handler: (p: HostToWebview[K]) => void) => this.host.on(type, handler);
    on("selectRun", ({ run }) => void this.showRun(run));
    on("toggleSeries", ({ series, visible }) => this.setVisible(series, visible ?? !(this.view?.series(series)?.visible ?? true)));
    on("revealSeries", ({ series }) => {
      this.setVisible(series, true);
      this.legend?.flash(series);
    });
    on("setTheme", ({ kind }) => {
      this.forcedTheme = kind;
      this.applyTheme();
    });
    on("setTimeZone", ({ zone }) => {
      this.zone = zone;
      this.dom.zone.value = zone;
      this.view?.setZone(zone);
      this.renderSide();
    });
    on("timeCursor", ({ timeUs }) => {
      this.view?.setTimeCursor(timeUs);
      this.conditions?.showAtCursor();
      this.dataWindow?.render();
    });
    on("compareRuns", ({ runs, base }) => void this.compareWith(runs, base));
    on("exportPng", () => {
      if (this.view) exportPng(this.view, this.host).catch((err) => this.showError(String(err)));
    });
    on("exportCsv", ({ series }) => {
      if (this.view) exportCsv(this.view, this.host, series, this.zone).catch((err) => this.showError(String(err)));
    });
  }

  private setVisible(id: string, visible: boolean): void {
    this.view?.setVisible(id, visible);
    this.visibilityChanged();
  }

  /** The legend, the host's lenses and the page's saved state follow what the chart hides. */
  private visibilityChanged(): void {
    this.legend?.refresh();
    const hidden = this.hiddenSeries();
    if (this.view !== null) this.host.saveState({ run: this.view.run.id, hidden });
    this.host.post("seriesVisibility", { hidden });
  }

  private hiddenSeries(): string[] {
    return (this.view?.allSeries() ?? []).filter(([, e]) => !e.visible).map(([id]) => id);
  }

  private applyTheme(): void {
    this.theme = readTheme(this.forcedTheme);
    applyPageTheme(this.theme);
    this.view?.applyTheme(this.theme);
    this.conditions?.setColor(this.theme.accent);
    this.legend?.refresh();
  }

  private onConnection(status: ConnectionStatus): void {
    const wasLost = this.connection === "lost";
    this.connection = status;
    if (status === "connected") {
      // After a reconnect the subscriptions restart from where the chart stands, not where they began.
      if (wasLost && this.everConnected && this.view) void this.showRun(this.view.run.id, true);
      this.everConnected = true;
    }
    this.renderBanner();
  }

  private showError(message: string): void {
    this.lastError = message;
    console.error(message);
    this.renderBanner();
  }

  private renderBanner(): void {
    const lost = this.connection === "lost" || (this.connection === "connecting" && this.everConnected);
    const text = lost ? "Connection to the Chartbridge server lost. Reconnecting…" : this.lastError;
    this.dom.banner.hidden = text === null;
    this.dom.banner.textContent = text ?? "";
    this.dom.banner.dataset.kind = lost ? "connection" : "error";
  }

  async refreshRuns(): Promise<void> {
    const runs = await this.api.runs();
    // The page's saved state is newer than its config when the page reloads after its tab was hidden.
    const current = this.view?.run.id ?? this.host.savedState()?.run ?? this.config.run;
    this.dom.runs.replaceChildren(...runs.map((r) => new Option(`${r.id} (${r.strategy}, ${r.status})`, r.id)));
    const pick = runs.find((r) => r.id === current)?.id ?? runs[0]?.id;
    if (pick === undefined) {
      this.dom.runs.append(new Option("no runs yet", ""));
      return;
    }
    this.dom.runs.value = pick;
    this.dom.compareWith.replaceChildren(new Option("Compare with…", ""), ...runs.map((r) => new Option(r.id, r.id)));
    if (this.view?.run.id !== pick) await this.showRun(pick);
  }

  /** Shows a run; `keepZoom` reloads it in place (new series, reconnect). */
  async showRun(id: string, keepZoom = false): Promise<void> {
    const ticket = ++this.showing;
    const window = keepZoom ? this.view?.visibleWindow() ?? null : null;
    const run = await this.api.run(id);
    if (ticket !== this.showing) return;
    // Reloaded in place (a new series, a reconnect) or the page reloaded: what the user hid stays hidden.
    const before = this.view !== null ? { run: this.view.run.id, hidden: this.hiddenSeries() } : this.host.savedState();
    const hidden = before?.run === id ? before.hidden ?? [] : [];
    this.closeRun();
    if (run === null) {
      this.showError(`run ${id} no longer exists`);
      return;
    }
    // A bad key leaves part of the run out (protocol/SPEC.md section 10): said once, not logged as a page error.
    this.lastError = run.error === null ? null : `Part of run ${id} cannot be read: ${run.error}`;
    this.renderBanner();
    const view = new ChartView(this.dom.chart, this.api, run, this.theme, this.zone, {
      data: (seriesId) => {
        this.plugins?.notifyData(seriesId);
        this.legend?.refresh();
        this.dataWindow?.render();
        this.conditions?.showAtCursor();
      },
      // The code that created the marker series (per-point call sites are not recorded).
      markerClicked: (seriesId) => {
        const source = view.series(seriesId)?.meta.source;
        if (source) this.host.post("revealSource", source);
      },
      error: (message) => this.showError(message),
    });
    this.view = view;
    const layout = new PaneLayout(view, this.host.layout(run.strategy), (l) => this.host.saveLayout(run.strategy, l));
    this.runCleanup.push(() => layout.dispose());
    this.legend = new Legend(view, {
      toggle: (series) => this.host.dispatchLocal({ type: "toggleSeries", payload: { series } }),
      revealSource: (source) => this.host.post("revealSource", source),
      collapsed: (name) => layout.collapsed(name),
      setCollapsed: (name, collapsed) => layout.setCollapsed(name, collapsed),
    });
    this.dom.chart.append(this.legend.root);
    if (this.dom.data.classList.contains("cb-on")) this.toggleDataWindow(true);
    this.debugMenu = new DebugMenu(view, this.host, this.dom.chart, () => this.zone);
    this.conditions = new ChartConditions(view, this.api, this.dom.chart, this.theme.accent, (m) => this.showError(m));
    this.host.post("runShown", { run: id });
    for (const series of hidden) view.setVisible(series, false);
    this.visibilityChanged();
    this.dom.csvSeries.replaceChildren(...run.series.map((s) => new Option(s.title || s.id, s.id)));
    this.renderSide(run);
    await view.load();
    if (ticket !== this.showing) return;
    if (window !== null) view.setVisibleWindow(window);
    // Plugins start on a loaded chart, so their first ctx.data() is the run, not nothing.
    this.plugins = new PluginHost(view, run.plugins, this.config.pluginsAllowed ?? true, () => this.plugins?.render(this.dom.pluginList));
    for (const build of this.builds.values()) this.plugins.announce(build);
    this.followRun(run);
  }

  private followRun(run: RunDetail): void {
    this.runCleanup.push(
      this.api.runEvents(run.id, (event) => {
        this.plugins?.onRunEvent(event);
        if (event.type === "series") void this.showRun(run.id, true);
        if (event.type === "results" || event.type === "end") void this.api.run(run.id).then((r) => r && this.renderSide(r));
      }, (m) => this.showError(`run events: ${m}`)),
    );
    const poll = setInterval(() => {
      if (this.connection !== "connected") return;
      this.api.seriesState(run.id).then((s) => this.legend?.updateMeta(s), () => {});
    }, STATS_POLL_MS);
    this.runCleanup.push(() => clearInterval(poll));
  }

  /** Overlays and compares `runs` on the shown run, or on `base` shown first (none: stops comparing). */
  async compareWith(runs: string[], base?: string): Promise<void> {
    if (base !== undefined && base !== this.view?.run.id) {
      this.dom.runs.value = base;
      await this.showRun(base);
    }
    this.compare?.dispose();
    this.compare = null;
    this.dom.compareWith.value = runs[0] ?? "";
    if (this.view === null || runs.length === 0) return;
    const compare = (this.compare = new CompareView(this.view, {
      compare: (ids, tolerance) => this.api.compare(ids, tolerance),
      identities: () => this.api.identities(),
      range: async (run, series, max) => (await this.api.range(run, series, null, null, max)).points as { t: number[]; y?: (number | null)[]; c?: number[] },
      openCommitDiff: (root, from, to, runs) => void this.openCommitDiff(root, from, to, runs),
      revealSource: (source) => this.host.post("revealSource", source),
    }, this.zone));
    this.dom.panel.prepend(compare.root);
    this.dom.panel.hidden = false;
    await compare.show(runs).catch((err: unknown) => this.showError(`compare: ${String(err)}`));
  }

  /** Asks the host for the commits' diff; with runs, of their working states (their saved diffs fetched first). */
  private async openCommitDiff(root: string, from: string, to: string, runs: [string, string] | null): Promise<void> {
    if (runs === null) {
      this.host.post("openCommitDiff", { root, from, to });
      return;
    }
    const diffs = await this.api.dirtyDiffs(runs[0], runs[1]).catch((err: unknown) => this.showError(`commit diff: ${String(err)}`));
    if (diffs) this.host.post("openCommitDiff", { root, from, to, fromDirty: diffs.from?.dirtyDiff ?? null, toDirty: diffs.to?.dirtyDiff ?? null });
  }

  /** The sweep table of the shown run's strategy, atop the side panel (again: closes it). */
  async showSweep(): Promise<void> {
    this.sweep?.root.remove();
    const wasOpen = this.sweep !== null;
    this.sweep = null;
    if (wasOpen || this.view === null) return;
    const sweep = (this.sweep = new SweepView({
      sweep: (strategy) => this.api.sweep(strategy),
      compare: ([base, ...others]) => void this.compareWith(others, base),
    }));
    this.dom.panel.prepend(sweep.root);
    this.dom.panel.hidden = false;
    await sweep.show(this.view.run.strategy).catch((err: unknown) => this.showError(`sweep: ${String(err)}`));
  }

  private closeRun(): void {
    this.compare?.dispose();
    this.compare = null;
    for (const stop of this.runCleanup.splice(0)) stop();
    this.plugins?.dispose();
    this.legend?.dispose();
    this.dataWindow?.dispose();
    this.dataWindow = null;
    this.debugMenu?.dispose();
    this.conditions?.dispose();
    this.view?.dispose();
    this.debugMenu = null;
    this.conditions = null;
    this.plugins = null;
    this.legend = null;
    this.view = null;
  }

  /** Opens or closes the data window (kept open across runs). */
  private toggleDataWindow(open = this.dataWindow === null): void {
    this.dataWindow?.dispose();
    this.dataWindow = open && this.view !== null ? new DataWindow(this.view) : null;
    if (this.dataWindow !== null) this.dom.chart.append(this.dataWindow.root);
    this.dom.data.classList.toggle("cb-on", open);
  }

  private shownRun: RunDetail | null = null;

  /** Results (of `run`, or of the run shown) and the plugin panel. */
  private renderSide(run?: RunDetail): void {
    if (run) this.shownRun = run;
    renderResults(this.dom.results, this.shownRun?.results ?? null, this.zone, (trade) => this.view?.showTrade(trade));
    this.plugins?.render(this.dom.pluginList);
  }
}
