/**
 * Starts a private redis-server child on a free loopback port with persistence off. The CLI uses
 * it when no Redis is configured or reachable; the tests use it so none touches a shared Redis
 * (TLS only and a password on the default user when they test those: test/harness/tlsRedis.ts).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REDIS_MISSING = "redis-server not found: install it with 'sudo apt-get install -y redis-server'";

export interface PrivateRedisOptions {
  /**
   * Serve TLS only (`--port 0 --tls-port`), with `server.crt`/`server.key` and `ca.crt` from this
   * folder (test/harness/tls-certs.sh makes them); `authClients` "yes" requires a client certificate.
   */
  tls?: { dir: string; authClients?: "optional" | "yes" };
  /** Password of the `default` user. Default: none. */
  password?: string;
  /** Port to listen on. Default: a free one. */
  port?: number;
  /** More redis-server arguments (the test harness's cluster nodes: `--cluster-enabled yes`). Default: none. */
  args?: string[];
}

export interface PrivateRedis {
  /** `redis://` or `rediss://127.0.0.1:<port>/0`, without credentials. */
  url: string;
  port: number;
  /** Kills the server (SIGKILL: a crash, not a shutdown) and waits for it to exit. */
  kill(): Promise<void>;
  /**
   * Starts it again on the same port. Persistence is off, so it comes back empty unless
   * `keepData` and a `SAVE` was issued before the kill (then it loads that snapshot).
   */
  restart(options?: { keepData?: boolean }): Promise<void>;
  /** Sends a signal to the server, e.g. SIGSTOP/SIGCONT to freeze it with its connections open. */
  signal(signal: NodeJS.Signals): void;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function redisServerPath(): string {
  const which = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" });
  const path = which.stdout.trim();
  if (which.status !== 0 || path === "") throw new Error(REDIS_MISSING);
  return path;
}

function launch(binary: string, port: number, dir: string, options: PrivateRedisOptions): Promise<ChildProcess> {
  const { tls, password } = options;
  const listen = tls === undefined
    ? ["--port", String(port)]
    : ["--port", "0", "--tls-port", String(port), "--tls-cert-file", join(tls.dir, "server.crt"), "--tls-key-file", join(tls.dir, "server.key"), "--tls-ca-cert-file", join(tls.dir, "ca.crt"), "--tls-auth-clients", tls.authClients ?? "optional"];
  const args = [...listen, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...(password === undefined ? [] : ["--requirepass", password]), ...(options.args ?? [])];
  const child = spawn(binary, args, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) {
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`redis-server on port ${port} exited (${code}): ${output.trim().slice(-500)}`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once("exit", () => resolve()));
}

export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const binary = redisServerPath();
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "chartbridge-redis-"));
  let child = await launch(binary, port, dir, options);
  const stopChild = async (signal: NodeJS.Signals) => {
    child.kill(signal);
    await exited(child);
  };
  return {
    url: `${options.tls === undefined ? "redis" : "rediss"}://127.0.0.1:${port}/0`,
    port,
    kill: () => stopChild("SIGKILL"),
    restart: async (again = {}) => {
      if (!again.keepData) rmSync(join(dir, "dump.rdb"), { force: true });
      child = await launch(binary, port, dir, options);
    },
    signal: (signal) => void child.kill(signal),
    stop: async () => {
      await stopChild("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
