/**
 * The IPC channel between the extension host and the server process it forks
 * (src/extension/supervisor.ts forks `dist/server.js serve`); only the parent holds that channel.
 * Host -> server: names to accept. Server -> host: its status (as rust-analyzer's `serverStatus`
 * notification), so the extension never parses log lines to know what the server is doing.
 */

export interface HostToServer {
  /**
   * Also accept requests that name the server by this authority (`host[:port]`): the one VS Code
   * serves it under for a browser outside (asExternalUri: code-server's /proxy/<port>/, a tunnel).
   */
  allowHost: { host: string };
}

export type ServerIpcMessage = { [K in keyof HostToServer]: { type: K; payload: HostToServer[K] } }[keyof HostToServer];

/**
 * How the server's Redis is (src/server/redisConnection.ts classifies the errors):
 * `unreachable` nothing answers (or the connection broke), `authFailed` the user name or password
 * was refused, `noPermission` the ACL user may not run a command or touch a key the server needs,
 * `tlsFailed` the TLS handshake failed (certificate not trusted, wrong name, client certificate
 * refused), `misconfigured` the URL or a CA/cert/key file is unusable.
 */
export const REDIS_HEALTH = ["ok", "unreachable", "authFailed", "noPermission", "tlsFailed", "misconfigured"] as const;
export type RedisHealth = (typeof REDIS_HEALTH)[number];
export type RedisFault = Exclude<RedisHealth, "ok">;

export interface ServerStatus {
  /** `http://host:port` (no token) once the server listens; null when it stops before that. */
  url: string | null;
  /** The Redis URL, password redacted (src/shared/redisUrl.ts). */
  redisUrl: string;
  redis: RedisHealth;
  /** One line for people: what is wrong with Redis and what to do; empty when `redis` is ok. */
  message: string;
}

export interface ServerToHost {
  /** Sent when the server listens, and on every change of its Redis health after that. */
  status: ServerStatus;
}

export type HostIpcMessage = { [K in keyof ServerToHost]: { type: K; payload: ServerToHost[K] } }[keyof ServerToHost];

/** A host name or IP literal with an optional port, nothing else (no path, user or scheme). */
export const AUTHORITY = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export function isServerIpcMessage(value: unknown): value is ServerIpcMessage {
  if (typeof value !== "object" || value === null) return false;
  const { type, payload } = value as { type?: unknown; payload?: { host?: unknown } };
  return type === "allowHost" && typeof payload?.host === "string";
}

export function isHostIpcMessage(value: unknown): value is HostIpcMessage {
  if (typeof value !== "object" || value === null) return false;
  const { type, payload } = value as { type?: unknown; payload?: Partial<Record<keyof ServerStatus, unknown>> };
  return (
    type === "status" &&
    typeof payload === "object" &&
    payload !== null &&
    (payload.url === null || typeof payload.url === "string") &&
    typeof payload.redisUrl === "string" &&
    (REDIS_HEALTH as readonly unknown[]).includes(payload.redis) &&
    typeof payload.message === "string"
  );
}
