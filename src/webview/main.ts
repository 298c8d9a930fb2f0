/**
 * Chart UI entry (browser code only). For now it draws the newest run's series from the server it
 * was served by; the chart issue grows it into the full panel.
 */
import { createClient } from "graphql-ws";
import { createChart, LineSeries } from "lightweight-charts";
import type { ValuePoints } from "../shared/protocol.js";

interface RunsReply {
  runs: { id: string; series: { id: string; kind: string }[] }[];
}

async function main(): Promise<void> {
  const token = new URLSearchParams(location.search).get("token") ?? "";
  const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql?token=${encodeURIComponent(token)}`;
  const client = createClient({ url: wsUrl });
  const status = document.getElementById("status") as HTMLElement;
  const reply = await new Promise<RunsReply>((resolve, reject) => {
    client.subscribe<RunsReply>({ query: "{ runs { id series { id kind } } }" }, {
      next: (r) => (r.data ? resolve(r.data) : reject(new Error(JSON.stringify(r.errors)))),
      error: reject,
      complete: () => {},
    });
  });
  const run = reply.runs[0];
  const series = run?.series.find((s) => s.kind === "line");
  if (!run || !series) {
    status.textContent = "No run with a line series yet.";
    return;
  }
  status.textContent = `${run.id} / ${series.id}`;
  const chart = createChart(document.getElementById("chart") as HTMLElement, { autoSize: true });
  const line = chart.addSeries(LineSeries);
  client.subscribe<{ batches: { points: ValuePoints } }>(
    { query: `subscription($run: ID!, $series: ID!) { batches(run: $run, series: $series, after: "0-0") { points } }`, variables: { run: run.id, series: series.id } },
    {
      next: (r) => {
        const p = r.data?.batches.points;
        if (!p) return;
        // The server sends strictly ordered microsecond times; lightweight-charts keys by seconds.
        for (let i = 0; i < p.t.length; i++) line.update({ time: (p.t[i] / 1e6) as never, value: p.y[i] });
      },
      error: (err) => (status.textContent = `connection lost: ${String(err)}`),
      complete: () => {},
    },
  );
}

void main();
