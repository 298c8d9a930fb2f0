/**
 * Bad input: over 10k malformed stream entries (random mutations of valid ones) interleaved with
 * valid ones in four series, and over 1k bad GraphQL requests over HTTP and WebSocket. The server
 * (its own process) must keep running and answering, count every rejected entry on its series
 * (the expected code of each entry comes from the reference reader of test/harness/specDecoder.ts,
 * written from SPEC section 3 apart from the server's decoder), and keep exactly the valid points
 * around them (by the ordering rule of SPEC section 3).
 */
import { strict as assert } from "node:assert";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { redisKeys, type SeriesKind } from "../../src/shared/protocol.js";
import { testRedis } from "../harness/rootHooks.js";
import { prng } from "../harness/prng.js";
import { referenceDecode } from "../harness/specDecoder.js";
import { gqlData, gqlHttp, historyAll, http, randomPrefix, rawPost, sleep, spawnServer, until, wsUrl, type ServerProcess } from "./lib.js";

type Rng = ReturnType<typeof prng>;
type Fields = Record<string, Buffer>;

const SEED = Number(process.env.CHARTBRIDGE_REL_SEED ?? 20250101);
const T0_NS = 1_700_000_000_000_000_000n;
const MS = 1_000_000n;
const SERIES: Record<string, SeriesKind> = { fl: "line", fa: "area", fc: "candlestick", fm: "marker" };
const MIN_INVALID = 10_000;
const MIN_GRAPHQL = 1_000;

const i64 = (xs: bigint[]) => {
  const b = Buffer.alloc(8 * xs.length);
  xs.forEach((v, i) => b.writeBigInt64LE(v, i * 8));
  return b;
};
const f64 = (xs: number[]) => {
  const b = Buffer.alloc(8 * xs.length);
  xs.forEach((v, i) => b.writeDoubleLE(v, i * 8));
  return b;
};
const s = (text: string) => Buffer.from(text, "utf8");

/** A valid entry of `kind` with `n` points at strictly rising times from `from`. */
function validEntry(rng: Rng, kind: SeriesKind, from: bigint, n: number): Fields {
  const t: bigint[] = [];
  let at = from;
  for (let i = 0; i < n; i++) {
    t.push(at);
    at += BigInt(rng.int(1, 3)) * MS;
  }
  const value = () => rng.int(-100000, 100000) / 100 || 1;
  const base: Fields = { v: s("1"), k: s(kind), n: s(String(n)), t: i64(t) };
  if (kind === "candlestick" || kind === "bar") {
    const o = t.map(value);
    const c = t.map(value);
    return { ...base, o: f64(o), h: f64(o.map((x, i) => Math.max(x, c[i]) + 1)), l: f64(o.map((x, i) => Math.min(x, c[i]) - 1)), c: f64(c) };
  }
  if (kind === "marker") {
    const markers = t.map(() => ({ side: rng.pick(["buy", "sell", null] as const), text: `<b>${rng.int(0, 999)}</b>` }));
    return { ...base, y: f64(t.map(() => (rng.next() < 0.2 ? Number.NaN : value()))), m: s(JSON.stringify(markers)) };
  }
  return { ...base, y: f64(t.map(value)) };
}

const lastTime = (f: Fields) => f.t.readBigInt64LE(f.t.length - 8);
const pointsOf = (f: Fields) => f.t.length / 8;

/** One random mutation; most make the entry invalid, some leave it valid (duplicates, stale times, unknown fields). */
function mutate(rng: Rng, f: Fields, kind: SeriesKind): { fields: Fields; what: string } {
  const out: Fields = { ...f };
  const n = pointsOf(f);
  const numeric = Object.keys(f).filter((k) => ["y", "o", "h", "l", "c"].includes(k));
  const setF64 = (col: string, i: number, v: number) => {
    const b = Buffer.from(out[col]);
    b.writeDoubleLE(v, i * 8);
    out[col] = b;
  };
  const setT = (i: number, v: bigint) => {
    const b = Buffer.from(out.t);
    b.writeBigInt64LE(v, i * 8);
    out.t = b;
  };
  const what = rng.pick([
    "version", "kind", "count", "missing", "truncate", "extend", "nonfinite", "time", "order", "duplicate", "stale",
    "candle", "marker", "garbage", "unknown", "hugeN",
  ] as const);
  switch (what) {
    case "version":
      if (rng.next() < 0.3) delete out.v;
      else out.v = rng.pick([s("2"), s(""), s("1 "), s("01"), rng.bytes(rng.int(1, 8))]);
      break;
    case "kind":
      if (rng.next() < 0.2) delete out.k;
      else out.k = rng.pick([s("lines"), s("LINE"), s(""), s(rng.pick(Object.values(SERIES).filter((k) => k !== kind))), s("bar"), rng.bytes(4)]);
      break;
    case "count":
      if (rng.next() < 0.15) delete out.n;
      else out.n = s(rng.pick(["0", "-1", "01", "1e3", "1.0", "abc", "100001", "99999999999999999999", ` ${n}`, String(n + 1), String(Math.max(1, n - 1)), "NaN", ""]));
      break;
    case "missing": {
      const required = kind === "candlestick" ? ["t", "o", "h", "l", "c"] : kind === "marker" ? ["t", "y", "m"] : ["t", "y"];
      delete out[rng.pick(required)];
      break;
    }
    case "truncate": {
      const col = rng.pick(["t", ...numeric]);
      out[col] = out[col].subarray(0, Math.max(0, out[col].length - rng.int(1, out[col].length)));
      break;
    }
    case "extend": {
      const col = rng.pick(["t", ...numeric]);
      out[col] = Buffer.concat([out[col], rng.bytes(rng.int(1, 16))]);
      break;
    }
    case "nonfinite":
      setF64(rng.pick(numeric), rng.int(0, n - 1), rng.pick([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]));
      break;
    case "time":
      setT(rng.int(0, n - 1), rng.pick([-1n, -(2n ** 63n), 2n ** 53n * 1000n, 2n ** 63n - 1n]));
      break;
    case "order":
      if (n >= 2) {
        const i = rng.int(1, n - 1);
        setT(i, f.t.readBigInt64LE((i - 1) * 8) - BigInt(rng.int(1, 5)));
      } else setT(0, -5n);
      break;
    case "duplicate":
      // Equal times within an entry are valid: the later point replaces the earlier one.
      if (n >= 2) {
        const i = rng.int(1, n - 1);
        setT(i, f.t.readBigInt64LE((i - 1) * 8));
        for (let j = i + 1; j < n; j++) if (out.t.readBigInt64LE(j * 8) < out.t.readBigInt64LE(i * 8)) setT(j, out.t.readBigInt64LE(i * 8));
      }
      break;
    case "stale": {
      // A whole entry back in time (valid, its points dropped as stale) or at the same µs as before.
      const back = BigInt(rng.int(0, 50)) * MS;
      const t = Array.from({ length: n }, (_, i) => f.t.readBigInt64LE(i * 8) - back - 200n * MS);
      out.t = i64(t);
      break;
    }
    case "candle":
      if (kind === "candlestick") setF64(rng.pick(["h", "l"]), rng.int(0, n - 1), rng.pick([-1e9, 1e9]));
      else setF64(rng.pick(numeric), 0, Number.NaN);
      break;
    case "marker":
      if (kind === "marker") {
        out.m = rng.pick([
          s("not json"),
          s("[]"),
          s(JSON.stringify(Array.from({ length: n + 1 }, () => ({ side: "buy", text: "x" })))),
          s(JSON.stringify(Array.from({ length: n }, () => ({ side: "long", text: "x" })))),
          s(JSON.stringify(Array.from({ length: n }, () => ({ side: null, text: "x".repeat(1025) })))),
          s(JSON.stringify(Array.from({ length: n }, () => ({ side: "sell", text: "x", color: "red" })))),
          s(JSON.stringify(Array.from({ length: n }, () => ({ side: "sell", text: "x", shape: "star" })))),
          s(JSON.stringify(Array.from({ length: n }, () => ({ side: "buy" })))),
          Buffer.from([0xff, 0xfe, 0x5b, 0x5d]),
        ]);
      } else out.m = s("[not json but ignored]"); // m on another kind: an unknown field there
      break;
    case "garbage": {
      const field = rng.pick(Object.keys(out));
      out[field] = rng.bytes(rng.int(0, 64));
      break;
    }
    case "unknown":
      out[`x${rng.int(0, 99)}`] = rng.bytes(rng.int(0, 32));
      break;
    case "hugeN":
      out.n = s(rng.pick(["100000", "99999", "100001"]));
      if (rng.next() < 0.05) {
        // Columns that match a huge n, with one bad value at the end.
        const big = 100_000;
        out.n = s(String(big));
        out.t = i64(Array.from({ length: big }, (_, i) => T0_NS + BigInt(i)));
        for (const col of numeric) out[col] = f64(Array.from({ length: big }, (_, i) => (i === big - 1 ? Number.NaN : 1)));
        if (kind === "marker") out.m = s(JSON.stringify(Array.from({ length: big }, () => ({ side: null, text: "" }))));
      }
      break;
  }
  return { fields: out, what };
}

interface Expected {
  t: number[];
  cols: Record<string, number[]>;
  m: unknown[];
  stale: number;
  rejected: number;
  lastError: { code: string; entryId: string } | null;
}

const COLUMNS: Record<string, string[]> = { line: ["y"], area: ["y"], candlestick: ["o", "h", "l", "c"], marker: ["y"] };

/** The ordering rule of SPEC section 3, in µs, on a decoded valid entry (as SeriesStore applies it). */
function applyValid(e: Expected, kind: SeriesKind, f: Fields, markers: unknown[] | undefined): void {
  const n = pointsOf(f);
  for (let i = 0; i < n; i++) {
    const us = Number(f.t.readBigInt64LE(i * 8) / 1000n);
    let at = e.t.length;
    if (at > 0) {
      const last = e.t[at - 1];
      if (us < last) {
        e.stale++;
        continue;
      }
      if (us === last && kind !== "marker") at--; // a marker is an event: kept at an equal time
    }
    e.t[at] = us;
    for (const col of COLUMNS[kind]) e.cols[col][at] = f[col].readDoubleLE(i * 8);
    if (markers) e.m[at] = markers[i];
  }
}

const jsonish = (xs: number[]) => xs.map((v) => (Number.isNaN(v) ? null : v));

describe("reliability: bad input", function () {
  this.timeout(170_000);
  let server: ServerProcess | null = null;
  let redis: Redis | null = null;
  after(async () => {
    redis?.disconnect();
    await server?.kill();
  });

  it(`at least ${MIN_INVALID} malformed stream entries among valid ones: each rejected and counted, the valid points kept exactly`, async () => {
    const prefix = randomPrefix("fuzz");
    const keys = redisKeys(prefix);
    const run = "fuzz";
    server = await spawnServer({ redisUrl: testRedis().url, prefix });
    const srv = server;
    redis = new Redis(testRedis().url);
    const now = BigInt(Date.now()) * MS;
    await redis
      .multi()
      .hset(keys.manifest(run), { v: "1", run, strategy: "fuzz", source: "", language: "test", started: String(now), heartbeat: String(now), status: "running" })
      .zadd(keys.runs, Date.now(), run)
      .hset(keys.registry(run), Object.fromEntries(Object.entries(SERIES).map(([id, kind]) => [id, JSON.stringify({ kind, pane: "main", title: id, options: {}, source: null })])))
      .exec();
    // Load every series now, so the entries arrive through the live path (XREAD) as a producer's would.
    const SERIES_Q = `query($id: ID!) { run(id: $id) { series { id count rejected stale lastError { code entryId } } } }`;
    await gqlData(srv, SERIES_Q, { id: run });

    const rng = prng(SEED);
    const expected = new Map<string, Expected>(
      Object.entries(SERIES).map(([id, kind]) => [id, { t: [], cols: Object.fromEntries(COLUMNS[kind].map((c) => [c, []])), m: [], stale: 0, rejected: 0, lastError: null }]),
    );
    const clock = new Map(Object.keys(SERIES).map((id) => [id, T0_NS]));
    const byWhat = new Map<string, number>();
    const byCode = new Map<string, number>();
    let invalid = 0;
    let valid = 0;
    let validPoints = 0;
    const ids = Object.keys(SERIES);
    const chunk: { series: string; fields: Fields; error: string | null; markers?: unknown[] }[] = [];
    const flush = async () => {
      const pipe = redis!.pipeline();
      for (const e of chunk) pipe.xadd(keys.series(run, e.series), "*", ...Object.entries(e.fields).flat());
      const replies = (await pipe.exec()) ?? [];
      chunk.forEach((e, i) => {
        const [err, id] = replies[i];
        assert.equal(err, null);
        const exp = expected.get(e.series)!;
        if (e.error !== null) {
          exp.rejected++;
          exp.lastError = { code: e.error, entryId: id as string };
        }
      });
      chunk.length = 0;
    };
    // Two valid 100000-point batches (the limit) among the rest.
    const hugeAt = new Set([1000, 7000]);
    while (invalid < MIN_INVALID) {
      const series = rng.pick(ids);
      const kind = SERIES[series];
      const from = clock.get(series)!;
      const n = hugeAt.has(valid + invalid) && kind === "line" ? 100_000 : rng.int(1, 12);
      const base = validEntry(rng, kind, from, n);
      clock.set(series, lastTime(base) + BigInt(rng.int(1, 3)) * MS);
      const mutated = rng.next() < 0.3 ? { fields: base, what: "none" } : mutate(rng, base, kind);
      const result = referenceDecode(mutated.fields, kind);
      byWhat.set(mutated.what, (byWhat.get(mutated.what) ?? 0) + 1);
      if (result.ok) {
        valid++;
        validPoints += result.t.length;
        applyValid(expected.get(series)!, kind, mutated.fields, result.m);
        chunk.push({ series, fields: mutated.fields, error: null });
      } else {
        invalid++;
        byCode.set(result.code, (byCode.get(result.code) ?? 0) + 1);
        chunk.push({ series, fields: mutated.fields, error: result.code });
      }
      if (chunk.length >= 500) await flush();
    }
    await flush();

    const want = Object.keys(SERIES).sort().map((id) => {
      const e = expected.get(id)!;
      return { id, count: e.t.length, rejected: e.rejected, stale: e.stale, lastError: e.lastError };
    });
    let got: unknown = null;
    await until(async () => {
      got = (await gqlData<{ run: { series: unknown[] } }>(srv, SERIES_Q, { id: run })).run.series;
      return JSON.stringify(got) === JSON.stringify(want);
    }, "the series to account for every entry", 60_000).catch(() => assert.deepEqual(got, want));

    for (const [id, kind] of Object.entries(SERIES)) {
      const e = expected.get(id)!;
      const stored = await historyAll<Record<string, unknown[]>>(srv, run, id);
      assert.deepEqual(stored.t, e.t, `${id}: times`);
      for (const col of COLUMNS[kind]) assert.deepEqual(stored[col], jsonish(e.cols[col]), `${id}: ${col}`);
      if (kind === "marker") assert.deepEqual(stored.m, e.m, `${id}: markers`);
      if (kind === "candlestick") assert.equal(stored.vol, undefined);
    }
    const logged = srv.logs.filter((l) => /rejected entry \d+-\d+ of /.test(l)).length;
    assert.equal(logged, invalid, "one log line per rejected entry");
    assert.ok(srv.alive());
    const fmt = (m: Map<string, number>) => [...m].sort().map(([k, v]) => `${k} ${v}`).join(", ");
    console.log(
      `      stream fuzz (seed ${SEED}): ${invalid + valid} entries written, ${invalid} invalid (${fmt(byCode)}), ${valid} valid with ${validPoints} points; ` +
        `per series ${want.map((w) => `${w.id}: ${w.count} kept, ${w.rejected} rejected, ${w.stale} stale`).join("; ")}; mutations: ${fmt(byWhat)}; ${logged} rejection log lines`,
    );
  });

  it(`at least ${MIN_GRAPHQL} bad GraphQL requests over HTTP and WebSocket: each refused with a reason, the server still answers`, async () => {
    assert.ok(server, "runs after the stream fuzz, on its server");
    const srv = server;
    const rng = prng(SEED + 1);
    const counts = new Map<string, number>();
    const count = (what: string) => counts.set(what, (counts.get(what) ?? 0) + 1);
    const VALID = [`{ runs { id status series { id count } } }`, `query($id: ID!) { run(id: $id) { series { id rejected } } }`, `{ history(run: "fuzz", series: "fl", maxPoints: 5) { count points } }`];
    const nest = (depth: number) => `{ __schema { types ${"{ fields { type ".repeat(depth)}{ name }${" } }".repeat(depth)} } }`;
    type Case = { what: string; query?: string; variables?: Record<string, unknown>; raw?: string | Buffer; status: number[]; message: RegExp };
    const cases = (): Case => {
      const what = rng.pick(["syntax", "garbage", "deep", "aliases", "tokens", "unknownField", "unknownArg", "variableType", "badArgs", "json", "shape", "huge"] as const);
      switch (what) {
        case "syntax": {
          const q = rng.pick(VALID);
          const cut = q.slice(0, rng.int(1, q.length - 2));
          return { what, query: cut, status: [200], message: /^Syntax Error/ };
        }
        case "garbage":
          return { what, query: rng.pick(["}{", "{{{{", "query query", "$$", "{ runs { id } } }", "\u0000\u0001", "{ runs(id: ) }", "mutation"]) + rng.bytes(rng.int(0, 8)).toString("latin1").replace(/[^\x21-\x7e]/g, "#"), status: [200], message: /^Syntax Error/ };
        case "deep":
          return { what, query: nest(rng.int(4, 30)), status: [200], message: /^Syntax Error: Query depth limit of 8 exceeded/ };
        case "aliases":
          return { what, query: `{ ${Array.from({ length: rng.int(21, 300) }, (_, i) => `a${i}: runs { id }`).join(" ")} }`, status: [200], message: /^Syntax Error: Aliases limit of 20 exceeded/ };
        case "tokens":
          return { what, query: `{ runs { ${"id ".repeat(rng.int(2001, 20000))} } }`, status: [200], message: /^Syntax Error: Token limit of 2000 exceeded/ };
        case "unknownField":
          return { what, query: rng.pick([`{ runz { id } }`, `{ runs { idd } }`, `{ runs { series { points } } }`, `{ secret }`, `subscription { nope }`]), status: [200], message: /^Cannot query field/ };
        case "unknownArg":
          return { what, query: `{ runs(limit: ${rng.int(1, 9)}) { id } }`, status: [200], message: /^Unknown argument/ };
        case "variableType":
          return {
            what,
            query: `query($id: ID!, $n: Int!) { run(id: $id) { id } history(run: $id, series: "fl", maxPoints: $n) { count } }`,
            variables: rng.pick([{ id: "fuzz", n: "x" }, { id: "fuzz", n: 1.5 }, { id: { a: 1 }, n: 1 }, { id: "fuzz" }, { id: null, n: 1 }, { id: "fuzz", n: 2 ** 40 }]),
            status: [400],
            message: /^Variable "\$(id|n)"/,
          };
        case "badArgs":
          return {
            what,
            query: rng.pick([`{ history(run: "fuzz", series: "fl", after: "x-y") { count } }`, `{ history(run: "{bad}", series: "fl") { count } }`, `{ range(run: "fuzz", series: "fl", maxPoints: 1000000000) { count } }`, `{ history(run: "fuzz", series: "nope") { count } }`]),
            status: [200],
            message: /^(invalid stream id|invalid run id|maxPoints must be|run fuzz has no series)/,
          };
        case "json":
          return { what, raw: rng.pick(["{", "not json", `{"query": "{ runs { id } }"`, "[1,2", rng.bytes(20).toString("latin1")]), status: [400], message: /./ };
        case "shape": {
          // An object without a query is a well-formed GraphQL-over-HTTP request without a query: answered 200 with an error.
          const raw = rng.pick([`{"query": 5}`, `{"query": null}`, `{}`, `[]`, `{"query": "{ runs { id } }", "variables": "x"}`, `"x"`]);
          const noQuery = raw === "{}" || raw === `{"query": null}`;
          return { what, raw, status: noQuery ? [200] : [400], message: noQuery ? /^Must provide query string/ : /./ };
        }
        case "huge":
          return { what, raw: Buffer.alloc((1 << 20) + rng.int(1, 1 << 20), 0x20), status: [413], message: /^request body over 1048576 bytes/ };
      }
    };

    const problems: string[] = [];
    for (let i = 0; i < MIN_GRAPHQL; i++) {
      const c = cases();
      count(c.what);
      const reply = c.what === "huge" ? await rawPost(srv, c.raw as Buffer) : await gqlHttp(srv, c.query ?? "", c.variables ?? {}, c.raw);
      let message = reply.body;
      try {
        message = (JSON.parse(reply.body) as { errors?: { message: string }[] }).errors?.[0]?.message ?? `(no errors) ${reply.body.slice(0, 200)}`;
      } catch {
        /* a plain-text refusal */
      }
      if (!c.status.includes(reply.status) || !c.message.test(message) || /Did you mean/.test(reply.body)) {
        if (problems.length < 10) problems.push(`${c.what}: ${reply.status} ${message.slice(0, 300)} for ${(c.query ?? String(c.raw)).slice(0, 200)}`);
      }
      if (i % 100 === 0) assert.ok(srv.alive(), `server died at request ${i}`);
    }
    // A chunked body (no length) cannot be limited before it is read: refused.
    const chunked = await http(srv.port, { method: "POST", path: "/graphql", headers: { host: `127.0.0.1:${srv.port}`, authorization: `Bearer ${srv.token}`, "content-type": "application/json", "transfer-encoding": "chunked" }, body: "{}" });
    assert.equal(chunked.status, 411);
    count("chunked");

    // Over WebSocket: bad operations are answered with an error each, on a connection that stays open.
    const ws = new WebSocket(wsUrl(srv), "graphql-transport-ws");
    const replies = new Map<string, { type: string; payload?: { message: string }[] }>();
    await new Promise((r) => ws.once("open", r));
    ws.on("message", (d) => {
      const msg = JSON.parse(d.toString()) as { id?: string; type: string; payload?: { message: string }[] };
      if (msg.id !== undefined && !replies.has(msg.id)) replies.set(msg.id, msg);
    });
    ws.send(JSON.stringify({ type: "connection_init" }));
    await sleep(200);
    const wsCases: Case[] = [];
    for (let i = 0; i < 200; i++) {
      let c = cases();
      while (c.raw !== undefined || c.what === "badArgs" || c.what === "variableType") c = cases();
      wsCases.push(c);
      count(`ws:${c.what}`);
      ws.send(JSON.stringify({ id: `b${i}`, type: "subscribe", payload: { query: c.query, variables: c.variables ?? {} } }));
    }
    await until(() => replies.size === wsCases.length, "an answer to every bad WebSocket operation", 30_000);
    wsCases.forEach((c, i) => {
      const r = replies.get(`b${i}`)!;
      const message = r.payload?.[0]?.message ?? "";
      if (r.type !== "error" || !c.message.test(message)) {
        if (problems.length < 20) problems.push(`ws ${c.what}: ${JSON.stringify(r).slice(0, 300)}`);
      }
    });
    assert.equal(ws.readyState, WebSocket.OPEN, "bad operations do not close the connection");
    // A frame that is not a graphql-ws message closes that connection only (4400), and nothing else.
    const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    ws.send("\u0000 not json");
    assert.equal(await closed, 4400);
    count("ws:malformed frame");

    assert.deepEqual(problems, []);
    assert.ok(srv.alive());
    const ok = await gqlData<{ runs: { id: string }[] }>(srv, `{ runs { id } }`);
    assert.deepEqual(ok.runs, [{ id: "fuzz" }]);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    console.log(`      graphql fuzz: ${total} bad requests (${[...counts].sort().map(([k, v]) => `${k} ${v}`).join(", ")}), all refused with a reason; server still answers`);
  });
});
