/**
 * Bollinger bands of a price series: middle = SMA(period), bands = middle ± k standard deviations.
 * Params: `series` (default: the run's candles), `period` (20), `k` (2), `color`.
 */
import type { PluginContext } from "../webview/pluginApi.js";
import { numberParam, priceOf, priceSeriesId, stringParam } from "./lib/params.js";

export default function setup(ctx: PluginContext) {
  const id = priceSeriesId(ctx);
  if (id === undefined) {
    ctx.log("no price series to draw bands on", "warn");
    return {};
  }
  const period = Math.max(2, Math.round(numberParam(ctx, "period", 20)));
  const k = numberParam(ctx, "k", 2);
  const color = stringParam(ctx, "color", "#7e57c2");
  const line = (style: number) => ctx.addSeries(ctx.lwc.LineSeries, { color, lineWidth: 1, lineStyle: style, priceLineVisible: false, lastValueVisible: false });
  const [upper, middle, lower] = [line(0), line(2), line(0)];
  ctx.onData(id, (points) => {
    const up: { time: (typeof points)[number]["time"]; value: number }[] = [];
    const mid: typeof up = [];
    const low: typeof up = [];
    // Running sums over the window: O(1) per point.
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < points.length; i++) {
      const x = priceOf(points[i]);
      sum += x;
      sumSq += x * x;
      if (i >= period) {
        const old = priceOf(points[i - period]);
        sum -= old;
        sumSq -= old * old;
      }
      if (i < period - 1) continue;
      const mean = sum / period;
      const sd = Math.sqrt(Math.max(0, sumSq / period - mean * mean));
      mid.push({ time: points[i].time, value: mean });
      up.push({ time: points[i].time, value: mean + k * sd });
      low.push({ time: points[i].time, value: mean - k * sd });
    }
    upper.setData(up);
    middle.setData(mid);
    lower.setData(low);
  });
  return {};
}
