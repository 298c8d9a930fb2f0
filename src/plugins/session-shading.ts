/**
 * Shades the trading session behind the chart: bars whose UTC time of day is within
 * [`start`, `end`) (default "08:00"-"16:30", as "HH:MM") get a translucent column.
 * Params: `series` (whose times to follow), `start`, `end`, `color`.
 */
import type { PluginContext } from "../webview/pluginApi.js";
import { priceSeriesId, stringParam } from "./lib/params.js";

const DAY_US = 86_400_000_000;

function minutes(hhmm: string, fallback: number): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm);
  return m ? Number(m[1]) * 60 + Number(m[2]) : fallback;
}

export default function setup(ctx: PluginContext) {
  const id = priceSeriesId(ctx);
  if (id === undefined) return {};
  const start = minutes(stringParam(ctx, "start", "08:00"), 480) * 60_000_000;
  const end = minutes(stringParam(ctx, "end", "16:30"), 990) * 60_000_000;
  // A histogram on its own hidden scale, 0..1, fills the pane's height behind the price series.
  const shade = ctx.addSeries(ctx.lwc.HistogramSeries, {
    color: stringParam(ctx, "color", "rgba(41, 98, 255, 0.08)"),
    priceScaleId: "cb-session",
    priceLineVisible: false,
    lastValueVisible: false,
  });
  shade.priceScale().applyOptions({ scaleMargins: { top: 0, bottom: 0 }, visible: false });
  const inSession = (t: number) => {
    const of = ((t % DAY_US) + DAY_US) % DAY_US;
    return start <= end ? of >= start && of < end : of >= start || of < end;
  };
  ctx.onData(id, (points) => shade.setData(points.map((p) => ({ time: p.time, value: inSession(p.time) ? 1 : 0 }))));
  return {};
}
