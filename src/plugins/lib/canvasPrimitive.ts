/**
 * A series primitive that draws with one function in media (CSS pixel) coordinates: the smallest
 * custom drawing lightweight-charts allows. `redraw()` asks the chart to paint again.
 */
import type { IChartApiBase, ISeriesApi, ISeriesPrimitive, SeriesType } from "lightweight-charts";
import type { Micros } from "../../webview/time.js";

export interface DrawScope {
  ctx: CanvasRenderingContext2D;
  width: number;
  height: number;
  chart: IChartApiBase<Micros>;
  series: ISeriesApi<SeriesType, Micros>;
}

export interface CanvasPrimitive extends ISeriesPrimitive<Micros> {
  redraw(): void;
}

export function canvasPrimitive(draw: (scope: DrawScope) => void, zOrder: "bottom" | "normal" | "top" = "normal"): CanvasPrimitive {
  let attached: { chart: IChartApiBase<Micros>; series: ISeriesApi<SeriesType, Micros>; requestUpdate: () => void } | null = null;
  const view = {
    zOrder: () => zOrder,
    renderer: () => ({
      draw(target: { useMediaCoordinateSpace<T>(f: (s: { context: CanvasRenderingContext2D; mediaSize: { width: number; height: number } }) => T): T }) {
        if (attached === null) return;
        const { chart, series } = attached;
        target.useMediaCoordinateSpace(({ context, mediaSize }) => draw({ ctx: context, width: mediaSize.width, height: mediaSize.height, chart, series }));
      },
    }),
  };
  return {
    attached(param) {
      attached = param;
    },
    detached() {
      attached = null;
    },
    paneViews: () => [view],
    redraw: () => attached?.requestUpdate(),
  };
}
