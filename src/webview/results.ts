/**
 * The results view: the run's end-of-run statistics and trades (protocol/SPEC.md section 6).
 * Statistics named `<group> | <name>` (a Nautilus run's accounts, SPEC section 8) are shown per
 * group. Clicking a trade scrolls the chart to it.
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
  for (const [group, stats] of groupStats(results.stats ?? {})) {
    root.append(el("h3", undefined, group === null ? "Statistics" : `Statistics: ${group}`));
    const table = el("table", "cb-stats");
    table.dataset.group = group ?? "";
    for (const [name, value] of stats) {
      const row = el("tr");
      row.append(el("td", undefined, name), el("td", undefined, typeof value === "number" ? formatNumber(value) : String(value)));
      table.append(row);
    }
    root.append(table);
  }

  const trades = results.trades ?? [];
  // Several accounts' trades (a Nautilus run on several venues): say whose each one is.
  const accounts = new Set(trades.map((t) => t.account));
  const byAccount = accounts.size > 1;
  root.append(el("h3", undefined, `Trades (${trades.length})`));
  const table = el("table", "cb-trades");
  const head = el("tr");
  for (const h of [...(byAccount ? ["account"] : []), "entry", "side", "entry px", "exit px", "pnl"]) head.append(el("th", undefined, h));
  table.append(head);
  trades.forEach((trade, i) => table.append(tradeRow(trade, i, byAccount, zone, goTo)));
  root.append(table);
}

/** Statistics in groups, in order of first appearance: `<group> | <name>` under `<group>`, the rest under null. */
export function groupStats(stats: Readonly<Record<string, number | string>>): Map<string | null, [string, number | string][]> {
  const groups = new Map<string | null, [string, number | string][]>();
  for (const [key, value] of Object.entries(stats)) {
    const at = key.indexOf(" | ");
    const group = at > 0 ? key.slice(0, at) : null;
    const name = at > 0 ? key.slice(at + 3) : key;
    let list = groups.get(group);
    if (list === undefined) groups.set(group, (list = []));
    list.push([name, value]);
  }
  return groups;
}

function tradeRow(trade: Trade, index: number, byAccount: boolean, zone: TimeZoneSetting, goTo: (fromUs: Micros, toUs: Micros) => void): HTMLElement {
  const row = el("tr", "cb-trade");
  row.dataset.trade = String(index);
  const entry = safeMicros(trade.entry_t);
  const exit = safeMicros(trade.exit_t) ?? entry;
  if (byAccount) row.append(el("td", undefined, String(trade.account ?? "")));
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
