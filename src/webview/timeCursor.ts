/**
 * The debugger's time cursor: a vertical line across a pane at the strategy's event time while a
 * debug session is paused (the host sends `timeCursor`). A pane primitive, so lightweight-charts
 * redraws it with the pane and it follows scrolling and zooming.
 */
import type { IPanePrimitivePaneView, IPrimitivePaneRenderer } from "lightweight-charts";
import { PaneDrawing } from "./paneDrawing.js";
import type { Micros } from "./time.js";

type Target = Parameters<IPrimitivePaneRenderer["draw"]>[0];

export class TimeCursor extends PaneDrawing {
  private timeUs: Micros | null = null;
  private x: number | null = null;
  private readonly view: IPanePrimitivePaneView = { zOrder: () => "top", renderer: () => this.renderer };
  private readonly renderer: IPrimitivePaneRenderer = { draw: (target) => this.draw(target) };

  constructor(private color: string) {
    super();
  }

  get time(): Micros | null {
    return this.timeUs;
  }

  set(timeUs: Micros | null): void {
    this.timeUs = timeUs;
    this.requestDraw();
  }

  setColor(color: string): void {
    this.color = color;
    this.requestDraw();
  }

  updateAllViews(): void {
    this.x = this.timeUs === null || this.params === null ? null : this.params.chart.timeScale().timeToCoordinate(this.timeUs);
  }

  override paneViews(): readonly IPanePrimitivePaneView[] {
    return [this.view];
  }

  private draw(target: Target): void {
    const x = this.x;
    if (x === null) return;
    target.useBitmapCoordinateSpace(({ context, bitmapSize, horizontalPixelRatio }) => {
      const width = Math.max(1, Math.round(2 * horizontalPixelRatio));
      context.fillStyle = this.color;
      context.fillRect(Math.round(x * horizontalPixelRatio) - Math.floor(width / 2), 0, width, bitmapSize.height);
    });
  }
}
