/**
 * Discovery records: how a notebook kernel (started by the Jupyter extension, so no environment
 * variable of ours reaches it) finds the server this extension runs. While the server runs, one
 * JSON file per server pid, `server-<pid>.json`, holds its address, token, redacted Redis URL, key
 * prefix and workspace folders; python/src/chartbridge/notebook.py reads it (protocol/SPEC.md,
 * "Finding the extension's server").
 *
 * Security: the record holds the server's token, so it is treated like Jupyter's own runtime files
 * (kernel-*.json): the directory is made 0700 and the file 0600 (written under a temporary name
 * with that mode, then renamed, so it is never readable by others, even for a moment). The Redis
 * password is never written (redactRedisUrl); the reader matches host, port and db only. A record
 * is removed when its server stops and when the extension deactivates; one left by a killed VS Code
 * names a dead pid, and readers ignore and remove it.
 */
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { redactRedisUrl } from "../shared/redisUrl.js";
import { runningServer, type ServerState } from "./supervisor.js";

export const RECORD_VERSION = 1;

export interface ServerRecord {
  version: typeof RECORD_VERSION;
  /** `http://127.0.0.1:<port>`, without the token. */
  url: string;
  token: string;
  /** The server process. */
  pid: number;
  /** The Redis URL, user and password redacted. */
  redis: string;
  prefix: string;
  /** Absolute paths of the workspace folders VS Code has open. */
  workspaceFolders: string[];
}

/**
 * `$CHARTBRIDGE_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/chartbridge` (a per-user tmpfs emptied at
 * logout), else `~/.cache/chartbridge/servers`. notebook.py's `runtime_dir` is the same rule.
 */
export function recordDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CHARTBRIDGE_RUNTIME_DIR) return env.CHARTBRIDGE_RUNTIME_DIR;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, "chartbridge");
  return join(homedir(), ".cache", "chartbridge", "servers");
}

export function recordPath(dir: string, pid: number): string {
  return join(dir, `server-${pid}.json`);
}

export function writeRecord(dir: string, record: ServerRecord): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700); // an existing directory made with a looser umask is tightened
  const file = recordPath(dir, record.pid);
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify({ ...record, redis: redactRedisUrl(record.redis) }), { mode: 0o600 });
  renameSync(temp, file);
  return file;
}

/**
 * Keeps the record of the supervisor's server in `dir` while it runs: written when it is connected,
 * removed when it stops or goes away. Returns the disposer, which removes it too.
 */
export function keepServerRecord(
  onState: (listener: (state: ServerState) => void) => () => void,
  options: { dir: string; prefix: () => string; workspaceFolders: () => string[]; log: (message: string) => void },
): () => void {
  let written: string | null = null;
  const remove = () => {
    if (written !== null) rmSync(written, { force: true });
    written = null;
  };
  const stop = onState((state) => {
    const server = runningServer(state);
    if (state.kind !== "connected" || server === null) {
      if (server === null) remove(); // Redis trouble keeps the server (and its record) up
      return;
    }
    if (written !== null && written !== recordPath(options.dir, server.pid)) remove();
    try {
      written = writeRecord(options.dir, {
        version: RECORD_VERSION, url: server.url, token: server.token, pid: server.pid, redis: server.redis,
        prefix: options.prefix(), workspaceFolders: options.workspaceFolders(),
      });
    } catch (err) {
      options.log(`cannot write the server record for notebooks in ${options.dir}: ${(err as Error).message}`);
    }
  });
  return () => {
    stop();
    remove();
  };
}
