/**
 * The extension host -> server messages over the IPC channel of the forked server process
 * (src/extension/supervisor.ts forks `dist/server.js serve`). Only the parent holds that channel.
 */

export interface HostToServer {
  /**
   * Also accept requests that name the server by this authority (`host[:port]`): the one VS Code
   * serves it under for a browser outside (asExternalUri: code-server's /proxy/<port>/, a tunnel).
   */
  allowHost: { host: string };
}

export type ServerIpcMessage = { [K in keyof HostToServer]: { type: K; payload: HostToServer[K] } }[keyof HostToServer];

/** A host name or IP literal with an optional port, nothing else (no path, user or scheme). */
export const AUTHORITY = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export function isServerIpcMessage(value: unknown): value is ServerIpcMessage {
  if (typeof value !== "object" || value === null) return false;
  const { type, payload } = value as { type?: unknown; payload?: { host?: unknown } };
  return type === "allowHost" && typeof payload?.host === "string";
}
