/**
 * Retention settings as the extension hands them to the server it starts: VS Code's
 * `chartbridge.retention.*` become `chartbridge serve --gc-*` flags (src/server/cli.ts), which the
 * server applies with the code of `chartbridge gc` (src/server/gc.ts). One home for the flag names.
 */
export interface RetentionSettings {
  /** Keep the newest N ended runs of each strategy; null: no such rule. */
  keepLast: number | null;
  /** Keep runs younger than this (`7d`, `12h`); "": no such rule. */
  maxAge: string;
  /** Then delete the oldest runs while the prefix uses more (`2gb`); "": no such rule. */
  maxMemory: string;
}

export const RETENTION_FLAGS = { keepLast: "--gc-keep-last", maxAge: "--gc-max-age", maxMemory: "--gc-max-memory", every: "--gc-every" } as const;

/** The serve flags of `settings` (none when no rule is set: the server then collects nothing). */
export function retentionArgs(settings: RetentionSettings): string[] {
  return [
    ...(settings.keepLast !== null ? [RETENTION_FLAGS.keepLast, String(settings.keepLast)] : []),
    ...(settings.maxAge.trim() !== "" ? [RETENTION_FLAGS.maxAge, settings.maxAge.trim()] : []),
    ...(settings.maxMemory.trim() !== "" ? [RETENTION_FLAGS.maxMemory, settings.maxMemory.trim()] : []),
  ];
}
