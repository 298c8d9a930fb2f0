/**
 * Pieces of the reliability suite: the server and the Python producer as separate processes
 * (so their memory, crashes and kills are their own), HTTP GraphQL, and an exact checker of the
 * points a subscriber receives.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

export const ROOT = join(__dirname, "..", "..");
export const SERVER_JS = join(ROOT, "dist", "server.js");
export const PYTHON = join(ROOT, ".venv", "bin", "python");
export const PRODUCER_PY = join(__dirname, "producer.py");

export const randomPrefix = (tag: string) => `rel${tag}${randomBytes(3).toString("hex")}`;
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  port: number;
  token: string;
  /** stderr lines (the server's log). */
  logs: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** Resident set size in bytes, read from /proc (what process.memoryUsage().rss reports inside). */
  rss(): number;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * `node dist/server.js serve --redis URL` with CHARTBRIDGE_TOKEN set (workspace plugins from
 * `pluginsDir`, default none); resolves once it printed its URL.
 */
export async function spawnServer(opts: { redisUrl: string; prefix: string; token?: string; port?: number; pluginsDir?: string | null; nodeArgs?: string[] }): Promise<ServerProcess> {
  const token = opts.token ?? randomBytes(32).toString("hex");
  const args = [...(opts.nodeArgs ?? []), SERVER_JS, "serve", "--redis", opts.redisUrl, "--prefix", opts.prefix, "--plugins", opts.pluginsDir ?? "none", "--port", String(opts.port ?? 0)];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, CHARTBRIDGE_TOKEN: token }, stdio: ["ignore", "pipe", "pipe"] });
  const logs: string[] = [];
  createInterface({ input: child.stderr! }).on("line", (line) => logs.push(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const out = await new Promise<string>((resolve, reject) => {
    let text = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      if (/\nredis: .*\n/.test(text)) resolve(text);
    });
    void exited.then(({ code }) => reject(new Error(`server exited (${code}) before it printed its URL: ${text} ${logs.join("\n")}`)));
  });
  const url = /Chartbridge server: (http:\/\/127\.0\.0\.1:(\d+))\/\?token=/.exec(out);
  if (url === null) throw new Error(`no URL in ${out}`);
  const pid = child.pid as number;
  return {
    child,
    pid,
    url: url[1],
    port: Number(url[2]),
    token,
    logs,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024,
    async kill(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
    },
  };
}

export interface ProducerEvent {
  event: string;
  points?: number;
  total?: number;
  flushed?: boolean;
  stats?: { entries: number; backlog: number; dropped: number; connected: boolean; rejected: number };
}

export interface ProducerProcess {
  child: ChildProcess;
  events: ProducerEvent[];
  stderr: string[];
  /** Resolves with the first event named `name`. */
  waitFor(name: string, timeoutMs?: number): Promise<ProducerEvent>;
  exited: Promise<number | null>;
}

/** The SDK producer of producer.py: `series` line series s00.., `rate` points/s each, for `seconds`. */
export function spawnProducer(o: { redisUrl: string; prefix: string; run: string; series: number; rate: number; seconds: number; t0Ns: bigint; hold?: boolean }): ProducerProcess {
  const args = [PRODUCER_PY, o.redisUrl, o.prefix, o.run, String(o.series), String(o.rate), String(o.seconds), String(o.t0Ns), ...(o.hold ? ["--hold"] : [])];
  const child = spawn(PYTHON, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PYTHONUNBUFFERED: "1" } });
  const events: ProducerEvent[] = [];
  const stderr: string[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    events.push(JSON.parse(line) as ProducerEvent);
    for (const w of waiters) w();
  });
  createInterface({ input: child.stderr! }).on("line", (line) => stderr.push(line));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    events,
    stderr,
    exited,
    waitFor(name, timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`producer: no "${name}" within ${timeoutMs} ms; events ${JSON.stringify(events.slice(-3))}; stderr ${stderr.join("\n")}`)), timeoutMs);
        const check = () => {
          const found = events.find((e) => e.event === name);
          if (found) {
            clearTimeout(timer);
            resolve(found);
          }
        };
        waiters.push(check);
        void exited.then((code) => {
          if (!events.some((e) => e.event === name)) {
            clearTimeout(timer);
            reject(new Error(`producer exited (${code}) before "${name}": ${stderr.join("\n")}`));
          }
        });
        check();
      });
    },
  };
}

export interface HttpReply {
  status: number;
  body: string;
  json(): { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

/** A raw HTTP request (node:http, so Host and Origin can be anything). */
export function http(port: number, o: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method: o.method ?? "GET", path: o.path ?? "/", headers: o.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, body, json: () => JSON.parse(body) as ReturnType<HttpReply["json"]> });
      });
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      // A server refusing a large body answers and closes while the body is still being written:
      // the answer (if any) arrives anyway.
      if (err.code === "EPIPE" || err.code === "ECONNRESET") setTimeout(() => reject(err), 2000);
      else reject(err);
    });
    if (o.body !== undefined) req.end(o.body);
    else req.end();
  });
}

/** A GraphQL POST with the token; `raw` replaces the JSON body. */
export function gqlHttp(s: { port: number; token: string }, query: string, variables: Record<string, unknown> = {}, raw?: string | Buffer): Promise<HttpReply> {
  const body = raw ?? JSON.stringify({ query, variables });
  return http(s.port, {
    method: "POST",
    path: "/graphql",
    headers: { host: `127.0.0.1:${s.port}`, authorization: `Bearer ${s.token}`, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) },
    body,
  });
}

export async function gqlData<T>(s: { port: number; token: string }, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const reply = await gqlHttp(s, query, variables);
  const json = reply.json();
  if (reply.status !== 200 || json.errors) throw new Error(`${reply.status}: ${reply.body.slice(0, 1000)}`);
  return json.data as T;
}

export function wsUrl(s: { port: number; token: string }): string {
  return `ws://127.0.0.1:${s.port}/graphql?token=${s.token}`;
}

export function gqlWs(s: { port: number; token: string }, retryAttempts = 0): Client {
  return createClient({ url: wsUrl(s), webSocketImpl: WebSocket, retryAttempts, retryWait: () => sleep(200), lazy: true });
}

export interface LinePoints {
  t: number[];
  y: number[];
}

/**
 * Checks points of one series as they arrive against the expected sequence (point j at time
 * t0Us + j * stepUs, value j): any gap, repeat or wrong value is recorded with where it happened.
 */
export class ExactSeries {
  next = 0;
  problems: string[] = [];
  constructor(
    readonly name: string,
    private readonly t0Us: number,
    private readonly stepUs: number,
  ) {}

  add(points: LinePoints): void {
    for (let k = 0; k < points.t.length; k++) {
      const j = this.next;
      const wantT = this.t0Us + j * this.stepUs;
      if (points.t[k] !== wantT || points.y[k] !== j) {
        if (this.problems.length < 5) this.problems.push(`${this.name}: point ${j} expected (${wantT}, ${j}), got (${points.t[k]}, ${points.y[k]})`);
        // Resynchronise on the value, so one gap or repeat is reported once, not for every later point.
        this.next = points.y[k] + 1;
        continue;
      }
      this.next = j + 1;
    }
  }
}

/** A ws subscription message as it arrives. */
export interface WsMessage {
  id?: string;
  type: string;
  payload?: { data?: { batches?: { series: string; count: number; lastId: string; points: LinePoints } }; message?: string }[] | { data?: { batches?: { series: string; count: number; lastId: string; points: LinePoints } } };
}

export const BATCHES = `subscription($run: ID!, $series: ID!, $after: String) { batches(run: $run, series: $series, after: $after) { series count lastId points } }`;

/** Every stored point of a series, read with `history` pages over HTTP. */
export async function historyAll<P extends object>(s: { port: number; token: string }, run: string, series: string): Promise<P> {
  const out: Record<string, unknown[]> = {};
  let after = "0-0";
  for (;;) {
    const d = await gqlData<{ history: { count: number; lastId: string; points: Record<string, unknown[]> } }>(
      s,
      `query($run: ID!, $series: ID!, $after: String) { history(run: $run, series: $series, after: $after, maxPoints: 50000) { count lastId points } }`,
      { run, series, after },
    );
    if (d.history.count === 0) return out as P;
    for (const [k, v] of Object.entries(d.history.points)) (out[k] ??= []).push(...v);
    after = d.history.lastId;
  }
}

/** Polls `ok` every 50 ms until it returns true, or fails after `timeoutMs` saying `what`. */
export async function until(ok: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000, state?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${state ? ` (${state()})` : ""}`);
    await sleep(50);
  }
}

/**
 * A POST of a large body over a bare socket: node:http loses the answer when the server answers
 * and closes while the body is still being written (EPIPE, then RST).
 */
export function rawPost(s: { port: number; token: string }, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(s.port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => {}); // EPIPE/ECONNRESET once the server has answered and closed
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const m = /^HTTP\/1\.1 (\d{3})[^\r\n]*\r\n[\s\S]*?\r\n\r\n([\s\S]*)$/.exec(text);
      if (m === null) reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      else resolve({ status: Number(m[1]), body: /\r\ntransfer-encoding: chunked\r\n/i.test(text) ? dechunk(m[2]) : m[2] });
    });
    socket.write(`POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nAuthorization: Bearer ${s.token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    // The first 64 KiB only, then wait: the server answers on the Content-Length alone, and the
    // rest of the body would arrive at a closed socket (its RST can destroy the answer unread).
    socket.write(body.subarray(0, 65536));
  });
}

function dechunk(body: string): string {
  let out = "";
  for (let rest = body; ; ) {
    const m = /^([0-9a-f]+)\r\n/i.exec(rest);
    const size = m === null ? 0 : parseInt(m[1], 16);
    if (m === null || size === 0) return out;
    out += rest.slice(m[0].length, m[0].length + size);
    rest = rest.slice(m[0].length + size + 2);
  }
}
