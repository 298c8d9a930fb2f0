/**
 * The one owner of the server child's lifecycle and status (rust-analyzer's `ctx.ts` model): it
 * forks `dist/server.js serve` with an IPC channel (the child exits when the channel closes, so a
 * dying VS Code leaves no server behind), passes a fresh token through the environment, reads the
 * URL the server prints, follows its Redis state from its log, and restarts it with backoff when
 * it dies. No vscode import: unit-tested in node against real child processes.
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import type { ServerIpcMessage } from "../shared/serverIpc.js";

export type ServerState =
  | { kind: "stopped" }
  | { kind: "starting"; attempt: number }
  | { kind: "connected"; server: ServerInfo }
  | { kind: "redisUnreachable"; detail: string; server?: ServerInfo }
  | { kind: "crashed"; detail: string; retryInMs: number };

export interface ServerInfo {
  /** `http://127.0.0.1:<port>`, without the token. */
  url: string;
  port: number;
  token: string;
  redis: string;
  pid: number;
}

export interface SupervisorOptions {
  /** The server bundle (dist/server.js). */
  serverPath: string;
  /** Extra CLI arguments after `serve --port N`, read at each start (settings may change). */
  args: () => string[];
  /** Port range to bind in; null: a free port chosen by the OS. */
  portRange: () => { from: number; to: number } | null;
  cwd?: string;
  log: (level: "info" | "warn" | "error", message: string) => void;
  backoff?: Backoff;
}

/**
 * Restart delays: doubling from `initialMs` to `maxMs`; a server that stayed up for `stableMs`
 * starts again from `initialMs`, so a crash a day waits half a second, a crash loop does not spin.
 */
export class Backoff {
  private failures = 0;

  constructor(private readonly initialMs = 500, private readonly maxMs = 30_000, private readonly stableMs = 60_000) {}

  /** The delay before the next start after a crash of a server that ran for `uptimeMs`. */
  next(uptimeMs: number): number {
    if (uptimeMs >= this.stableMs) this.failures = 0;
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** this.failures);
    this.failures++;
    return delay;
  }

  reset(): void {
    this.failures = 0;
  }
}

/** A port free on 127.0.0.1 in [from, to], tried in order; 0 (the OS picks) when none is given. */
export async function freePortIn(range: { from: number; to: number } | null): Promise<number> {
  if (range === null) return 0;
  for (let port = range.from; port <= range.to; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once("error", () => resolve(false));
      probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${range.from}-${range.to} (setting chartbridge.server.portRange)`);
}

/** What the server prints on start (src/server/cli.ts), one fact per line. */
const PRINTED = { url: /^Chartbridge server: (http:\/\/\S+?)\/\?token=/, redis: /^redis: (\S+)/ };
/** Log lines (stderr) that say how Redis is doing (src/server/app.ts). */
const REDIS_DOWN = /redis (?:command|reader) connection: (.*)/;
const REDIS_BACK = /redis connection \(re\)established/;

export class ServerSupervisor {
  private readonly allowedHosts = new Set<string>();
  private child: ChildProcess | null = null;
  private current: ServerState = { kind: "stopped" };
  private readonly listeners = new Set<(state: ServerState) => void>();
  private readonly backoff: Backoff;
  private restartTimer: NodeJS.Timeout | null = null;
  /** Bumped by every start and stop, so events of an old child never change the state. */
  private generation = 0;
  private attempt = 0;

  constructor(private readonly options: SupervisorOptions) {
    this.backoff = options.backoff ?? new Backoff();
  }

  get state(): ServerState {
    return this.current;
  }

  /** The running server, if any (Redis may be down: the server still answers and waits for it). */
  get server(): ServerInfo | null {
    const s = this.current;
    return s.kind === "connected" ? s.server : s.kind === "redisUnreachable" ? s.server ?? null : null;
  }

  onState(listener: (state: ServerState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the server once it runs (starting it if stopped). */
  async ready(timeoutMs = 30_000): Promise<ServerInfo> {
    if (this.current.kind === "stopped") this.start();
    const running = this.server;
    if (running !== null) return running;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`the Chartbridge server did not start within ${timeoutMs / 1000} s (${describeState(this.current)})`));
      }, timeoutMs);
      const stop = this.onState(() => {
        const server = this.server;
        if (server === null && this.current.kind !== "stopped") return;
        clearTimeout(timer);
        stop();
        if (server !== null) resolve(server);
        else reject(new Error("the Chartbridge server was stopped"));
      });
    });
  }

  /**
   * Lets the server accept requests naming it by `authority` (what asExternalUri maps it to for a
   * browser outside), now and after every restart.
   */
  allowHost(authority: string): void {
    this.allowedHosts.add(authority);
    this.sendAllowedHosts();
  }

  private sendAllowedHosts(): void {
    const child = this.child;
    if (child === null || !child.connected) return;
    for (const host of this.allowedHosts) {
      const message: ServerIpcMessage = { type: "allowHost", payload: { host } };
      child.send(message);
    }
  }

  /** Starts the server if it is not running or starting. */
  start(): void {
    if (this.child !== null || this.restartTimer !== null) return;
    this.attempt = 0;
    this.backoff.reset();
    void this.spawn();
  }

  /** Stops the current server (if any) and starts a fresh one at once. */
  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }

  async stop(): Promise<void> {
    this.generation++;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const child = this.child;
    this.child = null;
    this.setState({ kind: "stopped" });
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    // Closing the IPC channel is the server's signal to shut down cleanly; kill it if it lingers.
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  }

  dispose(): Promise<void> {
    this.listeners.clear();
    return this.stop();
  }

  private setState(state: ServerState): void {
    this.current = state;
    for (const listener of [...this.listeners]) listener(state);
  }

  private async spawn(): Promise<void> {
    const generation = ++this.generation;
    this.attempt++;
    this.setState({ kind: "starting", attempt: this.attempt });
    const { log } = this.options;
    let port: number;
    try {
      port = await freePortIn(this.options.portRange());
    } catch (err) {
      this.crashed(generation, (err as Error).message, 0);
      return;
    }
    if (generation !== this.generation) return;
    const token = randomBytes(32).toString("hex");
    const args = ["serve", "--port", String(port), ...this.options.args()];
    log("info", `starting the server: node ${this.options.serverPath} ${args.join(" ")}`);
    const startedAt = Date.now();
    const child = fork(this.options.serverPath, args, {
      cwd: this.options.cwd,
      env: { ...process.env, CHARTBRIDGE_TOKEN: token },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      // The extension host's own flags (inspector, loaders) are not the server's.
      execArgv: [],
    });
    this.child = child;
    const printed: { url?: string; redis?: string } = {};
    let lastError = "";
    createInterface({ input: child.stdout! }).on("line", (line) => {
      log("info", `server: ${line}`);
      printed.url ??= PRINTED.url.exec(line)?.[1];
      printed.redis ??= PRINTED.redis.exec(line)?.[1];
      // `redis:` is the last line the server prints once it serves.
      if (generation === this.generation && printed.url !== undefined && PRINTED.redis.test(line)) {
        const url = new URL(printed.url);
        this.attempt = 0;
        this.sendAllowedHosts();
        this.setState({ kind: "connected", server: { url: printed.url, port: Number(url.port), token, redis: printed.redis ?? "", pid: child.pid ?? 0 } });
      }
    });
    createInterface({ input: child.stderr! }).on("line", (line) => {
      const down = REDIS_DOWN.exec(line);
      // Log lines start with "[chartbridge]"; anything else on stderr is a failure (e.g. the CLI's fatal error).
      const failure = down !== null || !line.startsWith("[chartbridge]");
      log(failure ? "warn" : "info", `server: ${line}`);
      if (failure) lastError = line;
      if (generation !== this.generation) return;
      const server = this.server ?? undefined;
      if (down !== null && this.current.kind !== "redisUnreachable") this.setState({ kind: "redisUnreachable", detail: down[1], server });
      if (REDIS_BACK.test(line) && this.current.kind === "redisUnreachable" && server !== undefined) this.setState({ kind: "connected", server });
    });
    child.on("error", (err) => {
      lastError = err.message;
      log("error", `server process: ${err.message}`);
    });
    child.on("exit", (code, signal) => {
      if (generation !== this.generation) return;
      this.child = null;
      const detail = `exited with ${signal ?? `code ${code}`}${lastError ? `: ${lastError}` : ""}`;
      this.crashed(generation, detail, Date.now() - startedAt);
    });
  }

  private crashed(generation: number, detail: string, uptimeMs: number): void {
    const retryInMs = this.backoff.next(uptimeMs);
    this.options.log("error", `the server ${detail}; restarting in ${retryInMs} ms`);
    // A server that could not reach its Redis says so; everything else is a crash.
    if (/redis|ECONNREFUSED/i.test(detail)) this.setState({ kind: "redisUnreachable", detail });
    else this.setState({ kind: "crashed", detail, retryInMs });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (generation === this.generation) void this.spawn();
    }, retryInMs);
  }
}

/** One line for the status bar tooltip and logs. */
export function describeState(state: ServerState): string {
  switch (state.kind) {
    case "stopped":
      return "stopped";
    case "starting":
      return state.attempt > 1 ? `starting (attempt ${state.attempt})` : "starting";
    case "connected":
      return `running at ${state.server.url}, Redis ${state.server.redis}`;
    case "redisUnreachable":
      return `Redis unreachable: ${state.detail}`;
    case "crashed":
      return `crashed (${state.detail}); restarting in ${Math.ceil(state.retryInMs / 1000)} s`;
  }
}
