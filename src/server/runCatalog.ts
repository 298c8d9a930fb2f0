/**
 * Reads runs and series registries (SPEC sections 2 and 5) from Redis. Registry values come from
 * any producer, so each one is checked and a bad one is logged and left out rather than trusted.
 */
import type { Redis } from "ioredis";
import type { RunPlugin } from "../shared/api.js";
import { isSeriesKind, LIMITS, type RedisKeys, type RunStatus, type SeriesInfo } from "../shared/protocol.js";


export interface RunInfo {
  id: string;
  strategy: string;
  source: string;
  language: string;
  status: RunStatus;
  startedNs: bigint;
  endedNs: bigint | null;
}

function parseNs(value: string | undefined): bigint | null {
  return value !== undefined && /^[0-9]{1,19}$/.test(value) ? BigInt(value) : null;
}

export function parseRegistryEntry(id: string, raw: string): SeriesInfo | string {
  if (raw.length > LIMITS.maxRegistryBytes) return `registry entry of ${id} is over ${LIMITS.maxRegistryBytes} bytes`;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return `registry entry of ${id} is not JSON`;
  }
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
  };
}

export class RunCatalog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly log: (message: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs, newest first. */
  async runs(): Promise<RunInfo[]> {
    const ids = await this.redis.zrevrange(this.keys.runs, 0, -1);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.manifest(id));
    const manifests = (await pipeline.exec()) ?? [];
    return ids.flatMap((id, i) => {
      const [err, manifest] = manifests[i] ?? [null, {}];
      const run = err ? null : this.toRun(id, manifest as Record<string, string>);
      return run ? [run] : [];
    });
  }

  async run(id: string): Promise<RunInfo | null> {
    return this.toRun(id, await this.redis.hgetall(this.keys.manifest(id)));
  }

  /** The series registry of a run, ordered by id. */
  async series(run: string): Promise<Map<string, SeriesInfo>> {
    const raw = await this.redis.hgetall(this.keys.registry(run));
    const out = new Map<string, SeriesInfo>();
    for (const id of Object.keys(raw).sort()) {
      const info = this.checked(run, id, raw[id]);
      if (info !== undefined) out.set(id, info);
    }
    return out;
  }

  /** One series' registry entry (every range/history request needs one, not the whole registry). */
  async seriesInfo(run: string, id: string): Promise<SeriesInfo | undefined> {
    const raw = await this.redis.hget(this.keys.registry(run), id);
    return raw === null ? undefined : this.checked(run, id, raw);
  }

  private checked(run: string, id: string, raw: string): SeriesInfo | undefined {
    const info = parseRegistryEntry(id, raw);
    if (typeof info !== "string") return info;
    this.log(`run ${run}: ${info}; series left out`);
    return undefined;
  }

  /** Plugins enabled or disabled for the run, by name. */
  async plugins(run: string): Promise<RunPlugin[]> {
    const raw = await this.redis.hgetall(this.keys.plugins(run));
    return Object.keys(raw)
      .sort()
      .flatMap((name) => {
        try {
          const value = JSON.parse(raw[name]) as { enabled?: unknown; params?: unknown };
          const params = typeof value.params === "object" && value.params !== null ? (value.params as Record<string, unknown>) : {};
          return [{ name, enabled: value.enabled === true, params }];
        } catch {
          this.log(`run ${run}: plugin entry ${name} is not JSON; left out`);
          return [];
        }
      });
  }

  async results(run: string): Promise<unknown> {
    const raw = await this.redis.get(this.keys.results(run));
    if (raw === null) return null;
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      this.log(`run ${run}: results are not JSON`);
      return null;
    }
  }

  private toRun(id: string, m: Record<string, string>): RunInfo | null {
    const started = parseNs(m.started);
    if (started === null) return null;
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
    };
  }
}
