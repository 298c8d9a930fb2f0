/** The `chartbridge.*` settings (declared in package.json `contributes.configuration`). */
import * as path from "node:path";
import * as vscode from "vscode";
import type { TimeZoneSetting } from "../shared/webviewProtocol.js";
import type { RetentionSettings } from "../shared/retention.js";

export interface Settings {
  redisUrl: string;
  /** CA, client certificate and key files for a `rediss://` URL ("" when not set). */
  redisTls: { ca: string; cert: string; key: string };
  keyPrefix: string;
  pluginFolder: string;
  timeZone: TimeZoneSetting;
  codeLens: boolean;
  portRange: { from: number; to: number } | null;
  autoOpen: boolean;
  /** What the server deletes on its own (`chartbridge.retention.*`, the rules of `chartbridge gc`). */
  retention: RetentionSettings;
}

/** Settings that the server is started with: a change restarts it. */
export const SERVER_SETTINGS = ["chartbridge.redisUrl", "chartbridge.redisTls", "chartbridge.keyPrefix", "chartbridge.pluginFolder", "chartbridge.server.portRange", "chartbridge.retention"];

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration("chartbridge");
  const range = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(c.get<string>("server.portRange", ""));
  return {
    redisUrl: c.get<string>("redisUrl", "").trim(),
    redisTls: { ca: c.get<string>("redisTls.ca", "").trim(), cert: c.get<string>("redisTls.cert", "").trim(), key: c.get<string>("redisTls.key", "").trim() },
    keyPrefix: c.get<string>("keyPrefix", "chartbridge").trim() || "chartbridge",
    pluginFolder: c.get<string>("pluginFolder", ".chartbridge/plugins"),
    timeZone: c.get<TimeZoneSetting>("timeZone", "utc") === "local" ? "local" : "utc",
    codeLens: c.get<boolean>("codeLens.enabled", true),
    portRange: range === null ? null : { from: Number(range[1]), to: Number(range[2]) },
    autoOpen: c.get<boolean>("autoOpen", true),
    retention: { keepLast: c.get<number | null>("retention.keepLast", null), maxAge: c.get<string>("retention.maxAge", ""), maxMemory: c.get<string>("retention.maxMemory", "") },
  };
}

/** The workspace plugin folder, or null where no workspace plugin may run (Restricted Mode, no folder). */
export function workspacePluginDir(settings: Settings): string | null {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!vscode.workspace.isTrusted || folder === undefined || folder.uri.scheme !== "file") return null;
  return path.resolve(folder.uri.fsPath, settings.pluginFolder);
}

/**
 * The server's Redis settings, as environment variables (src/server/redisConnection.ts reads
 * them): the URL may hold a password, which a command line would show to `ps` and the log. Unset
 * settings are left out, so the server falls back to the extension host's own environment.
 * Relative TLS file paths are relative to the workspace root.
 */
export function serverEnv(settings: Settings): Record<string, string> {
  const root = vscode.workspace.workspaceFolders?.[0]?.uri;
  const file = (p: string) => (root?.scheme === "file" ? path.resolve(root.fsPath, p) : path.resolve(p));
  const { ca, cert, key } = settings.redisTls;
  return {
    ...(settings.redisUrl ? { CHARTBRIDGE_REDIS_URL: settings.redisUrl } : {}),
    ...(ca ? { CHARTBRIDGE_REDIS_CA: file(ca) } : {}),
    ...(cert ? { CHARTBRIDGE_REDIS_CERT: file(cert) } : {}),
    ...(key ? { CHARTBRIDGE_REDIS_KEY: file(key) } : {}),
  };
}
