/**
 * A subscription to one series: history after a stream ID, then live points, coalesced into
 * messages of many points. It holds no copy of the data, only a read position in the shared
 * SeriesStore, so a slow client costs no memory; one that falls too far behind is told and dropped.
 */
import { GraphQLError } from "graphql";
import type { Points, SeriesKind } from "../shared/protocol.js";
import { pullIterator } from "./pullIterator.js";
import type { SeriesStore } from "./seriesStore.js";

export interface BatchPayload {
  run: string;
  series: string;
  kind: SeriesKind;
  count: number;
  /** Stream ID to pass as `after` to resume right after this message. */
  lastId: string;
  points: Points;
}

export interface LiveBatchOptions {
  /** Points per message, rounded to whole entries. Default 50000. */
  maxPoints?: number;
  /** Points a client may fall behind before it is dropped. Default 2000000. */
  maxLag?: number;
}

export const SLOW_CONSUMER = "SLOW_CONSUMER";
/** Redis restarted without the data a client was shown: it must reload, not resume. */
export const REDIS_RESET = "REDIS_RESET";

export function liveBatches(
  store: SeriesStore,
  ids: { run: string; series: string },
  after: string,
  options: LiveBatchOptions = {},
): AsyncIterableIterator<BatchPayload> {
  const maxPoints = options.maxPoints ?? 50_000;
  const maxLag = options.maxLag ?? 2_000_000;
  let pending = store.indexAfter(after);
  let resumeId = after === "$" ? store.lastId : after;
  return pullIterator(
    (wake) =>
      store.onAppend((from) => {
        if (from < pending) pending = from;
        wake();
      }),
    () => {
      if (store.invalidated !== null) {
        throw new GraphQLError(store.invalidated, { extensions: { code: REDIS_RESET } });
      }
      if (pending >= store.length) return null;
      const behind = store.length - pending;
      if (behind > maxLag) {
        throw new GraphQLError(`subscription fell ${behind} points behind (limit ${maxLag}); resubscribe with after: "${resumeId}"`, {
          extensions: { code: SLOW_CONSUMER, resumeAfter: resumeId },
        });
      }
      const { to, lastId } = store.cut(pending, maxPoints);
      const points = store.slice(pending, to);
      const count = to - pending;
      pending = to;
      resumeId = lastId;
      return { ...ids, kind: store.kind, count, lastId, points };
    },
  );
}
