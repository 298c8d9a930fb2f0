/**
 * Run events (SPEC section 6) and run-list changes (`runlog`), followed from Redis once per stream
 * and fanned out to subscriptions. The last `keep` events of each stream stay in memory, so a
 * client that (re)subscribes replays them without a Redis round trip.
 */
import { GraphQLError } from "graphql";
import type { RedisClient } from "./redisConnection.js";
import { runEventOf, RUNLOG_TYPES, type RunEvent, type RunListEvent } from "../shared/api.js";
import { CLIENT_ERRORS } from "../shared/clientCodes.js";
import type { RedisKeys } from "../shared/protocol.js";
import { loadOnce } from "./loadOnce.js";
import { pullIterator } from "./pullIterator.js";
import { compareStreamIds } from "../shared/streamIds.js";
import { lostCopies, xrevrangeTail, type StreamEntry, type StreamReader } from "./redisStreams.js";
import { parseJson } from "./boundedJson.js";
import { isReplyError, keyError, type KeyFaults } from "./keyFaults.js";

/** An event of a run, or (on the run list's log) of the run list. */
type AnyRunEvent = RunEvent | RunListEvent;

/** null: no event, just look again (the log was invalidated). */
type Listener = (event: AnyRunEvent | null) => void;

class EventLog {
  events: AnyRunEvent[] = [];
  lastId = "0-0";
  invalidated: string | null = null;
  untrack: () => void = () => {};
  readonly listeners = new Set<Listener>();

  constructor(private readonly keep: number) {}

  push(event: AnyRunEvent): void {
    this.events.push(event);
    if (this.events.length > this.keep * 2) this.events = this.events.slice(-this.keep);
    for (const listener of this.listeners) listener(event);
  }
}

export interface RunEventsOptions {
  /** Events kept in memory per stream for replay. Default 5000. */
  keep?: number;
  /** Undelivered events a subscriber may have queued before it is dropped. Default 10000. */
  maxQueue?: number;
  log: (message: string) => void;
  /** Where an event stream Redis refuses (another type) is reported, once. */
  faults: KeyFaults;
}

export class RunEvents {
  private logs = new Map<string, Promise<EventLog>>();
  private readonly keep: number;
  private readonly maxQueue: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly reader: StreamReader,
    private readonly keys: RedisKeys,
    private readonly options: RunEventsOptions,
  ) {
    this.keep = options.keep ?? 5000;
    this.maxQueue = options.maxQueue ?? 10_000;
  }

  /** Events of `run` (or of the run list when null) after `after` ("$": only new ones). */
  async follow(run: string | null, after: string): Promise<AsyncIterableIterator<AnyRunEvent>> {
    const log = await this.logOf(run);
    const queue = after === "$" ? [] : log.events.filter((e) => compareStreamIds(e.id, after) > 0);
    let overflow = false;
    const maxQueue = this.maxQueue;
    return pullIterator(
      (wake) => {
        const listener: Listener = (event) => {
          if (event !== null) {
            if (queue.length >= maxQueue) overflow = true;
            else queue.push(event);
          }
          wake();
        };
        log.listeners.add(listener);
        return () => log.listeners.delete(listener);
      },
      () => {
        if (log.invalidated !== null) throw new GraphQLError(log.invalidated, { extensions: { code: CLIENT_ERRORS.REDIS_RESET } });
        if (overflow) throw new GraphQLError(`subscription fell more than ${maxQueue} events behind`, { extensions: { code: CLIENT_ERRORS.SLOW_CONSUMER } });
        return queue.shift() ?? null;
      },
    );
  }

  /** After Redis restarted: as SeriesCache.verify, for event streams. */
  async verify(): Promise<void> {
    for await (const [key, log] of lostCopies(this.redis, this.logs)) {
      this.logs.delete(key);
      log.untrack();
      log.invalidated = `Redis restarted without the events of ${key}; reload`;
      for (const listener of log.listeners) listener(null);
    }
  }

  private logOf(run: string | null): Promise<EventLog> {
    const key = run === null ? this.keys.runlog : this.keys.events(run);
    return loadOnce(this.logs, key, () => this.load(key, run));
  }

  private async load(key: string, run: string | null): Promise<EventLog> {
    const log = new EventLog(this.keep);
    const apply = (entries: StreamEntry[]) => {
      for (const entry of entries) {
        log.lastId = entry.id;
        const event = this.parse(key, run, entry);
        if (event !== null) log.push(event);
      }
    };
    // Only the tail is replayed; the reader continues right after the newest entry.
    let tail: StreamEntry[];
    try {
      tail = await xrevrangeTail(this.redis, key, this.keep);
    } catch (err) {
      if (!isReplyError(err)) throw err;
      const message = await keyError(this.redis, key, "stream", err);
      this.options.faults.report(key, message);
      throw new GraphQLError(message, { extensions: { code: "KEY_FAULT" } });
    }
    apply(tail.reverse());
    log.untrack = this.reader.track(key, log.lastId, apply);
    return log;
  }

  private parse(key: string, run: string | null, { id, fields }: StreamEntry): AnyRunEvent | null {
    const type = fields.type?.toString("utf8") ?? "";
    if (run === null) {
      const listType = RUNLOG_TYPES.find((t) => t === type);
      if (listType !== undefined) return { run: fields.run?.toString("utf8") ?? "", type: listType, data: {}, id };
      this.options.log(`skipped event ${id} of ${key}: unknown type ${JSON.stringify(type)}`);
      return null;
    }
    // Data is JSON nested at most 64 levels (SPEC section 10); anything else is this event's fault alone.
    const parsed = parseJson(fields.data?.toString("utf8") ?? "{}");
    if (!parsed.ok) {
      this.options.log(`skipped event ${id} of ${key}: data is ${parsed.error}`);
      return null;
    }
    const event = runEventOf(run, type, parsed.value, id);
    if (typeof event !== "string") return event;
    this.options.log(`skipped event ${id} of ${key}: ${event}`);
    return null;
  }
}
