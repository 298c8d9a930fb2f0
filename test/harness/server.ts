/** Starts the real server against the private Redis and talks to it the way clients do. */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createClient, type Client } from "graphql-ws";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { startServer, type RunningServer, type ServerOptions } from "../../src/server/app.js";
import { redisKeys, type RedisKeys, type SeriesInfo, type SeriesKind } from "../../src/shared/protocol.js";
import { testRedis } from "./rootHooks.js";

/** Built by `npm run build` (npm test builds before it runs mocha). */
export const WEBVIEW_BUNDLE = join(__dirname, "..", "..", "dist", "webview.js");

export interface TestServer {
  server: RunningServer;
  prefix: string;
  keys: RedisKeys;
  redis: Redis;
  logs: string[];
  ws: Client;
  close(): Promise<void>;
}

/** A server on a fresh key prefix (or `options.prefix`: a restart on the same keys), so tests never see each other's runs. */
export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const prefix = options.prefix ?? `t${randomBytes(4).toString("hex")}`;
  const logs: string[] = [];
  const server = await startServer({ redisUrl: testRedis().url, log: (m) => logs.push(m), pluginsDir: null, builtinPluginsDir: null, webviewBundle: WEBVIEW_BUNDLE, ...options, prefix });
  const redis = new Redis(testRedis().url, { maxRetriesPerRequest: null });
  const ws = wsClient(server);
  return {
    server,
    prefix,
    keys: redisKeys(prefix),
    redis,
    logs,
    ws,
    async close() {
      await ws.dispose();
      await server.close();
      redis.disconnect();
    },
  };
}

/** A fresh server for each test of the enclosing describe; the returned object is refilled before each. */
export function useTestServer(options: Partial<ServerOptions> = {}): TestServer {
  const holder = {} as TestServer;
  beforeEach(async () => {
    Object.assign(holder, await startTestServer(options));
  });
  afterEach(async () => {
    await holder.close();
  });
  return holder;
}

export function wsClient(server: RunningServer, retryAttempts = 0): Client {
  return createClient({
    url: `ws://127.0.0.1:${server.port}/graphql?token=${server.token}`,
    webSocketImpl: WebSocket,
    retryAttempts,
  });
}

export interface GqlResult<T> {
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** One query over graphql-ws. */
export function query<T>(ws: Client, source: string, variables: Record<string, unknown> = {}): Promise<GqlResult<T>> {
  return new Promise((resolve, reject) => {
    let result: GqlResult<T> = {};
    ws.subscribe<T>({ query: source, variables }, {
      next: (r) => (result = r as GqlResult<T>),
      // graphql-ws reports a refused operation (validation, limits) as an array of GraphQL errors.
      error: (e) => (Array.isArray(e) ? resolve({ errors: e as GqlResult<T>["errors"] }) : reject(e)),
      complete: () => resolve(result),
    });
  });
}

/** A subscription that collects every payload; `until` resolves once `done` accepts the collection. */
export function collect<T>(ws: Client, source: string, variables: Record<string, unknown>) {
  const items: T[] = [];
  const errors: unknown[] = [];
  let check: (() => void) | null = null;
  const unsubscribe = ws.subscribe<T>({ query: source, variables }, {
    next: (r) => {
      if (r.errors) errors.push(...r.errors);
      if (r.data) items.push(r.data);
      check?.();
    },
    error: (e) => {
      errors.push(e);
      check?.();
    },
    complete: () => {},
  });
  return {
    items,
    errors,
    unsubscribe,
    until(done: (items: T[]) => boolean, timeoutMs = 10000): Promise<T[]> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out after ${items.length} items: ${JSON.stringify(items).slice(0, 2000)} errors ${JSON.stringify(errors)}`)), timeoutMs);
        check = () => {
          if (done(items)) {
            clearTimeout(timer);
            resolve(items);
          }
        };
        check();
      });
    },
  };
}

/**
 * Writes like a foreign producer, straight to Redis: a run manifest, a registry entry, raw entries.
 * Only for tests of what the server does with what it finds; real producers are the SDKs.
 */
export async function writeRun(t: TestServer, run: string, series: Record<string, Partial<SeriesInfo> & { kind: SeriesInfo["kind"] }>) {
  const now = BigInt(Date.now()) * 1_000_000n;
  await t.redis
    .multi()
    .hset(t.keys.manifest(run), { v: "1", run, strategy: "test", source: "", language: "test", started: String(now), heartbeat: String(now), status: "running" })
    .zadd(t.keys.runs, Date.now(), run)
    .hset(t.keys.registry(run), Object.fromEntries(Object.entries(series).map(([id, info]) => [id, JSON.stringify({ pane: "main", title: id, options: {}, source: null, ...info })])))
    .exec();
}

export function lineFields(timesNs: bigint[], ys: number[], kind = "line"): Record<string, Buffer | string> {
  const t = Buffer.alloc(8 * timesNs.length);
  const y = Buffer.alloc(8 * ys.length);
  timesNs.forEach((v, i) => t.writeBigInt64LE(v, i * 8));
  ys.forEach((v, i) => y.writeDoubleLE(v, i * 8));
  return { v: "1", k: kind, n: String(timesNs.length), t, y };
}

/** One valid single-point entry of `kind` at `timeNs` whose value(s) are `value`. */
export function validEntry(kind: SeriesKind, timeNs: bigint, value: number): Record<string, Buffer | string> {
  const base = lineFields([timeNs], [value], kind);
  if (kind === "candlestick" || kind === "bar") {
    const { y, ...rest } = base;
    return { ...rest, o: y, h: y, l: y, c: y };
  }
  return kind === "marker" ? { ...base, m: JSON.stringify([{ side: "buy", text: `m${value}` }]) } : base;
}

export async function xadd(t: TestServer, key: string, fields: Record<string, Buffer | string>): Promise<string> {
  return (await t.redis.xadd(key, "*", ...Object.entries(fields).flat())) as string;
}
