/**
 * Why a signal did not fire: the run's conditions (`cb.condition`, protocol/SPEC.md section 5 role
 * `condition`) on the chart. They are not drawn as series: the debugger's time cursor carries them
 * at its time, green where a condition held and red where it did not (the data window lists them
 * too, dataWindow.ts), and the filter marks the bars where a chosen set of them all held, as bands
 * across the price pane, with the number of such bars (counted by the server: Query.conditionBars).
 */
import type { IPanePrimitivePaneView, IPrimitivePaneRenderer, Logical } from "lightweight-charts";
import type { ConditionBars } from "../shared/api.js";
import type { Api } from "./client.js";
import type { ChartView } from "./chartView.js";
import { conditionRows, conditionsAt } from "./dataWindow.js";
import { el } from "./dom.js";
import { PaneDrawing } from "./paneDrawing.js";
import type { Micros } from "./time.js";

/** Marks asked for at once: beyond it the server answers buckets, drawn as wider bands. */
const MAX_MARKS = 100_000;
/** How much of the accent colour a band takes: the bars stay readable under it. */
const BAND_ALPHA = "30";

type Target = Parameters<IPrimitivePaneRenderer["draw"]>[0];

/** The filter's bands on the price pane, under the series. */
class Bands extends PaneDrawing {
  private bars: ConditionBars | null = null;
  private xs: { x: number; width: number }[] = [];
  private readonly view: IPanePrimitivePaneView = { zOrder: () => "bottom", renderer: () => this.renderer };
  private readonly renderer: IPrimitivePaneRenderer = { draw: (target) => this.draw(target) };

  constructor(private color: string) {
    super();
  }

  set(bars: ConditionBars | null, color: string): void {
    this.bars = bars;
    this.color = color;
    this.updateAllViews();
    this.requestDraw();
  }

  /** Where each mark is drawn (px from the pane's left), for the test hook. */
  drawn(): { x: number; width: number }[] {
    return this.xs;
  }

  updateAllViews(): void {
    const scale = this.params?.chart.timeScale();
    const bars = this.bars;
    if (scale === undefined || bars === null) {
      this.xs = [];
      return;
    }
    // A time the chart holds no bar at (bucketed bars) is placed at the bar it falls in.
    const x = (t: Micros) => {
      const index = scale.timeToIndex(t, true);
      return index === null ? null : scale.logicalToCoordinate(index as unknown as Logical);
    };
    const spacing = scale.options().barSpacing;
    const xs: { x: number; width: number }[] = [];
    for (const t of bars.t) {
      const left = x(t as Micros);
      if (left === null || left < -spacing || left > scale.width() + spacing) continue;
      const right = bars.bucketUs > 0 ? x((t + bars.bucketUs) as Micros) : null;
      xs.push({ x: left, width: Math.max(spacing, right === null ? 0 : right - left) });
    }
    this.xs = xs;
  }

  override paneViews(): readonly IPanePrimitivePaneView[] {
    return [this.view];
  }

  private draw(target: Target): void {
    target.useBitmapCoordinateSpace(({ context, bitmapSize, horizontalPixelRatio }) => {
      context.fillStyle = `${this.color}${BAND_ALPHA}`;
      for (const { x, width } of this.xs) {
        const w = Math.max(1, Math.round(width * horizontalPixelRatio));
        context.fillRect(Math.round(x * horizontalPixelRatio) - Math.floor(w / 2), 0, w, bitmapSize.height);
      }
    });
  }
}

export class ChartConditions {
  /** The filter: a checkbox per condition and how many bars they all held on. */
  readonly root = el("details", "cb-cond-filter");
  private readonly count = el("div", "cb-cond-count");
  private readonly bands: Bands;
  private readonly ids: string[];
  private generation = 0;
  /** The answer drawn (null: no condition chosen), for the test hook. */
  bars: ConditionBars | null = null;

  constructor(private readonly view: ChartView, private readonly api: Api, container: HTMLElement, private color: string, private readonly error: (message: string) => void) {
    this.ids = view.allSeries().filter(([, s]) => s.meta.role === "condition").map(([id]) => id);
    this.bands = new Bands(color);
    view.chart.panes()[0]?.attachPrimitive(this.bands);
    this.root.hidden = this.ids.length === 0;
    const boxes = this.ids.map((id) => {
      const box = el("input", "cb-cond-choice");
      box.type = "checkbox";
      box.value = id;
      box.addEventListener("change", () => void this.filter());
      const label = el("label", "cb-cond-option");
      label.append(box, ` ${view.series(id)?.meta.title ?? id}`);
      return label;
    });
    this.root.append(el("summary", "cb-cond-summary", "Conditions"), ...boxes, this.count);
    container.append(this.root);
  }

  dispose(): void {
    this.generation++;
    this.view.chart.panes()[0]?.detachPrimitive(this.bands);
    this.root.remove();
  }

  /** The conditions ticked. */
  chosen(): string[] {
    return [...this.root.querySelectorAll<HTMLInputElement>("input.cb-cond-choice:checked")].map((box) => box.value);
  }

  /** Ticks exactly `ids` and filters by them (the test hook; a user ticks the boxes). */
  async choose(ids: readonly string[]): Promise<void> {
    for (const box of this.root.querySelectorAll<HTMLInputElement>("input.cb-cond-choice")) box.checked = ids.includes(box.value);
    await this.filter();
  }

  /** Marks the bars where every ticked condition held (none ticked: no marks). */
  async filter(): Promise<void> {
    const chosen = this.chosen();
    const generation = ++this.generation;
    let bars: ConditionBars | null = null;
    if (chosen.length > 0) {
      try {
        bars = await this.api.conditionBars(this.view.run.id, chosen, null, null, MAX_MARKS);
      } catch (err) {
        this.error(`conditions: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (generation !== this.generation) return;
    this.bars = bars;
    this.count.textContent = bars === null ? "" : `${bars.count.toLocaleString("en-US")} bar${bars.count === 1 ? "" : "s"} where all held`;
    this.bands.set(bars, this.color);
  }

  /** Where the marks are drawn on the price pane, for the test hook. */
  drawn(): { x: number; width: number }[] {
    return this.bands.drawn();
  }

  setColor(color: string): void {
    this.color = color;
    this.bands.set(this.bars, color);
  }

  /** Lists the conditions at the debugger's time cursor beside it (none, or no cursor: hidden). */
  showAtCursor(): void {
    const label = this.view.cursor.label;
    const time = this.view.cursor.time;
    const conditions = time === null ? [] : conditionsAt(this.view, time);
    label.replaceChildren(...conditionRows(conditions));
    label.hidden = conditions.length === 0;
  }
}
