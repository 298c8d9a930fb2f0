/**
 * `chartbridge serve [options]` (see USAGE): runs the server and prints its URL and token; `chartbridge gc`,
 * `pin RUN`, `unpin RUN`: retention (src/server/gc.ts); `export RUN -o FILE`, `import FILE`: runs as
 * files (src/server/runFile.ts).
 * The Nautilus message-bus bridge is on unless --no-nautilus-bus; its streams prefix is Nautilus's
 * MessageBusConfig.streams_prefix (default `stream`). Redis, in order: --redis, CHARTBRIDGE_REDIS_URL, a Redis
 * answering on 127.0.0.1:6379, else a private redis-server child (said so on start). The token
 * comes from CHARTBRIDGE_TOKEN when set (the extension passes a fresh one), else a random one.
 * Started by the extension (with an IPC channel), it sends its status there (src/shared/serverIpc.ts).
 */
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { redactRedisUrl } from "../shared/redisUrl.js";
import { isServerIpcMessage, type HostIpcMessage, type ServerStatus } from "../shared/serverIpc.js";
import { startServer } from "./app.js";
import { startPrivateRedis, type PrivateRedis } from "./privateRedis.js";
import { ioredisOptions, REDIS_SETTINGS, RedisConnections, RedisUnusable, type RedisTlsFiles } from "./redisConnection.js";
import { NAME_PATTERNS, redisKeys } from "../shared/protocol.js";
import { describeGcRun, gcPolicy, hasRule, parseDuration, planGc, runGc } from "./gc.js";
import { RETENTION_FLAGS } from "../shared/retention.js";
import { KeyFaults } from "./keyFaults.js";
import { RunCatalog } from "./runCatalog.js";
import { exportRun, importRun } from "./runFile.js";

const USAGE = `usage: chartbridge serve [options]
       chartbridge gc [--keep-last N] [--max-age D] [--max-memory B] [--dry-run] [--redis URL] [--prefix P]
       chartbridge pin RUN | unpin RUN [--redis URL] [--prefix P]
       chartbridge export RUN -o FILE [--redis URL] [--prefix P]
       chartbridge import FILE [--replace] [--redis URL] [--prefix P]
serve runs the Chartbridge GraphQL server on 127.0.0.1 and prints its URL and token.
gc deletes ended runs that are not pinned: those neither among the newest N of their strategy
(--keep-last) nor younger than D (--max-age: 7d, 12h, 30m), then the oldest left while the
prefix's runs use more than B (--max-memory: 500mb, 2gb). --dry-run lists what would go.
pin keeps a run from gc; unpin lets it go again.
export writes every key of a run, stream entries with their IDs, to a run file (.cbrun,
protocol/SPEC.md section 13); import restores it exactly into any Redis or cluster, after
checking the whole file, and refuses a run that exists there unless --replace.

options:
  --redis URL                    Redis to read: redis://[user:password@]host[:port][/db], or rediss:// for TLS;
                                 a Redis Cluster: redis+cluster://host:port,host:port (rediss+cluster:// for TLS).
                                 Default: ${REDIS_SETTINGS.url.env}, else a Redis answering on 127.0.0.1:6379,
                                 else a private redis-server child
  --redis-ca FILE                PEM CA that signed Redis's TLS certificate (default: Node's CAs)
  --redis-cert FILE              PEM client certificate for Redis TLS
  --redis-key FILE               PEM key of the client certificate
  --port N                       port to bind (default 0: a free port)
  --host H                       interface to bind (default 127.0.0.1)
  --prefix P                     Redis key prefix (default chartbridge)
  --plugins DIR|none             workspace plugin folder (default .chartbridge/plugins); none: built-ins only
  --no-nautilus-bus              do not chart NautilusTrader's own Redis message bus
  --nautilus-streams-prefix S    Nautilus MessageBusConfig.streams_prefix (default stream)
  --gc-keep-last N, --gc-max-age D, --gc-max-memory B
                                 serve: apply these gc rules (as gc's) at start and every --gc-every D
                                 (default 10m); the extension passes its chartbridge.retention.* settings
  -o, --output FILE              export: the run file to write
  --replace                      import: delete the run's keys first when it exists
  -h, --help                     this text

environment:
  ${REDIS_SETTINGS.url.env}          Redis URL when --redis is not given
  ${REDIS_SETTINGS.ca.env}           --redis-ca when not given
  ${REDIS_SETTINGS.cert.env}         --redis-cert when not given
  ${REDIS_SETTINGS.key.env}          --redis-key when not given
  CHARTBRIDGE_TOKEN              the token clients must send (default: 32 random bytes, printed on start)

Every request carries the token: the header "Authorization: Bearer <token>", or "?token=<token>" in the
URL (WebSocket clients and the chart page). The Redis password is never printed.
SIGTERM or SIGINT stops the server within 2 s.`;
const DEFAULT_REDIS = "redis://127.0.0.1:6379/0";
/** How long SIGTERM/SIGINT waits for a clean close (under the 2 s a supervisor is promised). */
const STOP_DEADLINE_MS = 1500;

/** True if a Redis answers PING at `url` within a short time (no retries: it is a probe). */
async function answers(url: string): Promise<boolean> {
  const probe = new Redis({ ...ioredisOptions({ url }), lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on("error", () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** Tells the extension (when it started us with an IPC channel) how we are; resolves once sent. */
function sendStatus(status: ServerStatus): Promise<void> {
  const send = process.send?.bind(process);
  if (send === undefined || !process.connected) return Promise.resolve();
  const message: HostIpcMessage = { type: "status", payload: status };
  return new Promise((resolve) => send(message, undefined, {}, () => resolve()));
}

/** `gc`, `pin RUN`, `unpin RUN`, `export`, `import`: against --redis, else CHARTBRIDGE_REDIS_URL, else 127.0.0.1:6379. */
async function maintain(
  command: string,
  args: string[],
  values: { redis?: string; prefix?: string; "keep-last"?: string; "max-age"?: string; "max-memory"?: string; "dry-run"?: boolean; output?: string; replace?: boolean },
): Promise<void> {
  const policy = gcPolicy({ keepLast: values["keep-last"], maxAge: values["max-age"], maxMemory: values["max-memory"] }, { keepLast: "--keep-last", maxAge: "--max-age", maxMemory: "--max-memory" });
  if (command === "gc" && !hasRule(policy)) throw new Error("gc needs a rule: --keep-last, --max-age or --max-memory");
  if (command === "import" && args.length !== 1) throw new Error(`import needs one run file, not ${JSON.stringify(args.join(" "))}`);
  if (command !== "gc" && command !== "import" && (args.length !== 1 || !NAME_PATTERNS.run.test(args[0]))) throw new Error(`${command} needs one run id, not ${JSON.stringify(args.join(" "))}`);
  if (command === "export" && !values.output) throw new Error("export needs the file to write: -o FILE");
  const prefix = values.prefix ?? "chartbridge";
  const keys = redisKeys(prefix);
  const connections = new RedisConnections({ url: values.redis ?? (process.env[REDIS_SETTINGS.url.env] || DEFAULT_REDIS) }, (m) => process.stderr.write(`[chartbridge] ${m}\n`));
  const redis = connections.open({ lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await connections.connect([redis], keys);
    if (command === "export") {
      const done = await exportRun(redis, keys, prefix, args[0], values.output as string);
      const running = done.running ? " (the run is still running: the file holds what Redis had when each key was read)" : "";
      process.stdout.write(`exported ${args[0]} to ${values.output}: ${done.keys} keys, ${done.entries} stream entries${running}\n`);
      return;
    }
    if (command === "import") {
      const done = await importRun(redis, keys, prefix, args[0], { replace: values.replace, shownUrl: connections.shownUrl });
      process.stdout.write(`imported ${done.run} into prefix ${prefix}${done.replaced ? ", replacing the run there" : ""}: ${done.keys} keys, ${done.entries} stream entries\n`);
      return;
    }
    if (command === "pin") await redis.sadd(keys.pinned, args[0]);
    if (command === "unpin") await redis.srem(keys.pinned, args[0]);
    if (command !== "gc") {
      process.stdout.write(`${command === "pin" ? "pinned" : "unpinned"} ${args[0]} (prefix ${prefix})\n`);
      return;
    }
    const plan = await planGc(redis, keys, new RunCatalog(redis, keys, new KeyFaults(() => {})), policy);
    const verb = values["dry-run"] ? "would delete" : "deleting";
    for (const r of plan.collect) process.stdout.write(`${describeGcRun(r, verb)}\n`);
    if (!values["dry-run"]) await runGc(redis, keys, plan);
    process.stdout.write(`${plan.collect.length} run(s) ${values["dry-run"] ? "would go" : "deleted"}; the prefix ${prefix} uses ${plan.bytesBefore} bytes${values["dry-run"] ? ", would use" : ", now"} ${plan.bytesAfter}\n`);
  } finally {
    redis.disconnect();
  }
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      redis: { type: "string" },
      "redis-ca": { type: "string" },
      "redis-cert": { type: "string" },
      "redis-key": { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      prefix: { type: "string" },
      plugins: { type: "string" },
      "no-nautilus-bus": { type: "boolean" },
      "nautilus-streams-prefix": { type: "string" },
      "keep-last": { type: "string" },
      "max-age": { type: "string" },
      "max-memory": { type: "string" },
      "dry-run": { type: "boolean" },
      "gc-keep-last": { type: "string" },
      "gc-max-age": { type: "string" },
      "gc-max-memory": { type: "string" },
      "gc-every": { type: "string" },
      output: { type: "string", short: "o" },
      replace: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const command = positionals[0];
  if (values.help || command === undefined || !["serve", "gc", "pin", "unpin", "export", "import"].includes(command)) {
    process.stdout.write(`${USAGE}\n`);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  if (command !== "serve") {
    await maintain(command, positionals.slice(1), values);
    return;
  }
  const retention = gcPolicy({ keepLast: values["gc-keep-last"], maxAge: values["gc-max-age"], maxMemory: values["gc-max-memory"] }, RETENTION_FLAGS);
  const retentionEveryMs = parseDuration(values["gc-every"] ?? "10m", RETENTION_FLAGS.every);
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${values.port} is not a port number`);

  let redisUrl = values.redis ?? (process.env[REDIS_SETTINGS.url.env] || undefined);
  let privateRedis: PrivateRedis | null = null;
  if (redisUrl === undefined) {
    if (await answers(DEFAULT_REDIS)) {
      redisUrl = DEFAULT_REDIS;
      process.stdout.write(`using the Redis answering at ${redisUrl}\n`);
    } else {
      privateRedis = await startPrivateRedis();
      redisUrl = privateRedis.url;
      process.stdout.write(`started a private redis-server at ${redisUrl} (no --redis, no CHARTBRIDGE_REDIS_URL, nothing on 6379)\n`);
    }
  }
  const tls: RedisTlsFiles = {
    ca: values["redis-ca"] ?? (process.env[REDIS_SETTINGS.ca.env] || undefined),
    cert: values["redis-cert"] ?? (process.env[REDIS_SETTINGS.cert.env] || undefined),
    key: values["redis-key"] ?? (process.env[REDIS_SETTINGS.key.env] || undefined),
  };
  const redisShown = redactRedisUrl(redisUrl);
  let url: string | null = null;
  let health: Pick<ServerStatus, "redis" | "message"> = { redis: "ok", message: "" };
  let server;
  try {
    server = await startServer({
      redisUrl,
      redisTls: tls,
      onRedisHealth: (redis, message) => {
        health = { redis, message };
        if (url !== null) void sendStatus({ url, redisUrl: redisShown, ...health });
      },
      port,
      host: values.host,
      prefix: values.prefix,
      token: process.env.CHARTBRIDGE_TOKEN || undefined,
      // `--plugins none`: no workspace plugins at all (an untrusted workspace); built-ins still load.
      ...(values.plugins === undefined ? {} : { pluginsDir: values.plugins === "none" ? null : values.plugins }),
      // On by default: a backtest with MessageBusConfig(database=...) is charted with no Chartbridge code.
      nautilusBus: values["no-nautilus-bus"] ? false : { streamsPrefix: values["nautilus-streams-prefix"] },
      ...(hasRule(retention) ? { retention: { policy: retention, everyMs: retentionEveryMs } } : {}),
    });
  } catch (err) {
    if (err instanceof RedisUnusable) await sendStatus({ url: null, redisUrl: redisShown, redis: err.fault, message: err.message });
    await privateRedis?.stop();
    throw err;
  }
  url = server.url;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    // Stopping never waits on Redis: a close still pending after this (a Redis that is down or
    // SIGSTOPped holds replies back) is cut short, so the process ends within 2 s of SIGTERM.
    setTimeout(() => {
      process.stderr.write(`[chartbridge] not closed after ${STOP_DEADLINE_MS} ms; exiting anyway\n`);
      process.exit(0);
    }, STOP_DEADLINE_MS).unref();
    await server.close();
    await privateRedis?.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  // Started by the extension with an IPC channel: when the parent goes, so do we.
  process.on("disconnect", () => void stop());
  process.on("message", (message: unknown) => {
    if (!isServerIpcMessage(message)) return;
    try {
      server.allowHost(message.payload.host);
    } catch (err) {
      process.stderr.write(`[chartbridge] ${(err as Error).message}\n`);
    }
  });
  // Said only now that a SIGTERM is handled: whoever reads these lines may stop us at once.
  process.stdout.write(`Chartbridge server: ${server.url}/?token=${server.token}\ngraphql: ${server.url}/graphql\ntoken: ${server.token}\nredis: ${redisShown}\n`);
  await sendStatus({ url, redisUrl: redisShown, ...health });
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`chartbridge: ${(err as Error).message}\n`);
  process.exit(1);
});
