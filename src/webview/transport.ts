/**
 * The graphql-ws client over one of two transports, chosen by the page config (webviewHtml.ts):
 * a direct WebSocket in a plain browser tab, or TunnelSocket over postMessage inside VS Code.
 * graphql-ws retries lost connections itself; `onStatus` drives the connection banner.
 */
import { createClient, type Client } from "graphql-ws";
import type { WebviewTransport } from "../shared/webviewProtocol.js";
import type { Host } from "./host.js";

export type ConnectionStatus = "connecting" | "connected" | "lost";

/**
 * The WebSocket surface graphql-ws uses, implemented over the host's `ws/*` messages. The host
 * opens the real socket to the server and relays frames both ways.
 */
function tunnelSocketClass(host: Host) {
  let nextId = 1;
  return class TunnelSocket {
    static readonly CONNECTING = 0;
    static readonly OPEN = 1;
    static readonly CLOSING = 2;
    static readonly CLOSED = 3;
    readonly id = nextId++;
    readyState = TunnelSocket.CONNECTING;
    protocol = "";
    onopen: ((event: Event) => void) | null = null;
    onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
    onerror: ((event: Event) => void) | null = null;
    onmessage: ((event: { data: string }) => void) | null = null;
    private readonly unlisten: (() => void)[];

    constructor(url: string, protocol: string) {
      this.unlisten = [
        host.on("ws/opened", (m) => {
          if (m.id !== this.id) return;
          this.readyState = TunnelSocket.OPEN;
          this.protocol = m.protocol;
          this.onopen?.(new Event("open"));
        }),
        host.on("ws/message", (m) => {
          if (m.id === this.id && this.readyState === TunnelSocket.OPEN) this.onmessage?.({ data: m.data });
        }),
        host.on("ws/closed", (m) => {
          if (m.id === this.id) this.closed(m.code, m.reason);
        }),
      ];
      host.post("ws/open", { id: this.id, url, protocol });
    }

    send(data: string): void {
      host.post("ws/send", { id: this.id, data });
    }

    close(code = 1000, reason = ""): void {
      if (this.readyState >= TunnelSocket.CLOSING) return;
      this.readyState = TunnelSocket.CLOSING;
      host.post("ws/close", { id: this.id, code, reason });
    }

    private closed(code: number, reason: string): void {
      if (this.readyState === TunnelSocket.CLOSED) return;
      this.readyState = TunnelSocket.CLOSED;
      for (const stop of this.unlisten) stop();
      this.onclose?.({ code, reason, wasClean: code === 1000 });
    }
  };
}

/**
 * The direct URL: the page was served by the server with `?token=` in its own URL. Relative to the
 * page, so behind a path prefix (code-server's /proxy/<port>/) the socket goes through it too.
 */
function directUrl(): string {
  const url = new URL("graphql", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.search = `?token=${encodeURIComponent(new URLSearchParams(location.search).get("token") ?? "")}`;
  return url.href;
}

export function createGraphqlClient(transport: WebviewTransport, host: Host, onStatus: (status: ConnectionStatus) => void): Client {
  const client = createClient({
    url: transport.url ?? directUrl(),
    webSocketImpl: transport.kind === "postMessage" ? tunnelSocketClass(host) : WebSocket,
    // Keep one connection while the panel is open, and retry forever: the extension restarts a
    // crashed server, and the chart should come back on its own.
    lazy: false,
    keepAlive: 10_000,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** retries))),
    on: {
      connecting: () => onStatus("connecting"),
      connected: () => onStatus("connected"),
      closed: () => onStatus("lost"),
    },
  });
  return client;
}
