/**
 * What a chart plugin receives. A plugin is an ES module in the workspace's plugin folder:
 *
 *   export default function setup(ctx: PluginContext) {
 *     const band = ctx.addSeries(ctx.lwc.LineSeries, { color: "#888" });
 *     ctx.onData("EMACross.on_bar", (points) => band.setData(bollinger(points, ctx.params.period)));
 *     const off = ctx.subscribe("signals", (payload) => ctx.log(`signal ${JSON.stringify(payload)}`));
 *     return { dispose() { off(); } };
 *   }
 *
 * Everything added through `ctx` (series, primitives, price lines' series, subscriptions) is
 * removed when the plugin is unloaded or hot-reloaded, even if its `dispose` forgets it.
 */
import type * as LightweightCharts from "lightweight-charts";
import type { ISeriesPrimitive, SeriesDefinition, SeriesPartialOptionsMap, SeriesType, ISeriesApi, IChartApiBase } from "lightweight-charts";
import type { Results, SeriesMeta } from "../shared/api.js";
import type { ChartPoint } from "./seriesData.js";
import type { Micros } from "./time.js";

export interface PluginContext {
  /** The chart; its horizontal items are microseconds since the Unix epoch (see time.ts). */
  readonly chart: IChartApiBase<Micros>;
  /** The lightweight-charts module the chart was built with: use its series definitions, not a second copy. */
  readonly lwc: typeof LightweightCharts;
  /** The run on screen, with its end-of-run statistics and trades once `cb.results` published them. */
  readonly run: { readonly id: string; readonly strategy: string; readonly series: readonly SeriesMeta[]; readonly results: Results | null };
  /** Parameters given by `cb.plugin(name, **params)` in Python (or setPlugin). */
  readonly params: Readonly<Record<string, unknown>>;
  /** A series of the run by its id (e.g. `EMACross.on_bar`); undefined for marker series or unknown ids. */
  series(id: string): ISeriesApi<SeriesType, Micros> | undefined;
  /** The points the chart holds for a series: the visible window at screen resolution, plus the live tail. */
  data(id: string): readonly ChartPoint[];
  /** Calls `handler` now and whenever a series' held points change (zoom refetch or live points). */
  onData(id: string, handler: (points: readonly ChartPoint[]) => void): () => void;
  /** Adds a series, in a named pane ("main" by default; a new name makes a new pane). */
  addSeries<T extends SeriesType>(definition: SeriesDefinition<T>, options?: SeriesPartialOptionsMap[T], pane?: string): ISeriesApi<T, Micros>;
  removeSeries(series: ISeriesApi<SeriesType, Micros>): void;
  /** Attaches a primitive (custom drawing) to a series, given by object or id. */
  attachPrimitive(series: ISeriesApi<SeriesType, Micros> | string, primitive: ISeriesPrimitive<Micros>): void;
  detachPrimitive(series: ISeriesApi<SeriesType, Micros> | string, primitive: ISeriesPrimitive<Micros>): void;
  /** Payloads of `cb.publish(topic, payload)` from the strategy, as they happen. */
  subscribe(topic: string, handler: (payload: unknown) => void): () => void;
  /** A line in the plugin panel (and the console). */
  log(message: string, level?: "info" | "warn" | "error"): void;
}

export interface PluginInstance {
  dispose?(): void;
}

export type PluginSetup = (ctx: PluginContext) => PluginInstance | void;
