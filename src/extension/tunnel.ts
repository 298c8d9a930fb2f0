/**
 * The host side of the `ws/*` tunnel (src/shared/webviewProtocol.ts): the webview's graphql-ws
 * client cannot rely on reaching localhost (remote hosts), so the extension host opens the real
 * WebSocket to the server for it and relays frames both ways. The URL the webview asks for is
 * ignored: the host always connects to the server it supervises now, with its current token, so
 * a restarted server (new port, new token) is reached by the webview's ordinary reconnect, and a
 * webview can never make the host connect elsewhere. No vscode import: unit-tested in node.
 */
import WebSocket from "ws";
import type { HostMessage, WebviewMessage } from "../shared/webviewProtocol.js";

export interface TunnelTarget {
  port: number;
  token: string;
}

/** Batches of live points a frame carries (the `batches` subscription's `count`), for points/s. */
const BATCH_COUNT = /^\{[^{]*"type":"next"[^{]*"payload":\{"data":\{"batches":\{[^{}]*?"count":(\d+)/;

export class TunnelRelay {
  private readonly sockets = new Map<number, WebSocket>();
  private pointsSeen = 0;

  constructor(
    private readonly target: () => TunnelTarget | null,
    private readonly post: (message: HostMessage) => void,
    private readonly log: (message: string) => void = () => {},
  ) {}

  /** Live points relayed since the last call (the status bar's points/s). */
  takePoints(): number {
    const seen = this.pointsSeen;
    this.pointsSeen = 0;
    return seen;
  }

  get open(): number {
    return this.sockets.size;
  }

  /** Handles a tunnel message; false if the message is not one. */
  handle(message: WebviewMessage): boolean {
    switch (message.type) {
      case "ws/open":
        this.openSocket(message.payload.id, message.payload.protocol);
        return true;
      case "ws/send": {
        const socket = this.sockets.get(message.payload.id);
        if (socket?.readyState === WebSocket.OPEN) socket.send(message.payload.data);
        return true;
      }
      case "ws/close": {
        const socket = this.sockets.get(message.payload.id);
        // 1005/1006/1015 may not be sent on the wire; close normally instead.
        const code = message.payload.code === 1000 || (message.payload.code >= 3000 && message.payload.code <= 4999) ? message.payload.code : 1000;
        if (socket !== undefined) socket.close(code, message.payload.reason.slice(0, 120));
        return true;
      }
      default:
        return false;
    }
  }

  /**
   * Closes every socket: the page that opened them is gone (panel hidden, which discards its page,
   * page replaced, panel disposed), so nothing is posted. A new page numbers its sockets from 1
   * again: an old socket left open would feed its frames to the new one of the same id.
   */
  closeAll(): void {
    for (const socket of this.sockets.values()) socket.terminate();
    this.sockets.clear();
  }

  private openSocket(id: number, protocol: string): void {
    const target = this.target();
    if (target === null) {
      this.post({ type: "ws/closed", payload: { id, code: 1006, reason: "the Chartbridge server is not running" } });
      return;
    }
    const url = `ws://127.0.0.1:${target.port}/graphql?token=${encodeURIComponent(target.token)}`;
    const socket = new WebSocket(url, protocol === "" ? [] : [protocol]);
    this.sockets.set(id, socket);
    socket.on("open", () => this.post({ type: "ws/opened", payload: { id, protocol: socket.protocol } }));
    socket.on("message", (data, isBinary) => {
      if (isBinary) return; // graphql-ws speaks text only
      const text = data.toString();
      const count = BATCH_COUNT.exec(text);
      if (count !== null) this.pointsSeen += Number(count[1]);
      this.post({ type: "ws/message", payload: { id, data: text } });
    });
    socket.on("error", (err) => this.log(`tunnel socket ${id}: ${err.message}`));
    socket.on("close", (code, reason) => {
      if (this.sockets.get(id) !== socket) return;
      this.sockets.delete(id);
      this.post({ type: "ws/closed", payload: { id, code, reason: reason.toString() } });
    });
  }
}
