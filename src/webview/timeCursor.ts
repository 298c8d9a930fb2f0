/**
 * The debugger's time cursor: a vertical line across a pane at the strategy's event time while a
 * debug session is paused (the host sends `timeCursor`). A pane primitive, so lightweight-charts
 * redraws it with the pane and it follows scrolling and zooming. Right of the cursor the panes are
 * veiled in their background colour (`veil`, a DOM layer over the canvases: lightweight-charts draws
 * line series above pane primitives): the chart shows what the paused strategy has seen so far.
 */
import type { IPanePrimitivePaneView, IPrimitivePaneRenderer } from "lightweight-charts";
import { PaneDrawing } from "./paneDrawing.js";
import type { Micros } from "./time.js";

/** How much of the background veils the points after the cursor (the future, still readable). */
export const DIM_ALPHA = 0.7;

type Target = Parameters<IPrimitivePaneRenderer["draw"]>[0];

export class TimeCursor extends PaneDrawing {
  private timeUs: Micros | null = null;
  private x: number | null = null;
  private readonly view: IPanePrimitivePaneView = { zOrder: () => "top", renderer: () => this.renderer };
  private readonly renderer: IPrimitivePaneRenderer = { draw: (target) => this.draw(target) };

  /** Over the chart's container, which must be positioned; mouse events pass through it. */
  readonly veil = document.createElement("div");
  /** Beside the line at the pane's top: what the strategy had at that time (conditions.ts fills it). */
  readonly label = document.createElement("div");

  constructor(private color: string, background: string) {
    super();
    Object.assign(this.veil.style, { position: "absolute", top: "0", display: "none", pointerEvents: "none", opacity: String(DIM_ALPHA), zIndex: "2" });
    this.veil.className = "cb-veil";
    this.veil.style.background = background;
    this.label.className = "cb-cursor-label";
    this.label.hidden = true;
  }

  get time(): Micros | null {
    return this.timeUs;
  }

  set(timeUs: Micros | null): void {
    this.timeUs = timeUs;
    this.requestDraw();
  }

  setColor(color: string, background: string): void {
    this.color = color;
    this.veil.style.background = background;
    this.requestDraw();
  }

  updateAllViews(): void {
    const scale = this.params?.chart.timeScale();
    this.x = this.timeUs === null || scale === undefined ? null : scale.timeToCoordinate(this.timeUs);
    if (this.x === null || scale === undefined) {
      this.veil.style.display = "none";
      this.label.style.display = "none";
      return;
    }
    Object.assign(this.label.style, { display: "", left: `${Math.round(this.x) + 6}px` });
    // From just right of the line to the price scale, over every pane (not the time axis).
    const left = Math.max(0, Math.round(this.x) + 1);
    Object.assign(this.veil.style, { display: "block", left: `${left}px`, width: `${Math.max(0, scale.width() - left)}px`, height: `calc(100% - ${scale.height()}px)` });
  }

  override paneViews(): readonly IPanePrimitivePaneView[] {
    return [this.view];
  }

  private draw(target: Target): void {
    const x = this.x;
    if (x === null) return;
    target.useBitmapCoordinateSpace(({ context, bitmapSize, horizontalPixelRatio }) => {
      const width = Math.max(1, Math.round(2 * horizontalPixelRatio));
      const left = Math.round(x * horizontalPixelRatio) - Math.floor(width / 2);
      context.fillStyle = this.color;
      context.fillRect(left, 0, width, bitmapSize.height);
    });
  }
}
