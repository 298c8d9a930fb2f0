/**
 * The Chartbridge server: GraphQL over HTTP (graphql-yoga) and over WebSocket (graphql-ws) on one
 * port, fed by one StreamReader. Every option is documented with its default.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { blockFieldSuggestionsPlugin } from "@escape.tech/graphql-armor-block-field-suggestions";
import { costLimitPlugin } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesPlugin } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthPlugin } from "@escape.tech/graphql-armor-max-depth";
import { maxTokensPlugin } from "@escape.tech/graphql-armor-max-tokens";
import { createSchema, createYoga } from "graphql-yoga";
import { Cluster, type Redis } from "ioredis";
import { WebSocketServer, type WebSocket } from "ws";
import { CLOSE_CODES, slowConsumerReason } from "../shared/clientCodes.js";
import { NAME_PATTERNS, redisKeys } from "../shared/protocol.js";
import { redactRedisUrl } from "../shared/redisUrl.js";
import type { RedisHealth } from "../shared/serverIpc.js";
import { serveGraphqlWs } from "./graphqlWs.js";
import type { LiveBatchOptions } from "./liveBatches.js";
import { NautilusBus, type NautilusBusOptions, type NautilusBusStats } from "./nautilusBus.js";
import { KeyFaults } from "./keyFaults.js";
import { BlockingStreamReader, type StreamReader } from "./redisStreams.js";
import { ClusterStreamReader } from "./clusterStreams.js";
import { resolvers, type ServerContext } from "./resolvers.js";
import { PluginManager } from "./plugins.js";
import { refusal as guardRefusal, type GuardedRequest, type Refusal } from "./requestGuard.js";
import { AUTHORITY } from "../shared/serverIpc.js";
import { PUBLIC_PATHS, standalonePage } from "./standalonePage.js";
import { RedisConnections, type RedisClient, type RedisTlsFiles } from "./redisConnection.js";
import { RunCatalog } from "./runCatalog.js";
import { RunEvents } from "./runEvents.js";
import { typeDefs } from "./schema.js";
import { SeriesCache } from "./seriesCache.js";
import { Vanished } from "./vanished.js";
import { keepRetention, type GcPolicy } from "./gc.js";

export interface ServerOptions {
  /** Redis to read, e.g. `redis://127.0.0.1:6379/0`, `rediss://user:password@host:6380/0`. Required. */
  redisUrl: string;
  /** CA and client certificate files for a `rediss://` URL. Default: none (Node's trusted CAs, no client certificate). */
  redisTls?: RedisTlsFiles;
  /** Told every change of Redis's health after the start (the CLI passes it to the extension). Default: none. */
  onRedisHealth?: (health: RedisHealth, message: string) => void;
  /** Key prefix of protocol/SPEC.md section 1. Default `chartbridge`. */
  prefix?: string;
  /** Interface to bind. Default `127.0.0.1`: the server serves one developer's machine only. */
  host?: string;
  /** Port to bind. Default 0: a free port chosen by the OS. */
  port?: number;
  /** Secret every request must carry. Default: 32 random bytes, hex. */
  token?: string;
  /** Workspace plugin folder, watched and bundled on save. Default `<cwd>/.chartbridge/plugins`; null: none. */
  pluginsDir?: string | null;
  /** Prebuilt built-in plugins. Default: `plugins/` beside the server bundle. */
  builtinPluginsDir?: string | null;
  /** The webview bundle served for the standalone page. Default: `webview.js` beside the server bundle. */
  webviewBundle?: string;
  /** Memory budget of the series cache, in bytes. Default 1 GiB. */
  cacheBytes?: number;
  /** Subscription message size and slow-client limits. Defaults: see LiveBatchOptions. */
  live?: LiveBatchOptions;
  /**
   * Chart NautilusTrader's own Redis message bus (`MessageBusConfig(database=...)`): every trader
   * whose bus streams are in this Redis is listed as a run, with no Chartbridge code in the
   * strategy (see nautilusBus.ts). Default `{}`: on, with NautilusBusOptions' defaults; `false`: off.
   */
  nautilusBus?: NautilusBusOptions | false;
  /**
   * Retention: delete ended, unpinned runs under these rules (those of `chartbridge gc`) at start
   * and every `everyMs`. Default: none (nothing is deleted).
   */
  retention?: { policy: GcPolicy; everyMs: number };
  /** Where log lines go. Default: stderr. */
  log?: (message: string) => void;
}

export interface RunningServer {
  /** `http://host:port`, without the token. */
  url: string;
  port: number;
  token: string;
  /** Accepts requests naming the server by `authority` too (see the Host check in startServer). */
  allowHost(authority: string): void;
  /** What the Nautilus bus bridge did so far, or null when it is off. */
  nautilusBus(): NautilusBusStats | null;
  close(): Promise<void>;
}

export const GRAPHQL_PATH = "/graphql";

/**
 * Our own clients need depth 4 and a handful of aliases; the limits leave room for hand-written
 * queries and stop a query built to exhaust the server before it runs. (The schema is in
 * src/server/schema.ts; full introspection queries exceed the depth limit on purpose.)
 */
export const LIMITS_GRAPHQL = { tokens: 2000, depth: 8, aliases: 20, cost: 5000, bodyBytes: 1 << 20 } as const;


/** The bus bridge's connections: it is off on a cluster (see startServer). */
function single(client: RedisClient): Redis {
  if (client instanceof Cluster) throw new Error("the Nautilus message-bus bridge needs one Redis, not a cluster");
  return client;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const prefix = options.prefix ?? "chartbridge";
  if (!NAME_PATTERNS.prefix.test(prefix)) throw new Error(`invalid key prefix ${JSON.stringify(prefix)}`);
  const host = options.host ?? "127.0.0.1";
  const token = options.token ?? randomBytes(32).toString("hex");
  const log = options.log ?? ((message: string) => process.stderr.write(`[chartbridge] ${message}\n`));
  const keys = redisKeys(prefix);

  // Blocking reads get their own connection; both wait through Redis restarts instead of failing.
  const connections = new RedisConnections({ url: options.redisUrl, tls: options.redisTls }, log, options.onRedisHealth);
  const redisOptions = { maxRetriesPerRequest: null, lazyConnect: true } as const;
  const command = connections.open(redisOptions);
  // On a cluster, blocking connections are opened per slot read (clusterStreams.ts).
  const blocking = command instanceof Cluster ? null : connections.open(redisOptions);
  await connections.connect(blocking === null ? [command] : [command, blocking], keys);
  // One registry of keys that cannot be read, shared by every reader (SPEC section 10: isolation).
  const faults = new KeyFaults(log);
  const reader: StreamReader = command instanceof Cluster
    ? new ClusterStreamReader(command, (node) => connections.openNode(node, { maxRetriesPerRequest: null }), { log, faults })
    : new BlockingStreamReader(blocking as Redis, command, { log, faults });
  reader.start();
  // The bridge has connections of its own, so its blocking reads never delay the chart's.
  // Nautilus's keys share no hash tag and it is found by SCAN: it needs one Redis, not a cluster.
  const busOptions = command instanceof Cluster ? false : options.nautilusBus ?? {};
  if (command instanceof Cluster && options.nautilusBus !== false) log("the Nautilus message-bus bridge is off: it needs one Redis, not a cluster");
  const bus = busOptions === false ? null : new NautilusBus(() => single(connections.open({ maxRetriesPerRequest: null })), keys, prefix, log, busOptions);
  bus?.start();
  const plugins = new PluginManager({
    workspaceDir: options.pluginsDir === undefined ? join(process.cwd(), ".chartbridge", "plugins") : options.pluginsDir,
    builtinDir: options.builtinPluginsDir === undefined ? join(__dirname, "plugins") : options.builtinPluginsDir,
    log,
  });
  await plugins.start();
  const context: ServerContext = {
    catalog: new RunCatalog(command, keys, faults),
    cache: new SeriesCache(command, reader, keys, { log, faults, budgetBytes: options.cacheBytes }),
    events: new RunEvents(command, reader, keys, { log, faults }),
    plugins,
    live: options.live ?? {},
    redis: command,
    keys,
    vanished: new Vanished(command, keys),
  };

  const stopRetention = options.retention === undefined ? () => {} : keepRetention(command, keys, context.catalog, options.retention.policy, options.retention.everyMs, log, (run) => context.cache.forgetRun(run));

  // Every reconnect (a restart or a network blip) checks that Redis still holds what we showed.
  command.on("ready", () => {
    log("redis connection (re)established; checking what it still holds");
    Promise.all([context.cache.verify(), context.events.verify()]).catch((err: Error) => log(`after reconnect: ${err.message}`));
  });

  const yoga = createYoga({
    schema: createSchema({ typeDefs, resolvers }),
    // Apply to HTTP and to WebSocket operations alike (both go through yoga.getEnveloped).
    plugins: [
      maxTokensPlugin({ n: LIMITS_GRAPHQL.tokens }),
      // Our schema has no cycles, so only introspection can nest deeply: it is limited too.
      maxDepthPlugin({ n: LIMITS_GRAPHQL.depth, ignoreIntrospection: false }),
      maxAliasesPlugin({ n: LIMITS_GRAPHQL.aliases }),
      costLimitPlugin({ maxCost: LIMITS_GRAPHQL.cost, ignoreIntrospection: false }),
      blockFieldSuggestionsPlugin(),
    ],
    // A WebSocket operation carries its socket (see onSubscribe): a stalled client can be closed.
    context: (initial: { socket?: WebSocket }): ServerContext => {
      const socket = initial.socket;
      return socket === undefined ? context : { ...context, drop: (resumeAfter) => socket.close(CLOSE_CODES.SLOW_CONSUMER, slowConsumerReason(resumeAfter)) };
    },
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: false,
    cors: false,
    logging: false,
  });

  let port = options.port ?? 0;
  /** Names VS Code serves this server under for a browser outside the machine (allowHost; see requestGuard.ts). */
  const extraHosts = new Set<string>();
  const refusal = (req: GuardedRequest): Refusal | null => guardRefusal(req, { port, host, extraHosts, token, publicPaths: PUBLIC_PATHS });
  // The page's first question is this run's series: reading them from Redis (the slow part of a
  // first open) starts now, while the page loads, instead of after it asked.
  const warm = async (run: string | null) => {
    const id = run ?? (await context.catalog.runs())[0]?.id;
    if (id === undefined) return;
    const series = await context.catalog.series(id);
    await Promise.all([...series].map(([sid, info]) => context.cache.get(id, sid, info.kind)));
  };
  const page = standalonePage(options.webviewBundle ?? join(__dirname, "webview.js"), (run) => {
    warm(run).catch((err: Error) => log(`reading run ${run ?? "(newest)"} ahead of the page: ${err.message}`));
  });

  const server: Server = createServer((req, res) => {
    const refused = refusal(req);
    if (refused !== null) {
      res.writeHead(refused.status, { "content-type": "text/plain" }).end(refused.reason);
      return;
    }
    if (page.serve(req, res)) return;
    if (req.method === "POST" && req.headers["content-length"] === undefined) {
      // A chunked body could not be limited before it is read.
      res.writeHead(411, { "content-type": "text/plain", connection: "close" }).end("content-length required");
      return;
    }
    if (Number(req.headers["content-length"] ?? 0) > LIMITS_GRAPHQL.bodyBytes) {
      res.writeHead(413, { "content-type": "text/plain", connection: "close" }).end(`request body over ${LIMITS_GRAPHQL.bodyBytes} bytes`);
      return;
    }
    void yoga.handle(req, res);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS_GRAPHQL.bodyBytes });
  server.on("upgrade", (req, socket, head) => {
    const refused = refusal(req);
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (refused !== null || path !== GRAPHQL_PATH) {
      const { status, reason } = refused ?? { status: 404, reason: "not found" };
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  });

  const wsCleanup = serveGraphqlWs(wss, yoga);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const hostInUrl = host.includes(":") ? `[${host}]` : host;
  log(`serving on http://${hostInUrl}:${port}${GRAPHQL_PATH} (redis ${redactRedisUrl(options.redisUrl)}, prefix ${prefix})`);

  return {
    url: `http://${hostInUrl}:${port}`,
    port,
    token,
    allowHost(authority: string) {
      if (!AUTHORITY.test(authority)) throw new Error(`allowHost: ${JSON.stringify(authority)} is not a host[:port]`);
      extraHosts.add(authority.toLowerCase());
      log(`requests naming ${authority} are accepted too`);
    },
    nautilusBus: () => bus?.stats() ?? null,
    async close() {
      stopRetention();
      await bus?.stop();
      await wsCleanup.dispose();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Disconnected first: an XREAD waiting on a Redis that is down or stopped then fails at once instead of never.
      command.disconnect();
      blocking?.disconnect();
      reader.stop();
      context.cache.close();
      await plugins.stop();
    },
  };
}
