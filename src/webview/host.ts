/**
 * The bridge to the VS Code host, typed by src/shared/webviewProtocol.ts. In a plain browser tab
 * there is no host: `post` is a no-op and messages only come from `dispatchLocal` (the UI itself).
 */
import type { HostMessage, HostToWebview, StrategyLayout, WebviewState, WebviewToHost } from "../shared/webviewProtocol.js";

interface VsCodeApi {
  postMessage(message: unknown): void;
  setState(state: WebviewState): void;
  getState(): WebviewState | undefined;
}
declare function acquireVsCodeApi(): VsCodeApi;

const LAYOUT_KEY = "chartbridge.layout.";

type Handler<K extends keyof HostToWebview> = (payload: HostToWebview[K]) => void;

export class Host {
  /** acquireVsCodeApi may be called once per page, so the bridge is a single instance. */
  private readonly api: VsCodeApi | null = typeof acquireVsCodeApi === "function" ? acquireVsCodeApi() : null;
  private readonly handlers = new Map<keyof HostToWebview, Set<(payload: never) => void>>();

  constructor() {
    window.addEventListener("message", (event: MessageEvent<unknown>) => {
      // Only the host (our parent frame) speaks this protocol; ignore anything else posted to us.
      if (this.api === null || !isHostMessage(event.data)) return;
      this.dispatchLocal(event.data);
    });
  }

  get inVsCode(): boolean {
    return this.api !== null;
  }

  post<K extends keyof WebviewToHost>(type: K, payload: WebviewToHost[K]): void {
    this.api?.postMessage({ type, payload });
  }

  /** Kept by VS Code while the panel lives (across its tab being hidden) and across window reloads; merged into what is kept. */
  saveState(state: WebviewState): void {
    this.api?.setState({ ...this.api.getState(), ...state });
  }

  /** The layout saved for `strategy`: in VS Code the panel's state, in a browser tab localStorage. */
  layout(strategy: string): StrategyLayout {
    if (this.api !== null) return this.api.getState()?.layouts?.[strategy] ?? {};
    try {
      return JSON.parse(localStorage.getItem(LAYOUT_KEY + strategy) ?? "{}") as StrategyLayout;
    } catch {
      // A value written by something else: start from the defaults.
      return {};
    }
  }

  saveLayout(strategy: string, layout: StrategyLayout): void {
    if (this.api !== null) this.saveState({ layouts: { ...this.api.getState()?.layouts, [strategy]: layout } });
    else localStorage.setItem(LAYOUT_KEY + strategy, JSON.stringify(layout));
  }

  savedState(): WebviewState | undefined {
    return this.api?.getState();
  }

  on<K extends keyof HostToWebview>(type: K, handler: Handler<K>): () => void {
    let set = this.handlers.get(type);
    if (set === undefined) this.handlers.set(type, (set = new Set()));
    set.add(handler as (payload: never) => void);
    return () => set.delete(handler as (payload: never) => void);
  }

  /** Delivers a message as if the host had sent it (toolbar buttons reuse the host commands). */
  dispatchLocal(message: HostMessage): void {
    for (const handler of this.handlers.get(message.type) ?? []) (handler as (payload: unknown) => void)(message.payload);
  }
}

function isHostMessage(data: unknown): data is HostMessage {
  return typeof data === "object" && data !== null && typeof (data as { type?: unknown }).type === "string" && "payload" in data;
}
