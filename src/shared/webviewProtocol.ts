/**
 * The host <-> webview message protocol: message names mapped to payload types, one map per
 * direction (the GitLens `src/webviews/protocol.ts` pattern). The host is the VS Code extension;
 * in a plain browser tab there is no host and only the UI commands are ever dispatched locally.
 *
 * The `ws/*` messages tunnel graphql-ws over postMessage: inside VS Code the webview must not
 * depend on reaching localhost itself (remote hosts), so the extension opens the real WebSocket to
 * the server and relays frames. `id` names one tunnelled socket (graphql-ws opens a new one on
 * every reconnect).
 */

export type ThemeKind = "dark" | "light" | "high-contrast" | "high-contrast-light";
export type TimeZoneSetting = "utc" | "local";

/** Messages the host sends to the webview. */
export interface HostToWebview {
  "ws/opened": { id: number; protocol: string };
  "ws/message": { id: number; data: string };
  /** The socket closed or failed to open (code 1006 when it never opened). */
  "ws/closed": { id: number; code: number; reason: string };
  /** Shows the chart of a run (e.g. the one a CodeLens was clicked for). */
  selectRun: { run: string };
  /** Shows or hides a series; `visible` omitted toggles it. */
  toggleSeries: { series: string; visible?: boolean };
  /** Makes a series visible and highlights its legend entry. */
  revealSeries: { series: string };
  /** Forces a theme; omitted: follow the body classes VS Code sets. */
  setTheme: { kind?: ThemeKind };
  setTimeZone: { zone: TimeZoneSetting };
  /**
   * A debug session paused at this event time (µs): the chart draws a cursor there and scrolls to
   * it; null when the session continues or ends.
   */
  timeCursor: { timeUs: number | null };
  /** Saves the chart as PNG (the webview answers with `saveFile`). */
  exportPng: Record<string, never>;
  /** Saves the visible points of a series as CSV (the webview answers with `saveFile`). */
  exportCsv: { series: string };
  /**
   * Compares a run (`base`, else the shown one) with these runs (overlays, divergences, statistics);
   * empty: stop comparing.
   */
  compareRuns: { runs: string[]; base?: string };
}

/** The debug-by-bar actions of the chart's context menu (src/extension/debugCursor.ts, DebugByBar). */
export type DebugBarAction = "breakHere" | "runToBar" | "stepToNextBar";

/** Messages the webview sends to the host. */
export interface WebviewToHost {
  /** The page has loaded and listens for messages. */
  ready: Record<string, never>;
  "ws/open": { id: number; url: string; protocol: string };
  "ws/send": { id: number; data: string };
  "ws/close": { id: number; code: number; reason: string };
  /** Opens the source line that produced a series (legend click, marker click). */
  revealSource: { file: string; line: number };
  /** The chart now shows this run (picked in the panel, or the newest when it started). */
  runShown: { run: string };
  /**
   * The series of the shown run the chart hides now, sent after every change (lens, legend)
   * and with each run shown, so the lenses' "Hide/Show series" follow the chart, not the host's guess.
   */
  seriesVisibility: { hidden: string[] };
  /** A file for the host to save (webviews cannot download). */
  saveFile: { name: string; mime: string; base64: string };
  /** Opens VS Code's diff of two commits of the repository at `root` (the compared runs' commits). */
  /** fromDirty/toDirty: a run's saved uncommitted diff (Latin-1 bytes): the diff is of the working states. */
  openCommitDiff: { root: string; from: string; to: string; fromDirty?: string | null; toDirty?: string | null };
  /**
   * A debug-by-bar action chosen on a point of a series: the point's time (µs) and the source of
   * the series (the function that made it, 1-based line of its decorator).
   */
  debugBar: { action: DebugBarAction; series: string; timeUs: number; source: { file: string; line: number } };
}

/**
 * What the webview keeps with `setState`: VS Code gives it back to the page reloaded after its tab
 * was hidden (`getState`), and to the panel serializer after a window reload, so the panel reopens
 * on the run shown with the same series hidden.
 */
export interface WebviewState {
  run?: string;
  /** Series of `run` the chart hides. */
  hidden?: string[];
  /** Each strategy's pane layout, restored when a run of it opens (src/webview/paneLayout.ts). */
  layouts?: Record<string, StrategyLayout>;
}

/** What the chart remembers per strategy: pane heights (stretch factors) and folded legends, by pane name. */
export interface StrategyLayout {
  heights?: Record<string, number>;
  collapsed?: Record<string, boolean>;
}

/** One message of a direction map, discriminated by `type`. */
export type MessageOf<M> = { [K in keyof M]: { type: K; payload: M[K] } }[keyof M];
export type HostMessage = MessageOf<HostToWebview>;
export type WebviewMessage = MessageOf<WebviewToHost>;

/** The subset of messages that are UI commands (everything but the tunnel). */
export type UiCommand = Exclude<HostMessage, { type: `ws/${string}` }>;

/**
 * How the page reaches the server; embedded in the page by `renderWebviewHtml`.
 * - `websocket`: connect directly (a plain browser tab served by the server). `url` defaults to
 *   `ws(s)://<page host>/graphql?token=<the page's token query parameter>`.
 * - `postMessage`: tunnel through the host (VS Code); `url` is passed on in `ws/open`.
 */
export type WebviewTransport = { kind: "websocket"; url?: string } | { kind: "postMessage"; url: string };

export interface WebviewConfig {
  transport: WebviewTransport;
  /** Run to show first; default the newest. */
  run?: string;
  timeZone?: TimeZoneSetting;
  /** Plugins (JavaScript from the workspace) may run; false in an untrusted workspace. Default true. */
  pluginsAllowed?: boolean;
}

/** Id of the JSON script element that carries the WebviewConfig. */
export const WEBVIEW_CONFIG_ID = "chartbridge-config";
