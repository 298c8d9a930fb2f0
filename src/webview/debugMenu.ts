/**
 * The chart's debug-by-bar context menu: a right click on a point offers "Break Here on Next Run"
 * for each series at that time that has a source (the function that made it), and while a debug
 * session is paused (the time cursor is shown) "Run to This Bar" on a later point and "Step to Next
 * Bar". The host does each (`debugBar`, src/extension/debugCursor.ts). Only inside VS Code: a
 * browser tab has no debugger, and keeps its own context menu.
 */
import type { MouseEventParams } from "lightweight-charts";
import type { DebugBarAction, TimeZoneSetting } from "../shared/webviewProtocol.js";
import type { ChartView } from "./chartView.js";
import { el } from "./dom.js";
import type { Host } from "./host.js";
import { formatTime, type Micros } from "./time.js";

export interface DebugMenuItem {
  action: DebugBarAction;
  label: string;
  series: string;
  timeUs: Micros;
  source: { file: string; line: number };
}

/** The items for a point at `timeUs`; `hovered` (the series under the mouse) first. */
export function debugMenuItems(view: ChartView, timeUs: Micros, hovered: string | null, present: (id: string) => boolean, zone: TimeZoneSetting): DebugMenuItem[] {
  const paused = view.cursor.time;
  const items: DebugMenuItem[] = [];
  const candidates = view.allSeries().filter(([id, s]) => s.visible && s.meta.source !== null && s.api !== null && (id === hovered || present(id)));
  candidates.sort(([a], [b]) => Number(b === hovered) - Number(a === hovered));
  const at = formatTime(timeUs, zone);
  for (const [id, s] of candidates) {
    const source = s.meta.source;
    if (source === null) continue;
    const name = s.meta.title || id;
    items.push({ action: "breakHere", label: `Break Here on Next Run: ${name} at ${at}`, series: id, timeUs, source });
    if (paused !== null && timeUs > paused) items.push({ action: "runToBar", label: `Run to This Bar: ${name} at ${at}`, series: id, timeUs, source });
  }
  if (paused !== null && candidates.length > 0) {
    const [id, s] = candidates[0];
    if (s.meta.source !== null) items.push({ action: "stepToNextBar", label: "Step to Next Bar", series: id, timeUs, source: s.meta.source });
  }
  return items;
}

export class DebugMenu {
  readonly root = el("div", "cb-debug-menu");
  private last: MouseEventParams<Micros> | null = null;

  constructor(private readonly view: ChartView, private readonly host: Host, container: HTMLElement, private readonly zone: () => TimeZoneSetting) {
    const style = this.root.style;
    Object.assign(style, { position: "absolute", zIndex: "10", display: "none", flexDirection: "column", background: "var(--cb-input-bg)", border: "1px solid var(--cb-border)", padding: "2px 0" });
    this.root.setAttribute("role", "menu");
    container.append(this.root);
    view.chart.subscribeCrosshairMove(this.onMove);
    container.addEventListener("contextmenu", this.onContextMenu);
    document.addEventListener("mousedown", this.onOutside, true);
    document.addEventListener("keydown", this.onKey);
  }

  get open(): boolean {
    return this.root.style.display !== "none";
  }

  dispose(): void {
    this.view.chart.unsubscribeCrosshairMove(this.onMove);
    this.root.parentElement?.removeEventListener("contextmenu", this.onContextMenu);
    document.removeEventListener("mousedown", this.onOutside, true);
    document.removeEventListener("keydown", this.onKey);
    this.root.remove();
  }

  private readonly onMove = (param: MouseEventParams<Micros>) => {
    this.last = param;
  };

  private readonly onContextMenu = (event: MouseEvent) => {
    const param = this.last;
    if (!this.host.inVsCode || param?.time === undefined) return;
    const apis = new Map(this.view.allSeries().map(([id, s]) => [s.api, id]));
    const hovered = param.hoveredSeries === undefined ? null : apis.get(param.hoveredSeries) ?? null;
    const present = (id: string) => {
      const api = this.view.series(id)?.api;
      return api !== null && api !== undefined && param.seriesData.has(api);
    };
    const items = debugMenuItems(this.view, param.time, hovered, present, this.zone());
    if (items.length === 0) return;
    event.preventDefault();
    this.show(items, event);
  };

  private show(items: DebugMenuItem[], event: MouseEvent): void {
    this.root.replaceChildren(
      ...items.map((item) => {
        const button = el("button", "cb-debug-item", item.label);
        button.setAttribute("role", "menuitem");
        Object.assign(button.style, { font: "inherit", color: "var(--cb-fg)", background: "transparent", border: "0", padding: "2px 10px", textAlign: "left", cursor: "pointer" });
        button.addEventListener("click", () => {
          this.close();
          this.host.post("debugBar", { action: item.action, series: item.series, timeUs: item.timeUs, source: item.source });
        });
        return button;
      }),
    );
    const box = (this.root.parentElement ?? document.body).getBoundingClientRect();
    Object.assign(this.root.style, { display: "flex", left: `${event.clientX - box.left}px`, top: `${event.clientY - box.top}px` });
  }

  private close(): void {
    this.root.style.display = "none";
  }

  private readonly onOutside = (event: MouseEvent) => {
    if (this.open && !this.root.contains(event.target as Node)) this.close();
  };

  private readonly onKey = (event: KeyboardEvent) => {
    if (event.key === "Escape") this.close();
  };
}
