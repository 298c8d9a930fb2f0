/**
 * Loads a series' stream into a SeriesStore on first use and keeps it current from the shared
 * StreamReader. Each entry is decoded and validated exactly once here, so rejection counts are
 * the same whoever asks.
 */
import { GraphQLError } from "graphql";
import type { RedisClient } from "./redisConnection.js";
import { decodeEntry } from "../shared/decode.js";
import { isReplyError, keyError, type KeyFaults } from "./keyFaults.js";
import { loadOnce } from "./loadOnce.js";
import type { RedisKeys, SeriesKind } from "../shared/protocol.js";
import { lostCopies, xrangeAll, type StreamEntry, type StreamReader } from "./redisStreams.js";
import { SeriesStore } from "./seriesStore.js";

export interface SeriesCacheOptions {
  log: (message: string) => void;
  /** Where a series key Redis refuses (another type) is reported, once. */
  faults: KeyFaults;
  /** Memory for cached series; beyond it the least recently used unfollowed ones are dropped. Default 1 GiB. */
  budgetBytes?: number;
}

export class SeriesCache {
  private stores = new Map<string, Promise<SeriesStore>>();
  private untrack = new Map<string, () => void>();
  /** Loaded stores by key, in least-recently-used order (a Map iterates in insertion order). */
  private loaded = new Map<string, SeriesStore>();
  private readonly budget: number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisClient,
    private readonly reader: StreamReader,
    private readonly keys: RedisKeys,
    private readonly options: SeriesCacheOptions,
  ) {
    this.budget = options.budgetBytes ?? 1 << 30;
    // Live points grow stores between requests too.
    this.sweeper = setInterval(() => this.enforceBudget(), 2000).unref();
  }

  /** Bytes held by loaded series. */
  get bytes(): number {
    let total = 0;
    for (const store of this.loaded.values()) total += store.bytes;
    return total;
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  /**
   * Drops least recently used series nobody follows until the cache fits its budget; `keep` (the
   * series being handed to a caller) stays even when it alone is over budget.
   */
  enforceBudget(keep?: string): void {
    let total = this.bytes;
    for (const [key, store] of this.loaded) {
      if (total <= this.budget) return;
      if (store.followers > 0 || key === keep) continue;
      total -= store.bytes;
      this.options.log(`cache over ${this.budget} bytes: dropped ${key} (${store.length} points; reloaded from Redis when asked for again)`);
      this.forget(key);
    }
  }

  /** The store of a series, loading its history first; `kind` comes from the registry. */
  get(run: string, series: string, kind: SeriesKind): Promise<SeriesStore> {
    const key = this.keys.series(run, series);
    const store = this.loaded.get(key);
    if (store !== undefined) {
      this.loaded.delete(key);
      this.loaded.set(key, store);
    }
    return loadOnce(this.stores, key, () => this.load(key, kind));
  }

  /** Why the series' key cannot be read now (e.g. it holds another Redis type), or null. */
  fault(run: string, series: string): string | null {
    return this.options.faults.error(this.keys.series(run, series));
  }

  /** Drops every cached series of a run (it was deleted). */
  forgetRun(run: string): void {
    const prefix = this.keys.series(run, "");
    for (const key of [...this.stores.keys()]) if (key.startsWith(prefix)) this.forget(key);
  }

  /**
   * After Redis restarted: a series whose stream no longer reaches the last entry we read lost
   * its data (a Redis without persistence). Its copy is dropped and its subscribers told to reload;
   * the others continue from their last ID with nothing lost or repeated.
   */
  async verify(): Promise<void> {
    for await (const [key, store] of lostCopies(this.redis, this.stores)) {
      this.options.log(`${key}: Redis no longer holds entry ${store.lastId}; clients reload`);
      this.forget(key);
      store.invalidate(`Redis restarted without the data of ${key}; reload the chart`);
    }
  }

  private forget(key: string): void {
    this.stores.delete(key);
    this.loaded.delete(key);
    this.untrack.get(key)?.();
    this.untrack.delete(key);
  }

  private async load(key: string, kind: SeriesKind): Promise<SeriesStore> {
    const store = new SeriesStore(kind);
    const apply = (entries: StreamEntry[]) => this.apply(key, store, entries);
    try {
      await xrangeAll(this.redis, key, "0-0", apply);
    } catch (err) {
      if (!isReplyError(err)) throw err;
      // This series alone cannot be read: said on it (Series.error, this request's error), once in the log.
      const message = await keyError(this.redis, key, "stream", err);
      this.options.faults.report(key, message);
      throw new GraphQLError(message, { extensions: { code: "KEY_FAULT" } });
    }
    this.options.faults.clear(key);
    // The reader continues exactly after the last entry read, so nothing falls between the two.
    this.untrack.set(key, this.reader.track(key, store.lastId, apply));
    this.loaded.set(key, store);
    this.enforceBudget(key);
    return store;
  }

  private apply(key: string, store: SeriesStore, entries: StreamEntry[]): void {
    const decoded = entries.map(({ id, fields }) => ({ id, result: decodeEntry(fields, store.kind) }));
    // Room for the whole chunk at once: growing entry by entry copies a loading series again and again.
    store.reserve(decoded.reduce((sum, { result }) => sum + (result.ok ? result.batch.n : 0), 0));
    for (const { id, result } of decoded) {
      if (result.ok) {
        store.apply(id, result.batch);
      } else {
        store.reject(id, result.error);
        this.options.log(`rejected entry ${id} of ${key}: ${result.error.code}: ${result.error.message}`);
      }
    }
  }
}
