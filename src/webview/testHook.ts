/**
 * `window.__chartbridge`: a small read-only view of the chart state for tests and benchmarks
 * (real Chromium drives the page; asserting on canvas pixels alone would say little). It reads
 * lightweight-charts' own data (`series.data()`), not our copies, so a test sees what is drawn.
 */
import type { Logical } from "lightweight-charts";
import type { App } from "./app.js";
import type { HostMessage } from "../shared/webviewProtocol.js";
import type { HookState } from "./hookState.js";
import type { ChartView } from "./chartView.js";

export interface TestHook {
  state(): HookState;
  setVisibleRange(fromUs: number, toUs: number): void;
  /** Delivers a message as the VS Code host would (a plain browser tab has no host). */
  hostMessage(message: HostMessage): void;
  /** Where marker `index` of a marker series placed at its price is drawn, in px from the chart's top left. */
  markerAt(seriesId: string, index: number): { x: number; y: number } | null;
  /** `price` as series `seriesId`'s price scale and crosshair label write it (lightweight-charts' formatter). */
  scaleLabel(seriesId: string, price: number): string | null;
  /** The x of a time on the time scale, in px from the chart's left. */
  timeX(timeUs: number): number | null;
  /** The width of the right price scale (px). */
  priceScaleWidth(): number;
  /** Each pane's box in the page (px). */
  paneBoxes(): { top: number; bottom: number; left: number; right: number }[];
  /** The markers drawn on series `seriesId`: where, in which lane, with which label. */
  drawnMarkers(seriesId: string): { x: number | null; lane: string; text: string; time: number }[];
  /** The trade picked in the results view and the equity's peak and max drawdown, as drawn (spans.ts). */
  drawnSpans(): ReturnType<ChartView["drawnSpans"]> | null;
  /** The condition filter's marks on the price pane, as drawn: x (px from the pane's left) and width. */
  conditionMarks(): { x: number; width: number }[];
}

export function installTestHook(app: App): void {
  const hook: TestHook = {
    state: () => {
      const view = app.view;
      const banner = document.querySelector<HTMLElement>(".cb-banner");
      return {
        connection: app.connection,
        banner: banner && !banner.hidden ? banner.textContent : null,
        run: view?.run.id ?? null,
        fetches: view?.fetches ?? 0,
        firstPaintMs: view?.firstPaintMs ?? null,
        held: view?.heldWindow() ?? null,
        visible: view?.visibleWindow() ?? null,
        panes: view?.chart.panes().length ?? 0,
        timeCursorUs: view?.cursor.time ?? null,
        paneSeries: view?.chart.panes().map((pane) => pane.getSeries().map((series) => series.data().length)) ?? [],
        series: (view?.allSeries() ?? []).map(([, e]) => {
          const data = e.api?.data() ?? [];
          const times = e.api ? data.map((p) => p.time as number) : e.meta.kind === "marker" ? e.markers.map((m) => m.t) : e.data.map((p) => p.time);
          return {
            id: e.meta.id,
            kind: e.meta.kind,
            pane: e.api?.getPane().paneIndex() ?? -1,
            visible: e.visible,
            points: times.length,
            firstUs: times[0] ?? null,
            lastUs: times[times.length - 1] ?? null,
            bucketUs: e.bucketUs,
            rejected: e.meta.rejected,
            priceLines: e.api?.priceLines().length ?? 0,
            markersCounted: e.markers.reduce((n, m) => n + (m.m.cluster?.count ?? 1), 0),
          };
        }),
        conditionFilter: app.conditions === null ? null : {
          chosen: app.conditions.chosen(),
          count: app.conditions.bars?.count ?? null,
          bucketUs: app.conditions.bars?.bucketUs ?? 0,
          times: app.conditions.bars?.t ?? [],
        },
        plugins: [...(app.plugins?.states.values() ?? [])].map((s) => ({
          name: s.build.name,
          version: s.build.version,
          running: s.running?.version ?? null,
          error: s.error,
          logs: [...s.logs],
        })),
      };
    },
    timeX: (timeUs) => app.view?.chart.timeScale().timeToCoordinate(timeUs) ?? null,
    priceScaleWidth: () => app.view?.chart.priceScale("right").width() ?? 0,
    paneBoxes: () =>
      (app.view?.chart.panes() ?? []).map((pane) => {
        const r = pane.getHTMLElement()?.getBoundingClientRect();
        return { top: r?.top ?? 0, bottom: r?.bottom ?? 0, left: r?.left ?? 0, right: r?.right ?? 0 };
      }),
    drawnMarkers: (seriesId) => {
      const ts = app.view?.chart.timeScale();
      // lightweight-charts draws a marker between bars on the nearest bar.
      const x = (time: number) => {
        const index = ts?.timeToIndex(time, true) ?? null;
        return index === null ? null : ts?.logicalToCoordinate(index as unknown as Logical) ?? null;
      };
      return (app.view?.drawnMarkers(seriesId) ?? []).map((m) => ({ x: x(m.time), lane: m.position, text: m.text ?? "", time: m.time }));
    },
    drawnSpans: () => app.view?.drawnSpans() ?? null,
    conditionMarks: () => app.conditions?.drawn() ?? [],
    scaleLabel: (seriesId, price) => app.view?.series(seriesId)?.api?.priceFormatter().format(price) ?? null,
    setVisibleRange: (fromUs, toUs) => app.view?.setVisibleWindow({ fromUs, toUs }),
    hostMessage: (message) => app.host.dispatchLocal(message),
    markerAt: (seriesId, index) => {
      const view = app.view;
      const marker = view?.series(seriesId)?.markers[index];
      const target = view?.targetOf(seriesId);
      if (!view || marker === undefined || marker.y === null || !target) return null;
      const x = view.chart.timeScale().timeToCoordinate(marker.t);
      const y = target.priceToCoordinate(marker.y);
      return x === null || y === null ? null : { x, y };
    },
  };
  (window as unknown as { __chartbridge: TestHook }).__chartbridge = hook;
}
