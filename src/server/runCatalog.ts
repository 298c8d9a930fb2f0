/**
 * Reads runs and series registries (SPEC sections 2 and 5) from Redis. Registry values come from
 * any producer, so each one is checked and a bad one is logged and left out rather than trusted.
 * A key Redis refuses (another type) or a value that cannot be used is that key's fault alone
 * (SPEC section 10): it is reported once, its part of the answer is empty, the rest is answered.
 */
import { GraphQLError } from "graphql";
import type { RedisClient } from "./redisConnection.js";
import type { DataIdentity, GitState, RunIdentity, RunPlugin } from "../shared/api.js";
import { isSeriesKind, LIMITS, type RedisKeys, type RunStatus, type SeriesInfo } from "../shared/protocol.js";
import { parseJson } from "./boundedJson.js";
import { isReplyError, keyError, type KeyFaults, type KeyType } from "./keyFaults.js";

/**
 * The fault id of one field of a hash: outside the run's key prefix, so a run's `error` lists it
 * only while a fresh read still finds it (a field deleted since is not reported on).
 */
const fieldId = (key: string, field: string) => `field ${field} of ${key}`;

/** Where a read's problems are collected for a run's `error` (besides being logged once). */
type Problems = string[] | undefined;

export interface RunInfo {
  id: string;
  strategy: string;
  source: string;
  language: string;
  status: RunStatus;
  startedNs: bigint;
  endedNs: bigint | null;
  identity: RunIdentity | null;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const nsToUs = (v: unknown) => (typeof v === "string" && /^[0-9]{1,19}$/.test(v) ? Number(BigInt(v) / 1000n) : null);

function gitOf(v: unknown): GitState | null {
  if (!isRecord(v) || typeof v.commit !== "string") return null;
  return { root: typeof v.root === "string" ? v.root : "", commit: v.commit, dirty: v.dirty === true, diffHash: typeof v.diff_hash === "string" ? v.diff_hash : null };
}

function dataOf(v: unknown): DataIdentity[] {
  return (Array.isArray(v) ? v : []).filter(isRecord).map((d) => ({
    instrument: typeof d.instrument === "string" ? d.instrument : "",
    barType: typeof d.bar_type === "string" ? d.bar_type : "",
    firstUs: nsToUs(d.first),
    lastUs: nsToUs(d.last),
    count: Number.isInteger(d.count) ? (d.count as number) : 0,
  }));
}

/** A manifest's `identity` (SPEC section 5): unusable parts read as absent; not an object: why. */
export function parseIdentity(raw: string | undefined): RunIdentity | null | string {
  if (raw === undefined) return null;
  if (raw.length > LIMITS.maxRegistryBytes) return `identity is over ${LIMITS.maxRegistryBytes} bytes`;
  const parsed = parseJson(raw);
  if (!parsed.ok) return `identity is ${parsed.error}`;
  const v = parsed.value;
  if (!isRecord(v)) return "identity is not a JSON object";
  const versions = isRecord(v.versions) ? Object.fromEntries(Object.entries(v.versions).filter((e): e is [string, string] => typeof e[1] === "string")) : {};
  return { params: isRecord(v.params) ? v.params : {}, git: gitOf(v.git), data: dataOf(v.data), versions };
}

function parseNs(value: string | undefined): bigint | null {
  return value !== undefined && /^[0-9]{1,19}$/.test(value) ? BigInt(value) : null;
}

export function parseRegistryEntry(id: string, raw: string): SeriesInfo | string {
  if (raw.length > LIMITS.maxRegistryBytes) return `registry entry of ${id} is over ${LIMITS.maxRegistryBytes} bytes`;
  const parsed = parseJson(raw);
  if (!parsed.ok) return `registry entry of ${id} is ${parsed.error}`;
  const value = parsed.value;
  if (typeof value !== "object" || value === null) return `registry entry of ${id} is not an object`;
  const v = value as Record<string, unknown>;
  if (typeof v.kind !== "string" || !isSeriesKind(v.kind)) return `registry entry of ${id} has unknown kind ${JSON.stringify(v.kind)}`;
  const source = v.source as Record<string, unknown> | null | undefined;
  const validSource = source != null && typeof source.file === "string" && Number.isInteger(source.line);
  return {
    kind: v.kind,
    pane: typeof v.pane === "string" && v.pane !== "" ? v.pane : "main",
    title: typeof v.title === "string" && v.title !== "" ? v.title : id,
    ...(typeof v.color === "string" ? { color: v.color } : {}),
    options: typeof v.options === "object" && v.options !== null && !Array.isArray(v.options) ? (v.options as Record<string, unknown>) : {},
    source: validSource ? { file: source.file as string, line: source.line as number } : null,
    ...(typeof v.target === "string" ? { target: v.target } : {}),
    // A role on another kind is ignored: its columns are not a condition's (SPEC section 5).
    ...(v.role === "condition" && v.kind === "line" ? { role: "condition" as const } : {}),
  };
}

export class RunCatalog {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly faults: KeyFaults,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs, newest first; a run whose manifest cannot be read is left out (and reported), never the list. */
  async runs(): Promise<RunInfo[]> {
    const ids = await this.read(this.keys.runs, "zset", null, () => this.redis.zrevrange(this.keys.runs, 0, -1));
    if (ids === null) throw new GraphQLError(this.faults.error(this.keys.runs) ?? `${this.keys.runs} cannot be read`);
    // A command per run, not one pipeline: on a cluster the manifests live in different slots.
    const manifests = await Promise.all(ids.map((id) => this.redis.hgetall(this.keys.manifest(id)).then((m) => [null, m] as const, (err: Error) => [err, null] as const)));
    const runs: RunInfo[] = [];
    for (const [i, id] of ids.entries()) {
      const [err, manifest] = manifests[i] ?? [null, {}];
      const key = this.keys.manifest(id);
      if (err) {
        if (!isReplyError(err)) throw err;
        this.faults.report(key, `run ${id} left out of the run list: ${await keyError(this.redis, key, "hash", err)}`);
        continue;
      }
      this.faults.clear(key);
      const run = this.toRun(id, manifest as Record<string, string>);
      if (run) runs.push(run);
    }
    // Newest first by the exact start time: the index's score is in ms, so runs started in one
    // millisecond (a sweep's) came in id order. Stable: equal times keep the index's order.
    return runs.sort((a, b) => (a.startedNs === b.startedNs ? 0 : a.startedNs < b.startedNs ? 1 : -1));
  }

  async run(id: string): Promise<RunInfo | null> {
    const key = this.keys.manifest(id);
    const manifest = await this.read(key, "hash", null, () => this.redis.hgetall(key));
    if (manifest === null) throw new GraphQLError(this.faults.error(key) ?? `${key} cannot be read`);
    return this.toRun(id, manifest);
  }

  /** The series registry of a run, ordered by id. */
  async series(run: string, problems?: Problems): Promise<Map<string, SeriesInfo>> {
    const key = this.keys.registry(run);
    const raw = await this.read(key, "hash", {} as Record<string, string>, () => this.redis.hgetall(key), problems);
    const out = new Map<string, SeriesInfo>();
    for (const id of Object.keys(raw).sort()) {
      const info = this.checked(run, id, raw[id], problems);
      if (info !== undefined) out.set(id, info);
    }
    return out;
  }

  /** One series' registry entry (every range/history request needs one, not the whole registry). */
  async seriesInfo(run: string, id: string): Promise<SeriesInfo | undefined> {
    const key = this.keys.registry(run);
    const raw = await this.read(key, "hash", null, () => this.redis.hget(key, id));
    if (raw === null) {
      const fault = this.faults.error(key);
      if (fault !== null) throw new GraphQLError(fault);
      return undefined;
    }
    return this.checked(run, id, raw);
  }

  private checked(run: string, id: string, raw: string, problems?: Problems): SeriesInfo | undefined {
    const info = parseRegistryEntry(id, raw);
    const key = fieldId(this.keys.registry(run), id);
    if (typeof info !== "string") {
      this.faults.clear(key);
      return info;
    }
    this.problem(key, `run ${run}: ${info}; series left out`, problems);
    return undefined;
  }

  /** Plugins enabled or disabled for the run, by name. */
  async plugins(run: string, problems?: Problems): Promise<RunPlugin[]> {
    const key = this.keys.plugins(run);
    const raw = await this.read(key, "hash", {} as Record<string, string>, () => this.redis.hgetall(key), problems);
    return Object.keys(raw)
      .sort()
      .flatMap((name) => {
        const parsed = parseJson(raw[name]);
        const value = parsed.ok && typeof parsed.value === "object" && parsed.value !== null ? (parsed.value as { enabled?: unknown; params?: unknown }) : null;
        if (value === null) {
          this.problem(fieldId(key, name), `run ${run}: plugin entry ${name} is ${parsed.ok ? "not an object" : parsed.error}; left out`, problems);
          return [];
        }
        this.faults.clear(fieldId(key, name));
        const params = typeof value.params === "object" && value.params !== null ? (value.params as Record<string, unknown>) : {};
        return [{ name, enabled: value.enabled === true, params }];
      });
  }

  async results(run: string, problems?: Problems): Promise<unknown> {
    const key = this.keys.results(run);
    const raw = await this.read(key, "string", null, () => this.redis.get(key), problems);
    if (raw === null) return null;
    const parsed = parseJson(raw);
    if (parsed.ok) return parsed.value;
    this.problem(key, `run ${run}: results are ${parsed.error}`, problems);
    return null;
  }

  /**
   * What cannot be read of a run's own keys now (its `error`): every key read afresh, plus what
   * the stream reader holds against its event and series streams.
   */
  async problems(run: string): Promise<string[]> {
    const problems: string[] = [];
    const manifest = this.keys.manifest(run);
    const [, , , identity] = await Promise.all([
      this.series(run, problems),
      this.plugins(run, problems),
      this.results(run, problems),
      this.read(manifest, "hash", null, () => this.redis.hget(manifest, "identity"), problems),
    ]);
    const parsed = parseIdentity(identity ?? undefined);
    if (typeof parsed === "string") problems.push(`run ${run}: ${parsed}; left out`);
    const eventsKey = this.keys.events(run);
    await this.read(eventsKey, "stream", null, () => this.redis.xrevrange(eventsKey, "+", "-", "COUNT", 1), problems);
    // A series stream's fault is that series' own `error` (SPEC section 10), not its run's: a live
    // read may have met it before this query or not, and the run's answer must not depend on which.
    const prefix = this.keys.runPattern(run).slice(0, -1);
    const seriesPrefix = this.keys.series(run, "");
    return [...new Set([...problems, ...this.faults.errorsUnder(prefix, seriesPrefix)])].sort();
  }

  /** Reads `key`; when Redis refuses it (another type), reports that once and answers `fallback`. */
  private async read<T, F>(key: string, expected: KeyType, fallback: F, fn: () => Promise<T>, problems?: Problems): Promise<T | F> {
    try {
      const value = await fn();
      this.faults.clear(key);
      return value;
    } catch (err) {
      if (!isReplyError(err)) throw err;
      this.problem(key, await keyError(this.redis, key, expected, err), problems);
      return fallback;
    }
  }

  private problem(id: string, message: string, problems: Problems): void {
    this.faults.report(id, message);
    problems?.push(message);
  }

  private toRun(id: string, m: Record<string, string>): RunInfo | null {
    const started = parseNs(m.started);
    if (started === null) return null;
    const identity = parseIdentity(m.identity);
    const heartbeat = parseNs(m.heartbeat) ?? started;
    // A producer that stopped refreshing its heartbeat has died: its run is over.
    const silentMs = this.now() - Number(heartbeat / 1_000_000n);
    const status: RunStatus = m.status === "ended" || silentMs > LIMITS.heartbeatTimeoutMs ? "ended" : "running";
    return {
      id,
      strategy: m.strategy ?? "",
      source: m.source ?? "",
      language: m.language ?? "",
      status,
      startedNs: started,
      endedNs: parseNs(m.ended),
      identity: typeof identity === "string" ? null : identity,
    };
  }
}
