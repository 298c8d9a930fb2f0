// A Chartbridge chart plugin: saved, it hot-reloads into the open chart. Enable or disable it per
// run with "Chartbridge: Toggle Plugin" or from Python: cb.plugin("<name>", period=20).
// The API (ctx) is described in the Chartbridge README; lightweight-charts is ctx.lwc.

/** @param {import("chartbridge").PluginContext} ctx */
export default function setup(ctx) {
  const period = Number(ctx.params.period ?? 20);
  const source = ctx.params.series ?? ctx.run.series.find((s) => s.kind !== "marker")?.id;
  const line = ctx.addSeries(ctx.lwc.LineSeries, { color: "#f0a30a", lineWidth: 1 });
  const off = ctx.onData(source, (points) => {
    // A simple moving average of the source's values (candles: their close).
    const out = [];
    let sum = 0;
    points.forEach((p, i) => {
      sum += p.value ?? p.close;
      if (i >= period) sum -= points[i - period].value ?? points[i - period].close;
      if (i >= period - 1) out.push({ time: p.time, value: sum / period });
    });
    line.setData(out);
  });
  ctx.log(`SMA(${period}) of ${source}`);
  return { dispose() { off(); } };
}
