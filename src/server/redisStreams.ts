/**
 * Typed stream reads over ioredis with binary-safe fields (point columns are raw bytes), and the
 * one blocking XREAD loop that fans new entries out to whoever tracks a key.
 */
import type { Redis } from "ioredis";
import type { RedisClient } from "./redisConnection.js";
import { compareStreamIds, MAX_STREAM_ID } from "../shared/streamIds.js";
import { isReplyError, KeyFaults } from "./keyFaults.js";

export interface StreamEntry {
  id: string;
  fields: Record<string, Buffer>;
}

export type RawEntry = [Buffer, Buffer[]];

export function toEntry([id, flat]: RawEntry): StreamEntry {
  const fields: Record<string, Buffer> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i].toString("latin1")] = flat[i + 1];
  return { id: id.toString("latin1"), fields };
}

/**
 * XREAD replies with a map of key to entries: under RESP3 (ioredis' default) it arrives flattened
 * as `[key, entries, key, entries]`, under RESP2 as `[[key, entries], ...]`.
 */
export function streamsOf(reply: unknown): [string, RawEntry[]][] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  if (Array.isArray(reply[0])) return (reply as [Buffer, RawEntry[]][]).map(([k, e]) => [k.toString("latin1"), e]);
  const out: [string, RawEntry[]][] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) out.push([(reply[i] as Buffer).toString("latin1"), reply[i + 1] as RawEntry[]]);
  return out;
}

/** XRANGE key (after, +] COUNT count, exclusive of `after`. */
export async function xrangeAfter(redis: RedisClient, key: string, after: string, count: number): Promise<StreamEntry[]> {
  // Nothing follows the greatest ID, and Redis refuses an exclusive range starting there.
  if (after === MAX_STREAM_ID) return [];
  const raw = (await redis.callBuffer("XRANGE", [key, after === "0-0" ? "-" : `(${after}`, "+", "COUNT", count])) as RawEntry[];
  return raw.map(toEntry);
}

/** The newest `count` entries of a stream, newest first. */
export async function xrevrangeTail(redis: RedisClient, key: string, count: number): Promise<StreamEntry[]> {
  const raw = (await redis.callBuffer("XREVRANGE", [key, "+", "-", "COUNT", count])) as RawEntry[];
  return raw.map(toEntry);
}

/**
 * The in-memory copies of streams (keyed by stream key, each knowing the last ID it read) whose
 * stream in Redis no longer reaches that ID: Redis restarted without their data.
 */
export async function* lostCopies<T extends { lastId: string }>(redis: RedisClient, copies: Map<string, Promise<T>>): AsyncGenerator<[string, T]> {
  for (const [key, pending] of [...copies]) {
    const copy = await pending.catch(() => null);
    // Taken before asking: the reader goes on meanwhile, and an entry it gets after Redis answered
    // would otherwise look missing from that answer (a copy wrongly declared lost: the
    // Redis-restart test's flake, a REDIS_RESET to a subscriber of data Redis still held).
    const lastId = copy?.lastId ?? "0-0";
    if (copy === null || lastId === "0-0") continue;
    // A key that now holds another type is the reader's fault to report, not a lost copy.
    const newest = await xrevrangeTail(redis, key, 1).then(([e]) => e, (err: unknown) => (isReplyError(err) ? null : Promise.reject(err)));
    if (newest === undefined || (newest !== null && compareStreamIds(newest.id, lastId) < 0)) yield [key, copy];
  }
}

/** Reads a whole stream after `after`, in chunks, handing each chunk over as it arrives. */
export async function xrangeAll(
  redis: RedisClient,
  key: string,
  after: string,
  onChunk: (entries: StreamEntry[]) => void,
  chunk = 256,
): Promise<string> {
  let last = after;
  for (;;) {
    const entries = await xrangeAfter(redis, key, last, chunk);
    if (entries.length === 0) return last;
    onChunk(entries);
    last = entries[entries.length - 1].id;
  }
}

export type EntriesListener = (entries: StreamEntry[]) => void;

export interface StreamReaderOptions {
  /** Entries per key per XREAD. Default 1000. */
  count?: number;
  /** BLOCK timeout in ms; the loop re-arms after it. Default 5000. */
  blockMs?: number;
  log?: (message: string) => void;
  /** Where keys that cannot be read are recorded (and left out until their retry). Default: a registry of its own. */
  faults?: KeyFaults;
}

interface Tracked {
  lastId: string;
  listener: EntriesListener;
}

/** Delivers new entries of the streams it is asked to track (one Redis: BlockingStreamReader; a cluster: ClusterStreamReader). */
export interface StreamReader {
  start(): void;
  stop(): void;
  /** Delivers every entry of `key` after `afterId`, in order, until the returned function is called. */
  track(key: string, afterId: string, listener: EntriesListener): () => void;
}

/**
 * One blocking connection XREADs every tracked key from its last ID. Changing the key set wakes
 * the blocked call with CLIENT UNBLOCK from the command connection, since a connection blocked
 * in XREAD cannot take another command.
 */
export class BlockingStreamReader implements StreamReader {
  private tracked = new Map<string, Tracked>();
  private running = false;
  private blockedClientId: number | null = null;
  private clientIdError: string | null = null;
  private wake: (() => void) | null = null;
  /** Bumped on every change of the key set; the XREAD in flight was armed at `armed`. */
  private generation = 0;
  private armed = -1;
  private readonly count: number;
  private readonly blockMs: number;
  private readonly log: (message: string) => void;
  private readonly faults: KeyFaults;
  /** Consecutive failures not attributed to a key (Redis down): the delay before the next try grows with them. */
  private failures = 0;

  constructor(
    private readonly blocking: Redis,
    private readonly command: Redis,
    options: StreamReaderOptions = {},
  ) {
    this.count = options.count ?? 1000;
    this.blockMs = options.blockMs ?? 5000;
    this.log = options.log ?? (() => {});
    this.faults = options.faults ?? new KeyFaults(this.log);
    // A reconnect makes a new connection with a new client ID, and a restarted Redis hands the old
    // one to whichever client comes first: forgotten on close, read again before the next XREAD
    // (a CLIENT ID sent on "ready" would queue behind the XREAD ioredis resends, for up to blockMs).
    blocking.on("close", () => (this.blockedClientId = null));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.run().catch((err: Error) => this.log(`stream reader stopped: ${err.message}`));
  }

  /**
   * Stops delivering at once. A command still waiting on Redis is not awaited: on a connection
   * that is reconnecting, ioredis settles it only when Redis is back (never, once disconnected).
   */
  stop(): void {
    this.running = false;
    this.interrupt();
  }

  /** Delivers every entry of `key` after `afterId`, in order, until the returned function is called. */
  track(key: string, afterId: string, listener: EntriesListener): () => void {
    if (this.tracked.has(key)) throw new Error(`stream ${key} is already tracked`);
    const entry: Tracked = { lastId: afterId, listener };
    this.tracked.set(key, entry);
    this.interrupt();
    return () => {
      if (this.tracked.get(key) === entry) this.tracked.delete(key);
    };
  }

  private async refreshClientId(): Promise<void> {
    try {
      this.blockedClientId = Number(await this.blocking.client("ID"));
      this.clientIdError = null;
    } catch (err) {
      const message = (err as Error).message;
      // Tried again before each XREAD; said once.
      if (message !== this.clientIdError) this.log(`stream reader: cannot read its client id: ${message}`);
      this.clientIdError = message;
    }
  }

  private interrupt(): void {
    this.generation++;
    if (this.wake) {
      this.wake();
      this.wake = null;
    }
    this.unblock();
  }

  /**
   * An UNBLOCK that reaches Redis before the XREAD it targets is lost, so it is repeated until
   * the XREAD armed with the old key set has returned.
   */
  private unblock(): void {
    if (!this.running || this.armed < 0 || this.armed === this.generation) return;
    if (this.blockedClientId !== null && this.command.status === "ready") {
      this.command.client("UNBLOCK", this.blockedClientId).catch(() => {});
    }
    setTimeout(() => this.unblock(), 25).unref();
  }

  /** Waits `ms` (forever when null), or less if the key set changes. */
  private pause(ms: number | null): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === null ? undefined : setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.blockedClientId === null) await this.refreshClientId();
      // A key in its retry delay is left out: one bad key never fails the read of the others.
      const keys = [...this.tracked.keys()].filter((k) => !this.faults.waiting(k));
      if (keys.length === 0) {
        const retry = this.faults.nextRetry();
        await this.pause(this.tracked.size === 0 || retry === null ? null : Math.max(0, retry - Date.now()));
        continue;
      }
      const ids = keys.map((k) => (this.tracked.get(k) as Tracked).lastId);
      // Wake in time to take a key whose retry delay ends before the block would.
      const retry = this.faults.nextRetry();
      const blockMs = retry === null ? this.blockMs : Math.max(1, Math.min(this.blockMs, retry - Date.now()));
      let reply: unknown;
      this.armed = this.generation;
      try {
        reply = await this.blocking.callBuffer("XREAD", ["COUNT", this.count, "BLOCK", blockMs, "STREAMS", ...keys, ...ids]);
        this.armed = -1;
        if (!this.running) return;
      } catch (err) {
        this.armed = -1;
        if (!this.running) return;
        if (isReplyError(err) && (await this.quarantine(keys))) continue;
        await this.backoff(err as Error);
        continue;
      }
      if (this.failures > 0) this.log("stream reader: reading again");
      this.failures = 0;
      for (const key of keys) if (this.faults.error(key) !== null) this.faults.clear(key);
      for (const [key, raw] of streamsOf(reply)) {
        const tracked = this.tracked.get(key);
        if (tracked === undefined || raw.length === 0) continue;
        const entries = raw.map(toEntry).filter((e) => compareStreamIds(e.id, tracked.lastId) > 0);
        if (entries.length === 0) continue;
        tracked.lastId = entries[entries.length - 1].id;
        tracked.listener(entries);
      }
    }
  }

  /** Finds the keys Redis refused the XREAD for (not streams any more) and leaves them out until their retry. */
  private async quarantine(keys: string[]): Promise<boolean> {
    const pipeline = this.command.pipeline();
    for (const key of keys) pipeline.type(key);
    const types = ((await pipeline.exec().catch(() => null)) ?? []).map(([err, type]) => (err ? null : (type as string)));
    let found = false;
    keys.forEach((key, i) => {
      const type = types[i];
      if (type === null || type === undefined || type === "stream" || type === "none") return;
      this.faults.report(key, `${key} holds a ${type}, not a stream`);
      found = true;
    });
    return found;
  }

  /** A failure no key explains (Redis down, most often): said once, then retried ever more slowly. */
  private async backoff(err: Error): Promise<void> {
    if (this.failures === 0) this.log(`stream reader: XREAD failed (${err.message}); retrying with backoff`);
    this.failures++;
    await this.pause(Math.min(5000, 100 * 2 ** Math.min(this.failures, 6)));
  }
}
