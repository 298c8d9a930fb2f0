/**
 * Trade boxes: each trade of the run's results (`cb.results(..., trades=[...])`, or the Nautilus
 * actor's positions) as a box from entry to exit, between the two prices, green when it made
 * money and red when it lost, with its PnL written inside.
 * Params: `series` (default: the run's candles), `win` / `loss` colours.
 */
import type { PluginContext } from "../webview/pluginApi.js";
import { canvasPrimitive } from "./lib/canvasPrimitive.js";
import { priceSeriesId, stringParam } from "./lib/params.js";

interface Box {
  from: number;
  to: number;
  entry: number;
  exit: number;
  pnl: number;
}

/** Trade times are ns as decimal strings (exact); the chart's axis is µs. */
const micros = (ns: unknown) => (typeof ns === "string" && /^\d+$/.test(ns) ? Number(BigInt(ns) / 1000n) : null);

export default function setup(ctx: PluginContext) {
  const id = priceSeriesId(ctx);
  if (id === undefined) return {};
  const boxes: Box[] = [];
  for (const t of ctx.run.results?.trades ?? []) {
    const from = micros(t.entry_t);
    const to = micros(t.exit_t);
    if (from === null || to === null || typeof t.entry_price !== "number" || typeof t.exit_price !== "number") continue;
    boxes.push({ from, to, entry: t.entry_price, exit: t.exit_price, pnl: typeof t.pnl === "number" ? t.pnl : 0 });
  }
  if (boxes.length === 0) ctx.log("the run has no trades in its results yet");
  const win = stringParam(ctx, "win", "rgba(38, 166, 154, 0.25)");
  const loss = stringParam(ctx, "loss", "rgba(239, 83, 80, 0.25)");
  const primitive = canvasPrimitive(({ ctx: g, chart, series }) => {
    const scale = chart.timeScale();
    g.font = "10px sans-serif";
    for (const b of boxes) {
      const x1 = scale.timeToCoordinate(b.from as never);
      const x2 = scale.timeToCoordinate(b.to as never);
      const y1 = series.priceToCoordinate(b.entry);
      const y2 = series.priceToCoordinate(b.exit);
      if (x1 === null || x2 === null || y1 === null || y2 === null) continue;
      g.fillStyle = b.pnl >= 0 ? win : loss;
      g.fillRect(Math.min(x1, x2), Math.min(y1, y2), Math.max(1, Math.abs(x2 - x1)), Math.max(1, Math.abs(y2 - y1)));
      g.fillStyle = b.pnl >= 0 ? "#26a69a" : "#ef5350";
      g.fillText(b.pnl.toFixed(2), Math.min(x1, x2) + 2, Math.min(y1, y2) - 2);
    }
  });
  ctx.attachPrimitive(id, primitive);
  return {};
}
