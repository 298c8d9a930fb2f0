/**
 * Wire format version 1 (protocol/SPEC.md): names, limits, Redis keys and the JSON shapes the
 * server sends to clients. Shared by the server, the extension host and the webview, so it uses
 * no node, DOM or vscode API.
 */

export const PROTOCOL_VERSION = "1";

export const SERIES_KINDS = ["line", "area", "baseline", "histogram", "candlestick", "bar", "marker"] as const;
export type SeriesKind = (typeof SERIES_KINDS)[number];

export function isSeriesKind(value: string): value is SeriesKind {
  return (SERIES_KINDS as readonly string[]).includes(value);
}

/**
 * Registry roles (section 5). A `condition` is a `line` series of one named boolean per bar: `y` is
 * 1 where it held, 0 where it did not (`cb.condition`). Readers list conditions instead of drawing them.
 */
export const SERIES_ROLES = ["condition"] as const;
export type SeriesRole = (typeof SERIES_ROLES)[number];

/** Kinds whose points are one value per time (`y`). */
export type ValueKind = "line" | "area" | "baseline" | "histogram";
/** Kinds whose points are open/high/low/close. */
export type OhlcKind = "candlestick" | "bar";

export function isOhlcKind(kind: SeriesKind): kind is OhlcKind {
  return kind === "candlestick" || kind === "bar";
}

export const LIMITS = {
  maxBatchPoints: 100_000,
  maxSeriesIdLength: 200,
  maxMarkerText: 1024,
  maxRegistryBytes: 65_536,
  maxPublishBytes: 1 << 20,
  /** Times are ns in [0, 2^53 * 1000) so that floor(t / 1000) is an exact JSON number. */
  maxTimeNs: 9_007_199_254_740_992_000n,
  /** A running run whose heartbeat is older than this is treated as ended. */
  heartbeatTimeoutMs: 30_000,
} as const;

export const ERROR_CODES = [
  "E_VERSION",
  "E_KIND",
  "E_KIND_MISMATCH",
  "E_COUNT",
  "E_FIELD",
  "E_LENGTH",
  "E_TIME",
  "E_ORDER",
  "E_NONFINITE",
  "E_CANDLE",
  "E_MARKER",
  "E_NAME",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const NAME_PATTERNS = {
  prefix: /^[A-Za-z0-9_-]{1,64}$/,
  run: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/,
  series: /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,199}$/,
  plugin: /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/,
} as const;

/**
 * Why `name` cannot name a plugin, or null. The server loads `<name>.js` from the plugin folder
 * only when NAME_PATTERNS.plugin accepts the name (src/server/plugins.ts); the New Plugin command
 * asks this, so it never writes a file the server would silently ignore.
 */
export function pluginNameProblem(name: string): string | null {
  if (NAME_PATTERNS.plugin.test(name)) return null;
  if (name.length === 0 || name.length > 64) return "a plugin name has 1 to 64 characters";
  if (!/^[A-Za-z0-9_]/.test(name)) return "a plugin name starts with an ASCII letter, a digit or _";
  return "a plugin name has ASCII letters, digits, _, . and - only";
}

/** Redis keys of section 2; every key of a run carries the run's hash tag. */
export function redisKeys(prefix: string) {
  const run = (id: string) => `${prefix}:{${id}}`;
  return {
    runs: `${prefix}:runs`,
    runlog: `${prefix}:runlog`,
    /** SET of run ids `chartbridge gc` never collects. */
    pinned: `${prefix}:pinned`,
    manifest: (id: string) => `${run(id)}:manifest`,
    registry: (id: string) => `${run(id)}:series`,
    series: (id: string, series: string) => `${run(id)}:s:${series}`,
    events: (id: string) => `${run(id)}:events`,
    plugins: (id: string) => `${run(id)}:plugins`,
    results: (id: string) => `${run(id)}:results`,
    /** Points each series lost in an outage (section 11, "Outages and loss"). */
    lost: (id: string) => `${run(id)}:lost`,
    /** The uncommitted diff when the run started (SPEC section 5), read only on request. */
    dirty: (id: string) => `${run(id)}:dirty`,
    /** Glob matching every key of a run, for deletion. */
    runPattern: (id: string) => `${run(id)}:*`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;

export const MARKER_SIDES = ["buy", "sell"] as const;
export const MARKER_SHAPES = ["arrowUp", "arrowDown", "circle", "square"] as const;
export const MARKER_POSITIONS = ["aboveBar", "belowBar", "inBar", "atPriceTop", "atPriceBottom", "atPriceMiddle"] as const;

export interface Marker {
  side: (typeof MARKER_SIDES)[number] | null;
  text: string;
  shape?: (typeof MARKER_SHAPES)[number];
  position?: (typeof MARKER_POSITIONS)[number];
  color?: string;
  /**
   * Only in a decimated range answer (never stored): this marker stands for `count` markers from its
   * time to `toUs` (µs), `buys` and `sells` of them on those sides (src/server/lod.ts).
   */
  cluster?: { count: number; buys: number; sells: number; toUs: number };
}

/** A series registry entry (section 5). */
export interface SeriesInfo {
  kind: SeriesKind;
  pane: string;
  title: string;
  color?: string;
  options: Record<string, unknown>;
  source: { file: string; line: number } | null;
  target?: string;
  /** Only on a `line` series (section 5). */
  role?: SeriesRole;
}

/**
 * Points in the JSON form of section 4: columns, times in integer microseconds. One shape per
 * kind family so a client never guesses which columns are there.
 */
export interface ValuePoints {
  t: number[];
  y: number[];
}
export interface OhlcPoints {
  t: number[];
  o: number[];
  h: number[];
  l: number[];
  c: number[];
  vol?: number[];
}
export interface MarkerPoints {
  t: number[];
  /** null: the marker has no price. */
  y: (number | null)[];
  m: Marker[];
}
export type Points = ValuePoints | OhlcPoints | MarkerPoints;

export const RUN_STATUSES = ["running", "ended"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
