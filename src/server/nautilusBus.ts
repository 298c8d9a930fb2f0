/**
 * The bridge from NautilusTrader's own Redis message bus to Chartbridge runs: it finds traders'
 * bus streams (SCAN), reads them (XREAD), and writes what they tell as runs in wire format v1 into
 * the same Redis (nautilusTranslator.ts), so the server's read path, level of detail, live batches
 * and UI chart a strategy that has no Chartbridge code at all.
 *
 * Each round's writes and the new bridge state (cursors included) go in one MULTI: after a crash
 * or restart the bridge resumes from the last committed cursor, with no gap and no duplicate.
 * Nautilus's keys share no hash tag, so this (like SCAN) needs a single Redis, not a Cluster.
 */
import type { ChainableCommander, Redis } from "ioredis";
import type { EntryFieldValues } from "../shared/encode.js";
import type { RedisKeys } from "../shared/protocol.js";
import { compareStreamIds } from "../shared/streamIds.js";
import type { BusTopic } from "./nautilusPayload.js";
import { parseTraderState, TraderTranslator, type BusEntry, type WriteSink } from "./nautilusTranslator.js";
import { streamsOf, toEntry, xrangeAfter, type StreamEntry } from "./redisStreams.js";

export interface NautilusBusOptions {
  /** Nautilus's `MessageBusConfig.streams_prefix`. Default `stream` (Nautilus's default). */
  streamsPrefix?: string;
  /**
   * How often new traders and streams are looked for, in ms. Default 2000. A look is one DBSIZE;
   * the keyspace is SCANned only when the number of keys changed, or every `rescanMs`.
   */
  scanIntervalMs?: number;
  /** The longest time without a SCAN, in ms (a key deleted and another made keep DBSIZE). Default 60000. */
  rescanMs?: number;
  /**
   * A run whose trader wrote nothing for this long, and never said it stopped, is ended (its node
   * died). Until then the bridge keeps its heartbeat fresh, so quiet minutes between live bars do
   * not end it. Default 600000 (10 minutes). A trader that stops (STOPPED, DISPOSED, FAULTED)
   * ends its run at once.
   */
  idleMs?: number;
  /** Entries read per stream per XREAD. Default 1000. */
  count?: number;
  /** XREAD BLOCK timeout in ms: also how soon a stopped trader or a new stream is seen. Default 1000. */
  blockMs?: number;
}

export interface NautilusBusStats {
  traders: number;
  /** Bus entries translated (including those skipped) since the server started. */
  entries: number;
  /** Bus entries skipped as invalid since the server started (also counted per trader in Redis). */
  skipped: number;
}

/** The topics charted, by prefix: 1.x's fills are `events.fills.<instrument>`, 2.x's `events.order_filled.<instrument>`. */
const FAMILIES: [string, BusTopic][] = [
  ["data.bars.", "bars"],
  ["events.fills.", "fills"],
  ["events.order_filled.", "fills"],
  ["events.position.", "positions"],
  ["events.system.", "system"],
  ["health:heartbeat", "heartbeat"],
];

/** `trader-<id>[:<instance id>]` or `<id>[:<instance id>]`: no hash tags, no spaces. */
const TRADER_KEY = /^[!-~]+$/;

interface Trader {
  key: string;
  streams: Map<string, BusTopic>;
  /** events.system.<trader id>: the Trader component's state changes (start and stop of a run). */
  system: string | null;
  traderId: string;
}

class MultiSink implements WriteSink {
  writes = 0;
  constructor(readonly multi: ChainableCommander) {}
  hset(key: string, fields: Record<string, string>): void {
    this.writes++;
    this.multi.hset(key, fields);
  }
  zadd(key: string, score: number, member: string): void {
    this.writes++;
    this.multi.zadd(key, score, member);
  }
  xadd(key: string, fields: EntryFieldValues, maxlen?: number): void {
    this.writes++;
    const args = Object.entries(fields).flatMap(([name, value]) => [name, typeof value === "string" ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)]);
    if (maxlen === undefined) this.multi.xadd(key, "*", ...args);
    else this.multi.xadd(key, "MAXLEN", "~", maxlen, "*", ...args);
  }
}

export class NautilusBus {
  private traders = new Map<string, Trader>();
  /** Loaded lazily from Redis; dropped on any error or reconnect, so Redis stays the truth. */
  private translators = new Map<string, TraderTranslator>();
  /** The state JSON each translator was loaded from or last committed: another bridge's commit changes it. */
  private committed = new Map<string, string | null>();
  private running = false;
  private loop: Promise<void> | null = null;
  private lastScan = 0;
  private lastFullScan = 0;
  private lastDbSize = -1;
  private statsNow: NautilusBusStats = { traders: 0, entries: 0, skipped: 0 };
  private readonly streamsPrefix: string;
  private readonly scanIntervalMs: number;
  private readonly rescanMs: number;
  private readonly idleMs: number;
  private readonly count: number;
  private readonly blockMs: number;

  /** WATCH/MULTI are per connection, and XREAD BLOCK holds one: the bridge has two of its own. */
  private readonly command: Redis;
  private readonly blocking: Redis;

  constructor(
    /** A new connection to the server's Redis (src/server/redisConnection.ts), errors watched there. */
    open: () => Redis,
    private readonly keys: RedisKeys,
    private readonly prefix: string,
    private readonly log: (message: string) => void,
    options: NautilusBusOptions = {},
  ) {
    this.streamsPrefix = options.streamsPrefix ?? "stream";
    this.scanIntervalMs = options.scanIntervalMs ?? 2000;
    this.rescanMs = options.rescanMs ?? 60_000;
    this.idleMs = options.idleMs ?? 600_000;
    this.count = options.count ?? 1000;
    this.blockMs = options.blockMs ?? 1000;
    this.command = open();
    this.blocking = open();
    // A reconnect may be to a Redis that restarted empty: state is read again, not trusted.
    this.command.on("ready", () => this.translators.clear());
  }

  stats(): NautilusBusStats {
    return { ...this.statsNow, traders: this.traders.size };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops the loop; closing the blocking connection ends an XREAD in flight at once. */
  async stop(): Promise<void> {
    this.running = false;
    this.blocking.disconnect();
    await this.loop;
    this.command.disconnect();
  }

  /** Where a trader's bridge state lives (outside any run, so deleting a run keeps it deleted). */
  private stateKey(trader: string): string {
    return `${this.prefix}:nautilus:${trader}`;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (Date.now() - this.lastScan >= this.scanIntervalMs) {
          this.lastScan = Date.now();
          // SCAN walks the whole keyspace, which on a big shared Redis is real work every 2 s;
          // new traders and topics are new keys, so an unchanged key count means nothing new.
          const size = await this.command.dbsize();
          if (size !== this.lastDbSize || this.lastScan - this.lastFullScan >= this.rescanMs) {
            await this.discover();
            this.lastDbSize = size;
            this.lastFullScan = this.lastScan;
          }
        }
        if (this.traders.size === 0) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(this.scanIntervalMs, 250)));
          continue;
        }
        await this.round();
      } catch (err) {
        if (!this.running) return;
        this.translators.clear();
        this.log(`nautilus bus: ${(err as Error).message}; retrying`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /**
   * One SCAN for `*:<streams prefix>:*` streams; a trader counts once it has something to chart:
   * a bars, fills or positions stream (a strategy trading on quotes alone has no bars).
   */
  private async discover(): Promise<void> {
    const marker = `:${this.streamsPrefix}:`;
    const found = new Map<string, Map<string, BusTopic>>();
    let cursor = "0";
    do {
      const [next, keys] = await this.command.scan(cursor, "MATCH", `*${marker}*`, "COUNT", 1000, "TYPE", "stream");
      cursor = next;
      for (const key of keys) {
        const at = key.indexOf(marker);
        const trader = key.slice(0, at);
        if (at <= 0 || !TRADER_KEY.test(trader) || trader.includes("{") || trader.split(":").length > 2) continue;
        const topic = key.slice(at + marker.length);
        const family = FAMILIES.find(([start]) => topic.startsWith(start));
        if (family === undefined) continue;
        let streams = found.get(trader);
        if (streams === undefined) found.set(trader, (streams = new Map()));
        streams.set(key, family[1]);
      }
    } while (cursor !== "0");
    for (const [key, streams] of found) {
      if (![...streams.values()].some((topic) => topic !== "system" && topic !== "heartbeat")) continue;
      const known = this.traders.get(key);
      const head = key.split(":")[0];
      // Without a system stream (2.x writes none) the trader id is the key's head, less Nautilus's default "trader-".
      const trader = known ?? { key, streams: new Map(), system: null, traderId: head.replace(/^trader-/, "") };
      // The Trader's own system stream is events.system.<trader id>, with or without "trader-".
      for (const id of [head.replace(/^trader-/, ""), head]) {
        const system = `${key}${marker}events.system.${id}`;
        if (streams.has(system)) {
          trader.system = system;
          trader.traderId = id;
          break;
        }
      }
      for (const [stream, topic] of streams) if (topic !== "system") trader.streams.set(stream, topic);
      if (known === undefined) {
        this.traders.set(key, trader);
        this.log(`nautilus bus: charting trader ${key} (${trader.streams.size} streams)`);
      }
    }
  }

  private async translator(trader: Trader): Promise<TraderTranslator> {
    let t = this.translators.get(trader.key);
    if (t === undefined) {
      const raw = await this.command.get(this.stateKey(trader.key));
      t = new TraderTranslator(trader.key, trader.traderId, parseTraderState(raw), this.keys, this.log);
      this.committed.set(trader.key, raw);
      this.translators.set(trader.key, t);
    }
    return t;
  }

  /** One XREAD over every trader's data streams, then each trader's entries translated and committed. */
  private async round(): Promise<void> {
    const translators = new Map<string, TraderTranslator>();
    for (const trader of this.traders.values()) translators.set(trader.key, await this.translator(trader));
    const keys: string[] = [];
    const ids: string[] = [];
    for (const trader of this.traders.values()) {
      const cursors = (translators.get(trader.key) as TraderTranslator).state.cursors;
      for (const key of trader.streams.keys()) {
        keys.push(key);
        ids.push(cursors[key] ?? "0-0");
      }
    }
    const reply = await this.blocking.callBuffer("XREAD", ["COUNT", this.count, "BLOCK", this.blockMs, "STREAMS", ...keys, ...ids]);
    const read = new Map<string, StreamEntry[]>();
    for (const [key, raw] of streamsOf(reply)) read.set(key, raw.map(toEntry));
    for (const trader of this.traders.values()) await this.commit(trader, translators.get(trader.key) as TraderTranslator, read);
  }

  private async commit(trader: Trader, current: TraderTranslator, read: Map<string, StreamEntry[]>): Promise<void> {
    const entries: BusEntry[] = [];
    // A stream that returned a full COUNT may hold more: entries of other streams after its last
    // one wait for the next round, so entries are translated in stream-ID order across streams.
    let horizon: string | null = null;
    for (const [stream, topic] of trader.streams) {
      const got = read.get(stream) ?? [];
      for (const entry of got) entries.push({ stream, topic, entry });
      const last = got[got.length - 1];
      if (got.length >= this.count && last !== undefined && (horizon === null || compareStreamIds(last.id, horizon) < 0)) horizon = last.id;
    }
    // The system stream is read after the data: a start written before a data entry is seen with it.
    if (trader.system !== null) {
      let after = current.state.cursors[trader.system] ?? "0-0";
      for (;;) {
        const got = await xrangeAfter(this.command, trader.system, after, 1000);
        for (const entry of got) entries.push({ stream: trader.system, topic: "system", entry });
        if (got.length < 1000) break;
        after = got[got.length - 1].id;
      }
    }
    entries.sort((a, b) => compareStreamIds(a.entry.id, b.entry.id));
    const todo = horizon === null ? entries : entries.filter((e) => compareStreamIds(e.entry.id, horizon as string) <= 0);

    // Runs the user deleted stay deleted: their later entries are dropped.
    const runs = current.liveRuns();
    if (runs.length > 0) {
      const check = this.command.pipeline();
      for (const run of runs) check.zscore(this.keys.runs, run);
      const scores = (await check.exec()) ?? [];
      runs.forEach((run, i) => {
        const [err, score] = scores[i] ?? [null, null];
        if (err === null && score === null) {
          current.markDeleted(run);
          this.log(`nautilus bus: run ${run} was deleted; its trader's later entries of it are not charted`);
        }
      });
    }

    // Two servers on one Redis and prefix (two windows) must not both write a trader's run:
    // optimistic locking on the state key, which every commit rewrites. A changed state means
    // another bridge moved on; reload it and read again from its cursors.
    const stateKey = this.stateKey(trader.key);
    await this.command.watch(stateKey);
    if ((await this.command.get(stateKey)) !== this.committed.get(trader.key)) {
      await this.command.unwatch();
      this.translators.delete(trader.key);
      return;
    }
    // Translated on a copy: the in-memory state moves on only once Redis holds the writes.
    const next = new TraderTranslator(trader.key, trader.traderId, structuredClone(current.state), this.keys, this.log, current.beats);
    const multi = this.command.multi();
    const sink = new MultiSink(multi);
    const skippedBefore = next.state.skipped;
    next.apply(todo, sink);
    // A trader with entries still unread is not quiet: a backlog read in rounds (a backtest read
    // after its end) would end its run between rounds, and its next entries begin another.
    if (horizon === null) next.tick(Date.now(), this.idleMs, sink);
    const json = JSON.stringify(next.state);
    // Nothing queued is sent: a pipelined MULTI goes to Redis only on exec. A state changed with
    // no writes (a deleted run ending) is committed still.
    if (todo.length === 0 && sink.writes === 0 && json === this.committed.get(trader.key)) {
      await this.command.unwatch();
      return;
    }
    multi.set(stateKey, json);
    const results = await multi.exec();
    if (results === null) {
      // Another bridge committed between our WATCH and EXEC: nothing of ours was written.
      this.translators.delete(trader.key);
      return;
    }
    const failed = results.find(([err]) => err !== null);
    if (failed !== undefined) throw new Error(`commit for ${trader.key} failed: ${failed[0]?.message}`);
    this.translators.set(trader.key, next);
    this.committed.set(trader.key, json);
    this.statsNow.entries += todo.length;
    this.statsNow.skipped += next.state.skipped - skippedBefore;
  }
}
