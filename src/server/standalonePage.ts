/**
 * The chart in a plain browser tab: GET / answers the same page the VS Code panel shows (one
 * renderer, src/shared/webviewHtml.ts), connecting straight to this server's WebSocket. `?run=ID`
 * opens that run instead of the newest.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { NAME_PATTERNS } from "../shared/protocol.js";
import { renderWebviewHtml } from "../shared/webviewHtml.js";

export const WEBVIEW_PATH = "/webview.js";
export const PUBLIC_PATHS = new Set([WEBVIEW_PATH, `${WEBVIEW_PATH}.map`]);

/**
 * `onPage(run)` is told of each page served (`run` null: the newest), so the server can start
 * reading that run while the page loads rather than when it first asks.
 */
export function standalonePage(bundlePath: string, onPage: (run: string | null) => void = () => {}) {
  const file = (path: string) => (existsSync(path) ? readFileSync(path) : null);
  return {
    /** Answers the page and its bundle; false for anything else. */
    serve(req: IncomingMessage, res: ServerResponse): boolean {
      if (req.method !== "GET") return false;
      const { pathname, searchParams } = new URL(req.url ?? "/", "http://localhost");
      if (pathname === "/") {
        const run = searchParams.get("run");
        if (run !== null && !NAME_PATTERNS.run.test(run)) {
          res.writeHead(400, { "content-type": "text/plain" }).end(`invalid run id ${JSON.stringify(run)}`);
          return true;
        }
        const config = { transport: { kind: "websocket" as const }, ...(run === null ? {} : { run }) };
        // Relative: behind a path prefix (code-server's /proxy/<port>/) the bundle is under it too.
        const html = renderWebviewHtml({ nonce: randomBytes(18).toString("base64"), scriptUrl: WEBVIEW_PATH.slice(1), config });
        res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" }).end(html);
        onPage(run);
        return true;
      }
      if (!PUBLIC_PATHS.has(pathname)) return false;
      // Read on each request so a rebuilt bundle is served without a restart.
      const body = file(pathname === WEBVIEW_PATH ? bundlePath : `${bundlePath}.map`);
      if (body === null) {
        res.writeHead(404, { "content-type": "text/plain" }).end("webview bundle not built: run `npm run build`");
        return true;
      }
      const type = pathname.endsWith(".map") ? "application/json" : "text/javascript; charset=utf-8";
      res.writeHead(200, { "content-type": type, "cache-control": "no-cache", "x-content-type-options": "nosniff" }).end(body);
      return true;
    },
  };
}
