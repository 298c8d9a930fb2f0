/**
 * A subscription to one series: history after a stream ID, then live points, coalesced into
 * messages of many points. It holds no copy of the data, only a read position in the shared
 * SeriesStore, so a slow client costs no memory. graphql-ws waits for each message to reach the
 * socket before it asks for the next, so a client that stops reading stalls only its own
 * subscription; one stalled longer than `stallMs` while points wait is told and dropped.
 */
import { GraphQLError } from "graphql";
import type { BatchReply } from "../shared/api.js";
import { CLIENT_ERRORS } from "../shared/clientCodes.js";
import type { SeriesKind } from "../shared/protocol.js";
import { pullIterator } from "./pullIterator.js";
import type { SeriesStore } from "./seriesStore.js";

/** A batch as resolved; `lastId` is the stream ID to pass as `after` to resume right after it. */
export interface BatchPayload extends BatchReply {
  run: string;
  kind: SeriesKind;
}

export interface LiveBatchOptions {
  /** Points per message, rounded to whole entries. Default 50000. */
  maxPoints?: number;
  /**
   * How long a client may leave a message unread while more points wait before it is dropped.
   * Default 8000 ms: under graphql-ws' keepalive (a ping every 12 s, the socket terminated 12 s
   * after an unanswered one), so the SLOW_CONSUMER close (src/shared/clientCodes.ts) is queued before the keepalive kills the socket
   * and a client that reads again within that window learns where to resume.
   */
  stallMs?: number;
}

/** Ends a subscription from the server side, telling the client where to resume (e.g. by closing its socket). */
export type Drop = (resumeAfter: string) => void;

const { SLOW_CONSUMER, REDIS_RESET } = CLIENT_ERRORS;

export function liveBatches(
  store: SeriesStore,
  ids: { run: string; series: string },
  after: string,
  options: LiveBatchOptions = {},
  drop?: Drop,
): AsyncIterableIterator<BatchPayload> {
  const maxPoints = options.maxPoints ?? 50_000;
  const stallMs = options.stallMs ?? 8_000;
  let pending = store.indexAfter(after);
  let resumeId = after === "$" ? store.lastId : after;
  let lastPull = Date.now();
  /** The client has everything and waits: not slow, however long it has been. */
  let caughtUp = false;
  let dropped: string | null = null;
  return pullIterator(
    (wake) =>
      store.onAppend((from) => {
        if (from < pending) pending = from;
        if (dropped === null && !caughtUp && Date.now() - lastPull > stallMs) {
          dropped = `client read nothing for over ${stallMs} ms while ${store.length - pending} points waited; resubscribe with after: "${resumeId}"`;
          drop?.(resumeId);
        }
        wake();
      }),
    () => {
      lastPull = Date.now();
      if (dropped !== null) throw new GraphQLError(dropped, { extensions: { code: SLOW_CONSUMER, resumeAfter: resumeId } });
      if (store.invalidated !== null) {
        throw new GraphQLError(store.invalidated, { extensions: { code: REDIS_RESET } });
      }
      caughtUp = pending >= store.length;
      if (caughtUp) return null;
      const { to, lastId } = store.cut(pending, maxPoints);
      const points = store.slice(pending, to);
      const offset = pending;
      pending = to;
      resumeId = lastId;
      return { ...ids, kind: store.kind, count: to - offset, offset, lastId, points };
    },
  );
}
