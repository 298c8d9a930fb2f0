/**
 * Pane heights and folded legends remembered per strategy (protocol of the saved state:
 * src/shared/webviewProtocol.ts' StrategyLayout): restored when a run of the strategy opens, saved
 * when the user drags a pane separator (lightweight-charts changes the panes' stretch factors) or
 * folds a legend. Keyed by pane name, so a run with other panes keeps what it shares.
 */
import type { StrategyLayout } from "../shared/webviewProtocol.js";
import type { ChartView } from "./chartView.js";

export class PaneLayout {
  private layout: StrategyLayout;

  constructor(private readonly view: ChartView, saved: StrategyLayout, private readonly save: (layout: StrategyLayout) => void) {
    this.layout = { heights: { ...saved.heights }, collapsed: { ...saved.collapsed } };
    const panes = view.chart.panes();
    view.paneNames().forEach((name, i) => {
      const factor = this.layout.heights?.[name];
      if (typeof factor === "number" && factor > 0) panes[i]?.setStretchFactor(factor);
    });
    // A separator drag ends with the pointer released (mouse or touch).
    view.chart.chartElement().addEventListener("pointerup", this.onRelease);
  }

  dispose(): void {
    this.view.chart.chartElement().removeEventListener("pointerup", this.onRelease);
  }

  /** Whether the legend of pane `name` was left folded (undefined: never folded or unfolded). */
  collapsed(name: string): boolean | undefined {
    return this.layout.collapsed?.[name];
  }

  setCollapsed(name: string, collapsed: boolean): void {
    this.layout = { ...this.layout, collapsed: { ...this.layout.collapsed, [name]: collapsed } };
    this.save(this.layout);
  }

  private readonly onRelease = (): void => {
    const panes = this.view.chart.panes();
    const heights = Object.fromEntries(this.view.paneNames().map((name, i) => [name, panes[i]?.getStretchFactor() ?? 1]));
    if (this.view.paneNames().every((name) => this.layout.heights?.[name] === heights[name])) return;
    this.layout = { ...this.layout, heights: { ...this.layout.heights, ...heights } };
    this.save(this.layout);
  };
}
