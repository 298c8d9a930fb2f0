/**
 * Export: the chart as PNG (lightweight-charts' takeScreenshot) and a series' visible points as
 * CSV. Inside VS Code the file goes to the host (`saveFile`), since webviews cannot download; in
 * a browser tab it downloads.
 */
import type { TimeZoneSetting } from "../shared/webviewProtocol.js";
import type { ChartView } from "./chartView.js";
import type { Host } from "./host.js";
import { formatTime } from "./time.js";

export async function exportPng(view: ChartView, host: Host): Promise<void> {
  const canvas = view.chart.takeScreenshot(true);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/png"));
  if (blob === null) throw new Error("the chart could not be encoded as PNG");
  await save(host, `${view.run.id}.png`, blob);
}

export async function exportCsv(view: ChartView, host: Host, seriesId: string, zone: TimeZoneSetting): Promise<void> {
  await save(host, `${view.run.id}-${seriesId.replace(/[^A-Za-z0-9_.-]/g, "_")}.csv`, new Blob([csvOf(view, seriesId, zone)], { type: "text/csv" }));
}

/** Visible points of a series: time in µs and as text, then the value columns in the series' precision. */
export function csvOf(view: ChartView, seriesId: string, zone: TimeZoneSetting): string {
  const entry = view.series(seriesId);
  if (entry === undefined) return "";
  const { precision } = view.formatOf(seriesId);
  const n = (v: number) => v.toFixed(precision);
  const rows: string[] = [];
  if (entry.meta.kind === "marker") {
    rows.push("time_us,time,price,side,text");
    for (const m of view.visibleMarkers(seriesId)) {
      rows.push([m.t, formatTime(m.t, zone), m.y === null ? "" : n(m.y), m.m.side ?? "", csvText(m.m.cluster ? `${m.m.cluster.count} markers (${m.m.cluster.buys} buy, ${m.m.cluster.sells} sell)` : m.m.text)].join(","));
    }
  } else {
    const ohlc = entry.meta.kind === "candlestick" || entry.meta.kind === "bar";
    rows.push(ohlc ? "time_us,time,open,high,low,close" : "time_us,time,value");
    for (const p of view.visiblePoints(seriesId)) {
      const values = "open" in p ? [p.open, p.high, p.low, p.close] : [p.value];
      rows.push([p.time, formatTime(p.time, zone), ...values.map(n)].join(","));
    }
  }
  return `${rows.join("\n")}\n`;
}

/** RFC 4180 quoting, and a leading quote against spreadsheet formula injection. */
function csvText(text: string): string {
  const safe = /^[=+\-@]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) || safe !== text ? `"${safe.replace(/"/g, '""')}"` : safe;
}

async function save(host: Host, name: string, blob: Blob): Promise<void> {
  if (host.inVsCode) {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    host.post("saveFile", { name, mime: blob.type, base64: btoa(binary) });
    return;
  }
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
