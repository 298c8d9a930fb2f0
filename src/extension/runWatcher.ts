/**
 * Follows the run list (runs starting and being deleted) over graphql-ws, for "auto-open the chart
 * when a run starts" and the run facts on the lenses. The URL is asked for on each (re)connect, so
 * a restarted server is followed. No vscode import.
 */
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { OPERATIONS, type DataOf, type RunListEvent } from "../shared/api.js";
import type { TunnelTarget } from "./tunnel.js";

export class RunWatcher {
  private readonly client: Client;
  private readonly unsubscribe: () => void;

  constructor(target: () => Promise<TunnelTarget>, onEvent: (event: RunListEvent) => void, log: (message: string) => void) {
    this.client = createClient({
      url: async () => {
        const { port, token } = await target();
        return `ws://127.0.0.1:${port}/graphql?token=${encodeURIComponent(token)}`;
      },
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: Infinity,
      shouldRetry: () => true,
      retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * 2 ** retries))),
    });
    this.client.on("error", () => {});
    this.unsubscribe = this.client.subscribe<DataOf<typeof OPERATIONS.runListEvents>>(
      { query: OPERATIONS.runListEvents.document },
      {
        next: (result) => result.data && onEvent(result.data.runEvents),
        error: (err) => log(`run list subscription: ${err instanceof Error ? err.message : JSON.stringify(err)}`),
        complete: () => {},
      },
    );
  }

  dispose(): void {
    this.unsubscribe();
    void this.client.dispose();
  }
}
