/** Resolvers of schema.ts, typed against the catalog and the series cache. */
import { GraphQLError, GraphQLScalarType } from "graphql";
import type { Plugin, RunEvent, RunPlugin } from "../shared/api.js";
import { NAME_PATTERNS, type RedisKeys, type SeriesInfo } from "../shared/protocol.js";
import { decimate } from "./lod.js";
import { liveBatches, type BatchPayload, type Drop, type LiveBatchOptions } from "./liveBatches.js";
import type { RedisClient } from "./redisConnection.js";
import type { RunCatalog, RunInfo } from "./runCatalog.js";
import type { RunEvents } from "./runEvents.js";
import type { PluginManager } from "./plugins.js";
import { deleteRun, setPlugin } from "./runWriter.js";
import type { SeriesCache } from "./seriesCache.js";
import { compareStreamIds } from "../shared/streamIds.js";
import { SeriesStore } from "./seriesStore.js";
import { tooDeep, MAX_JSON_DEPTH } from "./boundedJson.js";
import { compareRuns } from "./compare.js";
import { sweepOf } from "./sweep.js";
import type { Vanished } from "./vanished.js";
import { barsWhereAllHeld, MAX_FILTER_CONDITIONS } from "./conditions.js";

export interface ServerContext {
  catalog: RunCatalog;
  cache: SeriesCache;
  events: RunEvents;
  plugins: PluginManager;
  live: LiveBatchOptions;
  /** Ends this client's connection with a reason (WebSocket operations only). */
  drop?: Drop;
  /** Connection and key layout for the server's own writes (mutations). */
  redis: RedisClient;
  keys: RedisKeys;
  /** Series streams an evicting Redis deleted (Series.error, Run.error). */
  vanished: Vanished;
}

interface SeriesView extends SeriesInfo {
  id: string;
  run: string;
}

interface SeriesArgs {
  run: string;
  series: string;
  after: string;
}

interface RangeArgs {
  run: string;
  series: string;
  fromUs?: number | null;
  toUs?: number | null;
  maxPoints: number;
}

/** A screen is a few thousand pixels wide; more than this is a mistake or an attack. */
const MAX_RANGE_POINTS = 200_000;
/** One reply of `history`: the most points one stream entry may hold (SPEC section 3). */
export const MAX_HISTORY_POINTS = 100_000;
/** Bytes of a plugin's parameters as JSON (setPlugin): as much as a series' registry entry may hold. */
export const MAX_PLUGIN_PARAMS_BYTES = 65_536;

const STREAM_ID = /^(\$|[0-9]{1,20}(-[0-9]{1,20})?)$/;

function checkArgs(args: SeriesArgs): void {
  if (!NAME_PATTERNS.run.test(args.run)) throw new GraphQLError(`invalid run id ${JSON.stringify(args.run)}`);
  if (!NAME_PATTERNS.series.test(args.series)) throw new GraphQLError(`invalid series id ${JSON.stringify(args.series)}`);
  if (!STREAM_ID.test(args.after)) throw new GraphQLError(`invalid stream id ${JSON.stringify(args.after)} for 'after'`);
}

async function seriesOf(ctx: ServerContext, args: SeriesArgs): Promise<{ view: SeriesView; store: SeriesStore }> {
  checkArgs(args);
  const info = await ctx.catalog.seriesInfo(args.run, args.series);
  if (info === undefined) throw new GraphQLError(`run ${args.run} has no series ${args.series}`);
  const store = await ctx.cache.get(args.run, args.series, info.kind);
  return { view: { ...info, id: args.series, run: args.run }, store };
}

const storeOf = (view: SeriesView, ctx: ServerContext) => ctx.cache.get(view.run, view.id, view.kind);
/** A series that cannot be read answers as empty beside its `error`, so its run and the run list still answer. */
const storeOrEmpty = (view: SeriesView, ctx: ServerContext) => storeOf(view, ctx).catch(() => new SeriesStore(view.kind));

/** SPEC section 11: a canonical decimal count; anything else in the record reads as 0. */
const LOST_COUNT = /^(0|[1-9][0-9]{0,14})$/;

/** The series' total in its run's lost record. A broken record (wrong type, bad value) affects this field alone. */
async function lostOf(view: SeriesView, ctx: ServerContext): Promise<number> {
  const value = await ctx.redis.hget(ctx.keys.lost(view.run), view.id).catch(() => null);
  return value !== null && LOST_COUNT.test(value) ? Number(value) : 0;
}
const usOf = (ns: bigint | null) => (ns === null ? null : Number(ns / 1000n));

export const resolvers = {
  JSON: new GraphQLScalarType({
    name: "JSON",
    serialize: (value: unknown) => value,
    parseValue: (value: unknown) => value,
  }),
  Query: {
    runs: (_: unknown, __: unknown, ctx: ServerContext) => ctx.catalog.runs(),
    run: (_: unknown, args: { id: string }, ctx: ServerContext) =>
      NAME_PATTERNS.run.test(args.id) ? ctx.catalog.run(args.id) : null,
    plugins: (_: unknown, __: unknown, ctx: ServerContext) => ctx.plugins.list(),
    compare: (_: unknown, args: { runs: string[]; tolerance?: number | null }, ctx: ServerContext) =>
      compareRuns(ctx.catalog, ctx.cache, args.runs, args.tolerance ?? 0),
    sweep: (_: unknown, args: { strategy: string }, ctx: ServerContext) => sweepOf(ctx.catalog, args.strategy),
    range: async (_: unknown, args: RangeArgs, ctx: ServerContext) => {
      if (!Number.isInteger(args.maxPoints) || args.maxPoints < 2 || args.maxPoints > MAX_RANGE_POINTS) {
        throw new GraphQLError(`maxPoints must be an integer in 2..${MAX_RANGE_POINTS}`);
      }
      const { store } = await seriesOf(ctx, { ...args, after: "0-0" });
      const result = decimate(store, args.fromUs ?? null, args.toUs ?? null, args.maxPoints);
      return { run: args.run, series: args.series, kind: store.kind, count: result.points.t.length, lastId: store.lastId, through: store.length, ...result };
    },
    conditionBars: async (_: unknown, args: Omit<RangeArgs, "series"> & { conditions: string[] }, ctx: ServerContext) => {
      if (!Number.isInteger(args.maxPoints) || args.maxPoints < 2 || args.maxPoints > MAX_RANGE_POINTS) {
        throw new GraphQLError(`maxPoints must be an integer in 2..${MAX_RANGE_POINTS}`);
      }
      if (args.conditions.length < 1 || args.conditions.length > MAX_FILTER_CONDITIONS) throw new GraphQLError(`conditions: 1 to ${MAX_FILTER_CONDITIONS} series, not ${args.conditions.length}`);
      const stores = await Promise.all(args.conditions.map(async (series) => {
        const { view, store } = await seriesOf(ctx, { run: args.run, series, after: "0-0" });
        if (view.role !== "condition") throw new GraphQLError(`series ${series} of run ${args.run} is not a condition (protocol/SPEC.md section 5)`);
        return store;
      }));
      return barsWhereAllHeld(stores, args.fromUs ?? null, args.toUs ?? null, args.maxPoints);
    },
    history: async (_: unknown, args: SeriesArgs & { maxPoints: number }, ctx: ServerContext): Promise<BatchPayload> => {
      if (!Number.isInteger(args.maxPoints) || args.maxPoints < 1 || args.maxPoints > MAX_HISTORY_POINTS) {
        throw new GraphQLError(`maxPoints must be an integer in 1..${MAX_HISTORY_POINTS}, not ${args.maxPoints}`);
      }
      const { store } = await seriesOf(ctx, args);
      const from = store.indexAfter(args.after);
      const { to, lastId } = from < store.length ? store.cut(from, args.maxPoints) : { to: from, lastId: store.lastId };
      return {
        run: args.run,
        series: args.series,
        kind: store.kind,
        count: to - from,
        offset: from,
        lastId: to > from || args.after === "$" || compareStreamIds(args.after, lastId) < 0 ? lastId : args.after,
        points: store.slice(from, to),
      };
    },
  },
  Mutation: {
    setPlugin: async (_: unknown, args: { run: string; name: string; enabled: boolean; params?: unknown }, ctx: ServerContext): Promise<RunPlugin> => {
      if (!NAME_PATTERNS.run.test(args.run)) throw new GraphQLError(`invalid run id ${JSON.stringify(args.run)}`);
      if (!NAME_PATTERNS.plugin.test(args.name)) throw new GraphQLError(`invalid plugin name ${JSON.stringify(args.name)}`);
      const params = args.params ?? {};
      if (typeof params !== "object" || params === null || Array.isArray(params)) throw new GraphQLError("params must be a JSON object");
      if (tooDeep(params)) throw new GraphQLError(`params nest deeper than ${MAX_JSON_DEPTH} levels`);
      const bytes = Buffer.byteLength(JSON.stringify(params));
      if (bytes > MAX_PLUGIN_PARAMS_BYTES) throw new GraphQLError(`params are ${bytes} bytes as JSON, over the limit of ${MAX_PLUGIN_PARAMS_BYTES}`);
      const plugin = { name: args.name, enabled: args.enabled, params: params as Record<string, unknown> };
      await setPlugin(ctx.redis, ctx.keys, args.run, plugin);
      return plugin;
    },
    deleteRun: async (_: unknown, args: { run: string }, ctx: ServerContext) => {
      if (!NAME_PATTERNS.run.test(args.run)) throw new GraphQLError(`invalid run id ${JSON.stringify(args.run)}`);
      const deleted = await deleteRun(ctx.redis, ctx.keys, args.run);
      ctx.cache.forgetRun(args.run);
      return deleted;
    },
  },
  Subscription: {
    runEvents: {
      subscribe: (_: unknown, args: { run?: string | null; after: string }, ctx: ServerContext) => {
        const run = args.run ?? null;
        if (run !== null && !NAME_PATTERNS.run.test(run)) throw new GraphQLError(`invalid run id ${JSON.stringify(run)}`);
        if (!STREAM_ID.test(args.after)) throw new GraphQLError(`invalid stream id ${JSON.stringify(args.after)} for 'after'`);
        return ctx.events.follow(run, args.after);
      },
      resolve: (event: RunEvent) => event,
    },
    plugins: {
      subscribe: (_: unknown, __: unknown, ctx: ServerContext) => ctx.plugins.follow(),
      resolve: (plugin: Plugin) => plugin,
    },
    batches: {
      subscribe: async (_: unknown, args: SeriesArgs, ctx: ServerContext) => {
        const { store } = await seriesOf(ctx, args);
        return liveBatches(store, { run: args.run, series: args.series }, args.after, ctx.live, ctx.drop);
      },
      resolve: (payload: BatchPayload) => payload,
    },
  },
  Run: {
    error: async (run: RunInfo, _: unknown, ctx: ServerContext) => {
      const [problems, series] = await Promise.all([ctx.catalog.problems(run.id), ctx.catalog.series(run.id)]);
      const gone = await ctx.vanished.run(run.id, [...series.keys()]);
      return problems.length + gone.length === 0 ? null : [...problems, ...gone].join("; ");
    },
    plugins: (run: RunInfo, _: unknown, ctx: ServerContext) => ctx.catalog.plugins(run.id),
    results: (run: RunInfo, _: unknown, ctx: ServerContext) => ctx.catalog.results(run.id),
    // Bytes as Latin-1 characters: a diff of a file in any encoding comes back byte for byte.
    dirtyDiff: async (run: RunInfo, _: unknown, ctx: ServerContext) => (await ctx.redis.getBuffer(ctx.keys.dirty(run.id)))?.toString("latin1") ?? null,
    startedUs: (run: RunInfo) => usOf(run.startedNs),
    endedUs: (run: RunInfo) => usOf(run.endedNs),
    series: async (run: RunInfo, _: unknown, ctx: ServerContext): Promise<SeriesView[]> =>
      [...(await ctx.catalog.series(run.id))].map(([id, info]) => ({ ...info, id, run: run.id })),
  },
  Series: {
    count: async (view: SeriesView, _: unknown, ctx: ServerContext) => (await storeOrEmpty(view, ctx)).length,
    firstTimeUs: async (view: SeriesView, _: unknown, ctx: ServerContext) => (await storeOrEmpty(view, ctx)).firstTimeUs,
    lastTimeUs: async (view: SeriesView, _: unknown, ctx: ServerContext) => (await storeOrEmpty(view, ctx)).lastTimeUs,
    lastValue: async (view: SeriesView, _: unknown, ctx: ServerContext) => (await storeOrEmpty(view, ctx)).lastValue,
    rejected: async (view: SeriesView, _: unknown, ctx: ServerContext) => (await storeOrEmpty(view, ctx)).rejected,
    stale: async (view: SeriesView, _: unknown, ctx: ServerContext) => (await storeOrEmpty(view, ctx)).stale,
    lost: (view: SeriesView, _: unknown, ctx: ServerContext) => lostOf(view, ctx),
    lastError: async (view: SeriesView, _: unknown, ctx: ServerContext) => (await storeOrEmpty(view, ctx)).lastError,
    error: (view: SeriesView, _: unknown, ctx: ServerContext) =>
      storeOf(view, ctx).then(
        async () => ctx.cache.fault(view.run, view.id) ?? (await ctx.vanished.series(view.run, view.id)),
        (err: Error) => err.message,
      ),
  },
};
