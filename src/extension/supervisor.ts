/**
 * The one owner of the server child's lifecycle and status (rust-analyzer's `ctx.ts` model): it
 * forks `dist/server.js serve` with an IPC channel (the child exits when the channel closes, so a
 * dying VS Code leaves no server behind), passes a fresh token through the environment, reads the
 * status the server sends over that channel (src/shared/serverIpc.ts: where it listens, how its
 * Redis is), and restarts it with backoff when it dies. No vscode import: unit-tested in node
 * against real child processes.
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { redactRedisUrl } from "../shared/redisUrl.js";
import { isHostIpcMessage, type RedisFault, type ServerIpcMessage, type ServerStatus } from "../shared/serverIpc.js";

export type ServerState =
  | { kind: "stopped" }
  | { kind: "starting"; attempt: number }
  | { kind: "connected"; server: ServerInfo }
  | { kind: "redisUnreachable"; detail: string; server?: ServerInfo }
  /** Redis answers but refuses us (password, ACL rights, TLS) or its settings are unusable: a user must act. */
  | { kind: "redisRefused"; fault: Exclude<RedisFault, "unreachable">; detail: string; server?: ServerInfo }
  | { kind: "crashed"; detail: string; retryInMs: number };

export interface ServerInfo {
  /** `http://127.0.0.1:<port>`, without the token. */
  url: string;
  port: number;
  token: string;
  /** The Redis URL, password redacted by the server. */
  redis: string;
  pid: number;
}

export interface SupervisorOptions {
  /** The server bundle (dist/server.js). */
  serverPath: string;
  /** Extra CLI arguments after `serve --port N`, read at each start (settings may change). */
  args: () => string[];
  /** Extra environment variables (secrets go here, not in `args`, which `ps` shows), read at each start. */
  env?: () => Record<string, string>;
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
    return runningServer(this.current);
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
      this.crashed(generation, (err as Error).message, 0, null);
      return;
    }
    if (generation !== this.generation) return;
    const token = randomBytes(32).toString("hex");
    const args = ["serve", "--port", String(port), ...this.options.args()];
    log("info", `starting the server: node ${this.options.serverPath} ${args.map((a, i) => (args[i - 1] === "--redis" ? redactRedisUrl(a) : a)).join(" ")}`);
    const startedAt = Date.now();
    const child = fork(this.options.serverPath, args, {
      cwd: this.options.cwd,
      env: { ...process.env, ...this.options.env?.(), CHARTBRIDGE_TOKEN: token },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      // The extension host's own flags (inspector, loaders) are not the server's.
      execArgv: [],
    });
    this.child = child;
    let status: ServerStatus | null = null;
    let lastError = "";
    createInterface({ input: child.stdout! }).on("line", (line) => log("info", `server: ${line}`));
    createInterface({ input: child.stderr! }).on("line", (line) => {
      // Log lines start with "[chartbridge]"; anything else on stderr is a failure (e.g. the CLI's fatal error).
      const failure = !line.startsWith("[chartbridge]");
      log(failure ? "warn" : "info", `server: ${line}`);
      if (failure) lastError = line;
    });
    child.on("message", (message: unknown) => {
      if (!isHostIpcMessage(message) || generation !== this.generation) return;
      status = message.payload;
      const server = status.url === null ? undefined : { url: status.url, port: Number(new URL(status.url).port), token, redis: status.redisUrl, pid: child.pid ?? 0 };
      if (status.redis !== "ok") {
        this.setState(redisState(status.redis, status.message, server));
      } else if (server !== undefined) {
        this.attempt = 0;
        this.sendAllowedHosts();
        this.setState({ kind: "connected", server });
      }
    });
    child.on("error", (err) => {
      lastError = err.message;
      log("error", `server process: ${err.message}`);
    });
    // "close", not "exit": by then every status message and stderr line has been read.
    child.on("close", (code, signal) => {
      if (generation !== this.generation) return;
      this.child = null;
      const detail = `exited with ${signal ?? `code ${code}`}${lastError ? `: ${lastError}` : ""}`;
      this.crashed(generation, detail, Date.now() - startedAt, status);
    });
  }

  private crashed(generation: number, detail: string, uptimeMs: number, status: ServerStatus | null): void {
    const retryInMs = this.backoff.next(uptimeMs);
    this.options.log("error", `the server ${detail}; restarting in ${retryInMs} ms`);
    // A server that could not use its Redis said why; everything else is a crash.
    if (status !== null && status.redis !== "ok") this.setState(redisState(status.redis, status.message));
    else this.setState({ kind: "crashed", detail, retryInMs });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (generation === this.generation) void this.spawn();
    }, retryInMs);
  }
}

/** The server that runs in `state` (Redis may be down or refusing: the server still answers and waits for it). */
export function runningServer(state: ServerState): ServerInfo | null {
  return state.kind === "connected" ? state.server : state.kind === "redisUnreachable" || state.kind === "redisRefused" ? state.server ?? null : null;
}

/** The state for a Redis fault the server reported. */
function redisState(fault: RedisFault, detail: string, server?: ServerInfo): ServerState {
  return fault === "unreachable" ? { kind: "redisUnreachable", detail, server } : { kind: "redisRefused", fault, detail, server };
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
    case "redisRefused":
      return state.detail;
    case "crashed":
      return `crashed (${state.detail}); restarting in ${Math.ceil(state.retryInMs / 1000)} s`;
  }
}

/** The status bar's words for a refused Redis, by fault. */
const REFUSED: Record<Exclude<RedisFault, "unreachable">, string> = {
  authFailed: "Redis refused the password",
  noPermission: "Redis user lacks rights",
  tlsFailed: "Redis TLS failed",
  misconfigured: "Redis settings invalid",
};

/**
 * What the status bar shows for `state` (`rate`: live points/s; `lost`: points of the open chart's
 * run its producer could not store, which a connected server shows before its rate); status.ts draws it.
 */
export function statusBar(state: ServerState, rate: number, lost = 0): { icon: string; text: string; tooltip: string; warning: boolean } {
  const [icon, text] = ((): [string, string] => {
    switch (state.kind) {
      case "stopped":
        return ["$(debug-stop)", "Chartbridge: stopped"];
      case "starting":
        return ["$(loading~spin)", "Chartbridge: starting"];
      case "connected":
        if (lost > 0) return ["$(warning)", `Chartbridge: ${lost.toLocaleString("en-US")} points not stored`];
        return ["$(graph)", rate > 0 ? `Chartbridge: ${formatRate(rate)} pts/s` : "Chartbridge"];
      case "redisUnreachable":
        return ["$(warning)", "Chartbridge: Redis unreachable"];
      case "redisRefused":
        return ["$(warning)", `Chartbridge: ${REFUSED[state.fault]}`];
      case "crashed":
        return ["$(error)", "Chartbridge: restarting"];
    }
  })();
  const lostPoints = state.kind === "connected" && lost > 0;
  const warning = lostPoints || state.kind === "redisUnreachable" || state.kind === "redisRefused" || state.kind === "crashed";
  const loss = lostPoints ? ` The chart's run lost ${lost.toLocaleString("en-US")} points while Redis was down or full (its series show how many each).` : "";
  return { icon, text, tooltip: `Chartbridge server ${describeState(state)}.${loss} Click for actions.`, warning };
}

function formatRate(rate: number): string {
  return rate >= 1e6 ? `${(rate / 1e6).toFixed(1)}M` : rate >= 1e3 ? `${(rate / 1e3).toFixed(1)}k` : String(Math.round(rate));
}
