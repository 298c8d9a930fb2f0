/**
 * A reference reader of one point-batch entry, written from protocol/SPEC.md section 3 alone and
 * sharing no code with src/shared/decode.ts: plain, slow and literal (BigInt times, byte-level
 * ASCII checks). The conformance and fuzz tests take their expected answers from it, so a
 * deviation of the server's decoder from the SPEC shows as a difference instead of agreeing with itself.
 */

export type Fields = Readonly<Record<string, Uint8Array | undefined>>;

export interface RefMarker {
  side: "buy" | "sell" | null;
  text: string;
  shape?: string;
  position?: string;
  color?: string;
}

export type RefResult =
  | { ok: true; kind: string; t: bigint[]; cols: Record<string, number[]>; m?: RefMarker[] }
  | { ok: false; code: string };

const KINDS = ["line", "area", "baseline", "histogram", "candlestick", "bar", "marker"];
const CANDLES = ["candlestick", "bar"];
const SHAPES = ["arrowUp", "arrowDown", "circle", "square"];
const POSITIONS = ["aboveBar", "belowBar", "inBar", "atPriceTop", "atPriceBottom", "atPriceMiddle"];
const TIME_LIMIT = 2n ** 53n * 1000n;

/** A text field as ASCII, or null when absent or any byte is not ASCII (a BOM included). */
function ascii(fields: Fields, name: string): string | null {
  const raw = fields[name];
  if (raw === undefined) return null;
  let out = "";
  for (const byte of raw) {
    if (byte > 0x7f) return null;
    out += String.fromCharCode(byte);
  }
  return out;
}

/** The columns a kind carries (section 3's table); `vol` only for candles, and only when present. */
function kindColumns(kind: string, fields: Fields): string[] {
  if (CANDLES.includes(kind)) return ["o", "h", "l", "c", ...(fields.vol === undefined ? [] : ["vol"])];
  return ["y"];
}

function f64s(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.byteLength / 8 }, (_, i) => view.getFloat64(i * 8, true));
}

function markers(bytes: Uint8Array, n: number): RefMarker[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || parsed.length !== n) return null;
  const out: RefMarker[] = [];
  for (const item of parsed as unknown[]) {
    if (typeof item !== "object" || item === null || Array.isArray(item)) return null;
    const o = item as Record<string, unknown>;
    if (!(o.side === null || o.side === "buy" || o.side === "sell")) return null;
    if (typeof o.text !== "string" || [...o.text].length > 1024) return null;
    const marker: RefMarker = { side: o.side, text: o.text };
    if ("shape" in o) {
      if (typeof o.shape !== "string" || !SHAPES.includes(o.shape)) return null;
      marker.shape = o.shape;
    }
    if ("position" in o) {
      if (typeof o.position !== "string" || !POSITIONS.includes(o.position)) return null;
      marker.position = o.position;
    }
    if ("color" in o) {
      if (typeof o.color !== "string" || !/^#[0-9a-fA-F]{6}$/.test(o.color)) return null;
      marker.color = o.color;
    }
    out.push(marker);
  }
  return out;
}

/** SPEC section 3, "Invalid entries": each rule in its order; the first that fails names the code. */
export function referenceDecode(fields: Fields, registered?: string): RefResult {
  const fail = (code: string): RefResult => ({ ok: false, code });
  if (ascii(fields, "v") !== "1") return fail("E_VERSION");
  const kind = ascii(fields, "k");
  if (kind === null || !KINDS.includes(kind)) return fail("E_KIND");
  if (registered !== undefined && kind !== registered) return fail("E_KIND_MISMATCH");
  const count = ascii(fields, "n");
  if (count === null || !/^[1-9][0-9]*$/.test(count) || count.length > 6 || Number(count) > 100_000) return fail("E_COUNT");
  const n = Number(count);
  const columns = kindColumns(kind, fields);
  const required = ["t", ...columns.filter((c) => c !== "vol"), ...(kind === "marker" ? ["m"] : [])];
  if (required.some((name) => fields[name] === undefined)) return fail("E_FIELD");
  if (["t", ...columns].some((name) => (fields[name] as Uint8Array).byteLength !== 8 * n)) return fail("E_LENGTH");
  const tBytes = fields.t as Uint8Array;
  const tView = new DataView(tBytes.buffer, tBytes.byteOffset, tBytes.byteLength);
  const t = Array.from({ length: n }, (_, i) => tView.getBigInt64(i * 8, true));
  if (t.some((ns) => ns < 0n || ns >= TIME_LIMIT)) return fail("E_TIME");
  if (t.some((ns, i) => i > 0 && ns < t[i - 1])) return fail("E_ORDER");
  const cols: Record<string, number[]> = {};
  for (const name of columns) cols[name] = f64s(fields[name] as Uint8Array);
  for (const [name, values] of Object.entries(cols)) {
    const nanAllowed = kind === "marker" && name === "y";
    if (values.some((v) => (Number.isNaN(v) ? !nanAllowed : !Number.isFinite(v)))) return fail("E_NONFINITE");
  }
  if (CANDLES.includes(kind)) {
    const { o, h, l, c } = cols;
    if (o.some((_, i) => l[i] > Math.min(o[i], c[i]) || h[i] < Math.max(o[i], c[i]))) return fail("E_CANDLE");
  }
  if (kind !== "marker") return { ok: true, kind, t, cols };
  const m = markers(fields.m as Uint8Array, n);
  return m === null ? fail("E_MARKER") : { ok: true, kind, t, cols, m };
}

export interface RefStored {
  /** Times in integer microseconds (the JSON form of section 4). */
  t: number[];
  cols: Record<string, number[]>;
  m?: RefMarker[];
  stale: number;
  rejected: number;
}

/**
 * SPEC section 3, "Ordering rule": a reader applying a series' entries in stream order. Invalid
 * entries are rejected whole; a point before the last kept time is stale; at that time a marker
 * is appended (an event), any other point replaces the last one.
 */
export function referenceSeries(kind: string, entries: readonly Fields[]): RefStored {
  const out: RefStored = { t: [], cols: {}, stale: 0, rejected: 0, ...(kind === "marker" ? { m: [] } : {}) };
  for (const fields of entries) {
    const r = referenceDecode(fields, kind);
    if (!r.ok) {
      out.rejected++;
      continue;
    }
    r.t.forEach((ns, i) => {
      const us = Number(ns / 1000n);
      const last = out.t.length > 0 ? out.t[out.t.length - 1] : null;
      if (last !== null && us < last) {
        out.stale++;
        return;
      }
      const replace = last === us && kind !== "marker";
      const at = replace ? out.t.length - 1 : out.t.length;
      out.t[at] = us;
      // A candle without volume stores none (NaN) even after one with volume.
      for (const name of Object.keys(out.cols).concat(Object.keys(r.cols))) {
        const col = (out.cols[name] ??= Array<number>(at).fill(NaN));
        col[at] = r.cols[name]?.[i] ?? NaN;
      }
      if (out.m !== undefined && r.m !== undefined) out.m[at] = r.m[i];
    });
  }
  return out;
}
