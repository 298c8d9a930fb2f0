/**
 * Security: the server process refuses requests without the token, with a foreign Origin or Host,
 * and a cross-site WebSocket; a run whose names carry HTML/script renders them as text in Chromium.
 */
import { strict as assert } from "node:assert";
import { Redis } from "ioredis";
import type { Browser } from "playwright-core";
import WebSocket from "ws";
import { redisKeys } from "../../src/shared/protocol.js";
import { lineFields, validEntry } from "../harness/server.js";
import { testRedis } from "../harness/rootHooks.js";
import { launchBrowser, openChart } from "../webview/browser.js";
import { http, randomPrefix, spawnServer, type ServerProcess } from "./lib.js";

const XSS = `<img src=x onerror="globalThis.__xss=1"><script>globalThis.__xss=2</script><b class="injected">b</b>`;

/** The status a WebSocket upgrade gets (101 when accepted). */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, "graphql-transport-ws", { headers });
    ws.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("open", () => {
      resolve(101);
      ws.close();
    });
    ws.once("error", (err) => (/Unexpected server response/.test(err.message) ? undefined : reject(err)));
  });
}

describe("reliability: security", function () {
  this.timeout(60_000);
  let srv: ServerProcess;
  let prefix: string;
  before(async () => {
    prefix = randomPrefix("sec");
    srv = await spawnServer({ redisUrl: testRedis().url, prefix });
  });
  after(async () => {
    await srv?.kill();
  });

  it("refuses requests without the token, with a wrong Origin or Host, and a cross-site WebSocket", async () => {
    const host = `127.0.0.1:${srv.port}`;
    const body = JSON.stringify({ query: "{ runs { id } }" });
    const post = (headers: Record<string, string>, path = "/graphql") =>
      http(srv.port, { method: "POST", path, headers: { host, "content-type": "application/json", "content-length": String(body.length), ...headers }, body });
    const auth = { authorization: `Bearer ${srv.token}` };
    const wrongToken = srv.token.slice(0, -1) + (srv.token.endsWith("0") ? "1" : "0");
    const results: [string, number, number][] = [];
    const check = async (what: string, status: Promise<number>, want: number) => results.push([what, await status, want]);
    await check("with the token (control)", post(auth).then((r) => r.status), 200);
    await check("no token", post({}).then((r) => r.status), 401);
    await check("wrong token", post({ authorization: `Bearer ${wrongToken}` }).then((r) => r.status), 401);
    await check("wrong token in the query", post({}, `/graphql?token=${wrongToken}`).then((r) => r.status), 401);
    await check("token of another length", post({ authorization: `Bearer ${srv.token}x` }).then((r) => r.status), 401);
    await check("page without the token", http(srv.port, { path: "/", headers: { host } }).then((r) => r.status), 401);
    await check("foreign Host (DNS rebinding)", post({ ...auth, host: `evil.example:${srv.port}` }).then((r) => r.status), 403);
    await check("Host on another port", post({ ...auth, host: `127.0.0.1:${srv.port + 1}` }).then((r) => r.status), 403);
    await check("foreign Origin", post({ ...auth, origin: "http://evil.example" }).then((r) => r.status), 403);
    await check("Origin on another port", post({ ...auth, origin: `http://127.0.0.1:${srv.port + 1}` }).then((r) => r.status), 403);
    await check("Origin null", post({ ...auth, origin: "null" }).then((r) => r.status), 403);
    const ws = `ws://127.0.0.1:${srv.port}/graphql`;
    await check("WebSocket with the token (control)", upgradeStatus(`${ws}?token=${srv.token}`, {}), 101);
    await check("WebSocket without the token", upgradeStatus(ws, {}), 401);
    await check("WebSocket with a wrong token", upgradeStatus(`${ws}?token=${wrongToken}`, {}), 401);
    await check("cross-site WebSocket (foreign Origin, even with the token)", upgradeStatus(`${ws}?token=${srv.token}`, { origin: "https://evil.example" }), 403);
    await check("WebSocket with a foreign Host", upgradeStatus(`${ws}?token=${srv.token}`, { host: `evil.example:${srv.port}` }), 403);
    await check("WebSocket on another path", upgradeStatus(`ws://127.0.0.1:${srv.port}/other?token=${srv.token}`, {}), 404);
    console.log(`      security: ${results.map(([what, got]) => `${what}: ${got}`).join("; ")}`);
    assert.deepEqual(results.map(([what, got]) => [what, got]), results.map(([what, , want]) => [what, want]));
    assert.ok(srv.alive());
  });

  it("renders a series title, marker texts, a strategy name and an error message full of HTML/script as text in Chromium", async () => {
    const redis = new Redis(testRedis().url);
    const keys = redisKeys(prefix);
    const run = "xss";
    const now = BigInt(Date.now()) * 1_000_000n;
    const T0 = 1_700_000_000_000_000_000n;
    await redis
      .multi()
      .hset(keys.manifest(run), { v: "1", run, strategy: XSS, source: XSS, language: "test", started: String(now), heartbeat: String(now), status: "running" })
      .zadd(keys.runs, Date.now(), run)
      .hset(keys.registry(run), {
        price: JSON.stringify({ kind: "line", pane: XSS, title: XSS, options: {}, source: { file: XSS, line: 1 } }),
        fills: JSON.stringify({ kind: "marker", pane: "main", title: XSS, options: {}, source: null, target: "price" }),
      })
      .exec();
    const times = [0, 1, 2, 3].map((i) => T0 + BigInt(i) * 60_000_000_000n);
    await redis.xadd(keys.series(run, "price"), "*", ...Object.entries(lineFields(times, [1, 2, 3, 4])).flat());
    // A rejected entry whose error message quotes the bad kind, markup included.
    await redis.xadd(keys.series(run, "price"), "*", ...Object.entries({ ...lineFields([times[3]], [5]), k: XSS }).flat());
    const marker = { ...validEntry("marker", times[1], 2), m: JSON.stringify([{ side: "buy", text: XSS }]) };
    await redis.xadd(keys.series(run, "fills"), "*", ...Object.entries(marker).flat());
    redis.disconnect();

    let browser: Browser | null = null;
    try {
      browser = await launchBrowser();
      const chart = await openChart(browser, srv);
      await chart.until((s) => s.series.length === 2 && s.series.every((x) => x.points > 0) && s.series.some((x) => x.rejected === 1), "the run drawn");
      const seen = await chart.page.evaluate(() => ({
        xss: (globalThis as unknown as { __xss?: number }).__xss ?? null,
        injected: document.querySelectorAll("img[src='x'], [onerror], b.injected, body script:not([src])").length,
        texts: [...document.querySelectorAll(".cb-legend .cb-name")].map((e) => e.textContent),
        html: document.body.innerHTML.includes("<img src=x") || document.body.innerHTML.includes('<img src="x"'),
      }));
      assert.deepEqual(seen, { xss: null, injected: 0, texts: [XSS, XSS], html: false });
      console.log(`      xss: titles, strategy, pane, source, marker text and an error message with markup shown as text; no element injected, __xss undefined`);
      await chart.page.close();
    } finally {
      await browser?.close();
    }
  });
});
