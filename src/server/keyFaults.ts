/**
 * Isolation (protocol/SPEC.md section 10): what one key holds affects that key alone. A key that
 * cannot be read (wrong Redis type, a value nested too deep, ...) is recorded here under its
 * name: logged once per distinct fault, answered as its series' or run's `error`, and retried
 * with a growing delay instead of in a loop. Everything else goes on reading.
 */
import { ReplyError } from "ioredis";
import type { RedisClient } from "./redisConnection.js";

/** The Redis type each kind of Chartbridge key must have (SPEC section 2). */
export type KeyType = "stream" | "hash" | "string" | "zset";

interface Fault {
  message: string;
  attempts: number;
  retryAt: number;
}

/** First retry after 1 s, then doubling up to 30 s. */
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

export class KeyFaults {
  private faults = new Map<string, Fault>();

  constructor(
    private readonly log: (message: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a fault of `key` (logged only when new or changed); returns the delay before it is retried. */
  report(key: string, message: string): number {
    const previous = this.faults.get(key);
    const attempts = (previous?.attempts ?? 0) + 1;
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempts - 1));
    if (previous?.message !== message) this.log(`${message} (only this key is affected; retrying with backoff up to ${MAX_RETRY_MS / 1000} s)`);
    this.faults.set(key, { message, attempts, retryAt: this.now() + delay });
    return delay;
  }

  /** `key` was read fine: its fault (if any) is over. */
  clear(key: string): void {
    if (this.faults.delete(key)) this.log(`${key} is readable again`);
  }

  error(key: string): string | null {
    return this.faults.get(key)?.message ?? null;
  }

  /** True while `key`'s retry delay runs: readers leave it out until then. */
  waiting(key: string): boolean {
    const fault = this.faults.get(key);
    return fault !== undefined && fault.retryAt > this.now();
  }

  /** The earliest time a waiting key may be tried again, or null when none waits. */
  nextRetry(): number | null {
    const now = this.now();
    let next: number | null = null;
    for (const { retryAt } of this.faults.values()) if (retryAt > now && (next === null || retryAt < next)) next = retryAt;
    return next;
  }

  /** Faults of every key starting with `prefix` (e.g. one run's keys) but not with `except`, sorted by key. */
  errorsUnder(prefix: string, except?: string): string[] {
    return [...this.faults]
      .filter(([key]) => key.startsWith(prefix) && !(except !== undefined && key.startsWith(except)))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, f]) => f.message);
  }
}

/** Redis refused the command itself (e.g. WRONGTYPE), as opposed to a lost connection. */
export function isReplyError(err: unknown): boolean {
  return err instanceof ReplyError;
}

/** What is wrong with `key`, in words a user can act on. */
export async function keyError(redis: RedisClient, key: string, expected: KeyType, err: unknown): Promise<string> {
  const message = (err as Error).message;
  if (message.startsWith("WRONGTYPE")) {
    const actual = await redis.type(key).catch(() => "another type");
    return `${key} holds a ${actual}, not a ${expected}`;
  }
  return `${key}: ${message}`;
}
