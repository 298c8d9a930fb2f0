import { strict as assert } from "node:assert";
import { request } from "node:http";
import WebSocket from "ws";
import { isSeriesKind, type SeriesKind, type ValuePoints } from "../src/shared/protocol.js";
import { collect, lineFields, query, startTestServer, useTestServer, validEntry, writeRun, xadd, type TestServer } from "./harness/server.js";
import { fieldBytes, readVectors } from "./harness/vectors.js";

const T0 = 1_700_000_000_000_000_000n;
const MIN = 60_000_000_000n;
const at = (i: number) => T0 + BigInt(i) * MIN;
const us = (i: number) => Number(at(i) / 1000n);

interface BatchReply {
  batches: { count: number; lastId: string; kind: string; points: ValuePoints };
}
const SUBSCRIBE = `subscription($run: ID!, $series: ID!, $after: String) {
  batches(run: $run, series: $series, after: $after) { count lastId kind points }
}`;
const SERIES_STATE = `query($run: ID!) { run(id: $run) { series { id count rejected stale lastError { code message entryId } } } }`;

const allPoints = (items: BatchReply[]) => ({
  t: items.flatMap((b) => b.batches.points.t),
  y: items.flatMap((b) => b.batches.points.y),
});

describe("server: runs, series, history and live batches over a real Redis", () => {
  const t = useTestServer();

  it("lists runs and their series with registry metadata", async () => {
    await writeRun(t, "run-a", {
      bars: { kind: "candlestick", pane: "main", source: { file: "/ws/strategy.py", line: 12 } },
      vol: { kind: "histogram", pane: "volume", title: "Volume" },
    });
    const r = await query<{ runs: { id: string; status: string; series: { id: string; kind: string; pane: string; title: string; source: unknown }[] }[] }>(
      t.ws,
      "{ runs { id status series { id kind pane title source { file line } } } }",
    );
    assert.deepEqual(r.errors, undefined);
    assert.deepEqual(r.data?.runs, [
      {
        id: "run-a",
        status: "running",
        series: [
          { id: "bars", kind: "candlestick", pane: "main", title: "bars", source: { file: "/ws/strategy.py", line: 12 } },
          { id: "vol", kind: "histogram", pane: "volume", title: "Volume", source: null },
        ],
      },
    ]);
  });

  it("tells each series' count, time span and last value (a candle's close, a marker's price, null when empty)", async () => {
    await writeRun(t, "facts", { bars: { kind: "candlestick" }, gap: { kind: "histogram" }, fills: { kind: "marker" }, empty: { kind: "line" } });
    await xadd(t, t.keys.series("facts", "bars"), validEntry("candlestick", at(0), 1.5));
    await xadd(t, t.keys.series("facts", "bars"), validEntry("candlestick", at(1), 1.25));
    await xadd(t, t.keys.series("facts", "gap"), lineFields([at(0), at(2)], [-4, 7.5], "histogram"));
    await xadd(t, t.keys.series("facts", "fills"), validEntry("marker", at(3), 1.125));
    const r = await query<{ run: { series: unknown[] } }>(t.ws, `{ run(id: "facts") { series { id count firstTimeUs lastTimeUs lastValue } } }`);
    const us = (i: number) => Number(at(i) / 1000n);
    assert.deepEqual(r.data?.run.series, [
      { id: "bars", count: 2, firstTimeUs: us(0), lastTimeUs: us(1), lastValue: 1.25 },
      { id: "empty", count: 0, firstTimeUs: null, lastTimeUs: null, lastValue: null },
      { id: "fills", count: 1, firstTimeUs: us(3), lastTimeUs: us(3), lastValue: 1.125 },
      { id: "gap", count: 2, firstTimeUs: us(0), lastTimeUs: us(2), lastValue: 7.5 },
    ]);
  });

  it("delivers live points exactly, then history to a late subscriber, then resumes with no gap or duplicate", async () => {
    await writeRun(t, "r1", { price: { kind: "line" } });
    const key = t.keys.series("r1", "price");
    // An empty series: history says where it stands, and the subscription starts right there.
    const start = await query<{ history: { count: number; lastId: string } }>(t.ws, `{ history(run: "r1", series: "price") { count lastId } }`);
    assert.deepEqual(start.data?.history, { count: 0, lastId: "0-0" });
    const live = collect<BatchReply>(t.ws, SUBSCRIBE, { run: "r1", series: "price", after: start.data?.history.lastId });
    await xadd(t, key, lineFields([at(0), at(1)], [1.25, 2.5]));
    await xadd(t, key, lineFields([at(2)], [-3.75]));
    await live.until((items) => allPoints(items).t.length === 3);
    assert.deepEqual(allPoints(live.items), { t: [us(0), us(1), us(2)], y: [1.25, 2.5, -3.75] });

    const late = collect<BatchReply>(t.ws, SUBSCRIBE, { run: "r1", series: "price", after: "0-0" });
    await late.until((items) => allPoints(items).t.length === 3);
    assert.deepEqual(allPoints(late.items), allPoints(live.items));

    const h = await query<{ history: { count: number; lastId: string; points: ValuePoints } }>(
      t.ws,
      `query { history(run: "r1", series: "price") { count lastId points } }`,
    );
    assert.equal(h.data?.history.count, 3);
    assert.deepEqual(h.data?.history.points, { t: [us(0), us(1), us(2)], y: [1.25, 2.5, -3.75] });

    const resumed = collect<BatchReply>(t.ws, SUBSCRIBE, { run: "r1", series: "price", after: h.data?.history.lastId });
    await xadd(t, key, lineFields([at(3)], [4]));
    await resumed.until((items) => allPoints(items).t.length >= 1);
    await live.until((items) => allPoints(items).t.length === 4);
    assert.deepEqual(allPoints(resumed.items), { t: [us(3)], y: [4] });
  });

  it("applies the ordering rule: an equal time replaces, an earlier time is dropped and counted", async () => {
    await writeRun(t, "r2", { p: { kind: "line" } });
    const key = t.keys.series("r2", "p");
    await xadd(t, key, lineFields([at(0), at(1)], [1, 2]));
    await xadd(t, key, lineFields([at(1), at(2)], [20, 3]));
    await xadd(t, key, lineFields([at(0), at(3)], [99, 4]));
    const h = await query<{ history: { points: ValuePoints } }>(t.ws, `{ history(run: "r2", series: "p") { points } }`);
    assert.deepEqual(h.data?.history.points, { t: [us(0), us(1), us(2), us(3)], y: [1, 20, 3, 4] });
    const s = await query<{ run: { series: { count: number; stale: number; rejected: number }[] } }>(t.ws, SERIES_STATE, { run: "r2" });
    assert.deepEqual(s.data?.run.series.map(({ count, stale, rejected }) => ({ count, stale, rejected })), [{ count: 4, stale: 1, rejected: 0 }]);
  });

  interface InvalidVector {
    registered?: SeriesKind;
    fields: Record<string, string>;
    error: string;
  }
  for (const { name, body } of readVectors<InvalidVector>("invalid")) {
    it(`rejects invalid/${name} (${body.error}) with a logged, counted error and keeps delivering`, async () => {
      const k = body.fields.k ?? "";
      const kind: SeriesKind = body.registered ?? (isSeriesKind(k) ? k : "line");
      await writeRun(t, "bad", { s: { kind } });
      const key = t.keys.series("bad", "s");
      const sub = collect<BatchReply>(t.ws, SUBSCRIBE, { run: "bad", series: "s", after: "0-0" });
      await xadd(t, key, validEntry(kind, at(0), 1));
      const badId = await xadd(t, key, fieldBytes(body.fields));
      await xadd(t, key, validEntry(kind, at(10), 2));
      await sub.until((items) => items.reduce((n, b) => n + b.batches.count, 0) === 2);
      assert.deepEqual(
        sub.items.flatMap((b) => b.batches.points.t),
        [us(0), us(10)],
      );
      const s = await query<{ run: { series: { rejected: number; lastError: { code: string; entryId: string; message: string } }[] } }>(t.ws, SERIES_STATE, { run: "bad" });
      const series = s.data?.run.series[0];
      assert.equal(series?.rejected, 1);
      assert.equal(series?.lastError.code, body.error);
      assert.equal(series?.lastError.entryId, badId);
      assert.ok(t.logs.some((l) => l.includes(badId) && l.includes(body.error)), `no log line for ${badId}: ${t.logs.join("\n")}`);
      sub.unsubscribe();
    });
  }

  it("tells the points a producer lost from the run's lost record; a broken record reads as 0 and hides nothing", async () => {
    await writeRun(t, "lossy", { price: { kind: "line" }, "price.ema5": { kind: "line" }, fills: { kind: "marker" } });
    await t.redis.hset(t.keys.lost("lossy"), "price", "50123", "price.ema5", "-3", "gone", "7");
    await writeRun(t, "broken", { x: { kind: "line" } });
    await t.redis.set(t.keys.lost("broken"), "not a hash");
    const r = await query<{ runs: { id: string; series: { id: string; lost: number; count: number }[] }[] }>(t.ws, "{ runs { id series { id lost count } } }");
    assert.deepEqual(r.errors, undefined);
    const byRun = Object.fromEntries((r.data?.runs ?? []).map((run) => [run.id, run.series]));
    assert.deepEqual(byRun.lossy, [
      { id: "fills", lost: 0, count: 0 },
      { id: "price", lost: 50123, count: 0 },
      { id: "price.ema5", lost: 0, count: 0 },
    ]);
    assert.deepEqual(byRun.broken, [{ id: "x", lost: 0, count: 0 }]);
  });
});

describe("server: who may connect", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t.close();
  });

  function httpStatus(path: string, headers: Record<string, string>, body = JSON.stringify({ query: "{ runs { id } }" })): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: t.server.port, path, method: "POST", headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), ...headers } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  /** fetch() will not send a foreign Host header; node:http will. */
  function rawGetStatus(path: string, headers: Record<string, string>): Promise<number> {
    return new Promise((resolve, reject) => {
      request({ host: "127.0.0.1", port: t.server.port, path, headers }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on("error", reject)
        .end();
    });
  }

  function wsOutcome(url: string, headers: Record<string, string> = {}): Promise<string> {
    return new Promise((resolve) => {
      const ws = new WebSocket(url, "graphql-transport-ws", { headers });
      ws.on("open", () => {
        ws.close();
        resolve("open");
      });
      ws.on("unexpected-response", (_req, res) => resolve(String(res.statusCode)));
      ws.on("error", (err) => resolve(`error ${err.message}`));
    });
  }

  it("binds to 127.0.0.1", () => {
    assert.match(t.server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("answers HTTP GraphQL only with the token and a local Host", async () => {
    assert.equal(await httpStatus("/graphql", { authorization: `Bearer ${t.server.token}` }), 200);
    assert.equal(await httpStatus(`/graphql?token=${t.server.token}`, {}), 200);
    assert.equal(await httpStatus("/graphql", {}), 401);
    assert.equal(await httpStatus("/graphql", { authorization: `Bearer ${t.server.token.slice(1)}x` }), 401);
    assert.equal(await httpStatus("/graphql", { authorization: `Bearer ${t.server.token}`, host: "evil.example:80" }), 403);
  });

  it("serves the standalone chart page with the token and a strict CSP, and the bundle to anyone local", async () => {
    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${t.server.url}${path}`, { headers });
    const pageRes = await get(`/?token=${t.server.token}`);
    assert.equal(pageRes.status, 200);
    const html = await pageRes.text();
    const csp = /Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? "";
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce, csp);
    assert.doesNotMatch(csp, /unsafe-eval|unsafe-inline/);
    assert.match(html, new RegExp(`<script type="module" nonce="${nonce.replace(/[+/=]/g, "\\$&")}" src="webview.js">`));
    assert.equal((await get("/")).status, 401);
    const bundle = await get("/webview.js");
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers.get("content-type") ?? "", /text\/javascript/);
    assert.equal(await rawGetStatus("/webview.js", { host: "evil.example" }), 403, "Host still checked");
    const again = /script-src 'nonce-([^']+)'/.exec(await (await get(`/?token=${t.server.token}`)).text())?.[1];
    assert.notEqual(again, nonce, "a fresh nonce per page");
  });

  it("accepts a forwarded name only once told (allowHost), over HTTP and WebSocket, and still wants the token", async () => {
    const name = "cs.example:8080";
    const graphql = `/graphql?token=${t.server.token}`;
    const ws = `ws://127.0.0.1:${t.server.port}${graphql}`;
    assert.equal(await rawGetStatus(graphql, { host: name }), 403);
    assert.equal(await wsOutcome(ws, { host: name, origin: `https://${name}` }), "403");
    t.server.allowHost(name);
    assert.equal(await rawGetStatus(`/?token=${t.server.token}`, { host: name }), 200);
    assert.equal(await rawGetStatus("/?token=wrong", { host: name }), 401);
    assert.equal(await wsOutcome(ws, { host: name, origin: `https://${name}` }), "open");
    assert.equal(await wsOutcome(ws, { host: name, origin: "https://evil.example" }), "403");
    assert.equal(await rawGetStatus(graphql, { host: "evil.example" }), 403, "other names are still refused");
    assert.throws(() => t.server.allowHost("evil.example/path"), /allowHost: "evil.example\/path" is not a host\[:port\]/);
  });

  it("refuses oversized bodies, deep queries and alias floods", async () => {
    const auth = { authorization: `Bearer ${t.server.token}` };
    assert.equal(await httpStatus("/graphql", auth, JSON.stringify({ query: `{ runs { id } }`, pad: "x".repeat(1 << 20) })), 413);
    const ours = await query(t.ws, "{ runs { id series { id source { file line } lastError { code } } } }");
    assert.equal(ours.errors, undefined, "the UI's own queries pass");
    const tooDeep = await query(t.ws, `query { __schema { types { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } } }`);
    assert.match(tooDeep.errors?.[0]?.message ?? "", /depth/i);
    const aliases = Array.from({ length: 30 }, (_, i) => `a${i}: runs { id }`).join(" ");
    const flood = await query(t.ws, `{ ${aliases} }`);
    assert.match(flood.errors?.[0]?.message ?? "", /alias/i);
  });

  it("refuses WebSocket upgrades without the token, from a foreign Origin or Host", async () => {
    const base = `ws://127.0.0.1:${t.server.port}/graphql`;
    assert.equal(await wsOutcome(`${base}?token=${t.server.token}`), "open");
    assert.equal(await wsOutcome(`${base}?token=${t.server.token}`, { origin: `http://127.0.0.1:${t.server.port}` }), "open");
    assert.equal(await wsOutcome(base), "401");
    assert.equal(await wsOutcome(`${base}?token=${t.server.token}`, { origin: "https://evil.example" }), "403");
    assert.equal(await wsOutcome(`${base}?token=${t.server.token}`, { host: "rebind.example:80" }), "403");
  });
});
