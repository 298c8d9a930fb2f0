/**
 * Every Redis connection of the server is made here: a URL (`redis://` or `rediss://` with TLS,
 * `user:password@` for an ACL user) plus CA/client certificate files become ioredis options, and
 * each connection's errors become one health (ok, unreachable, authFailed, noPermission,
 * tlsFailed, misconfigured) that is logged once per change, not once per reconnect attempt, and
 * sent to the extension (src/shared/serverIpc.ts). Names of the settings: protocol/SPEC.md,
 * "Connecting to Redis".
 */
import { readFileSync } from "node:fs";
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import { parseRedisUrl, redactRedisUrl, type RedisUrl } from "../shared/redisUrl.js";
import type { RedisFault, RedisHealth } from "../shared/serverIpc.js";
import type { RedisKeys } from "../shared/protocol.js";

/** PEM files for TLS: the CA that signed Redis's certificate, and a client certificate and key. */
export interface RedisTlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

export interface RedisTarget {
  url: string;
  tls?: RedisTlsFiles;
}

/**
 * Each setting's server flag, environment variable (the Python SDK reads the same ones) and VS Code
 * setting (the extension passes it to the server in the environment).
 */
export const REDIS_SETTINGS = {
  url: { flag: "--redis", env: "CHARTBRIDGE_REDIS_URL", setting: "chartbridge.redisUrl" },
  ca: { flag: "--redis-ca", env: "CHARTBRIDGE_REDIS_CA", setting: "chartbridge.redisTls.ca" },
  cert: { flag: "--redis-cert", env: "CHARTBRIDGE_REDIS_CERT", setting: "chartbridge.redisTls.cert" },
  key: { flag: "--redis-key", env: "CHARTBRIDGE_REDIS_KEY", setting: "chartbridge.redisTls.key" },
} as const;

/** A Redis the server cannot use, with what is wrong in words a user can act on. */
export class RedisUnusable extends Error {
  constructor(readonly fault: RedisFault, message: string) {
    super(message);
  }
}

/** A client of one Redis or of a Redis Cluster (which routes each command to its key's node). */
export type RedisClient = Redis | Cluster;

/** A cluster node's address as ioredis names it in `Cluster.slots`. */
export type NodeKey = string;

/** `target`'s URL, parsed; a bad one throws RedisUnusable("misconfigured"). */
function parsedUrl(target: RedisTarget): RedisUrl {
  try {
    return parseRedisUrl(target.url);
  } catch (err) {
    throw new RedisUnusable("misconfigured", (err as Error).message);
  }
}

/** ioredis options for `target`; a bad URL, TLS files with `redis://` or an unreadable file throw RedisUnusable("misconfigured"). */
export function ioredisOptions(target: RedisTarget): RedisOptions {
  const shown = redactRedisUrl(target.url);
  const url = parsedUrl(target);
  const files = target.tls ?? {};
  const given = (["ca", "cert", "key"] as const).filter((k) => files[k]);
  const named = given.map((k) => REDIS_SETTINGS[k].flag).join(", ");
  if (!url.tls && given.length > 0) throw new RedisUnusable("misconfigured", `${named} given, but the Redis URL ${shown} is not TLS: use rediss://`);
  if (!files.cert !== !files.key) throw new RedisUnusable("misconfigured", `a client certificate needs both ${REDIS_SETTINGS.cert.flag} and ${REDIS_SETTINGS.key.flag}; only ${named} is given`);
  const read = (what: keyof RedisTlsFiles) => {
    const path = files[what];
    if (!path) return {};
    try {
      return { [what]: readFileSync(path) };
    } catch (err) {
      throw new RedisUnusable("misconfigured", `cannot read the Redis TLS ${what} file given by ${REDIS_SETTINGS[what].flag}: ${(err as Error).message}`);
    }
  };
  return {
    host: url.host,
    port: url.port,
    db: url.db,
    username: url.username,
    password: url.password,
    // Node checks the certificate against `host` (an IP address against the IP SANs).
    ...(url.tls ? { tls: { ...read("ca"), ...read("cert"), ...read("key") } } : {}),
  };
}

/** Node's and OpenSSL's codes for a TLS handshake that failed on a certificate. */
const TLS_CODES = /^(?:ERR_SSL_|ERR_TLS_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_|CERT_|HOSTNAME_MISMATCH)/;

/** What an ioredis error means for the user, and what to do. */
export function classifyRedisError(err: Error & { code?: unknown }, url: string, tls: RedisTlsFiles = {}): RedisUnusable {
  if (err instanceof RedisUnusable) return err;
  const shown = redactRedisUrl(url);
  // OpenSSL's "<hex>:error:<hex>:SSL routines:<function>:<reason>:<source file>:..." says <reason>.
  const said = err.message.trim().replace(/^[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]*:([^:]+):.*$/s, "$1");
  if (/^(?:WRONGPASS|NOAUTH)\b|invalid password/.test(said)) {
    return new RedisUnusable("authFailed", `Redis at ${shown} refused the user name or password: ${said} (check user:password in the Redis URL)`);
  }
  if (/^NOPERM\b/.test(said)) {
    return new RedisUnusable("noPermission", `the Redis user at ${shown} lacks a permission the server needs: ${said} (grant it the commands and keys listed in protocol/SPEC.md, "Connecting to Redis")`);
  }
  if (typeof err.code === "string" && TLS_CODES.test(err.code)) {
    return new RedisUnusable("tlsFailed", `TLS with Redis at ${shown} failed: ${said} (check the CA file (${Object.values(REDIS_SETTINGS.ca).join(", ")}), the client certificate and key, and that the port serves TLS)`);
  }
  // TLS 1.3 refuses a missing client certificate after the handshake: the first write may see only the reset.
  const hint = err.code === "ECONNRESET" && url.startsWith("rediss:") && !tls.cert ? ` (if Redis requires client certificates, give ${REDIS_SETTINGS.cert.flag} and ${REDIS_SETTINGS.key.flag})` : "";
  return new RedisUnusable("unreachable", `cannot reach Redis at ${shown}: ${said || "connection closed"}${hint}`);
}

/**
 * The server's Redis connections to one target, and their common health. Until `connect`
 * resolved, faults only go into the error it throws (the one message of a failed start); after
 * that every change is logged once and given to `onHealth`.
 */
export class RedisConnections {
  readonly shownUrl: string;
  /** The seed nodes when the URL names a Redis Cluster (`redis+cluster://`), else undefined. */
  readonly cluster: RedisUrl["cluster"];
  private readonly options: RedisOptions;
  private readonly faults = new Map<RedisClient, RedisUnusable | null>();
  private health: RedisHealth = "ok";
  private started = false;

  constructor(
    private readonly target: RedisTarget,
    private readonly log: (message: string) => void,
    private readonly onHealth: (health: RedisHealth, message: string) => void = () => {},
  ) {
    this.shownUrl = redactRedisUrl(target.url);
    this.options = ioredisOptions(target);
    this.cluster = parsedUrl(target).cluster;
  }

  /**
   * A new client (not yet connected when `extra.lazyConnect`), watched: a Cluster when the URL
   * names one. It follows MOVED and ASK and refreshes its slot map every second (a failover or a
   * new master is seen within that).
   */
  open(extra: RedisOptions = {}): RedisClient {
    if (this.cluster === undefined) return this.watch(new Redis({ ...this.options, ...extra }));
    const { host: _host, port: _port, db: _db, ...redisOptions } = { ...this.options, ...extra };
    const { lazyConnect, ...perNode } = redisOptions;
    const options: ClusterOptions = {
      lazyConnect,
      redisOptions: perNode,
      slotsRefreshInterval: 1000,
      // A failover takes the cluster's node timeout: commands wait it out instead of failing.
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 200,
      maxRedirections: 64,
    };
    return this.watch(new Cluster(this.cluster, options));
  }

  /**
   * A connection of its own to one cluster node (`host:port` as `Cluster.slots` names it), with
   * the URL's credentials and TLS: blocking reads need one per node (a blocked connection can
   * take no other command).
   */
  openNode(node: NodeKey, extra: RedisOptions = {}): Redis {
    const colon = node.lastIndexOf(":");
    return this.watch(new Redis({ ...this.options, ...extra, db: 0, host: node.slice(0, colon), port: Number(node.slice(colon + 1)) }));
  }

  private watch<T extends RedisClient>(conn: T): T {
    this.faults.set(conn, null);
    conn.on("error", (err: Error) => this.report(conn, classifyRedisError(err, this.target.url, this.target.tls)));
    conn.on("ready", () => this.report(conn, null));
    conn.on("end", () => {
      this.faults.delete(conn);
      this.update();
    });
    return conn;
  }

  /**
   * Connects lazily opened connections, then checks that the user may read the prefix's keys
   * (`probe`); throws RedisUnusable with the first fault met. ioredis' own rejection says only
   * "Connection is closed.", so the error events' cause is what is thrown.
   */
  async connect(conns: RedisClient[], keys: RedisKeys): Promise<void> {
    try {
      // Every attempt settles before any is torn down: a TLS socket closed mid-handshake throws uncaught.
      const settled = await Promise.allSettled(conns.map((c) => c.connect()));
      for (const s of settled) if (s.status === "rejected") throw s.reason;
      await probe(conns[0], keys);
    } catch (err) {
      const faults = conns.map((c) => this.faults.get(c)).filter((f) => f instanceof RedisUnusable);
      const fault = faults.find((f) => f.fault !== "unreachable") ?? faults[0] ?? classifyRedisError(err as Error, this.target.url, this.target.tls);
      for (const c of conns) c.disconnect();
      throw fault;
    }
    this.started = true;
    this.update();
  }

  private report(conn: RedisClient, fault: RedisUnusable | null): void {
    if (!this.faults.has(conn)) return;
    // While starting, the cause stays what it was (a refused TLS handshake also closes the socket).
    const before = this.faults.get(conn);
    if (!this.started && before && before.fault !== "unreachable" && fault?.fault === "unreachable") return;
    this.faults.set(conn, fault);
    this.update();
  }

  private update(): void {
    if (!this.started) return;
    const fault = [...this.faults.values()].find((f) => f !== null) ?? null;
    const health = fault?.fault ?? "ok";
    if (health === this.health) return;
    this.health = health;
    this.log(fault === null ? `redis: usable again at ${this.shownUrl}` : `redis: ${fault.message}`);
    this.onHealth(health, fault?.message ?? "");
  }
}

/**
 * Reads that every chart needs, on keys of the prefix that hold nothing: a user without these
 * rights fails here with one NOPERM at start instead of a failing query per chart. (The full list
 * of commands is in protocol/SPEC.md, "Connecting to Redis".)
 */
async function probe(conn: RedisClient, keys: RedisKeys): Promise<void> {
  const none = keys.events("chartbridge-access-probe");
  const asked = [
    { key: keys.runs, command: ["zrevrange", keys.runs, "0", "0"] },
    { key: keys.manifest("chartbridge-access-probe"), command: ["hgetall", keys.manifest("chartbridge-access-probe")] },
    { key: none, command: ["xrevrange", none, "+", "-", "COUNT", "1"] },
    { key: none, command: ["xread", "COUNT", "1", "STREAMS", none, "0-0"] },
  ];
  // One command each, not one pipeline: on a cluster the keys live in different slots.
  for (const { key, command } of asked) {
    const [name, ...args] = command;
    await conn.call(name, ...args).catch((err: Error) => Promise.reject(new Error(`${err.message} (${name} on ${key})`)));
  }
}

/** Every key matching `pattern`: SCAN on one Redis, or on each master of a cluster (a SCAN sees one node's keys). */
export async function scanKeys(client: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of client instanceof Cluster ? client.nodes("master") : [client]) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== "0");
  }
  return found;
}
