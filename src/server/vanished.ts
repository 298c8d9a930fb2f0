/**
 * Keys Redis evicted (protocol/SPEC.md section 11): a full Redis whose `maxmemory-policy` evicts
 * (allkeys-lru, volatile-ttl, ...) deletes keys on its own. A series whose stream is gone while its
 * run's registry lists it is then said to be gone (Series.error, Run.error), never shown as an
 * empty series without a word. Said only once Redis reports evictions (INFO `evicted_keys` > 0,
 * summed over a cluster's masters): before that, a missing stream is a series whose first batch is
 * still on its way (the registry entry goes first).
 */
import { Cluster } from "ioredis";
import type { RedisKeys } from "../shared/protocol.js";
import type { RedisClient } from "./redisConnection.js";

interface Evictions {
  evicted: number;
  /** The policies the masters run, e.g. `allkeys-lru`. */
  policy: string;
}

const infoField = (info: string, name: string) => new RegExp(`^${name}:(.*)$`, "m").exec(info)?.[1]?.trim() ?? "";

export class Vanished {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /** Asked only when a listed stream is missing (rare), so never cached: a stale "none evicted" would hide it. */
  private async evictions(): Promise<Evictions> {
    const nodes = this.redis instanceof Cluster ? this.redis.nodes("master") : [this.redis];
    const infos = await Promise.all(nodes.map((n) => n.info()));
    return {
      evicted: infos.reduce((sum, info) => sum + (Number(infoField(info, "evicted_keys")) || 0), 0),
      policy: [...new Set(infos.map((info) => infoField(info, "maxmemory_policy")))].join(", "),
    };
  }

  /** Why `id`'s stream is missing although the registry of `run` lists it, or null when it is there (or nothing was evicted). */
  async series(run: string, id: string): Promise<string | null> {
    const gone = await this.gone(run, [id]);
    return gone === null ? null : `${this.keys.series(run, id)} is gone from Redis though the run's registry lists the series: ${gone.cause}`;
  }

  /** The series of `run` (`ids`: its registry) whose streams Redis evicted, said in one line; empty when none. */
  async run(run: string, ids: string[]): Promise<string[]> {
    const gone = await this.gone(run, ids);
    return gone === null ? [] : [`run ${run}: ${gone.ids.length} of its ${ids.length} series are gone from Redis (${gone.ids.join(", ")}): ${gone.cause}`];
  }

  private async gone(run: string, ids: string[]): Promise<{ ids: string[]; cause: string } | null> {
    if (ids.length === 0) return null;
    // A run's keys share one slot: one pipeline on a cluster too.
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.exists(this.keys.series(run, id));
    const replies = (await pipeline.exec()) ?? [];
    const gone = ids.filter((_, i) => replies[i]?.[0] === null && replies[i]?.[1] === 0);
    if (gone.length === 0) return null;
    const { evicted, policy } = await this.evictions();
    if (evicted === 0) return null;
    const cause = `Redis evicted keys to stay under its maxmemory (maxmemory-policy ${policy}, ${evicted} keys evicted since it started), so the points they held are lost. Give Chartbridge a Redis with maxmemory-policy noeviction (protocol/SPEC.md section 11)`;
    return { ids: gone, cause };
  }
}
