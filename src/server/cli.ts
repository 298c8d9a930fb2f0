/**
 * `chartbridge serve [--redis URL] [--port N] [--host H] [--prefix P]`: runs the server and prints
 * its URL and token. Redis comes from --redis, else CHARTBRIDGE_REDIS_URL, else a private
 * redis-server child (said so on start).
 */
import { parseArgs } from "node:util";
import { startServer } from "./app.js";
import { startPrivateRedis, type PrivateRedis } from "./privateRedis.js";

const USAGE = "usage: chartbridge serve [--redis URL] [--port N] [--host H] [--prefix P]";

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      redis: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      prefix: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || positionals[0] !== "serve") {
    process.stdout.write(`${USAGE}\n`);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${values.port} is not a port number`);

  let redisUrl = values.redis ?? process.env.CHARTBRIDGE_REDIS_URL;
  let privateRedis: PrivateRedis | null = null;
  if (redisUrl === undefined) {
    privateRedis = await startPrivateRedis();
    redisUrl = privateRedis.url;
    process.stdout.write(`started a private redis-server at ${redisUrl} (no --redis or CHARTBRIDGE_REDIS_URL given)\n`);
  }
  const server = await startServer({ redisUrl, port, host: values.host, prefix: values.prefix });
  process.stdout.write(`Chartbridge server: ${server.url}/graphql\ntoken: ${server.token}\nredis: ${redisUrl}\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.close();
    await privateRedis?.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  // Started by the extension with an IPC channel: when the parent goes, so do we.
  process.on("disconnect", () => void stop());
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`chartbridge: ${(err as Error).message}\n`);
  process.exit(1);
});
