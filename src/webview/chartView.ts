/**
 * One run drawn on one lightweight-charts chart: series per registry entry in their panes, markers
 * on their target series, windows fetched by level of detail (fetchWindow.ts) and live batches
 * applied once per frame and drawn in that frame. What is held, and how answers and live points
 * merge into it, is seriesData.ts's; this module asks for data and draws what changed. Keyed by
 * microseconds (time.ts).
 */
import {
  AreaSeries,
  BarSeries,
  BaselineSeries,
  CandlestickSeries,
  ColorType,
  createChartEx,
  createSeriesMarkers,
  HistogramSeries,
  LineSeries,
  type IChartApiBase,
  type Logical,
  type PriceFormat,
  type MouseEventParams,
  type ISeriesApi,
  type ISeriesMarkersPluginApi,
  type SeriesDefinition,
  type SeriesMarker,
  type SeriesType,
} from "lightweight-charts";
import { isOhlcKind, type SeriesKind } from "../shared/protocol.js";
import type { BatchReply, RangeReply, RunDetail, SeriesMeta } from "../shared/api.js";
import type { Api } from "./client.js";
import { needsRefetch, wholeRun, windowFor, type FetchWindow, type Held, type TimeWindow } from "./fetchWindow.js";
import { ChartData, type ChartPoint, type HeldMarker, type HeldSeries } from "./seriesData.js";
import type { Theme } from "./theme.js";
import { MicrosScale, type Micros } from "./time.js";
import { PaneDrawing } from "./paneDrawing.js";
import { labels, markerId, MarkerTooltip, parseMarkerId, textMeasurer, type HoveredMarker } from "./markers.js";
import { declaredFormat, formatValue, inferFormat, lwcPriceFormat, sampleValues, type NumberFormat } from "./format.js";
import { TimeCursor } from "./timeCursor.js";
import { formatDuration, maxDrawdown, SpanDrawing, type DrawnSpan } from "./spans.js";

export type Chart = IChartApiBase<Micros>;
export type AnySeries = ISeriesApi<SeriesType, Micros>;

/** A series as the legend, the plugins, the exporter and the test hook read it. */
export interface SeriesView extends Readonly<Pick<HeldSeries, "meta" | "data" | "markers" | "bucketUs" | "visible">> {
  /** Null for marker series (they draw on their target's series) and conditions (listed, not drawn). */
  readonly api: AnySeries | null;
}

const DEFINITIONS: Record<Exclude<SeriesKind, "marker">, SeriesDefinition<SeriesType>> = {
  candlestick: CandlestickSeries,
  bar: BarSeries,
  line: LineSeries,
  area: AreaSeries,
  baseline: BaselineSeries,
  histogram: HistogramSeries,
};

/** Kinds drawn as a line, whose `lineWidth` the chart sets (histograms are columns). */
const LINE_DRAWN_KINDS = new Set<SeriesKind>(["line", "area", "baseline"]);

/** Held points above which `update()` per point costs more than one `setData`. */
const MAX_UPDATES_PER_FRAME = 8;
/** Frames without live batches after which the frame loop stops (the next batch restarts it). */
const IDLE_FRAMES = 30;
const REFETCH_DEBOUNCE_MS = 120;

export interface ChartViewEvents {
  /** A series' held data changed (refetch or live). */
  data(seriesId: string): void;
  /** A marker of this marker series was clicked. */
  markerClicked(seriesId: string): void;
  error(message: string): void;
}

export class ChartView {
  readonly chart: Chart;
  readonly scale: MicrosScale;
  private readonly model = new ChartData();
  /** The lightweight-charts series of each non-marker series. */
  private readonly apis = new Map<string, AnySeries>();
  private readonly panes = new Map<string, number>();
  private readonly markerApis = new Map<AnySeries, ISeriesMarkersPluginApi<Micros>>();
  /** Each drawn series' number format: declared in its registry options, else inferred from its data (format.ts). */
  private readonly formats = new Map<string, NumberFormat>();
  private readonly declared = new Set<string>();
  /** Generation of the newest range request; older answers are discarded. */
  private generation = 0;
  /** Live batches received while a range request was in flight, replayed after its answer. */
  private inflightLive: BatchReply[] | null = null;
  private pendingLive: BatchReply[] = [];
  private frame = 0;
  private idleFrames = 0;
  private readonly drawRequest = new PaneDrawing();
  /** The debugger's time cursor (setTimeCursor). */
  readonly cursor: TimeCursor;
  private readonly tooltip: MarkerTooltip;
  /** The trade picked in the results view, on the first series of the price pane. */
  private readonly tradeSpan = new SpanDrawing();
  private tradeHost: AnySeries | null = null;
  /** The equity's peak and maximum drawdown, on the first `equity` series (protocol/SPEC.md section 8). */
  private readonly equitySpans = new SpanDrawing();
  private equityId: string | null = null;
  private measure: ((text: string) => number) | undefined;
  /** The span of a follow not drawn yet (followTail). */
  private followPending: number | null = null;
  private refetchTimer: ReturnType<typeof setTimeout> | undefined;
  private unsubscribers: (() => void)[] = [];
  private disposed = false;
  /** Range requests made, for the test hook and benchmarks. */
  fetches = 0;
  /** performance.now() of the first frame drawn with data (benchmarks: time to first paint). */
  firstPaintMs: number | null = null;

  constructor(
    container: HTMLElement,
    private readonly api: Api,
    readonly run: RunDetail,
    private theme: Theme,
    zone: "utc" | "local",
    private readonly events: ChartViewEvents,
  ) {
    this.scale = new MicrosScale(zone);
    this.cursor = new TimeCursor(theme.accent, theme.background);
    this.chart = createChartEx<Micros, MicrosScale>(container, this.scale, {
      autoSize: true,
      // The built-in logo injects a <style> without our nonce, which the CSP blocks; the toolbar
      // carries the attribution link instead (app.ts).
      layout: { attributionLogo: false },
      // Zoomed out, the chart holds ~6 points per pixel before it asks for coarser buckets.
      timeScale: { minBarSpacing: 0.05, rightOffset: 2 },
    });
    this.chart.panes()[0].attachPrimitive(this.drawRequest);
    this.chart.panes()[0].attachPrimitive(this.cursor);
    container.append(this.cursor.veil, this.cursor.label);
    this.applyTheme(theme);
    for (const meta of run.series) this.addEntry(meta);
    this.chart.timeScale().subscribeVisibleTimeRangeChange(this.onRangeChange);
    this.chart.subscribeClick(this.onClick);
    this.tooltip = new MarkerTooltip(api, {
      runId: run.id,
      marker: (id) => this.hoveredMarker(id),
      markersAt: (id, t) => (this.model.get(id)?.markers ?? []).filter((m) => m.t === t && m.m.cluster === undefined),
      zone: () => this.scale.zone,
      price: (id, y) => this.formatValue(id, y),
    });
    container.append(this.tooltip.root);
    this.chart.subscribeCrosshairMove(this.tooltip.onCrosshair);
  }

  /**
   * Markers carry their series id and index (markers.ts' markerId), which lightweight-charts
   * reports for the one clicked: a cluster zooms to its cell, a marker reveals its source.
   */
  private readonly onClick = (param: MouseEventParams<Micros>) => {
    const hovered = this.hoveredMarker(param.hoveredInfo?.objectId ?? param.hoveredObjectId);
    if (hovered === null) return;
    const cluster = hovered.m.cluster;
    if (cluster === undefined) this.events.markerClicked(hovered.seriesId);
    else this.setVisibleWindow({ fromUs: hovered.t, toUs: cluster.toUs });
  };

  /** The held marker a lightweight-charts marker id names, or null. */
  hoveredMarker(id: unknown): HoveredMarker | null {
    const parsed = parseMarkerId(id);
    const held = parsed === null ? undefined : this.model.get(parsed.seriesId)?.markers[parsed.index];
    return parsed === null || held === undefined ? null : { seriesId: parsed.seriesId, ...held };
  }

  /** Loads the whole run at screen resolution, then follows it live. */
  async load(): Promise<void> {
    await this.fetch(wholeRun(this.widthPx()), true);
    if (this.disposed) return;
    for (const [id, entry] of this.model.entries()) {
      if (entry.meta.error !== null) continue;
      this.unsubscribers.push(this.api.batches(this.run.id, id, entry.liveAfter ?? "0-0", (b) => this.onBatch(b), (m) => this.events.error(`${id}: ${m}`)));
    }
  }

  dispose(): void {
    this.disposed = true;
    cancelAnimationFrame(this.frame);
    clearTimeout(this.refetchTimer);
    for (const stop of this.unsubscribers) stop();
    this.chart.timeScale().unsubscribeVisibleTimeRangeChange(this.onRangeChange);
    this.chart.unsubscribeClick(this.onClick);
    this.chart.unsubscribeCrosshairMove(this.tooltip.onCrosshair);
    this.tooltip.root.remove();
    this.chart.remove();
    this.cursor.veil.remove();
    this.cursor.label.remove();
  }

  widthPx(): number {
    return Math.max(100, this.chart.timeScale().width() || this.chart.chartElement().clientWidth);
  }

  /**
   * The visible time range. lightweight-charts clamps it to the first and last bar it holds, so
   * past them (zoomed out or scrolled beyond the held window) it is extended at the held bars'
   * average spacing: that is what makes such a view ask for more data.
   */
  visibleWindow(): TimeWindow | null {
    const ts = this.chart.timeScale();
    const r = ts.getVisibleRange();
    const logical = ts.getVisibleLogicalRange();
    if (r === null || logical === null) return null;
    const i0 = ts.timeToIndex(r.from, true) ?? 0;
    const i1 = ts.timeToIndex(r.to, true) ?? 0;
    const step = i1 > i0 ? (r.to - r.from) / (i1 - i0) : 0;
    return { fromUs: r.from - Math.max(0, i0 - logical.from) * step, toUs: r.to + Math.max(0, logical.to - i1) * step };
  }

  setVisibleWindow(w: TimeWindow): void {
    this.chart.timeScale().setVisibleRange({ from: w.fromUs, to: w.toUs });
  }

  /** Runs `change` (which may add or remove series) without moving the view. */
  keepingZoom(change: () => void): void {
    const w = this.visibleWindow();
    change();
    if (w !== null) this.setVisibleWindow(w);
  }

  heldWindow(): Held | null {
    return this.model.held;
  }

  /** Every series, in registry order. */
  allSeries(): [string, SeriesView][] {
    return [...this.model.entries()].map(([id, entry]) => [id, this.viewOf(id, entry)]);
  }

  series(id: string): SeriesView | undefined {
    const entry = this.model.get(id);
    return entry === undefined ? undefined : this.viewOf(id, entry);
  }

  private viewOf(id: string, { meta, data, markers, bucketUs, visible }: Readonly<HeldSeries>): SeriesView {
    return { meta, data, markers, bucketUs, visible, api: this.apis.get(id) ?? null };
  }

  paneIndex(name: string): number {
    let index = this.panes.get(name);
    if (index === undefined) {
      // "main" is always the first pane; others follow in order of appearance.
      index = name === "main" ? 0 : Math.max(1, this.panes.size + (this.panes.has("main") ? 0 : 1));
      this.panes.set(name, index);
    }
    return index;
  }

  /** Pane names by pane index. */
  paneNames(): string[] {
    const names: string[] = [];
    for (const [name, index] of this.panes) names[index] = name;
    return names;
  }

  /** The pane a series is drawn in (a marker series: its target's). */
  paneOf(id: string): number {
    const api = this.apis.get(id) ?? this.targetOf(id);
    return api?.getPane().paneIndex() ?? 0;
  }

  applyTheme(theme: Theme): void {
    this.theme = theme;
    this.cursor.setColor(theme.accent, theme.background);
    this.chart.applyOptions({
      layout: { background: { type: ColorType.Solid, color: theme.background }, textColor: theme.foreground, panes: { separatorColor: theme.border } },
      grid: { vertLines: { color: theme.grid }, horzLines: { color: theme.grid } },
      timeScale: { borderColor: theme.border },
      rightPriceScale: { borderColor: theme.border },
      crosshair: { vertLine: { labelBackgroundColor: theme.accent }, horzLine: { labelBackgroundColor: theme.accent } },
    });
    let i = 0;
    for (const [id, api] of this.apis) api.applyOptions(this.colourOptions(this.metaOf(id), i++));
    this.renderAllMarkers();
  }

  /** Draws the debugger's time cursor at `timeUs` and brings it into view (keeping the zoom); null removes it. */
  setTimeCursor(timeUs: Micros | null): void {
    this.cursor.set(timeUs);
    const v = this.visibleWindow();
    if (timeUs === null || v === null || (timeUs >= v.fromUs && timeUs <= v.toUs)) return;
    const half = (v.toUs - v.fromUs) / 2;
    this.setVisibleWindow({ fromUs: timeUs - half, toUs: timeUs + half });
  }

  setZone(zone: "utc" | "local"): void {
    this.scale.zone = zone;
    // Labels are recomputed on the next layout; a no-op option change asks for one.
    this.chart.applyOptions({});
  }

  setVisible(id: string, visible: boolean): void {
    if (!this.model.setVisible(id, visible)) return;
    const api = this.apis.get(id);
    if (api !== undefined) api.applyOptions({ visible });
    else this.renderMarkers(this.targetOf(id));
  }

  /** The series a marker series draws on: its registry target, else the first price series. */
  targetOf(id: string): AnySeries | null {
    const target = this.targetIdOf(id);
    return target === undefined ? null : this.apis.get(target) ?? null;
  }

  private targetIdOf(id: string): string | undefined {
    const target = this.model.get(id)?.meta.target;
    if (target && this.apis.has(target)) return target;
    const all = [...this.apis.keys()];
    return all.find((s) => this.metaOf(s).kind === "candlestick" || this.metaOf(s).kind === "bar") ?? all[0];
  }

  /** How a series' numbers read; a marker series' prices read as its target's. */
  formatOf(id: string): NumberFormat {
    const own = this.model.get(id)?.meta.kind === "marker" ? this.targetIdOf(id) : id;
    return this.formats.get(own ?? id) ?? { precision: 2, minMove: 0.01, unit: "" };
  }

  /** `value` in series `id`'s precision, with separators and its unit. */
  formatValue(id: string, value: number): string {
    return formatValue(value, this.formatOf(id));
  }

  /** The markers lightweight-charts draws on series `id` (the target of marker series), labels as drawn. */
  drawnMarkers(id: string): readonly SeriesMarker<Micros>[] {
    const api = this.apis.get(id);
    return (api === undefined ? undefined : this.markerApis.get(api)?.markers()) ?? [];
  }

  /** Points of a series inside the visible range. */
  visiblePoints(id: string): ChartPoint[] {
    const w = this.visibleWindow();
    return w === null ? [] : this.model.pointsIn(id, w);
  }

  /** Markers of a marker series inside the visible range. */
  visibleMarkers(id: string): HeldMarker[] {
    const w = this.visibleWindow();
    return w === null ? [] : this.model.markersIn(id, w);
  }

  /** The series the server can read (a series whose key is bad answers an error until it is fixed and the run reopened). */
  private readableIds(): string[] {
    return this.model.ids().filter((id) => this.metaOf(id).error === null);
  }

  private metaOf(id: string): SeriesMeta {
    return (this.model.get(id) as HeldSeries).meta;
  }

  private addEntry(meta: SeriesMeta): void {
    // Conditions are listed (data window, cursor) and filtered (conditions.ts), not drawn.
    if (meta.kind !== "marker" && meta.role !== "condition") {
      // `unit` is ours (format.ts), not lightweight-charts'; a declared precision draws with separators.
      const { priceLines, unit: _unit, ...options } = meta.options as { priceLines?: unknown; unit?: unknown; priceFormat?: PriceFormat };
      const declared = declaredFormat(meta.options);
      if (declared !== null) {
        this.formats.set(meta.id, declared);
        this.declared.add(meta.id);
        options.priceFormat = lwcPriceFormat(declared);
      }
      const api = this.chart.addSeries(DEFINITIONS[meta.kind], { title: "", ...this.colourOptions(meta, this.model.size), ...options }, this.paneIndex(meta.pane));
      // Registry options may carry `priceLines`: [{ price, title?, color?, lineStyle? }].
      if (Array.isArray(priceLines)) for (const line of priceLines) api.createPriceLine(line);
      this.apis.set(meta.id, api);
      if (this.tradeHost === null && api.getPane().paneIndex() === 0) (this.tradeHost = api).attachPrimitive(this.tradeSpan);
      if (this.equityId === null && /^equity(:|$)/.test(meta.id)) {
        this.equityId = meta.id;
        api.attachPrimitive(this.equitySpans);
      }
    }
    this.model.add(meta);
    // The price pane takes most of the height: 60% beside five others (each pane's factor is 1).
    if (this.panes.size > 1) this.chart.panes()[0]?.setStretchFactor(Math.max(2, 1.5 * (this.panes.size - 1)));
  }

  private colourOptions(meta: SeriesMeta, index: number): Record<string, unknown> {
    const colour = meta.color ?? this.theme.palette[index % this.theme.palette.length];
    switch (meta.kind) {
      case "candlestick":
        return { upColor: this.theme.up, downColor: this.theme.down, borderUpColor: this.theme.up, borderDownColor: this.theme.down, wickUpColor: this.theme.up, wickDownColor: this.theme.down };
      case "bar":
        return { upColor: this.theme.up, downColor: this.theme.down };
      case "area":
        return { lineColor: colour, topColor: `${colour}66`, bottomColor: `${colour}08` };
      case "baseline":
        return { topLineColor: this.theme.up, bottomLineColor: this.theme.down };
      default:
        return { color: colour };
    }
  }

  private readonly onRangeChange = () => {
    // Labels are laid out in pixels: a zoom changes which fit.
    this.renderAllMarkers();
    clearTimeout(this.refetchTimer);
    this.refetchTimer = setTimeout(() => this.maybeRefetch(), REFETCH_DEBOUNCE_MS);
  };

  private maybeRefetch(force = false): void {
    const visible = this.visibleWindow();
    const { held, extent } = this.model;
    if (this.disposed || held === null || extent === null || visible === null) return;
    if (!force && !needsRefetch(held, visible, this.widthPx())) return;
    void this.fetch(windowFor(visible, extent, this.widthPx()), false);
  }

  /** Fetches a window for every series (same window and resolution, so bucket times align). */
  private async fetch(window: FetchWindow, first: boolean): Promise<void> {
    const generation = ++this.generation;
    this.inflightLive = [];
    this.fetches++;
    const ids = this.readableIds();
    let replies: RangeReply[];
    try {
      replies = await Promise.all(ids.map((id) => this.api.range(this.run.id, id, window.fromUs, window.toUs, window.maxPoints)));
    } catch (err) {
      if (generation === this.generation) {
        // Live batches held back for this answer are applied as they are; the next need refetches.
        this.pendingLive.push(...(this.inflightLive ?? []));
        this.inflightLive = null;
        this.scheduleApply();
        this.events.error(`loading the chart: ${err instanceof Error ? err.message : String(err)}`);
      }
      return;
    }
    // A newer request (the user kept zooming) or a closed view: this answer is stale.
    if (generation !== this.generation || this.disposed) return;
    const replay = this.inflightLive ?? [];
    this.inflightLive = null;
    const visible = first ? null : this.visibleWindow();
    const follow = first ? null : this.followedSpan();
    this.model.applyRange(window, ids, replies);
    // Candles first: the lines of their pane read at their precision (inferFormat).
    const order = ids.map((_, i) => i).sort((a, b) => Number(!isOhlcKind(this.metaOf(ids[a]).kind)) - Number(!isOhlcKind(this.metaOf(ids[b]).kind)));
    for (const i of order) this.drawRange(ids[i], replies[i]);
    this.renderAllMarkers();
    if (first) {
      this.chart.timeScale().fitContent();
      requestAnimationFrame(() => (this.firstPaintMs = performance.now()));
    }
    else if (follow !== null) this.followTail(follow);
    else if (visible !== null) this.setVisibleWindow(visible);
    // Live batches that raced this answer: those past its lastId are applied again on the new data.
    this.pendingLive.push(...replay);
    if (this.pendingLive.length > 0) this.scheduleApply();
    for (const id of ids) this.events.data(id);
  }

  private drawRange(id: string, reply: RangeReply): void {
    const api = this.apis.get(id);
    if (api === undefined) return;
    // Decimated lines are min/max zigzags: hairlines draw them ~6x faster than lightweight-charts'
    // default width 3 in a software-rastered webview (measured: 7 -> 42 fps on a 1M-bar tail).
    if (LINE_DRAWN_KINDS.has(this.metaOf(id).kind) && this.metaOf(id).options.lineWidth === undefined) api.applyOptions({ lineWidth: reply.bucketUs > 0 ? 1 : 2 });
    api.setData(this.model.get(id)?.data ?? []);
    this.inferFormat(id, api);
    if (id === this.equityId) this.annotateEquity();
  }

  /** Draws a trade from its entry to its exit (null: none) and zooms to it with as much again either side. */
  showTrade(trade: { entryUs: Micros; exitUs: Micros; entryPrice: number; exitPrice: number; won: boolean; label: string } | null): void {
    if (trade === null) return this.tradeSpan.set([]);
    const color = trade.won ? this.theme.up : this.theme.down;
    this.tradeSpan.set([{ from: { t: trade.entryUs, y: trade.entryPrice }, to: { t: trade.exitUs, y: trade.exitPrice }, color, label: trade.label }]);
    const pad = Math.max(1, trade.exitUs - trade.entryUs);
    this.setVisibleWindow({ fromUs: trade.entryUs - pad, toUs: trade.exitUs + pad });
  }

  /** Where the trade and the equity's annotations are drawn (test hook). */
  drawnSpans(): { trade: DrawnSpan[]; equity: DrawnSpan[] } {
    return { trade: this.tradeSpan.drawn(), equity: this.equitySpans.drawn() };
  }

  /** The equity's peak, and its maximum drawdown from the running peak to the recovery (or the end) at the trough's depth (bucketed lines keep each bucket's min and max, so both hold zoomed out). */
  private annotateEquity(): void {
    const id = this.equityId;
    // The run's peak and drawdown, not a zoomed window's: computed while the whole run is held
    // (the first view, and live while it follows), kept while a window is.
    const held = this.model.held;
    if (id === null || (held !== null && (held.fromUs !== null || held.toUs !== null))) return;
    const points = (this.model.get(id)?.data ?? []).flatMap((p) => ("value" in p ? [{ time: p.time, value: p.value }] : []));
    const dd = maxDrawdown(points);
    if (dd === null) return this.equitySpans.set([]);
    const value = (y: number) => this.formatValue(id, y);
    const peak = `peak ${value(dd.peak.y)}`;
    const fall = `max drawdown -${(dd.depth * 100).toFixed(2)}% (${value(dd.start.y - dd.trough.y)}), ${formatDuration(dd.durationUs)}${dd.recoveryUs === null ? ", not recovered" : ""}`;
    // A fall from the highest point itself is labelled once, with both.
    const fromPeak = dd.peak.t === dd.start.t;
    this.equitySpans.set([
      ...(fromPeak ? [] : [{ from: dd.peak, to: dd.peak, color: this.theme.up, label: peak }]),
      { from: dd.start, to: { t: dd.recoveryUs ?? dd.endUs, y: dd.trough.y }, lineTo: dd.trough, color: this.theme.down, label: fromPeak ? `${peak}, ${fall}` : fall },
    ]);
  }

  /**
   * A series without a declared precision reads at the precision of the candles of its pane (an
   * EMA of EUR/USD at five decimals, as the price scale they share), else of its data (format.ts).
   */
  private inferFormat(id: string, api: AnySeries): void {
    if (this.declared.has(id)) return;
    const data = this.model.get(id)?.data ?? [];
    if (data.length === 0) return;
    const meta = this.metaOf(id);
    const unit = typeof meta.options.unit === "string" ? meta.options.unit : "";
    const candles = isOhlcKind(meta.kind) ? undefined : [...this.formats].find(([other]) => isOhlcKind(this.metaOf(other).kind) && this.metaOf(other).pane === meta.pane)?.[1];
    const inferred = candles !== undefined ? { ...candles, unit } : inferFormat(sampleValues(data), unit);
    const known = this.formats.get(id);
    if (known !== undefined && (candles !== undefined ? known.precision === inferred.precision : known.precision >= inferred.precision)) return;
    this.formats.set(id, inferred);
    api.applyOptions({ priceFormat: lwcPriceFormat(inferred) });
  }

  private onBatch(batch: BatchReply): void {
    this.inflightLive?.push(batch);
    this.pendingLive.push(batch);
    this.scheduleApply();
  }

  /**
   * Live batches are applied once per frame, and drawn in that frame. lightweight-charts draws in
   * its own requestAnimationFrame callback; a change made in an earlier callback of the same frame
   * joins that draw, one made in a later callback waits a whole frame. It requests its next draw
   * from inside its draw (it invalidates itself while drawing), so our callback for the next frame
   * is requested at the start of ours, ahead of that, for as long as batches keep coming; and each
   * batch requests a draw (an empty pane primitive's requestUpdate), which lands after our
   * callback when none is planned.
   */
  private scheduleApply(): void {
    this.idleFrames = 0;
    if (this.frame === 0) this.frame = requestAnimationFrame(this.onFrame);
    this.drawRequest.requestDraw();
  }

  private readonly onFrame = () => {
    if (this.pendingLive.length === 0 && ++this.idleFrames > IDLE_FRAMES) {
      this.frame = 0;
      return;
    }
    this.frame = requestAnimationFrame(this.onFrame);
    this.applyLive();
  };

  /**
   * The span shown when the view ends at the newest data (the user has not scrolled into
   * history), else null. Such a view follows the tail as points arrive and across refetches.
   */
  private followedSpan(): number | null {
    if (this.followPending !== null) return this.followPending;
    const v = this.visibleWindow();
    const e = this.model.extent;
    if (v === null || e === null) return null;
    const span = v.toUs - v.fromUs;
    return v.toUs >= e.toUs - Math.max(this.model.held?.bucketUs ?? 0, span * 0.05) ? span : null;
  }

  /**
   * Slides the view to end at the newest data, keeping its span. lightweight-charts applies a new
   * visible range when it next draws and reports the old one until then, so the follow is
   * remembered until the frame is drawn: a second update before that still follows.
   */
  private followTail(span: number): void {
    const extent = this.model.extent;
    if (extent === null) return;
    this.setVisibleWindow({ fromUs: extent.toUs - span, toUs: extent.toUs });
    if (this.followPending === null) requestAnimationFrame(() => (this.followPending = null));
    this.followPending = span;
  }

  /** Applies every live batch that arrived since the last frame. */
  private applyLive(): void {
    if (this.pendingLive.length === 0) return;
    const follow = this.followedSpan();
    const batches = this.pendingLive;
    this.pendingLive = [];
    const { touched, trimmed, overBudget } = this.model.applyLive(batches, follow);
    for (const [id, firstChanged] of touched) {
      const api = this.apis.get(id);
      const data = this.model.get(id)?.data ?? [];
      if (api === undefined) {
        this.renderMarkers(this.targetOf(id));
      } else if (!trimmed.has(id) && data.length - firstChanged <= MAX_UPDATES_PER_FRAME) {
        for (let i = firstChanged; i < data.length; i++) api.update(data[i]);
      } else {
        api.setData(data);
      }
      if (api !== undefined && !this.formats.has(id)) this.inferFormat(id, api);
      if (id === this.equityId) this.annotateEquity();
      this.events.data(id);
    }
    // update() scrolls a view at the right edge by itself, setData() does not.
    if (follow !== null && touched.size > 0) this.followTail(follow);
    // The tail grew past the budget (e.g. raw ticks streaming in): ask for coarser buckets, once
    // at a time: a new request each frame would supersede the last before any answered.
    if (overBudget && this.inflightLive === null) this.maybeRefetch(true);
  }

  private renderAllMarkers(): void {
    for (const api of this.apis.values()) this.renderMarkers(api);
  }

  /**
   * Sets the markers of every visible marker series that targets `target`, each with its label
   * where it does not overlap the one before it (markers.ts).
   */
  private renderMarkers(target: AnySeries | null): void {
    if (target === null) return;
    const markers: SeriesMarker<Micros>[] = [];
    for (const [id, entry] of this.model.entries()) {
      if (entry.meta.kind !== "marker" || !entry.visible || this.targetOf(id) !== target) continue;
      entry.markers.forEach((m, i) => markers.push(this.toLwcMarker(id, i, m)));
    }
    let plugin = this.markerApis.get(target);
    if (plugin === undefined) {
      if (markers.length === 0) return;
      plugin = createSeriesMarkers(target, []);
      this.markerApis.set(target, plugin);
    }
    markers.sort((a, b) => a.time - b.time);
    const ts = this.chart.timeScale();
    const x = (t: Micros) => {
      const index = ts.timeToIndex(t, true);
      return index === null ? null : ts.logicalToCoordinate(index as unknown as Logical);
    };
    const { fontSize, fontFamily } = this.chart.options().layout;
    this.measure ??= textMeasurer(`${fontSize}px ${fontFamily}`);
    const texts = labels(markers.map((m) => ({ x: x(m.time), lane: m.position, text: m.text ?? "" })), this.measure);
    markers.forEach((m, i) => (m.text = texts[i]));
    plugin.setMarkers(markers);
  }

  private toLwcMarker(seriesId: string, index: number, { t, y, m }: HeldMarker): SeriesMarker<Micros> {
    if (m.cluster !== undefined) {
      // A cluster: a circle labelled with its count, green or red when all its markers are one side's.
      return { id: markerId(seriesId, index), time: t, shape: "circle", position: "aboveBar", text: m.text, color: m.side === "buy" ? this.theme.up : m.side === "sell" ? this.theme.down : this.theme.accent };
    }
    const buy = m.side === "buy";
    const sell = m.side === "sell";
    const atPrice = m.position?.startsWith("atPrice") === true;
    const base = {
      id: markerId(seriesId, index),
      time: t,
      shape: m.shape ?? (buy ? "arrowUp" : sell ? "arrowDown" : "circle"),
      color: m.color ?? (buy ? this.theme.up : sell ? this.theme.down : this.theme.accent),
      text: m.text,
    } as const;
    // A price position needs a price; a marker without one (NaN) sits by its side instead.
    if (atPrice && y !== null) return { ...base, position: m.position as "atPriceTop" | "atPriceBottom" | "atPriceMiddle", price: y };
    const position = m.position && !atPrice ? (m.position as "aboveBar" | "belowBar" | "inBar") : buy ? "belowBar" : "aboveBar";
    return { ...base, position };
  }
}
