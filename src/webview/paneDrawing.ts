/**
 * A pane primitive that keeps lightweight-charts' requestUpdate: on its own it draws nothing and
 * only asks for a draw (chartView.ts times live batches with it); subclasses add what they draw.
 */
import type { IPanePrimitive, IPanePrimitivePaneView, PaneAttachedParameter } from "lightweight-charts";
import type { Micros } from "./time.js";

export class PaneDrawing implements IPanePrimitive<Micros> {
  protected params: PaneAttachedParameter<Micros> | null = null;

  attached(params: PaneAttachedParameter<Micros>): void {
    this.params = params;
  }

  detached(): void {
    this.params = null;
  }

  /** Asks lightweight-charts to draw the pane (a no-op while detached). */
  requestDraw(): void {
    this.params?.requestUpdate();
  }

  paneViews(): readonly IPanePrimitivePaneView[] {
    return [];
  }
}
