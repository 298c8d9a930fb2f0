/** Reading plugin parameters (from `cb.plugin(name, **params)`) and picking the series to work on. */
import type { PluginContext } from "../../webview/pluginApi.js";
import type { ChartPoint } from "../../webview/seriesData.js";

export function numberParam(ctx: PluginContext, name: string, fallback: number): number {
  const value = ctx.params[name];
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

export function stringParam(ctx: PluginContext, name: string, fallback: string): string {
  const value = ctx.params[name];
  return typeof value === "string" ? value : fallback;
}

/** The series named by `params.series`, else the run's first candlestick/bar series, else its first line. */
export function priceSeriesId(ctx: PluginContext): string | undefined {
  const named = ctx.params.series;
  if (typeof named === "string") return named;
  const series = ctx.run.series;
  return (series.find((s) => s.kind === "candlestick" || s.kind === "bar") ?? series.find((s) => s.kind === "line"))?.id;
}

/** The price a point stands for: a bar's close, a line's value. */
export const priceOf = (p: ChartPoint): number => ("close" in p ? p.close : p.value);
