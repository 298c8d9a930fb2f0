/**
 * The results view: the run's end-of-run statistics and trades (protocol/SPEC.md section 6).
 * Clicking a trade scrolls the chart to it.
 */
import type { Results, Trade } from "../shared/api.js";
import { el } from "./dom.js";
import { formatTime, nsStringToMicros, type Micros } from "./time.js";
import type { TimeZoneSetting } from "../shared/webviewProtocol.js";

export function renderResults(root: HTMLElement, results: Results | null, zone: TimeZoneSetting, goTo: (fromUs: Micros, toUs: Micros) => void): void {
  root.replaceChildren();
  if (results === null) {
    root.append(el("p", undefined, "No results for this run yet."));
    return;
  }
  root.append(el("h3", undefined, "Statistics"));
  const stats = el("table", "cb-stats");
  for (const [name, value] of Object.entries(results.stats ?? {})) {
    const row = el("tr");
    row.append(el("td", undefined, name), el("td", undefined, typeof value === "number" ? formatNumber(value) : String(value)));
    stats.append(row);
  }
  root.append(stats);

  const trades = results.trades ?? [];
  root.append(el("h3", undefined, `Trades (${trades.length})`));
  const table = el("table", "cb-trades");
  const head = el("tr");
  for (const h of ["entry", "side", "entry px", "exit px", "pnl"]) head.append(el("th", undefined, h));
  table.append(head);
  trades.forEach((trade, i) => table.append(tradeRow(trade, i, zone, goTo)));
  root.append(table);
}

function tradeRow(trade: Trade, index: number, zone: TimeZoneSetting, goTo: (fromUs: Micros, toUs: Micros) => void): HTMLElement {
  const row = el("tr", "cb-trade");
  row.dataset.trade = String(index);
  const entry = safeMicros(trade.entry_t);
  const exit = safeMicros(trade.exit_t) ?? entry;
  row.append(
    el("td", undefined, entry === null ? "?" : formatTime(entry, zone)),
    el("td", undefined, String(trade.side ?? "")),
    el("td", undefined, formatNumber(trade.entry_price)),
    el("td", undefined, formatNumber(trade.exit_price)),
    el("td", undefined, formatNumber(trade.pnl)),
  );
  if (entry !== null && exit !== null) {
    row.addEventListener("click", () => {
      // The trade plus as much again around it, so its context is visible.
      const pad = Math.max(1, exit - entry);
      goTo(entry - pad, exit + pad);
    });
  }
  return row;
}

function safeMicros(ns: unknown): Micros | null {
  try {
    return typeof ns === "string" || typeof ns === "number" ? nsStringToMicros(String(ns)) : null;
  } catch {
    return null;
  }
}

function formatNumber(value: unknown): string {
  return typeof value === "number" ? value.toLocaleString(undefined, { maximumFractionDigits: 6 }) : value === undefined ? "" : String(value);
}
