/**
 * A private redis-server that serves TLS only, with certificates made by openssl for this run
 * (tls-certs.sh, shared with python/tests/conftest.py), a password on its `default` user (the
 * admin's), and ACL users made per test.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { startPrivateRedis, type PrivateRedis } from "../../src/server/privateRedis.js";
import { ioredisOptions } from "../../src/server/redisConnection.js";

const ADMIN_PASSWORD = "admin-pw-for-tests";

/** What each part runs on Redis (protocol/SPEC.md, "Connecting to Redis"), on the prefix's keys only. */
export const PRODUCER_RIGHTS = ["~chartbridge:*", "+ping", "+xadd", "+hset", "+zadd", "+set", "+exists"];
export const SERVER_RIGHTS = [
  "~chartbridge:*",
  ...["+hello", "+ping", "+info", "+client|id", "+client|unblock", "+dbsize", "+scan", "+type"],
  ...["+get", "+set", "+hget", "+hgetall", "+hset", "+zadd", "+zrem", "+zscore", "+zrevrange"],
  ...["+xadd", "+xrange", "+xrevrange", "+xread", "+unlink", "+watch", "+unwatch", "+multi", "+exec"],
];

export interface TlsRedis {
  redis: PrivateRedis;
  /** The CA that signed the server's certificate, the client certificate and key, and a CA that signed nothing here. */
  files: { ca: string; cert: string; key: string; otherCa: string };
  /** The `default` user: every right. */
  admin: Redis;
  urlFor(user: string, password: string): string;
  /** (Re)creates `user` with only `password` and `rules` (ACL SETUSER syntax). */
  setUser(user: string, password: string, rules: string[]): Promise<void>;
  /** The ACL denials Redis logged since the last `ACL LOG RESET`, as "reason command/key". */
  denials(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startTlsRedis(authClients: "optional" | "yes" = "optional"): Promise<TlsRedis> {
  const dir = mkdtempSync(join(tmpdir(), "chartbridge-tls-"));
  execFileSync("bash", [join(__dirname, "tls-certs.sh"), dir]);
  const files = { ca: join(dir, "ca.crt"), cert: join(dir, "client.crt"), key: join(dir, "client.key"), otherCa: join(dir, "other-ca.crt") };
  const redis = await startPrivateRedis({ tls: { dir, authClients }, password: ADMIN_PASSWORD });
  const urlFor = (user: string, password: string) => redis.url.replace("rediss://", `rediss://${encodeURIComponent(user)}:${encodeURIComponent(password)}@`);
  const admin = new Redis({ ...ioredisOptions({ url: urlFor("default", ADMIN_PASSWORD), tls: files }), maxRetriesPerRequest: null });
  return {
    redis,
    files,
    admin,
    urlFor,
    async setUser(user, password, rules) {
      await admin.call("ACL", "SETUSER", user, "reset", "on", `>${password}`, ...rules);
    },
    async denials() {
      const log = (await admin.call("ACL", "LOG")) as unknown[][];
      return log.map((entry) => {
        const fields = new Map<string, unknown>();
        for (let i = 0; i + 1 < entry.length; i += 2) fields.set(String(entry[i]), entry[i + 1]);
        return `${String(fields.get("reason"))} ${String(fields.get("object"))}`;
      });
    },
    async stop() {
      admin.disconnect();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
