/**
 * The server <-> client boundary: the TypeScript shapes of what src/server/schema.ts answers, one
 * type per GraphQL object, and every GraphQL operation a client sends (OPERATIONS) with the
 * variables it takes and the data it answers. The server's resolvers, the webview's client and the
 * extension host all use these, so a change to the schema's shapes breaks the build on every side
 * instead of drifting; test/operations.test.ts validates each operation against the schema and
 * fails if a GraphQL document anywhere else in src/ bypasses this list.
 */
import type { Points, RunStatus, SeriesKind, SeriesRole } from "./protocol.js";

export interface EntryError {
  code: string;
  message: string;
  entryId: string;
}

export interface SeriesMeta {
  id: string;
  kind: SeriesKind;
  pane: string;
  title: string;
  color: string | null;
  options: Record<string, unknown>;
  source: { file: string; line: number } | null;
  target: string | null;
  /** condition: one named boolean per bar (protocol/SPEC.md section 5); null: a plain series. */
  role: SeriesRole | null;
  count: number;
  firstTimeUs: number | null;
  lastTimeUs: number | null;
  rejected: number;
  stale: number;
  /** Points the producer could not store (protocol/SPEC.md section 11). */
  lost: number;
  lastError: EntryError | null;
  /** Why its stream cannot be read now (its key holds another Redis type...), or null (protocol/SPEC.md section 10). */
  error: string | null;
}

/** The bars where a set of conditions all held (Query.conditionBars). */
export interface ConditionBars {
  count: number;
  /** 0: `t` are the bars; else bucket starts of this width (µs). */
  bucketUs: number;
  t: number[];
}

export interface RunPlugin {
  name: string;
  enabled: boolean;
  params: Record<string, unknown>;
}

export interface Trade {
  entry_t: string;
  exit_t: string;
  side?: string;
  entry_price?: number;
  exit_price?: number;
  pnl?: number;
  [field: string]: unknown;
}

export interface Results {
  stats: Record<string, number | string>;
  trades: Trade[];
}

export interface RunSummary {
  id: string;
  strategy: string;
  status: RunStatus;
  startedUs: number;
}

export interface RunDetail extends RunSummary {
  source: string;
  endedUs: number | null;
  series: SeriesMeta[];
  plugins: RunPlugin[];
  results: Results | null;
  /** What of the run cannot be read now (a key of another type, bad JSON), or null (protocol/SPEC.md section 10). */
  error: string | null;
}

/** The workspace's git state when a run started (protocol/SPEC.md section 5, `identity.git`). */
export interface GitState {
  root: string;
  commit: string;
  dirty: boolean;
  diffHash: string | null;
}

/** The bars of one bar type a run ran on. */
export interface DataIdentity {
  instrument: string;
  barType: string;
  firstUs: number | null;
  lastUs: number | null;
  count: number;
}

/** What identifies a run: compared between runs (protocol/SPEC.md section 5, `identity`). */
export interface RunIdentity {
  params: Record<string, unknown>;
  git: GitState | null;
  data: DataIdentity[];
  versions: Record<string, string>;
}

/** Where a series of a run first differs from the same-named series of the base run. */
export interface Divergence {
  timeUs: number;
  /** The index of the first differing point (the points before it are equal). */
  index: number;
  /** Each run's values at `timeUs` (`[y]`, or `[o, h, l, c, vol]`; null entries: NaN), null where it has no point then. */
  baseValues: (number | null)[] | null;
  values: (number | null)[] | null;
  baseText: string | null;
  text: string | null;
}

export interface SeriesComparison {
  series: string;
  /** The run compared with the base (the first run). */
  run: string;
  kind: SeriesKind;
  baseCount: number;
  count: number;
  divergence: Divergence | null;
}

export interface StatComparison {
  name: string;
  /** One per run, in the order asked; null where a run has no such statistic. */
  values: (number | string | null)[];
  /** Each run's value minus the base's, where both are numbers (null for the base). */
  deltas: (number | null)[];
}

export interface TradesComparison {
  run: string;
  baseCount: number;
  count: number;
  firstDifference: number | null;
  baseTrade: Trade | null;
  trade: Trade | null;
  onlyBase: Trade[];
  onlyOther: Trade[];
  changed: { base: Trade; other: Trade }[];
}

export interface Comparison {
  runs: string[];
  /** The earliest divergence over every series, or null when the runs agree. */
  first: SeriesComparison | null;
  series: SeriesComparison[];
  stats: StatComparison[];
  trades: TradesComparison[];
}

export interface RangeReply {
  kind: SeriesKind;
  count: number;
  total: number;
  decimated: boolean;
  bucketUs: number;
  lastId: string;
  /** Points the series held up to `lastId` (SPEC section 3: markers keep their index in that order). */
  through: number;
  points: Points;
}

export interface BatchReply {
  series: string;
  count: number;
  /** Index in the series of the first point (a marker's place in stream order). */
  offset: number;
  lastId: string;
  points: Points;
}

/** `data` of each event type of a run's `events` stream (protocol/SPEC.md section 6). */
export interface RunEventData {
  series: { id: string };
  plugin: RunPlugin;
  publish: { topic: string; payload: unknown };
  /** `{}`: the `results` key was written. */
  results: Record<string, unknown>;
  /** `{}`: the run ended. */
  end: Record<string, unknown>;
}

/** `data` of each event type of the run list (`runlog`): always `{}`, the run is in `run`. */
export interface RunListEventData {
  start: Record<string, unknown>;
  end: Record<string, unknown>;
  delete: Record<string, unknown>;
}

export const RUNLOG_TYPES = ["start", "end", "delete"] as const satisfies readonly (keyof RunListEventData)[];

/** One event, discriminated by `type` (as graphql-ws' `Message`); `id` is its stream ID, to resume after. */
type EventOf<M> = { [K in keyof M]: { run: string; type: K; data: M[K]; id: string } }[keyof M];
export type RunEvent = EventOf<RunEventData>;
export type RunListEvent = EventOf<RunListEventData>;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A run event from a stream entry's `type` and parsed `data` (written by any producer, so checked
 * here, once), or why it is not one.
 */
export function runEventOf(run: string, type: string, data: unknown, id: string): RunEvent | string {
  if (!isObject(data)) return "data is not a JSON object";
  switch (type) {
    case "series":
      return typeof data.id === "string" ? { run, type, data: { ...data, id: data.id }, id } : "series event without a string id";
    case "plugin":
      if (typeof data.name !== "string" || typeof data.enabled !== "boolean") return "plugin event without a string name and a boolean enabled";
      return { run, type, data: { ...data, name: data.name, enabled: data.enabled, params: isObject(data.params) ? data.params : {} }, id };
    case "publish":
      return typeof data.topic === "string" ? { run, type, data: { ...data, topic: data.topic, payload: data.payload }, id } : "publish event without a string topic";
    case "results":
    case "end":
      return { run, type, data, id };
    default:
      return `unknown type ${JSON.stringify(type)}`;
  }
}

export interface Plugin {
  name: string;
  origin: "workspace" | "builtin";
  version: number;
  code: string | null;
  error: string | null;
  deleted: boolean;
}

/** A series' counters for the lenses (the extension host's `runFacts`). */
export interface SeriesFacts {
  id: string;
  count: number;
  lastTimeUs: number | null;
  lastValue: number | null;
  /** Points the producer could not store (SPEC section 11). */
  lost: number;
}

/** A run as the extension host's pickers see it: which series it has and which plugins it chose. */
export interface RunListing extends RunSummary {
  series: { id: string }[];
  plugins: Pick<RunPlugin, "name" | "enabled">[];
}

export interface RunFacts extends RunSummary {
  series: SeriesFacts[];
  plugins: Pick<RunPlugin, "name" | "enabled">[];
}

export type PluginSummary = Pick<Plugin, "name" | "origin" | "version" | "error">;

/**
 * Whether a plugin runs on a run's chart: the run's own choice (`cb.plugin` / setPlugin), else
 * workspace plugins on and built-ins off. The webview's plugin host and the extension's plugin
 * picker both ask this.
 */
export function pluginEnabled(plugin: Pick<Plugin, "origin">, runChoice: boolean | undefined): boolean {
  return runChoice ?? plugin.origin === "workspace";
}

/** One run of a parameter sweep: its identity's parameters and its numeric statistics. */
export interface SweepRun {
  id: string;
  status: RunStatus;
  startedUs: number;
  /** Scalars as they are; a nested parameter as its JSON text. */
  params: Record<string, string | number | boolean | null>;
  stats: Record<string, number>;
}

/** Every run of one strategy, newest first, with the union of their parameter and statistic names. */
export interface Sweep {
  strategy: string;
  params: string[];
  stats: string[];
  runs: SweepRun[];
  /** More runs than the server answers at once (the newest are kept). */
  truncated: boolean;
}

/** A GraphQL document with, as phantom types, the variables it takes and the data it answers. */
export interface Operation<Vars, Data> {
  readonly document: string;
  /** Never set: carries the types to `query`/`subscribe` callers. */
  readonly types?: { vars: Vars; data: Data };
}
/** The data an operation answers, for a client that subscribes by itself. */
export type DataOf<O> = O extends Operation<Record<string, never>, infer D> ? D : never;
type NoVars = Record<string, never>;
const operation = <Vars extends Record<string, unknown>, Data>(document: string): Operation<Vars, Data> => ({ document });

const IDENTITY_FIELDS = "identity { params git { root commit dirty diffHash } data { instrument barType firstUs lastUs count } versions }";
const COMPARED_SERIES = "series run kind baseCount count divergence { timeUs index baseValues values baseText text }";

const SERIES_FIELDS = "id kind pane title color options source { file line } target role count firstTimeUs lastTimeUs rejected stale lost lastError { code message entryId } error";

/** Every operation the webview and the extension host send. */
export const OPERATIONS = {
  runs: operation<NoVars, { runs: RunSummary[] }>("{ runs { id strategy status startedUs } }"),
  run: operation<{ id: string }, { run: RunDetail | null }>(
    `query($id: ID!) { run(id: $id) { id strategy status startedUs source endedUs series { ${SERIES_FIELDS} } plugins { name enabled params } results error } }`,
  ),
  seriesState: operation<{ id: string }, { run: { series: SeriesMeta[] } | null }>(`query($id: ID!) { run(id: $id) { series { ${SERIES_FIELDS} } } }`),
  range: operation<{ run: string; series: string; from: number | null; to: number | null; max: number }, { range: RangeReply }>(
    `query($run: ID!, $series: ID!, $from: Float, $to: Float, $max: Int!) {
      range(run: $run, series: $series, fromUs: $from, toUs: $to, maxPoints: $max) { kind count total decimated bucketUs lastId through points } }`,
  ),
  conditionBars: operation<{ run: string; conditions: string[]; from: number | null; to: number | null; max: number }, { conditionBars: ConditionBars }>(
    `query($run: ID!, $conditions: [ID!]!, $from: Float, $to: Float, $max: Int!) {
      conditionBars(run: $run, conditions: $conditions, fromUs: $from, toUs: $to, maxPoints: $max) { count bucketUs t } }`,
  ),
  batches: operation<{ run: string; series: string; after: string }, { batches: BatchReply }>(
    "subscription($run: ID!, $series: ID!, $after: String) { batches(run: $run, series: $series, after: $after) { series count offset lastId points } }",
  ),
  runEvents: operation<{ run: string }, { runEvents: RunEvent }>("subscription($run: ID) { runEvents(run: $run) { run type data id } }"),
  runListEvents: operation<NoVars, { runEvents: RunListEvent }>('subscription { runEvents(run: null, after: "$") { run type data id } }'),
  plugins: operation<NoVars, { plugins: Plugin }>("subscription { plugins { name origin version code error deleted } }"),
  runListing: operation<NoVars, { runs: RunListing[] }>("{ runs { id strategy status startedUs series { id } plugins { name enabled } } }"),
  runFacts: operation<{ run: string }, { run: RunFacts | null }>(
    "query($run: ID!) { run(id: $run) { id strategy status startedUs series { id count lastTimeUs lastValue lost } plugins { name enabled } } }",
  ),
  pluginList: operation<NoVars, { plugins: PluginSummary[] }>("{ plugins { name origin version error } }"),
  setPlugin: operation<{ run: string; name: string; enabled: boolean }, { setPlugin: Pick<RunPlugin, "name"> }>(
    "mutation($run: ID!, $name: String!, $enabled: Boolean!) { setPlugin(run: $run, name: $name, enabled: $enabled) { name } }",
  ),
  deleteRun: operation<{ run: string }, { deleteRun: boolean }>("mutation($run: ID!) { deleteRun(run: $run) }"),
  runIdentities: operation<NoVars, { runs: (RunSummary & { source: string; identity: RunIdentity | null })[] }>(
    `{ runs { id strategy status startedUs source ${IDENTITY_FIELDS} } }`,
  ),
  compare: operation<{ runs: string[]; tolerance: number }, { compare: Comparison }>(
    `query($runs: [ID!]!, $tolerance: Float) { compare(runs: $runs, tolerance: $tolerance) {
      runs first { ${COMPARED_SERIES} } series { ${COMPARED_SERIES} } stats { name values deltas }
      trades { run baseCount count firstDifference baseTrade trade onlyBase onlyOther changed } } }`,
  ),
  dirtyDiffs: operation<{ from: string; to: string }, { from: { dirtyDiff: string | null } | null; to: { dirtyDiff: string | null } | null }>(
    "query($from: ID!, $to: ID!) { from: run(id: $from) { dirtyDiff } to: run(id: $to) { dirtyDiff } }",
  ),
  sweep: operation<{ strategy: string }, { sweep: Sweep }>(
    "query($strategy: String!) { sweep(strategy: $strategy) { strategy params stats truncated runs { id status startedUs params stats } } }",
  ),
} as const;
