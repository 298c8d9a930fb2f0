/**
 * Volume profile: how much volume traded at each price over the bars on screen, as horizontal
 * bars along the right edge of the price pane. Volume comes from the `volume` series (a
 * histogram, matched by time) or, without one, each bar counts once (tick volume).
 * Params: `series` (default: the run's candles), `volume` (series id), `bins` (24), `color`.
 */
import type { PluginContext } from "../webview/pluginApi.js";
import { canvasPrimitive } from "./lib/canvasPrimitive.js";
import { numberParam, priceSeriesId, stringParam } from "./lib/params.js";

export default function setup(ctx: PluginContext) {
  const id = priceSeriesId(ctx);
  if (id === undefined) return {};
  const volumeId = typeof ctx.params.volume === "string" ? ctx.params.volume : undefined;
  const bins = Math.max(4, Math.round(numberParam(ctx, "bins", 24)));
  const color = stringParam(ctx, "color", "rgba(38, 166, 154, 0.35)");
  const primitive = canvasPrimitive(({ ctx: g, width, chart, series }) => {
    const range = chart.timeScale().getVisibleRange();
    if (range === null) return;
    const volumes = new Map<number, number>();
    if (volumeId !== undefined) for (const p of ctx.data(volumeId)) if ("value" in p) volumes.set(p.time, p.value);
    const bars = ctx.data(id).filter((p) => p.time >= range.from && p.time <= range.to);
    if (bars.length === 0) return;
    const price = (p: (typeof bars)[number]) => ("close" in p ? (p.high + p.low + p.close) / 3 : p.value);
    let lo = Infinity;
    let hi = -Infinity;
    for (const p of bars) {
      lo = Math.min(lo, price(p));
      hi = Math.max(hi, price(p));
    }
    const step = (hi - lo) / bins || 1;
    const totals = new Array<number>(bins).fill(0);
    for (const p of bars) totals[Math.min(bins - 1, Math.floor((price(p) - lo) / step))] += volumes.get(p.time) ?? 1;
    const max = Math.max(...totals);
    g.fillStyle = color;
    for (let b = 0; b < bins; b++) {
      const top = series.priceToCoordinate(lo + (b + 1) * step);
      const bottom = series.priceToCoordinate(lo + b * step);
      if (top === null || bottom === null || totals[b] === 0) continue;
      const w = (totals[b] / max) * width * 0.25;
      g.fillRect(width - w, top, w, Math.max(1, bottom - top - 1));
    }
  }, "bottom");
  ctx.attachPrimitive(id, primitive);
  ctx.onData(id, () => primitive.redraw());
  return {};
}
