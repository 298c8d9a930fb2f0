/**
 * Retention (`chartbridge gc`, SPEC section 2): which runs of a prefix go under a policy, and
 * deleting them. A run that is running (its producer's heartbeat is fresh) or pinned (a member of
 * `<prefix>:pinned`) never goes.
 */
import type { RedisKeys } from "../shared/protocol.js";
import { scanKeys, type RedisClient } from "./redisConnection.js";
import type { RunCatalog } from "./runCatalog.js";
import { deleteRun } from "./runWriter.js";

export interface GcPolicy {
  /** Keep the newest N runs of each strategy (by start). */
  keepLast?: number;
  /** Keep runs started less than this many ms ago. */
  maxAgeMs?: number;
  /** Then delete the oldest runs left until the prefix's run keys use at most this many bytes (MEMORY USAGE). */
  maxBytes?: number;
}

export interface GcRun {
  run: string;
  strategy: string;
  startedMs: number;
  /** What its keys use in Redis, in bytes. */
  bytes: number;
  /** Why it goes. */
  reason: string;
}

export interface GcPlan {
  collect: GcRun[];
  /** Bytes every run of the prefix uses now, and after the plan. */
  bytesBefore: number;
  bytesAfter: number;
}

/** Bytes the keys of `run` use (one slot: one pipeline on a cluster too). */
async function runBytes(redis: RedisClient, keys: RedisKeys, run: string): Promise<number> {
  const found = await scanKeys(redis, keys.runPattern(run));
  if (found.length === 0) return 0;
  const pipeline = redis.pipeline();
  for (const key of found) pipeline.call("MEMORY", "USAGE", key, "SAMPLES", "0");
  const replies = (await pipeline.exec()) ?? [];
  return replies.reduce((sum, [err, bytes]) => sum + (err ? 0 : Number(bytes ?? 0)), 0);
}

export async function planGc(redis: RedisClient, keys: RedisKeys, catalog: RunCatalog, policy: GcPolicy, nowMs = Date.now()): Promise<GcPlan> {
  const runs = await catalog.runs();
  const pinned = new Set(await redis.smembers(keys.pinned));
  const sized = await Promise.all(runs.map(async (r) => ({ info: r, startedMs: Number(r.startedNs / 1_000_000n), bytes: await runBytes(redis, keys, r.id) })));
  const rank = new Map<string, number>();
  const seen = new Map<string, number>();
  // Newest first (the catalog's order), so a run's rank is how many newer runs its strategy has.
  for (const r of [...sized].sort((a, b) => b.startedMs - a.startedMs)) {
    const n = seen.get(r.info.strategy) ?? 0;
    rank.set(r.info.id, n);
    seen.set(r.info.strategy, n + 1);
  }
  const rules = policy.keepLast !== undefined || policy.maxAgeMs !== undefined;
  const collect: GcRun[] = [];
  const left: typeof sized = [];
  for (const r of sized) {
    if (r.info.status === "running" || pinned.has(r.info.id)) continue;
    const recent = policy.keepLast !== undefined && (rank.get(r.info.id) ?? 0) < policy.keepLast;
    const young = policy.maxAgeMs !== undefined && nowMs - r.startedMs < policy.maxAgeMs;
    const entry = { run: r.info.id, strategy: r.info.strategy, startedMs: r.startedMs, bytes: r.bytes };
    if (rules && !recent && !young) {
      const reasons = [
        ...(policy.keepLast !== undefined ? [`not among the newest ${policy.keepLast} of strategy ${JSON.stringify(r.info.strategy)}`] : []),
        ...(policy.maxAgeMs !== undefined ? [`older than ${policy.maxAgeMs / 1000} s`] : []),
      ];
      collect.push({ ...entry, reason: reasons.join(" and ") });
    } else left.push(r);
  }
  const bytesBefore = sized.reduce((sum, r) => sum + r.bytes, 0);
  let bytesAfter = bytesBefore - collect.reduce((sum, r) => sum + r.bytes, 0);
  if (policy.maxBytes !== undefined) {
    for (const r of left.sort((a, b) => a.startedMs - b.startedMs)) {
      if (bytesAfter <= policy.maxBytes) break;
      collect.push({ run: r.info.id, strategy: r.info.strategy, startedMs: r.startedMs, bytes: r.bytes, reason: `the prefix uses ${bytesAfter} bytes, over the budget of ${policy.maxBytes}` });
      bytesAfter -= r.bytes;
    }
  }
  return { collect, bytesBefore, bytesAfter };
}

/** Deletes the planned runs (each one's keys, its `runs` member, a `delete` entry on `runlog`). */
export async function runGc(redis: RedisClient, keys: RedisKeys, plan: GcPlan): Promise<void> {
  for (const r of plan.collect) await deleteRun(redis, keys, r.run);
}

/** A policy from the words of the CLI and the settings (`keepLast` a count, `maxAge` `7d`, `maxMemory` `2gb`); errors name `flags`' flag. */
export function gcPolicy(
  words: { keepLast?: string; maxAge?: string; maxMemory?: string },
  flags: { keepLast: string; maxAge: string; maxMemory: string },
): GcPolicy {
  const keepLast = words.keepLast === undefined ? undefined : Number(words.keepLast);
  if (keepLast !== undefined && !(Number.isInteger(keepLast) && keepLast >= 0)) throw new Error(`${flags.keepLast} ${words.keepLast} is not a whole number`);
  return {
    keepLast,
    maxAgeMs: words.maxAge === undefined ? undefined : parseDuration(words.maxAge, flags.maxAge),
    maxBytes: words.maxMemory === undefined ? undefined : parseBytes(words.maxMemory, flags.maxMemory),
  };
}

export const hasRule = (policy: GcPolicy) => Object.values(policy).some((v) => v !== undefined);

/** One line per run a plan deletes (or would), as `chartbridge gc` prints and the server logs. */
export const describeGcRun = (r: GcRun, verb: string) => `${verb} ${r.run} (strategy ${r.strategy}, started ${new Date(r.startedMs).toISOString()}, ${r.bytes} bytes): ${r.reason}`;

/**
 * Applies `policy` now and then every `everyMs` (the server's retention, VS Code's
 * `chartbridge.retention.*`): each deleted run is logged and handed to `onDeleted`. A pass that
 * fails (Redis away) is logged and the next one tries again. Returns the stop function.
 */
export function keepRetention(
  redis: RedisClient,
  keys: RedisKeys,
  catalog: RunCatalog,
  policy: GcPolicy,
  everyMs: number,
  log: (message: string) => void,
  onDeleted: (run: string) => void,
): () => void {
  let running: Promise<void> | null = null;
  const pass = async () => {
    const plan = await planGc(redis, keys, catalog, policy);
    for (const r of plan.collect) {
      await deleteRun(redis, keys, r.run);
      onDeleted(r.run);
      log(`retention: ${describeGcRun(r, "deleted")}`);
    }
  };
  const tick = () => {
    // Never two passes at once: a slow pass (a big Redis) makes the next tick wait for it.
    running ??= pass()
      .catch((err: Error) => log(`retention: this pass failed, the next one tries again: ${err.message}`))
      .finally(() => (running = null));
  };
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** `7d`, `12h`, `30m`, `45s` as milliseconds; an error names the flag and the value. */
export function parseDuration(text: string, flag = "--max-age"): number {
  const m = /^([0-9]+)(d|h|m|s)$/.exec(text);
  if (m === null) throw new Error(`${flag} ${JSON.stringify(text)} is not a duration (a whole number and d, h, m or s: 7d, 12h)`);
  return Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[m[2] as "d" | "h" | "m" | "s"];
}

/** `500mb`, `2gb`, `100kb`, `1000` (bytes) as bytes; an error names the flag and the value. */
export function parseBytes(text: string, flag = "--max-memory"): number {
  const m = /^([0-9]+)(b|kb|mb|gb)?$/i.exec(text);
  if (m === null) throw new Error(`${flag} ${JSON.stringify(text)} is not a size (a whole number and b, kb, mb or gb: 500mb)`);
  return Number(m[1]) * { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? "b").toLowerCase() as "b" | "kb" | "mb" | "gb"];
}
