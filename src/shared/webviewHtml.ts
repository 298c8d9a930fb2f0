/**
 * The chart page: one renderer for the server's standalone page and the extension's webview panel.
 * The CSP allows only our nonce'd script and style, plus `blob:` scripts (hot-reloaded plugins are
 * imported from Blob URLs); never `unsafe-eval` or `unsafe-inline`.
 */
import { WEBVIEW_CONFIG_ID, type WebviewConfig } from "./webviewProtocol.js";

export interface WebviewHtmlOptions {
  /** Fresh random value per page load (base64 or hex). */
  nonce: string;
  /** URL of the webview bundle (dist/webview.js), an ES module. */
  scriptUrl: string;
  config: WebviewConfig;
  /** Extra source allowed for scripts, styles, images and fonts: VS Code's `webview.cspSource`. */
  cspSource?: string;
  /** Where the page may connect (fetch/WebSocket). Default `'self'`; the tunnel needs none. */
  connectSrc?: string[];
}

const attr = (value: string) => value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** JSON inside a script element: `<` escaped so no value can close the element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");

export function renderWebviewHtml(options: WebviewHtmlOptions): string {
  const { nonce, cspSource } = options;
  if (!/^[A-Za-z0-9+/=_-]{16,}$/.test(nonce)) throw new Error("the CSP nonce must be at least 16 base64/hex characters");
  const extra = cspSource ? ` ${cspSource}` : "";
  const connect = options.connectSrc ?? (options.config.transport.kind === "websocket" ? ["'self'"] : ["'none'"]);
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}' blob:${extra}`,
    `style-src 'nonce-${nonce}'${extra}`,
    `img-src data: blob:${extra}`,
    `font-src${extra || " 'none'"}`,
    `connect-src ${connect.join(" ")}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${attr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chartbridge</title>
<style nonce="${attr(nonce)}">${STYLE}</style>
<script type="application/json" id="${WEBVIEW_CONFIG_ID}">${scriptJson(options.config)}</script>
<script type="module" nonce="${attr(nonce)}" src="${attr(options.scriptUrl)}"></script>
</head>
<body><div id="app"></div></body>
</html>
`;
}

/** Layout only; colours come from CSS variables that theme.ts sets from the VS Code theme. */
const STYLE = `
html, body { margin: 0; height: 100%; }
body { font: 12px/1.4 var(--vscode-font-family, system-ui, sans-serif); background: var(--cb-bg); color: var(--cb-fg); overflow: hidden; }
#app { display: flex; flex-direction: column; height: 100%; }
.cb-toolbar { display: flex; gap: 6px; align-items: center; padding: 4px 6px; border-bottom: 1px solid var(--cb-border); flex-wrap: nowrap; position: relative; z-index: 5; }
.cb-runs { min-width: 0; flex: 0 1 auto; max-width: 40%; }
.cb-tools { display: flex; gap: 6px; align-items: center; }
.cb-more-toggle { display: none; }
.cb-toolbar button.cb-on { outline: 1px solid var(--cb-accent); }
@media (max-width: 700px) {
  .cb-more-toggle { display: inline-block; }
  .cb-tools { display: none; position: absolute; top: 100%; right: 6px; flex-direction: column; align-items: stretch; padding: 4px; background: var(--cb-bg); border: 1px solid var(--cb-border); }
  .cb-tools.cb-open { display: flex; }
  .cb-credit { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; min-width: 0; flex: 0 1 auto; }
}
.cb-datawindow { position: absolute; top: 4px; right: 76px; z-index: 4; min-width: 200px; max-height: calc(100% - 40px); overflow: auto; padding: 4px 6px; background: var(--cb-bg); border: 1px solid var(--cb-border); font-variant-numeric: tabular-nums; }
.cb-dw-time { font-weight: 600; }
.cb-dw-pane { margin-top: 4px; font-weight: 600; text-transform: uppercase; opacity: 0.75; }
.cb-dw-row { display: flex; justify-content: space-between; gap: 12px; white-space: nowrap; }
.cb-toolbar select, .cb-toolbar button { font: inherit; color: var(--cb-fg); background: var(--cb-input-bg); border: 1px solid var(--cb-border); padding: 1px 6px; }
.cb-credit { margin-left: auto; color: var(--cb-fg); opacity: 0.6; }
.cb-banner { padding: 4px 8px; background: var(--cb-error-bg); color: var(--cb-error-fg); }
.cb-banner[hidden] { display: none; }
.cb-main { flex: 1; display: flex; min-height: 0; }
.cb-chart { flex: 1; position: relative; min-width: 0; }
.cb-legends { position: absolute; inset: 0; z-index: 3; pointer-events: none; overflow: hidden; }
.cb-legend { position: absolute; top: 4px; left: 6px; display: flex; flex-direction: column; align-items: flex-start; gap: 1px; overflow: hidden; }
.cb-legend.cb-collapsed { flex-direction: row; align-items: center; gap: 6px; }
.cb-legend.cb-collapsed .cb-legend-row { min-width: 0; overflow: hidden; text-overflow: ellipsis; }
.cb-legend.cb-collapsed .cb-legend-row ~ .cb-legend-row { display: none; }
.cb-pane-title { pointer-events: auto; white-space: nowrap; flex: none; font: inherit; font-weight: 600; text-transform: uppercase; letter-spacing: 0.04em; opacity: 0.75; color: inherit; background: none; border: none; padding: 0; cursor: pointer; }
.cb-legend.cb-collapsed .cb-pane-title::after { content: " ▸"; }
.cb-legend-row { display: flex; gap: 6px; align-items: center; pointer-events: auto; white-space: nowrap; }
.cb-legend-row.cb-hidden .cb-name { opacity: 0.45; text-decoration: line-through; }
.cb-legend-row.cb-flash { outline: 1px solid var(--cb-accent); }
.cb-swatch { width: 10px; height: 10px; border-radius: 2px; display: inline-block; }
.cb-name { cursor: pointer; }
.cb-name:hover { text-decoration: underline; }
.cb-value { font-variant-numeric: tabular-nums; }
.cb-tooltip { position: absolute; z-index: 4; max-width: 420px; padding: 4px 6px; background: var(--cb-bg); border: 1px solid var(--cb-border); pointer-events: none; font-variant-numeric: tabular-nums; white-space: pre-wrap; }
.cb-tooltip[hidden] { display: none; }
.cb-cond[data-held="true"] .cb-cond-state { color: var(--cb-up); }
.cb-cond[data-held="false"] .cb-cond-state { color: var(--cb-down); }
.cb-cond { display: flex; justify-content: space-between; gap: 12px; white-space: nowrap; }
.cb-cursor-label { position: absolute; top: 4px; z-index: 5; padding: 2px 6px; background: var(--cb-bg); border: 1px solid var(--cb-border); pointer-events: none; }
.cb-cursor-label[hidden] { display: none !important; }
.cb-cond-filter { position: absolute; left: 6px; bottom: 32px; z-index: 4; padding: 2px 6px; background: var(--cb-bg); border: 1px solid var(--cb-border); }
.cb-cond-filter label { display: block; white-space: nowrap; }
.cb-tooltip-head { font-weight: 600; }
.cb-tooltip-more { opacity: 0.7; }
.cb-badge { background: var(--cb-error-bg); color: var(--cb-error-fg); border-radius: 8px; padding: 0 5px; }
.cb-side { width: 300px; overflow: auto; border-left: 1px solid var(--cb-border); padding: 4px 6px; }
.cb-side[hidden] { display: none; }
.cb-side h3 { margin: 6px 0 2px; font-size: 12px; }
.cb-side table { border-collapse: collapse; width: 100%; }
.cb-side td, .cb-side th { padding: 1px 4px; text-align: right; }
.cb-side td:first-child, .cb-side th:first-child { text-align: left; }
.cb-trade { cursor: pointer; }
.cb-trade:hover { background: var(--cb-hover); }
.cb-trade.cb-selected { outline: 1px solid var(--cb-accent); }
.cb-plugin-error { color: var(--cb-error-fg); background: var(--cb-error-bg); white-space: pre-wrap; padding: 2px 4px; }
`;
