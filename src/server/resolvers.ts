/** Resolvers of schema.ts, typed against the catalog and the series cache. */
import { GraphQLError, GraphQLScalarType } from "graphql";
import { NAME_PATTERNS, type SeriesInfo } from "../shared/protocol.js";
import { decimate } from "./lod.js";
import { liveBatches, type BatchPayload, type LiveBatchOptions } from "./liveBatches.js";
import type { RunCatalog, RunInfo } from "./runCatalog.js";
import type { SeriesCache } from "./seriesCache.js";
import { compareIds, type SeriesStore } from "./seriesStore.js";

export interface ServerContext {
  catalog: RunCatalog;
  cache: SeriesCache;
  live: LiveBatchOptions;
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

const STREAM_ID = /^(\$|[0-9]{1,20}(-[0-9]{1,20})?)$/;

function checkArgs(args: SeriesArgs): void {
  if (!NAME_PATTERNS.run.test(args.run)) throw new GraphQLError(`invalid run id ${JSON.stringify(args.run)}`);
  if (!NAME_PATTERNS.series.test(args.series)) throw new GraphQLError(`invalid series id ${JSON.stringify(args.series)}`);
  if (!STREAM_ID.test(args.after)) throw new GraphQLError(`invalid stream id ${JSON.stringify(args.after)} for 'after'`);
}

async function seriesOf(ctx: ServerContext, args: SeriesArgs): Promise<{ view: SeriesView; store: SeriesStore }> {
  checkArgs(args);
  const info = (await ctx.catalog.series(args.run)).get(args.series);
  if (info === undefined) throw new GraphQLError(`run ${args.run} has no series ${args.series}`);
  const store = await ctx.cache.get(args.run, args.series, info.kind);
  return { view: { ...info, id: args.series, run: args.run }, store };
}

const storeOf = (view: SeriesView, ctx: ServerContext) => ctx.cache.get(view.run, view.id, view.kind);
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
    range: async (_: unknown, args: RangeArgs, ctx: ServerContext) => {
      if (!Number.isInteger(args.maxPoints) || args.maxPoints < 2 || args.maxPoints > MAX_RANGE_POINTS) {
        throw new GraphQLError(`maxPoints must be an integer in 2..${MAX_RANGE_POINTS}`);
      }
      const { store } = await seriesOf(ctx, { ...args, after: "0-0" });
      const result = decimate(store, args.fromUs ?? null, args.toUs ?? null, args.maxPoints);
      return { run: args.run, series: args.series, kind: store.kind, count: result.points.t.length, lastId: store.lastId, ...result };
    },
    history: async (_: unknown, args: SeriesArgs & { maxPoints: number }, ctx: ServerContext): Promise<BatchPayload> => {
      const { store } = await seriesOf(ctx, args);
      const from = store.indexAfter(args.after);
      const { to, lastId } = from < store.length ? store.cut(from, Math.max(1, args.maxPoints)) : { to: from, lastId: store.lastId };
      return {
        run: args.run,
        series: args.series,
        kind: store.kind,
        count: to - from,
        lastId: to > from || args.after === "$" || compareIds(args.after, lastId) < 0 ? lastId : args.after,
        points: store.slice(from, to),
      };
    },
  },
  Subscription: {
    batches: {
      subscribe: async (_: unknown, args: SeriesArgs, ctx: ServerContext) => {
        const { store } = await seriesOf(ctx, args);
        return liveBatches(store, { run: args.run, series: args.series }, args.after, ctx.live);
      },
      resolve: (payload: BatchPayload) => payload,
    },
  },
  Run: {
    startedUs: (run: RunInfo) => usOf(run.startedNs),
    endedUs: (run: RunInfo) => usOf(run.endedNs),
    series: async (run: RunInfo, _: unknown, ctx: ServerContext): Promise<SeriesView[]> =>
      [...(await ctx.catalog.series(run.id))].map(([id, info]) => ({ ...info, id, run: run.id })),
  },
  Series: {
    count: async (view: SeriesView, _: unknown, ctx: ServerContext) => (await storeOf(view, ctx)).length,
    firstTimeUs: async (view: SeriesView, _: unknown, ctx: ServerContext) => (await storeOf(view, ctx)).firstTimeUs,
    lastTimeUs: async (view: SeriesView, _: unknown, ctx: ServerContext) => (await storeOf(view, ctx)).lastTimeUs,
    rejected: async (view: SeriesView, _: unknown, ctx: ServerContext) => (await storeOf(view, ctx)).rejected,
    stale: async (view: SeriesView, _: unknown, ctx: ServerContext) => (await storeOf(view, ctx)).stale,
    lastError: async (view: SeriesView, _: unknown, ctx: ServerContext) => (await storeOf(view, ctx)).lastError,
  },
};
