/**
 * Chart UI entry (browser code only): reads the config the page embeds (src/shared/webviewHtml.ts),
 * then starts the panel. The same bundle runs in a VS Code webview and in a plain browser tab.
 */
import { WEBVIEW_CONFIG_ID, type WebviewConfig } from "../shared/webviewProtocol.js";
import { App } from "./app.js";
import { Host } from "./host.js";
import { installTestHook } from "./testHook.js";

function readConfig(): WebviewConfig {
  const text = document.getElementById(WEBVIEW_CONFIG_ID)?.textContent;
  return text ? (JSON.parse(text) as WebviewConfig) : { transport: { kind: "websocket" } };
}

const app = new App(readConfig(), new Host());
installTestHook(app);
app.start().catch((err: unknown) => console.error("chartbridge: start failed", err));
