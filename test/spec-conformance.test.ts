/**
 * The server's reader (src/shared/decode.ts) against a reference reader written from SPEC section
 * 3 alone (test/harness/specDecoder.ts): first the reference against every vector, then both over
 * seeded random mutations of the vectors' entries, which must agree on every code and value.
 */
import { strict as assert } from "node:assert";
import { decodeEntry } from "../src/shared/decode.js";
import { SERIES_KINDS, type SeriesKind } from "../src/shared/protocol.js";
import { referenceDecode, referenceSeries, type Fields, type RefResult, type RefStored } from "./harness/specDecoder.js";
import { SeriesStore } from "../src/server/seriesStore.js";
import { prng } from "./harness/prng.js";
import { fieldBytes, readVectors, type SeriesVector } from "./harness/vectors.js";

interface ValidVector {
  series: { kind: SeriesKind };
  fields: Record<string, string>;
  decoded: { kind: string; t: string[]; m?: unknown } & Record<string, unknown>;
}
interface InvalidVector {
  registered?: SeriesKind;
  fields: Record<string, string>;
  error: string;
}

/** The reference's answer in the vectors' decoded form (times as ns strings, NaN as null). */
function refDecoded(r: Extract<RefResult, { ok: true }>): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: r.kind, t: r.t.map(String) };
  for (const [name, values] of Object.entries(r.cols)) out[name] = values.map((v) => (Number.isNaN(v) ? null : v));
  if (r.m) out.m = r.m;
  return out;
}

/** The server decoder's answer in the same form. */
function serverAnswer(fields: Fields, registered?: SeriesKind): { ok: false; code: string } | { ok: true; decoded: Record<string, unknown> } {
  const r = decodeEntry(fields, registered);
  if (!r.ok) return { ok: false, code: r.error.code };
  const b = r.batch;
  const decoded: Record<string, unknown> = { kind: b.kind, t: Array.from({ length: b.n }, (_, i) => String(b.timeNs(i))) };
  for (const name of ["y", "o", "h", "l", "c", "vol"] as const) {
    const col = b[name];
    if (col) decoded[name] = Array.from(col, (v) => (Number.isNaN(v) ? null : v));
  }
  if (b.m) decoded.m = b.m;
  return { ok: true, decoded };
}

const TEXT_VARIANTS = (value: string) => ["\ufeff" + value, value + " ", " " + value, "+" + value, "0" + value, value.toUpperCase(), value + ".0", "", "\uff11", "1", "line", "3", "-1", "100001", "99999"];

/** One to three random breakages of a valid entry, of the kinds SPEC section 3 names. */
function mutate(rng: ReturnType<typeof prng>, base: Record<string, Buffer>): Record<string, Buffer> {
  const f: Record<string, Buffer> = { ...base };
  const steps = 1 + rng.int(0, 2);
  for (let s = 0; s < steps; s++) {
    const names = Object.keys(f);
    switch (rng.int(0, 7)) {
      case 0:
        delete f[rng.pick(names)];
        break;
      case 1: {
        const name = rng.pick(["v", "k", "n"]);
        f[name] = Buffer.from(rng.pick(TEXT_VARIANTS(f[name]?.toString("utf8") ?? "")), "utf8");
        break;
      }
      case 2: {
        const name = rng.pick(["t", "y", "o", "h", "l", "c", "vol"].filter((x) => f[x] !== undefined));
        if (name === undefined) break;
        f[name] = rng.next() < 0.5 ? f[name].subarray(0, Math.max(0, f[name].length - 1 - rng.int(0, 7))) : Buffer.concat([f[name], Buffer.alloc(1 + rng.int(0, 7))]);
        break;
      }
      case 3: {
        const t = Buffer.from(f.t ?? Buffer.alloc(0));
        if (t.length < 8) break;
        const at = rng.int(0, Math.floor(t.length / 8) - 1) * 8;
        const prev = at >= 8 ? t.readBigInt64LE(at - 8) : 0n;
        t.writeBigInt64LE(rng.pick([-5n, -1n, 2n ** 53n * 1000n, 2n ** 63n - 1n, prev - 1000n, prev, 0n]), at);
        f.t = t;
        break;
      }
      case 4: {
        const name = rng.pick(["y", "o", "h", "l", "c", "vol"].filter((x) => f[x] !== undefined && f[x].length >= 8));
        if (name === undefined) break;
        const col = Buffer.from(f[name]);
        col.writeDoubleLE(rng.pick([NaN, Infinity, -Infinity, -1e300, 1e300, 0]), rng.int(0, Math.floor(col.length / 8) - 1) * 8);
        f[name] = col;
        break;
      }
      case 5: {
        const m = f.m?.toString("utf8") ?? "[]";
        const variants = [
          "\ufeff" + m,
          m.replace('"buy"', '"long"'),
          m.replace(/"text":"[^"]*"/, `"text":"${"x".repeat(1025)}"`),
          m.replace(/}\]$/, ',"shape":"star"}]'),
          m.replace(/}\]$/, ',"zzz":[1,{"a":2}]}]'),
          m.replace(/}\]$/, ',"color":"#12345g"}]'),
          m.replace(/^\[/, "[[],"),
          m.slice(0, -1),
          m.replace(/"side":[^,]*,/, ""),
          "null",
        ];
        f.m = Buffer.from(rng.pick(variants), "utf8");
        break;
      }
      case 6:
        f[rng.pick(["o", "vol", "y", "zz"])] = Buffer.alloc(rng.int(0, 2) * 8 + rng.int(0, 1));
        break;
      default:
        f.k = Buffer.from(rng.pick(SERIES_KINDS), "utf8");
    }
  }
  return f;
}

describe("SPEC conformance: the server's reader against a reference written from SPEC section 3", () => {
  const valid = readVectors<ValidVector>("valid");
  const invalid = readVectors<InvalidVector>("invalid");

  it("the reference itself decodes every valid vector exactly and rejects every invalid one with its code", () => {
    for (const { name, body } of valid) {
      const r = referenceDecode(fieldBytes(body.fields), body.series.kind);
      assert.ok(r.ok, `${name}: ${r.ok ? "" : r.code}`);
      if (r.ok) assert.deepEqual(refDecoded(r), body.decoded, name);
    }
    for (const { name, body } of invalid) {
      const r = referenceDecode(fieldBytes(body.fields), body.registered);
      assert.deepEqual(r, { ok: false, code: body.error }, name);
    }
  });

  it("agrees with the reference on 20,000 seeded mutations of the vectors' entries (codes, times, values, markers)", () => {
    const seed = Number(process.env.CHARTBRIDGE_CONFORMANCE_SEED ?? 20);
    const rng = prng(seed);
    const bases = valid.map(({ body }) => ({ kind: body.series.kind, fields: fieldBytes(body.fields) }));
    const codes = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const base = rng.pick(bases);
      const fields = mutate(rng, base.fields);
      const registered = rng.next() < 0.7 ? base.kind : rng.next() < 0.5 ? undefined : rng.pick(SERIES_KINDS);
      const ref = referenceDecode(fields, registered);
      const got = serverAnswer(fields, registered);
      const want = ref.ok ? { ok: true, decoded: refDecoded(ref) } : ref;
      const shown = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.toString("hex")]));
      assert.deepEqual(got, want, `seed ${seed} case ${i}: registered ${registered}, fields ${JSON.stringify(shown)}`);
      const code = ref.ok ? "valid" : ref.code;
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    // Every rule was reached, so agreement means something for each.
    for (const code of ["valid", "E_VERSION", "E_KIND", "E_KIND_MISMATCH", "E_COUNT", "E_FIELD", "E_LENGTH", "E_TIME", "E_ORDER", "E_NONFINITE", "E_CANDLE", "E_MARKER"]) {
      assert.ok((codes.get(code) ?? 0) > 0, `no case reached ${code}: ${JSON.stringify([...codes])}`);
    }
  });
});

/** The reference's stored series in the JSON form of SPEC section 4 (NaN as null, absent columns left out). */
function refStoredForm(r: RefStored): Record<string, unknown> {
  const out: Record<string, unknown> = { t: r.t };
  for (const [name, values] of Object.entries(r.cols)) {
    // Section 4: a candle's `vol` is optional, left out when no point kept has one.
    if (name === "vol" && values.every((v) => Number.isNaN(v))) continue;
    out[name] = values.map((v) => (Number.isNaN(v) ? null : v));
  }
  if (r.m !== undefined) out.m = r.m;
  return out;
}

/** The server's store after `entries`, in the same form (its JSON answer, marker prices null when none). */
function storeForm(kind: SeriesKind, entries: readonly Fields[]): { stored: Record<string, unknown>; stale: number; rejected: number } {
  const store = new SeriesStore(kind);
  entries.forEach((fields, i) => {
    const r = decodeEntry(fields, kind);
    if (r.ok) store.apply(`${i + 1}-0`, r.batch);
    else store.reject(`${i + 1}-0`, r.error);
  });
  const stored: Record<string, unknown> = { ...store.slice(0, store.length) };
  for (const name of ["y", "o", "h", "l", "c", "vol"]) {
    const col = stored[name] as (number | null)[] | undefined;
    if (col !== undefined) stored[name] = col.map((v) => (typeof v === "number" && Number.isNaN(v) ? null : v));
  }
  return { stored, stale: store.stale, rejected: store.rejected };
}

describe("SPEC conformance: the ordering rule across entries (section 3), server store against the reference", () => {
  const vectors = readVectors<SeriesVector>("series");

  it("has series vectors for markers and for values", () => {
    assert.deepEqual([...new Set(vectors.map((v) => v.body.kind))].sort(), ["candlestick", "line", "marker"]);
  });

  for (const { name, body } of vectors) {
    it(`the reference and the server's store both hold series/${name} exactly`, () => {
      const entries = body.entries.map((e) => fieldBytes(e.fields));
      const ref = referenceSeries(body.kind, entries);
      assert.deepEqual([refStoredForm(ref), ref.stale, ref.rejected], [body.stored, body.stale, 0]);
      const got = storeForm(body.kind as SeriesKind, entries);
      assert.deepEqual([got.stored, got.stale, got.rejected], [body.stored, body.stale, 0]);
    });
  }

  it("agrees with the reference on 2,000 seeded sequences of entries with equal, rising and earlier times", () => {
    const seed = Number(process.env.CHARTBRIDGE_CONFORMANCE_SEED ?? 20);
    const rng = prng(seed);
    const T0 = 1_700_000_000_000_000_000n;
    let kept = 0;
    for (let c = 0; c < 2_000; c++) {
      const kind = rng.pick(["marker", "line", "candlestick"] as const);
      const entries: Fields[] = [];
      let t = T0;
      for (let e = 0; e < 1 + rng.int(0, 5); e++) {
        const n = 1 + rng.int(0, 4);
        // Mostly equal or rising times; sometimes an entry starts before the last one (stale points).
        if (rng.next() < 0.2) t -= BigInt(rng.int(1, 3)) * 1000n;
        const times: bigint[] = [];
        for (let i = 0; i < n; i++) {
          t += BigInt(rng.pick([0, 0, 1, 999, 1000, 60_000_000_000]));
          times.push(t);
        }
        const tBuf = Buffer.alloc(8 * n);
        times.forEach((v, i) => tBuf.writeBigInt64LE(v, 8 * i));
        const col = () => {
          const b = Buffer.alloc(8 * n);
          for (let i = 0; i < n; i++) b.writeDoubleLE(rng.int(1, 9), 8 * i);
          return b;
        };
        const fields: Record<string, Buffer> = { v: Buffer.from("1"), k: Buffer.from(kind), n: Buffer.from(String(n)), t: tBuf };
        if (kind === "candlestick") {
          // open = low = close under a high of 10: a valid candle of each value.
          const body = col();
          const high = Buffer.alloc(8 * n);
          for (let i = 0; i < n; i++) high.writeDoubleLE(10, 8 * i);
          Object.assign(fields, { o: body, h: high, l: body, c: body });
          if (rng.next() < 0.5) fields.vol = col();
        } else fields.y = col();
        if (kind === "marker") fields.m = Buffer.from(JSON.stringify(times.map((_, i) => ({ side: rng.pick(["buy", "sell", null]), text: `${e}.${i}` }))));
        entries.push(fields);
      }
      const ref = referenceSeries(kind, entries);
      const got = storeForm(kind, entries);
      assert.deepEqual([got.stored, got.stale, got.rejected], [refStoredForm(ref), ref.stale, ref.rejected], `seed ${seed} case ${c} (${kind})`);
      if (kind === "marker") kept += ref.t.length;
    }
    assert.ok(kept > 0);
  });
});

