/**
 * A parameter sweep in the panel: every run of the shown run's strategy (the server's `sweep`) as a
 * table, one column per parameter and per numeric statistic, sorted by a click on a column's head,
 * filtered by conditions like `fast >= 4, PnL > 0`; ticked rows are compared (the existing compare).
 * When two parameters form a full grid, a heatmap of one statistic over them.
 */
import type { Sweep, SweepRun } from "../shared/api.js";
import { el } from "./dom.js";

export interface SweepHooks {
  sweep(strategy: string): Promise<Sweep>;
  /** Compares the ticked runs: the first one is the base. */
  compare(runs: string[]): void;
}

type Cell = string | number | boolean | null;
/** Rows drawn at most: a thousand runs filter and sort in memory, the DOM gets a screenful. */
const ROWS_DRAWN = 500;

export const cellOf = (row: SweepRun, column: string): Cell => (column in row.stats ? row.stats[column] : row.params[column] ?? null);

/** Missing values sort last either way; numbers by value, anything else by its text. */
export function sortRows(rows: SweepRun[], column: string, descending: boolean): SweepRun[] {
  const sign = descending ? -1 : 1;
  return [...rows].sort((a, b) => {
    const [x, y] = [cellOf(a, column), cellOf(b, column)];
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    return sign * (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y)));
  });
}

const CONDITION = /^\s*(.+?)\s*(>=|<=|!=|=|>|<)\s*(.+?)\s*$/;

/** `fast >= 4, PnL > 0`: every condition must hold. An unknown column or a bad condition: why, as an error. */
export function filterRows(rows: SweepRun[], columns: string[], text: string): SweepRun[] {
  const conditions = text.split(",").filter((c) => c.trim() !== "").map((c) => {
    const m = CONDITION.exec(c);
    if (m === null) throw new Error(`filter "${c.trim()}": write <column> <op> <value>, op one of = != < <= > >=`);
    const [, column, op, raw] = m;
    if (!columns.includes(column)) throw new Error(`filter "${c.trim()}": no column ${column}`);
    return { column, op, raw, num: Number(raw) };
  });
  return rows.filter((row) => conditions.every(({ column, op, raw, num }) => {
    const v = cellOf(row, column);
    if (v === null) return false;
    const cmp = typeof v === "number" && !Number.isNaN(num) ? v - num : String(v).localeCompare(raw);
    return op === "=" ? cmp === 0 : op === "!=" ? cmp !== 0 : op === "<" ? cmp < 0 : op === "<=" ? cmp <= 0 : op === ">" ? cmp > 0 : cmp >= 0;
  }));
}

export interface Grid {
  x: string;
  y: string;
  xs: number[];
  ys: number[];
  /** The run at (xs[i], ys[j]) as cells[j][i]. */
  cells: SweepRun[][];
}

/** The first two numeric parameters whose values form a full grid, one run per point; else null. */
export function gridOf(sweep: Sweep): Grid | null {
  const numeric = sweep.params.filter((p) => sweep.runs.every((r) => typeof r.params[p] === "number"));
  for (const [i, x] of numeric.entries()) {
    for (const y of numeric.slice(i + 1)) {
      const xs = [...new Set(sweep.runs.map((r) => r.params[x] as number))].sort((a, b) => a - b);
      const ys = [...new Set(sweep.runs.map((r) => r.params[y] as number))].sort((a, b) => a - b);
      if (xs.length < 2 || ys.length < 2 || xs.length * ys.length !== sweep.runs.length) continue;
      const at = new Map(sweep.runs.map((r) => [`${String(r.params[x])}|${String(r.params[y])}`, r]));
      if (at.size !== sweep.runs.length) continue;
      return { x, y, xs, ys, cells: ys.map((yv) => xs.map((xv) => at.get(`${xv}|${yv}`) as SweepRun)) };
    }
  }
  return null;
}

const shown = (v: Cell) => (v === null ? "" : typeof v === "number" ? String(Number(v.toPrecision(6))) : String(v));

export class SweepView {
  readonly root = el("div", "cb-sweep");
  private sweep: Sweep | null = null;
  private sortColumn: string | null = null;
  private descending = false;
  private readonly ticked = new Set<string>();
  private readonly filter = el("input", "cb-sweep-filter");
  private readonly status = el("div", "cb-sweep-status");
  private readonly table = el("table", "cb-sweep-table");
  private readonly heatStat = el("select", "cb-sweep-heat-stat");
  private readonly heatmap = el("table", "cb-sweep-heatmap");
  private readonly compareButton = el("button", "cb-sweep-compare", "Compare selected");

  constructor(private readonly hooks: SweepHooks) {
    this.filter.placeholder = "filter: fast >= 4, PnL > 0";
    this.filter.addEventListener("input", () => this.renderTable());
    this.heatStat.addEventListener("change", () => this.renderHeatmap());
    this.compareButton.addEventListener("click", () => {
      // In table order, so the base is the row the user sees first.
      const order = this.sweep?.runs.map((r) => r.id).filter((id) => this.ticked.has(id)) ?? [];
      if (order.length >= 2) this.hooks.compare(order);
    });
    this.root.append(el("h3", "cb-sweep-title", "Parameter sweep"), this.filter, this.compareButton, this.status, this.table, this.heatStat, this.heatmap);
  }

  async show(strategy: string): Promise<void> {
    this.sweep = await this.hooks.sweep(strategy);
    this.renderTable();
    this.heatStat.replaceChildren(...this.sweep.stats.map((s) => new Option(s, s)));
    this.renderHeatmap();
  }

  private columns(): string[] {
    return this.sweep === null ? [] : [...this.sweep.params, ...this.sweep.stats];
  }

  private renderTable(): void {
    if (this.sweep === null) return;
    let rows = this.sweep.runs;
    try {
      rows = filterRows(rows, this.columns(), this.filter.value);
    } catch (err) {
      this.status.textContent = (err as Error).message;
      this.status.classList.add("cb-error");
      return;
    }
    this.status.classList.remove("cb-error");
    if (this.sortColumn !== null) rows = sortRows(rows, this.sortColumn, this.descending);
    const head = el("tr");
    head.append(el("th", "", ""), el("th", "", "run"));
    for (const column of this.columns()) {
      const th = el("th", "cb-sweep-sort", column + (column === this.sortColumn ? (this.descending ? " ▼" : " ▲") : ""));
      th.dataset.column = column;
      th.addEventListener("click", () => {
        this.descending = column === this.sortColumn ? !this.descending : false;
        this.sortColumn = column;
        this.renderTable();
      });
      head.append(th);
    }
    const body = rows.slice(0, ROWS_DRAWN).map((row) => {
      const tr = el("tr");
      tr.dataset.run = row.id;
      const box = el("input");
      box.type = "checkbox";
      box.checked = this.ticked.has(row.id);
      box.addEventListener("change", () => (box.checked ? this.ticked.add(row.id) : this.ticked.delete(row.id)));
      const tick = el("td");
      tick.append(box);
      tr.append(tick, el("td", "", row.id), ...this.columns().map((c) => el("td", "", shown(cellOf(row, c)))));
      return tr;
    });
    this.table.replaceChildren(head, ...body);
    this.status.textContent = `${rows.length} of ${this.sweep.runs.length} runs${rows.length > ROWS_DRAWN ? `, first ${ROWS_DRAWN} shown` : ""}${this.sweep.truncated ? " (the newest only)" : ""}`;
  }

  private renderHeatmap(): void {
    const grid = this.sweep === null ? null : gridOf(this.sweep);
    this.heatStat.hidden = grid === null;
    if (grid === null) {
      this.heatmap.replaceChildren();
      return;
    }
    const stat = this.heatStat.value;
    const values = grid.cells.flat().map((r) => r.stats[stat]).filter((v) => v !== undefined);
    const [lo, hi] = [Math.min(...values), Math.max(...values)];
    const head = el("tr");
    head.append(el("th", "", `${grid.y} \\ ${grid.x}`), ...grid.xs.map((x) => el("th", "", String(x))));
    const rows = grid.cells.map((line, j) => {
      const tr = el("tr");
      tr.append(el("th", "", String(grid.ys[j])));
      for (const run of line) {
        const v = run.stats[stat];
        const td = el("td", "cb-sweep-cell", v === undefined ? "" : shown(v));
        td.dataset.run = run.id;
        // Red (lowest) to green (highest) of this statistic over the grid.
        if (v !== undefined) td.style.background = `hsl(${hi > lo ? ((v - lo) / (hi - lo)) * 120 : 60}, 60%, 35%)`;
        td.title = `${run.id}: ${stat} ${v === undefined ? "none" : shown(v)}`;
        tr.append(td);
      }
      return tr;
    });
    this.heatmap.replaceChildren(head, ...rows);
  }
}
