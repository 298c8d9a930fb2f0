/**
 * Runs chart plugins (pluginApi.ts) and hot-reloads them. A new build arrives as code from the
 * `plugins` subscription; it is imported from a Blob URL (the CSP allows `blob:` scripts, never
 * eval) *before* the running version is touched. Only if the import succeeds is the old version
 * disposed and the new one set up, keeping the zoom; if the import or the setup throws, the old
 * version is set up again and the error is shown in the panel.
 *
 * Which plugins run for a run: those the run enabled (`cb.plugin` / setPlugin), with its params;
 * workspace plugins also run when the run says nothing about them (writing one is opting in);
 * built-in plugins only when enabled.
 */
import * as LightweightCharts from "lightweight-charts";
import type { ISeriesApi, ISeriesPrimitive, SeriesType } from "lightweight-charts";
import { pluginEnabled, type Plugin, type RunEvent, type RunPlugin } from "../shared/api.js";
import type { ChartView } from "./chartView.js";
import type { ChartPoint } from "./seriesData.js";
import { el } from "./dom.js";
import type { PluginContext, PluginInstance, PluginSetup } from "./pluginApi.js";
import type { Micros } from "./time.js";

interface Running {
  version: number;
  setup: PluginSetup;
  instance: PluginInstance | void;
  /** Undo steps for everything added through ctx, run in reverse. */
  cleanups: (() => void)[];
}

export interface PluginState {
  build: Plugin;
  running: Running | null;
  error: string | null;
  logs: string[];
}

const MAX_LOG_LINES = 20;

export class PluginHost {
  readonly states = new Map<string, PluginState>();
  private readonly runPlugins = new Map<string, RunPlugin>();
  private readonly topics = new Map<string, Set<(payload: unknown) => void>>();
  private readonly dataHandlers = new Map<string, Set<(points: readonly ChartPoint[]) => void>>();
  /** Loads of one plugin run one after another, so versions never overtake each other. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly view: ChartView,
    runPlugins: RunPlugin[],
    private readonly allowed: boolean,
    private readonly changed: () => void,
  ) {
    for (const p of runPlugins) this.runPlugins.set(p.name, p);
  }

  dispose(): void {
    for (const state of this.states.values()) this.stop(state);
  }

  /** A build announced by the server's `plugins` subscription. */
  announce(build: Plugin): void {
    const state = this.states.get(build.name) ?? { build, running: null, error: null, logs: [] };
    this.states.set(build.name, state);
    state.build = build;
    if (build.deleted) {
      this.stop(state);
      this.states.delete(build.name);
    } else {
      // A failed build keeps the last good code running; its error is shown beside it.
      state.error = build.error;
      this.enqueue(build.name);
    }
    this.changed();
  }

  /** Run events: `publish` goes to topic subscribers, `plugin` (re)configures a plugin. */
  onRunEvent(event: RunEvent): void {
    if (event.type === "publish") {
      const { topic, payload } = event.data;
      for (const handler of this.topics.get(topic) ?? []) this.guard(handler, payload);
    } else if (event.type === "plugin") {
      const p = event.data;
      this.runPlugins.set(p.name, { name: p.name, enabled: p.enabled, params: p.params });
      const state = this.states.get(p.name);
      // New params mean a fresh setup with them.
      if (state) {
        this.stop(state);
        this.enqueue(p.name);
      }
    }
  }

  /** The view's data changed for a series. */
  notifyData(seriesId: string): void {
    const handlers = this.dataHandlers.get(seriesId);
    if (handlers === undefined || handlers.size === 0) return;
    const points = this.view.series(seriesId)?.data ?? [];
    for (const handler of handlers) this.guard(handler, points);
  }

  private enabled(build: Plugin): boolean {
    return this.allowed && pluginEnabled(build, this.runPlugins.get(build.name)?.enabled);
  }

  private enqueue(name: string): void {
    const previous = this.queues.get(name) ?? Promise.resolve();
    const next = previous.then(() => this.sync(name));
    this.queues.set(name, next);
  }

  /** Brings a plugin to its wanted state: stopped, or running its newest good code. */
  private async sync(name: string): Promise<void> {
    const state = this.states.get(name);
    if (state === undefined) return;
    const { build } = state;
    if (!this.enabled(build)) {
      this.stop(state);
      this.changed();
      return;
    }
    if (build.code === null || state.running?.version === build.version) return;
    let setup: PluginSetup;
    try {
      setup = await importModule(build.code);
    } catch (err) {
      state.error = `${build.name} v${build.version} did not load: ${describe(err)}`;
      this.changed();
      return;
    }
    if (this.states.get(name) !== state || state.build !== build) return;
    const old = state.running;
    this.view.keepingZoom(() => {
      this.stop(state);
      try {
        this.start(state, build.version, setup);
        state.error = build.error;
      } catch (err) {
        state.error = `${build.name} v${build.version} failed in setup: ${describe(err)}`;
        if (old !== null) {
          try {
            this.start(state, old.version, old.setup);
          } catch (again) {
            state.error += `; restarting v${old.version} failed too: ${describe(again)}`;
          }
        }
      }
    });
    this.changed();
  }

  private start(state: PluginState, version: number, setup: PluginSetup): void {
    const running: Running = { version, setup, instance: undefined, cleanups: [] };
    try {
      running.instance = setup(this.context(state, running.cleanups));
    } catch (err) {
      undo(running.cleanups);
      throw err;
    }
    state.running = running;
  }

  private stop(state: PluginState): void {
    const running = state.running;
    if (running === null) return;
    state.running = null;
    try {
      running.instance?.dispose?.();
    } catch (err) {
      this.log(state, `dispose failed: ${describe(err)}`, "warn");
    }
    undo(running.cleanups);
  }

  private context(state: PluginState, cleanups: (() => void)[]): PluginContext {
    const view = this.view;
    const run = view.run;
    const seriesOf = (s: ISeriesApi<SeriesType, Micros> | string) => (typeof s === "string" ? view.series(s)?.api ?? undefined : s);
    const register = <T>(map: Map<string, Set<T>>, key: string, handler: T) => {
      let set = map.get(key);
      if (set === undefined) map.set(key, (set = new Set()));
      set.add(handler);
      const off = () => set.delete(handler);
      cleanups.push(off);
      return off;
    };
    return {
      chart: view.chart,
      lwc: LightweightCharts,
      run: { id: run.id, strategy: run.strategy, series: run.series, results: run.results },
      params: this.runPlugins.get(state.build.name)?.params ?? {},
      series: (id) => view.series(id)?.api ?? undefined,
      data: (id) => view.series(id)?.data ?? [],
      onData: (id, handler) => {
        const off = register(this.dataHandlers, id, handler);
        this.guard(handler, view.series(id)?.data ?? []);
        return off;
      },
      addSeries: (definition, options, pane = "main") => {
        const series = view.chart.addSeries(definition, options, view.paneIndex(pane));
        cleanups.push(() => view.chart.removeSeries(series));
        return series;
      },
      removeSeries: (series) => view.chart.removeSeries(series),
      attachPrimitive: (target, primitive: ISeriesPrimitive<Micros>) => {
        const series = seriesOf(target);
        if (series === undefined) throw new Error(`no series ${String(target)}`);
        series.attachPrimitive(primitive);
        cleanups.push(() => series.detachPrimitive(primitive));
      },
      detachPrimitive: (target, primitive) => seriesOf(target)?.detachPrimitive(primitive),
      subscribe: (topic, handler) => register(this.topics, topic, handler),
      log: (message, level = "info") => this.log(state, message, level),
    };
  }

  private log(state: PluginState, message: string, level: "info" | "warn" | "error"): void {
    state.logs.push(`${level === "info" ? "" : `${level}: `}${message}`);
    if (state.logs.length > MAX_LOG_LINES) state.logs.shift();
    console[level === "info" ? "log" : level](`[plugin ${state.build.name}] ${message}`);
    this.changed();
  }

  /** A plugin callback that throws is reported, not allowed to break the chart. */
  private guard<T>(handler: (value: T) => void, value: T): void {
    try {
      handler(value);
    } catch (err) {
      console.error("plugin callback failed", err);
    }
  }

  /** The plugin panel: each plugin's version, state, error and last log lines. */
  render(root: HTMLElement): void {
    root.replaceChildren(el("h3", undefined, "Plugins"));
    if (!this.allowed) root.append(el("p", undefined, "Plugins are off: this workspace is not trusted."));
    for (const [name, state] of this.states) {
      const row = el("div", "cb-plugin");
      row.dataset.plugin = name;
      const status = state.running ? `running v${state.running.version}` : this.enabled(state.build) ? "not running" : "off";
      row.append(el("div", undefined, `${name} (${state.build.origin}): ${status}`));
      if (state.error) row.append(el("pre", "cb-plugin-error", state.error));
      for (const line of state.logs.slice(-5)) row.append(el("div", "cb-plugin-log", line));
      root.append(row);
    }
  }
}

async function importModule(code: string): Promise<PluginSetup> {
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  try {
    const mod = (await import(/* webpackIgnore: true */ url)) as { default?: unknown };
    if (typeof mod.default !== "function") throw new Error("the module has no default export function setup(ctx)");
    return mod.default as PluginSetup;
  } finally {
    URL.revokeObjectURL(url);
  }
}

function undo(cleanups: (() => void)[]): void {
  for (const step of cleanups.splice(0).reverse()) {
    try {
      step();
    } catch (err) {
      console.warn("plugin cleanup failed", err);
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
