/**
 * The results view: the run's end-of-run statistics and trades (protocol/SPEC.md section 6).
 * Statistics named `<group> | <name>` (a Nautilus run's accounts, SPEC section 8) are shown per
 * group. Clicking a trade zooms the chart to it and draws it from entry to exit; with the view
 * focused, `n`/`p` (or the down and up arrows) pick the next and previous trade.
 */
import type { Results, Trade } from "../shared/api.js";
import { el } from "./dom.js";
import { formatTime, nsStringToMicros, type Micros } from "./time.js";
import type { TimeZoneSetting } from "../shared/webviewProtocol.js";

/** A trade as the chart draws it. */
export interface PickedTrade {
  entryUs: Micros;
  exitUs: Micros;
  entryPrice: number;
  exitPrice: number;
  won: boolean;
  label: string;
}

export function renderResults(root: HTMLElement, results: Results | null, zone: TimeZoneSetting, showTrade: (trade: PickedTrade) => void): void {
  root.replaceChildren();
  root.onkeydown = null;
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
  const rows = trades.map((trade, i) => tradeRow(trade, i, byAccount, zone));
  let selected = -1;
  const pick = (i: number) => {
    const picked = rows[i]?.picked;
    if (picked === null || picked === undefined) return;
    rows[selected]?.row.classList.remove("cb-selected");
    selected = i;
    rows[i].row.classList.add("cb-selected");
    rows[i].row.scrollIntoView({ block: "nearest" });
    showTrade(picked);
  };
  rows.forEach(({ row }, i) => {
    row.addEventListener("click", () => pick(i));
    table.append(row);
  });
  root.tabIndex = 0;
  root.onkeydown = (e) => {
    const step = e.key === "n" || e.key === "ArrowDown" ? 1 : e.key === "p" || e.key === "ArrowUp" ? -1 : 0;
    if (step === 0 || rows.length === 0) return;
    e.preventDefault();
    pick(selected < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, selected + step)));
  };
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

function tradeRow(trade: Trade, index: number, byAccount: boolean, zone: TimeZoneSetting): { row: HTMLElement; picked: PickedTrade | null } {
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
  const { entry_price: entryPrice, exit_price: exitPrice, pnl } = trade;
  const picked = entry === null || exit === null || typeof entryPrice !== "number" || typeof exitPrice !== "number" ? null : {
    entryUs: entry,
    exitUs: exit,
    entryPrice,
    exitPrice,
    won: (pnl ?? 0) >= 0,
    label: `#${index + 1} ${trade.side ?? ""} ${formatNumber(entryPrice)} -> ${formatNumber(exitPrice)}${typeof pnl === "number" ? `, pnl ${formatNumber(pnl)}` : ""}`,
  };
  return { row, picked };
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
