/**
 * Turns one Nautilus trader's bus entries (in stream-ID order) into Chartbridge runs in wire
 * format v1: which run an entry belongs to, which series it extends, and the writes that does.
 * No Redis I/O: writes go to a sink (a MULTI in nautilusBus.ts), and the state that must survive
 * a server restart (cursors, open positions, each series' last time) is one JSON value.
 *
 * One trader's streams hold every backtest it ran (Nautilus appends; simulated time restarts), so
 * each start of the Trader component (its ComponentStateChanged STARTING on events.system.<id>)
 * begins a new run; 2.x writes no such start, so there a point before the last of its series (time
 * restarted) does. Stream IDs are Redis wall-clock time and so order entries across streams.
 */
import { encodeBatch, type EntryFieldValues } from "../shared/encode.js";
import { LIMITS, type Marker, type RedisKeys, type SeriesInfo, type SeriesKind } from "../shared/protocol.js";
import { compareStreamIds } from "../shared/streamIds.js";
import { decodeBusEntry, type BusPoint, type BusTopic } from "./nautilusPayload.js";
import { barsInfo, barsSeriesId, decimalsOf, fillMarker, fillsInfo, fillsSeriesId, positionInfo, positionSeriesId, sumDecimals } from "./nautilusSeries.js";
import type { StreamEntry } from "./redisStreams.js";

/** The writes one round makes, all in one MULTI with the new state. */
export interface WriteSink {
  hset(key: string, fields: Record<string, string>): void;
  zadd(key: string, score: number, member: string): void;
  xadd(key: string, fields: EntryFieldValues, maxlen?: number): void;
}

interface SeriesState {
  kind: SeriesKind;
  /** Time of the last point written, ns as a decimal string (JSON has no bigint). */
  lastNs: string;
}

interface SessionState {
  run: string;
  /** Stream ID of the Trader's STARTING entry ("0-0": entries before any start was seen). */
  startId: string;
  /** Wall-clock ms the run started (the STARTING entry's, else the first entry's, stream ID). */
  startMs: number;
  status: "running" | "ended";
  /** Wall-clock ms of the newest bus entry of this session (its stream ID). */
  lastEntryMs: number;
  /** True once the run's manifest and runs member are written. */
  created: boolean;
  /** The user deleted the run: later entries of this session are dropped, not written again. */
  deleted: boolean;
  /** Ended by the idle rule (its trader never said it stopped): a later entry begins a new run. */
  idle?: boolean;
  /** Begun by an entry after an idle end, not by a Trader start (as a startId of "0-0" is). */
  unstarted?: boolean;
  /** Wall-clock ms of the node's last heartbeat (its stream ID), and the time between its last two. */
  beatMs?: number;
  beatEveryMs?: number;
  series: Record<string, SeriesState>;
  /** Instrument -> the first bar series of it: the fills' target. */
  bars: Record<string, string>;
  /**
   * Per instrument, the fills of one order at one time (its parts) not yet written, in the order of
   * their first fills: each becomes one marker once its time is over (SPEC section 8). Absent in a
   * state written before partial fills were grouped.
   */
  openFills?: Record<string, OpenFill[]>;
  /** Open positions by position id, signed decimal quantities: the net position of an instrument is their sum. */
  positions: Record<string, { instrument: string; qty: string }>;
}

interface OpenFill {
  order: string;
  /** ns, as a decimal string (JSON has no bigint). */
  tNs: string;
  side: "BUY" | "SELL";
  parts: { qty: string; price: string }[];
  positions: string[];
  /** Wall-clock ms of the last part's bus entry (its stream ID). */
  lastMs: number;
}

export interface TraderState {
  v: 1;
  /** Last translated entry ID per bus stream key. */
  cursors: Record<string, string>;
  sessions: SessionState[];
  /** Sessions were dropped (KEPT_SESSIONS): an entry older than every kept one has no run. */
  pruned: boolean;
  skipped: number;
}

export function emptyTraderState(): TraderState {
  return { v: 1, cursors: {}, sessions: [], pruned: false, skipped: 0 };
}

export function parseTraderState(raw: string | null): TraderState {
  if (raw === null) return emptyTraderState();
  const value = JSON.parse(raw) as TraderState;
  if (value.v !== 1 || typeof value.cursors !== "object" || !Array.isArray(value.sessions)) throw new Error("bridge state is not version 1");
  return value;
}

export interface BusEntry {
  stream: string;
  topic: BusTopic;
  entry: StreamEntry;
}

/** Older sessions' state is dropped: only the newest ones can still receive entries. */
const KEPT_SESSIONS = 10;
/** Trader states after which the run is over (a crash writes none: the idle rule covers it). */
const ENDED_STATES = new Set(["STOPPED", "DISPOSED", "FAULTED"]);
/**
 * Nautilus's Redis writer does not keep the order of its streams: under load a first bar was
 * seen with a stream ID 20 ms before the Trader's STARTING entry, and opened a run of its own.
 * A run opened by entries with no start before them, this shortly before a start, is that start's.
 */
const START_SKEW_MS = 2000;
/** A node with heartbeats is gone once it missed this many... */
const MISSED_BEATS = 3;
/**
 * ...and was quiet this long at least, as is a backtest (the server's and Redis's clocks may
 * differ by a few seconds).
 */
const MIN_QUIET_MS = 10_000;
/**
 * A run whose newest point is this far in time from its newest entry's stream ID (Redis's clock)
 * replays data: a backtest, whose time is its data's. It wrote all it had as fast as it could.
 */
const SIMULATED_OFFSET_MS = 3_600_000;
/** Skips logged one by one per trader, then every this many. */
const LOGGED_SKIPS = 1000;

const msOf = (id: string) => Number(id.split("-")[0]);
const nsOfMs = (ms: number) => String(BigInt(ms) * 1_000_000n);

/** `EUR/USD.SIM-1-MINUTE-LAST-EXTERNAL` -> `EUR/USD.SIM` (step, aggregation, price type, source are the last four). */
export function instrumentOfBarType(barType: string): string {
  const parts = barType.split("@")[0].split("-");
  return parts.length >= 5 ? parts.slice(0, -4).join("-") : barType;
}

/** The entries that are points of a series. */
type SeriesPoint = Extract<BusPoint, { type: "bar" | "fill" | "position" }>;

const isSeriesPoint = (p: BusPoint): p is SeriesPoint => p.type === "bar" || p.type === "fill" || p.type === "position";

/** The series a point extends (SPEC section 8). */
function seriesIdOf(p: SeriesPoint): string {
  if (p.type === "bar") return barsSeriesId(p.barType);
  return p.type === "fill" ? fillsSeriesId(p.instrument) : positionSeriesId(p.instrument);
}

/** Whether a session's points are simulated time (SIMULATED_OFFSET_MS). */
function simulated(s: SessionState): boolean {
  const newest = Object.values(s.series).reduce((max, x) => (BigInt(x.lastNs) > max ? BigInt(x.lastNs) : max), 0n);
  return newest > 0n && Math.abs(Number(newest / 1_000_000n) - s.lastEntryMs) > SIMULATED_OFFSET_MS;
}

/** Run id from the trader's key prefix and the session's start, valid per SPEC section 1. */
export function runIdOf(traderKey: string, startMs: number): string {
  const suffix = `-${startMs}`;
  const base = `nautilus-${traderKey.replace(/:/g, ".").replace(/[^A-Za-z0-9_.-]/g, "_")}`;
  return base.slice(0, 128 - suffix.length) + suffix;
}

interface Pending {
  session: SessionState;
  seriesId: string;
  kind: SeriesKind;
  t: bigint[];
  y: number[];
  o: number[];
  h: number[];
  l: number[];
  c: number[];
  vol: number[];
  m: Marker[];
}

export class TraderTranslator {
  constructor(
    readonly traderKey: string,
    /** The trader id, for the manifest's strategy field. */
    readonly traderId: string,
    public state: TraderState,
    private readonly keys: RedisKeys,
    private readonly log: (message: string) => void,
    /** Last heartbeat write per run, wall-clock ms (not persisted: a restart writes one at once). */
    readonly beats = new Map<string, number>(),
  ) {}

  /** Runs written so far and not known to be deleted (the bus checks they still exist). */
  liveRuns(): string[] {
    return this.state.sessions.filter((s) => s.created && !s.deleted).map((s) => s.run);
  }

  markDeleted(run: string): void {
    for (const s of this.state.sessions) if (s.run === run) s.deleted = true;
  }

  /**
   * Translates `entries` (sorted by stream ID, across this trader's streams) into writes on
   * `sink`, and advances the cursors. Mutates `state`: the caller applies it to a copy and keeps
   * the copy only once the writes committed.
   */
  apply(entries: readonly BusEntry[], sink: WriteSink): void {
    const pending = new Map<string, Pending>();
    for (const { stream, topic, entry } of entries) {
      this.state.cursors[stream] = entry.id;
      const decoded = decodeBusEntry(topic, entry.fields);
      if (decoded.ok && decoded.point.type === "trader") {
        this.traderState(entry.id, decoded.point.state, sink, pending);
        continue;
      }
      let session = this.sessionOf(entry.id);
      if (session === null) {
        this.skip(null, stream, entry.id, "its run's bridge state was dropped (more than 10 newer runs)", sink);
        continue;
      }
      if (decoded.ok) session = this.restarted(session, decoded.point, entry.id, sink, pending);
      session.lastEntryMs = Math.max(session.lastEntryMs, msOf(entry.id));
      if (decoded.ok && decoded.point.type === "heartbeat") {
        const ms = msOf(entry.id);
        if (session.beatMs !== undefined && ms > session.beatMs) session.beatEveryMs = ms - session.beatMs;
        session.beatMs = ms;
        continue;
      }
      if (session.deleted) continue;
      if (topic !== "system") this.create(session, sink);
      if (!decoded.ok) {
        this.skip(session, stream, entry.id, decoded.reason, sink);
        continue;
      }
      const reason = this.point(session, decoded.point, msOf(entry.id), pending, sink);
      if (reason !== null) this.skip(session, stream, entry.id, reason, sink);
    }
    // Fills after a run's end (a strategy closing its positions as it stops) have no later entry to wait for.
    for (const s of this.state.sessions) if (s.status === "ended" && s.created && !s.deleted) this.closeFills(s, null, s.lastEntryMs, pending);
    for (const p of pending.values()) this.flush(p, sink);
  }

  /**
   * Keeps running runs' heartbeats fresh while their trader writes (a live node may be quiet
   * between bars for longer than the 30 s a reader allows), and ends a run whose streams stayed
   * idle for `idleMs` without the trader saying it stopped (it crashed, or was killed, or it is a
   * 2.x node, which says nothing of stopping); a node that sends heartbeats is idle once it missed
   * MISSED_BEATS of them, a backtest (simulated time) once it was quiet for MIN_QUIET_MS.
   */
  tick(nowMs: number, idleMs: number, sink: WriteSink): void {
    for (const s of this.state.sessions) {
      if (s.status !== "running" || !s.created) continue;
      let quietMs = idleMs;
      if (s.beatEveryMs !== undefined) quietMs = Math.min(idleMs, Math.max(MISSED_BEATS * s.beatEveryMs, MIN_QUIET_MS));
      else if (simulated(s)) quietMs = Math.min(idleMs, MIN_QUIET_MS);
      if (nowMs - s.lastEntryMs > quietMs) {
        // A deleted run ends too (writing nothing): the trader's next entries are a new run, charted.
        const pending = new Map<string, Pending>();
        s.idle = true;
        this.end(s, s.lastEntryMs, sink, pending);
        for (const p of pending.values()) this.flush(p, sink);
      } else if (!s.deleted && nowMs - (this.beats.get(s.run) ?? 0) >= 2000) {
        this.beats.set(s.run, nowMs);
        sink.hset(this.keys.manifest(s.run), { heartbeat: nsOfMs(nowMs) });
      }
    }
  }

  private traderState(id: string, state: string, sink: WriteSink, pending: Map<string, Pending>): void {
    if (state === "STARTING") {
      const current = this.state.sessions[this.state.sessions.length - 1];
      if (current !== undefined && (current.startId === "0-0" || current.unstarted === true) && current.status === "running" && msOf(id) - current.startMs <= START_SKEW_MS) {
        current.startId = `${current.startMs}-0`; // started now: a later start is a new run
        delete current.unstarted;
        return;
      }
      if (current !== undefined && current.status === "running") this.end(current, msOf(id), sink, pending);
      this.begin(id);
      return;
    }
    const session = this.sessionOf(id);
    if (session === null) return;
    session.lastEntryMs = Math.max(session.lastEntryMs, msOf(id));
    if (ENDED_STATES.has(state) && session.status === "running") this.end(session, msOf(id), sink, pending);
  }

  /**
   * A point before the last of its series, in the newest run and one no Trader start began (2.x
   * writes none), is the trader's next backtest, run within idleMs of the last (its simulated time
   * restarted): it ends that run and begins a new one, rather than being skipped.
   */
  private restarted(s: SessionState, p: BusPoint, id: string, sink: WriteSink, pending: Map<string, Pending>): SessionState {
    const sessions = this.state.sessions;
    if (s !== sessions[sessions.length - 1] || s.status !== "running" || !(s.startId === "0-0" || s.unstarted === true) || !isSeriesPoint(p)) return s;
    const last = s.series[seriesIdOf(p)]?.lastNs;
    if (last === undefined || p.tNs >= BigInt(last)) return s;
    this.end(s, s.lastEntryMs, sink, pending);
    return Object.assign(this.begin(id), { unstarted: true });
  }

  private newSession(startId: string, ms: number): SessionState {
    return {
      run: runIdOf(this.traderKey, ms),
      startId,
      startMs: ms,
      status: "running",
      lastEntryMs: ms,
      created: false,
      deleted: false,
      series: {},
      bars: {},
      openFills: {},
      positions: {},
    };
  }

  /** A new session from entry `id` on; older ones beyond KEPT_SESSIONS are dropped. */
  private begin(id: string): SessionState {
    const session = this.newSession(id, msOf(id));
    this.state.sessions.push(session);
    if (this.state.sessions.length > KEPT_SESSIONS) {
      this.state.sessions = this.state.sessions.slice(-KEPT_SESSIONS);
      this.state.pruned = true;
    }
    return session;
  }

  /**
   * The session an entry belongs to: the last one started at or before it. After a run ended for
   * idleness, the trader's next entry begins a new one (2.x writes no Trader start: a node started
   * again on the same trader id is known only by the quiet before it).
   */
  private sessionOf(id: string): SessionState | null {
    const sessions = this.state.sessions;
    const last = sessions[sessions.length - 1];
    if (last !== undefined && last.idle === true && msOf(id) > last.lastEntryMs) return Object.assign(this.begin(id), { unstarted: true });
    for (let i = sessions.length - 1; i >= 0; i--) if (compareStreamIds(sessions[i].startId, id) <= 0) return sessions[i];
    if (this.state.pruned) return null;
    // Entries before any Trader start (no system stream, or it was trimmed) make one run of their own.
    const implicit = this.newSession("0-0", msOf(id));
    sessions.unshift(implicit);
    return implicit;
  }

  private create(s: SessionState, sink: WriteSink): void {
    if (s.created) return;
    s.created = true;
    const manifest = this.keys.manifest(s.run);
    sink.hset(manifest, {
      v: "1",
      run: s.run,
      strategy: this.traderId,
      source: "",
      // Nautilus wrote these streams; the bridge is the producer of the run.
      language: "nautilus",
      started: nsOfMs(s.startMs),
      heartbeat: nsOfMs(s.lastEntryMs),
      status: s.status,
      nautilus_trader: this.traderKey,
    });
    sink.zadd(this.keys.runs, s.startMs, s.run);
    sink.xadd(this.keys.runlog, { run: s.run, type: "start" }, 10000);
  }

  /** Ends a run; its last fill markers (nothing can join them now) go to `pending`. */
  private end(s: SessionState, atMs: number, sink: WriteSink, pending: Map<string, Pending>): void {
    s.status = "ended";
    if (!s.created || s.deleted) return;
    this.closeFills(s, null, atMs, pending);
    sink.hset(this.keys.manifest(s.run), { status: "ended", ended: nsOfMs(atMs), heartbeat: nsOfMs(atMs) });
    sink.xadd(this.keys.events(s.run), { type: "end", data: "{}" });
    sink.xadd(this.keys.runlog, { run: s.run, type: "end" }, 10000);
  }

  private skip(s: SessionState | null, stream: string, id: string, reason: string, sink: WriteSink): void {
    const count = ++this.state.skipped;
    if (count <= LOGGED_SKIPS || count % LOGGED_SKIPS === 0) {
      this.log(`nautilus bus: skipped entry ${id} of ${stream}: ${reason} (${count} skipped from ${this.traderKey})`);
      if (s !== null && s.created && !s.deleted) {
        const data = JSON.stringify({ topic: "nautilus.skipped", payload: { stream, id, reason, skipped: count } });
        sink.xadd(this.keys.events(s.run), { type: "publish", data });
      }
    }
  }

  /** Registers a series on first use (registry entry and its `series` event, before any batch). */
  private series(s: SessionState, id: string, info: SeriesInfo, sink: WriteSink): void {
    if (s.series[id] !== undefined) return;
    s.series[id] = { kind: info.kind, lastNs: "0" };
    sink.hset(this.keys.registry(s.run), { [id]: JSON.stringify(info) });
    sink.xadd(this.keys.events(s.run), { type: "series", data: JSON.stringify({ id }) });
  }

  /** The points of series `id` of `s` queued in this round. */
  private queued(s: SessionState, id: string, kind: SeriesKind, pending: Map<string, Pending>): Pending {
    // One round may hold two runs of the trader (a backtest, then the next): batches are per run.
    const key = `${s.run}\n${id}`;
    let q = pending.get(key);
    if (q === undefined) {
      q = { session: s, seriesId: id, kind, t: [], y: [], o: [], h: [], l: [], c: [], vol: [], m: [] };
      pending.set(key, q);
    }
    return q;
  }

  /** A fill is a part of its order's marker at its time (a partial fill, SPEC section 8). */
  private fill(s: SessionState, p: Extract<BusPoint, { type: "fill" }>, ms: number): void {
    const open = ((s.openFills ??= {})[p.instrument] ??= []);
    let group = open.find((g) => g.order === p.order && g.tNs === String(p.tNs));
    if (group === undefined) {
      group = { order: p.order, tNs: String(p.tNs), side: p.side, parts: [], positions: [], lastMs: ms };
      open.push(group);
    }
    group.parts.push({ qty: p.qty, price: p.price });
    if (p.positionId !== null && !group.positions.includes(p.positionId)) group.positions.push(p.positionId);
    group.lastMs = ms;
  }

  /**
   * Writes the fill markers whose time is over: of times before `beforeNs`, once an entry of that
   * time comes START_SKEW_MS (of stream-ID wall clock) after their last part, since Nautilus's
   * writer may put an entry of a later time between an order's parts (seen in the hedging
   * backtest: one order's two parts written as two markers without this wait); every one when `beforeNs` is null (the run ended).
   */
  private closeFills(s: SessionState, beforeNs: bigint | null, atMs: number, pending: Map<string, Pending>): void {
    for (const [instrument, open] of Object.entries(s.openFills ?? {})) {
      if (beforeNs !== null && atMs - Math.max(...open.map((g) => g.lastMs)) < START_SKEW_MS) continue;
      const done = open.filter((g) => beforeNs === null || BigInt(g.tNs) < beforeNs);
      if (done.length === 0) continue;
      s.openFills![instrument] = open.filter((g) => !done.includes(g));
      for (const g of done) {
        const { price, text } = fillMarker(g.side, g.parts, g.positions);
        const q = this.queued(s, fillsSeriesId(instrument), "marker", pending);
        q.t.push(BigInt(g.tNs));
        q.y.push(Number(price));
        q.m.push({ side: g.side === "BUY" ? "buy" : "sell", text });
      }
    }
  }

  /** Queues one point; returns why it was refused, or null. */
  private point(s: SessionState, p: BusPoint, ms: number, pending: Map<string, Pending>, sink: WriteSink): string | null {
    if (!isSeriesPoint(p)) return null;
    this.closeFills(s, p.tNs, ms, pending);
    const id = seriesIdOf(p);
    if (p.type === "bar") {
      if (s.series[id] === undefined) {
        const primary = !Object.values(s.series).some((x) => x.kind === "candlestick");
        this.series(s, id, barsInfo(p.barType, primary, p.pricePrecision), sink);
        const instrument = instrumentOfBarType(p.barType);
        if (s.bars[instrument] === undefined) {
          s.bars[instrument] = id;
          // Fills seen before their bars drew on nothing; now they have their target.
          const fills = fillsSeriesId(instrument);
          if (s.series[fills] !== undefined) sink.hset(this.keys.registry(s.run), { [fills]: JSON.stringify(fillsInfo(instrument, id)) });
        }
      }
    } else if (p.type === "fill") {
      this.series(s, id, fillsInfo(p.instrument, s.bars[p.instrument]), sink);
    } else {
      this.series(s, id, positionInfo(p.instrument, decimalsOf(p.signedQty)), sink);
    }
    const series = s.series[id];
    if (p.tNs < BigInt(series.lastNs)) return `time ${p.tNs} ns is before ${series.lastNs} ns, the last one of series ${id}`;
    series.lastNs = String(p.tNs);
    if (p.type === "fill") {
      this.fill(s, p, ms);
      return null;
    }
    const q = this.queued(s, id, series.kind, pending);
    q.t.push(p.tNs);
    if (p.type === "bar") {
      q.o.push(p.open);
      q.h.push(p.high);
      q.l.push(p.low);
      q.c.push(p.close);
      q.vol.push(p.volume);
    } else {
      if (Number(p.signedQty) === 0) delete s.positions[p.positionId];
      else s.positions[p.positionId] = { instrument: p.instrument, qty: p.signedQty };
      q.y.push(Number(sumDecimals(Object.values(s.positions).filter((x) => x.instrument === p.instrument).map((x) => x.qty))));
    }
    return null;
  }

  private flush(p: Pending, sink: WriteSink): void {
    const key = this.keys.series(p.session.run, p.seriesId);
    for (let from = 0; from < p.t.length; from += LIMITS.maxBatchPoints) {
      const to = Math.min(p.t.length, from + LIMITS.maxBatchPoints);
      const cut = <T>(col: T[]) => col.slice(from, to);
      const fields =
        p.kind === "candlestick"
          ? encodeBatch(p.kind, { t: cut(p.t), o: cut(p.o), h: cut(p.h), l: cut(p.l), c: cut(p.c), vol: cut(p.vol) })
          : p.kind === "marker"
            ? encodeBatch(p.kind, { t: cut(p.t), y: cut(p.y), m: cut(p.m) })
            : encodeBatch(p.kind, { t: cut(p.t), y: cut(p.y) });
      sink.xadd(key, fields);
    }
  }
}
