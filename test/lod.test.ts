import { strict as assert } from "node:assert";
import { decodeEntry } from "../src/shared/decode.js";
import type { Marker, MarkerPoints, SeriesKind } from "../src/shared/protocol.js";
import { decimate, MARKER_CELL } from "../src/server/lod.js";
import { SeriesStore } from "../src/server/seriesStore.js";
import { lineFields } from "./harness/server.js";

/** A store holding points at t = i µs (i = 0..n-1, or at `timesUs`) with the given columns (markers: `markers`, else buys). */
function store(kind: SeriesKind, cols: Record<string, number[]>, markers?: Marker[], timesUs?: number[]): SeriesStore {
  const n = Object.values(cols)[0].length;
  const times = Array.from({ length: n }, (_, i) => BigInt(timesUs?.[i] ?? i) * 1000n);
  const fields: Record<string, Buffer | string> = { ...lineFields(times, cols.y ?? new Array(n).fill(0), kind) };
  for (const [name, values] of Object.entries(cols)) {
    const buf = Buffer.alloc(8 * n);
    values.forEach((v, i) => buf.writeDoubleLE(v, i * 8));
    fields[name] = buf;
  }
  if (kind === "marker") fields.m = JSON.stringify(markers ?? cols.y.map(() => ({ side: "buy", text: "" })));
  const s = new SeriesStore(kind);
  const bytes = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Buffer.from(v)]));
  const r = decodeEntry(bytes, kind);
  assert.ok(r.ok, r.ok ? "" : r.error.message);
  if (r.ok) s.apply("1-0", r.batch);
  return s;
}

describe("level of detail (range decimation)", () => {
  it("returns the range untouched when it fits", () => {
    const s = store("line", { y: [5, 6, 7, 8] });
    const r = decimate(s, 1, 2, 10);
    assert.deepEqual(r, { points: { t: [1, 2], y: [6, 7] }, total: 2, decimated: false, bucketUs: 0 });
  });

  it("keeps each bucket's min and max of a line, in the order they occurred, so spikes survive", () => {
    // 12 points in 3 buckets of 4 µs: a spike up, a spike down, then a ramp.
    const y = [1, 50, 2, 3, /**/ 4, 5, -40, 6, /**/ 7, 8, 9, 10];
    const r = decimate(store("line", { y }), null, null, 8);
    assert.deepEqual(r, {
      points: { t: [0, 2, 4, 6, 8, 10], y: [1, 50, -40, 6, 7, 10] },
      total: 12,
      decimated: true,
      bucketUs: 4,
    });
  });

  it("re-buckets candles to the OHLC of each bucket with summed volume", () => {
    const o = [10, 11, 12, 13, 14, 15];
    const h = [12, 15, 13, 14, 20, 16];
    const l = [9, 10, 8, 12, 13, 14];
    const c = [11, 12, 13, 14, 15, 16];
    const vol = [1, 2, 3, 4, 5, 6];
    const r = decimate(store("candlestick", { o, h, l, c, vol }), null, null, 3);
    assert.deepEqual(r, {
      points: { t: [0, 3], o: [10, 13], h: [15, 20], l: [8, 12], c: [13, 16], vol: [6, 15] },
      total: 6,
      decimated: true,
      bucketUs: 3,
    });
  });

  it("keeps the largest magnitude of a histogram bucket", () => {
    const r = decimate(store("histogram", { y: [1, -9, 3, 4, 2, 8] }), null, null, 3);
    assert.deepEqual(r.points, { t: [0, 3], y: [-9, 8] });
  });

  it("answers markers as they are while fewer than one per cell of 16 buckets, and clusters more per cell with their count and sides", () => {
    const n = 1000;
    const y = Array.from({ length: n }, (_, i) => 1 + i / 1000);
    const fills: Marker[] = y.map((_, i) => ({ side: i % 2 ? "sell" : "buy", text: `fill ${i}` }));
    const s = store("marker", { y }, fills);
    const few = decimate(s, 10, 19, 10 * MARKER_CELL);
    assert.deepEqual([few.total, few.points.t.length, few.decimated, (few.points as MarkerPoints).m[0].text], [10, 10, false, "fill 10"]);
    // 1000 markers, 160 points asked: buckets of ceil(1000 / 159) = 7 µs, cells of 112 µs.
    const many = decimate(s, null, null, 160);
    const p = many.points as MarkerPoints;
    assert.equal(many.bucketUs, 7 * MARKER_CELL);
    assert.deepEqual(p.t, [0, 112, 224, 336, 448, 560, 672, 784, 896]);
    assert.deepEqual(p.m[0], { side: null, text: "112", cluster: { count: 112, buys: 56, sells: 56, toUs: 111 } });
    assert.deepEqual(p.m[8], { side: null, text: "104", cluster: { count: 104, buys: 52, sells: 52, toUs: 1007 } });
    assert.equal(p.y[0], y[111], "at the last marker's price");
    assert.equal(p.m.reduce((sum, m) => sum + (m.cluster?.count ?? 1), 0), n, "every marker is counted once");
    // Each is reachable: asked for its cell's window at a finer resolution, a cluster answers its markers.
    const cell = decimate(s, p.t[1], p.m[1].cluster?.toUs ?? 0, 112 * MARKER_CELL);
    assert.deepEqual((cell.points as MarkerPoints).m.map((m) => m.text), Array.from({ length: 112 }, (_, i) => `fill ${112 + i}`));
    // A cell of one marker keeps it as it is.
    const sparse = store("marker", { y: [1, 2, 3, 4] }, [0, 1, 2, 3].map((i) => ({ side: "buy", text: `m${i}` })), [0, 1, 2, 900]);
    const r = decimate(sparse, null, null, MARKER_CELL * 2);
    assert.deepEqual([r.points.t, (r.points as MarkerPoints).m.map((m) => m.text)], [[0, 900], ["3", "m3"]]);
  });

  it("answers at most maxPoints for a large line, aligned to the same grid for every series", () => {
    const n = 100_000;
    const ya = Array.from({ length: n }, (_, i) => Math.sin(i / 100));
    const a = store("line", { y: ya });
    const b = store("line", { y: Array.from({ length: n }, (_, i) => Math.cos(i / 100)) });
    const ra = decimate(a, 1000, 90_000, 2000);
    const rb = decimate(b, 1000, 90_000, 2000);
    assert.ok(ra.points.t.length <= 2000, `${ra.points.t.length} points`);
    assert.equal(ra.total, 89_001);
    assert.deepEqual(ra.points.t, rb.points.t);
    // Min/max buckets keep the exact extremes of the raw range.
    const raw = ya.slice(1000, 90_001);
    assert.equal(Math.max(...(ra.points as { y: number[] }).y), Math.max(...raw));
    assert.equal(Math.min(...(ra.points as { y: number[] }).y), Math.min(...raw));
  });
});

describe("level of detail: one grid for every series of a window", () => {
  it("puts line points (both halves of a cell) on the candle grid of the same window", () => {
    const n = 10_000;
    const ys = Array.from({ length: n }, (_, i) => Math.sin(i / 50));
    const line = decimate(store("line", { y: ys }), 0, n - 1, 500);
    const candles = decimate(store("candlestick", { o: ys, h: ys.map((y) => y + 1), l: ys.map((y) => y - 1), c: ys }), 0, n - 1, 500);
    assert.equal(line.bucketUs, 2 * candles.bucketUs);
    const grid = new Set(candles.points.t);
    // Only the last cell's second half may lie past the data (and so past the last candle).
    const last = candles.points.t[candles.points.t.length - 1];
    assert.deepEqual(line.points.t.filter((t) => !grid.has(t)), line.points.t.filter((t) => t > last));
    assert.ok(line.points.t.filter((t) => t > last).length <= 1);
    // Over a shorter data span in the same window, the grid does not change.
    const short = decimate(store("line", { y: ys.slice(0, 6000) }), 0, n - 1, 500);
    assert.equal(short.bucketUs, line.bucketUs);
  });
});
