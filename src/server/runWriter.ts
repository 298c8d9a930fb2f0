/** The few writes the server makes, in the same format the SDKs write (SPEC sections 2 and 6). */
import { GraphQLError } from "graphql";
import { scanKeys, type RedisClient } from "./redisConnection.js";
import type { RedisKeys } from "../shared/protocol.js";
import type { RunPlugin } from "../shared/api.js";

export async function setPlugin(redis: RedisClient, keys: RedisKeys, run: string, plugin: RunPlugin): Promise<void> {
  // A transaction does not roll back: a key of another type would fail its command alone, and the
  // event would announce a plugin that was not stored. So both keys are checked first.
  for (const [key, expected] of [[keys.plugins(run), "hash"], [keys.events(run), "stream"]] as const) {
    const type = await redis.type(key);
    if (type !== expected && type !== "none") throw new GraphQLError(`${key} holds a ${type}, not a ${expected}; nothing was stored`);
  }
  const value = JSON.stringify({ enabled: plugin.enabled, params: plugin.params });
  await redis
    .multi()
    .hset(keys.plugins(run), plugin.name, value)
    .xadd(keys.events(run), "*", "type", "plugin", "data", JSON.stringify(plugin))
    .exec();
}

/** Deletes every key of the run (they share its hash tag), then announces it on the runlog. */
export async function deleteRun(redis: RedisClient, keys: RedisKeys, run: string): Promise<boolean> {
  // The run's keys share its hash tag: one UNLINK, in one slot on a cluster too.
  const found = await scanKeys(redis, keys.runPattern(run));
  const deleted = found.length > 0 ? await redis.unlink(...found) : 0;
  const removed = await redis.zrem(keys.runs, run);
  if (deleted + removed === 0) return false;
  await redis.xadd(keys.runlog, "MAXLEN", "~", 10000, "*", "run", run, "type", "delete");
  return true;
}
