/**
 * Typed stream reads over ioredis with binary-safe fields (point columns are raw bytes), and the
 * one blocking XREAD loop that fans new entries out to whoever tracks a key.
 */
import type { Redis } from "ioredis";
import { compareStreamIds } from "../shared/streamIds.js";

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
export async function xrangeAfter(redis: Redis, key: string, after: string, count: number): Promise<StreamEntry[]> {
  const raw = (await redis.callBuffer("XRANGE", [key, after === "0-0" ? "-" : `(${after}`, "+", "COUNT", count])) as RawEntry[];
  return raw.map(toEntry);
}

/** The newest `count` entries of a stream, newest first. */
export async function xrevrangeTail(redis: Redis, key: string, count: number): Promise<StreamEntry[]> {
  const raw = (await redis.callBuffer("XREVRANGE", [key, "+", "-", "COUNT", count])) as RawEntry[];
  return raw.map(toEntry);
}

/**
 * The in-memory copies of streams (keyed by stream key, each knowing the last ID it read) whose
 * stream in Redis no longer reaches that ID: Redis restarted without their data.
 */
export async function* lostCopies<T extends { lastId: string }>(redis: Redis, copies: Map<string, Promise<T>>): AsyncGenerator<[string, T]> {
  for (const [key, pending] of [...copies]) {
    const copy = await pending.catch(() => null);
    if (copy === null || copy.lastId === "0-0") continue;
    const [newest] = await xrevrangeTail(redis, key, 1);
    if (newest === undefined || compareStreamIds(newest.id, copy.lastId) < 0) yield [key, copy];
  }
}

/** Reads a whole stream after `after`, in chunks, handing each chunk over as it arrives. */
export async function xrangeAll(
  redis: Redis,
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
}

interface Tracked {
  lastId: string;
  listener: EntriesListener;
}

/**
 * One blocking connection XREADs every tracked key from its last ID. Changing the key set wakes
 * the blocked call with CLIENT UNBLOCK from the command connection, since a connection blocked
 * in XREAD cannot take another command.
 */
export class StreamReader {
  private tracked = new Map<string, Tracked>();
  private running = false;
  private loop: Promise<void> | null = null;
  private blockedClientId: number | null = null;
  private wake: (() => void) | null = null;
  /** Bumped on every change of the key set; the XREAD in flight was armed at `armed`. */
  private generation = 0;
  private armed = -1;
  private readonly count: number;
  private readonly blockMs: number;
  private readonly log: (message: string) => void;

  constructor(
    private readonly blocking: Redis,
    private readonly command: Redis,
    options: StreamReaderOptions = {},
  ) {
    this.count = options.count ?? 1000;
    this.blockMs = options.blockMs ?? 5000;
    this.log = options.log ?? (() => {});
    // A reconnect makes a new connection with a new client ID.
    blocking.on("ready", () => void this.refreshClientId());
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.interrupt();
    await this.loop;
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
    } catch (err) {
      this.log(`stream reader: cannot read its client id: ${(err as Error).message}`);
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
    if (this.armed < 0 || this.armed === this.generation) return;
    if (this.blockedClientId !== null && this.command.status === "ready") {
      this.command.client("UNBLOCK", this.blockedClientId).catch(() => {});
    }
    setTimeout(() => this.unblock(), 25).unref();
  }

  private async run(): Promise<void> {
    if (this.blockedClientId === null) await this.refreshClientId();
    while (this.running) {
      if (this.tracked.size === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      const keys = [...this.tracked.keys()];
      const ids = keys.map((k) => (this.tracked.get(k) as Tracked).lastId);
      let reply: unknown;
      this.armed = this.generation;
      try {
        reply = (await this.blocking.callBuffer("XREAD", [
          "COUNT",
          this.count,
          "BLOCK",
          this.blockMs,
          "STREAMS",
          ...keys,
          ...ids,
        ]));
        this.armed = -1;
      } catch (err) {
        this.armed = -1;
        if (!this.running) return;
        this.log(`stream reader: XREAD failed (${(err as Error).message}); retrying`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
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
}
