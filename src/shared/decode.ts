/**
 * Decodes and validates one point-batch stream entry (SPEC section 3). Pure and allocation-light:
 * the server runs it on every entry it reads, so numeric columns are typed-array views where the
 * bytes allow, and times are converted to microseconds without BigInt.
 */
import {
  isOhlcKind,
  isSeriesKind,
  LIMITS,
  MARKER_POSITIONS,
  MARKER_SHAPES,
  MARKER_SIDES,
  PROTOCOL_VERSION,
  type ErrorCode,
  type Marker,
  type SeriesKind,
} from "./protocol.js";

export type EntryFields = Readonly<Record<string, Uint8Array | undefined>>;

export interface DecodedBatch {
  kind: SeriesKind;
  n: number;
  /** Times in integer microseconds (floor of ns / 1000), exact as doubles. */
  tUs: Float64Array;
  /** Exact time of point i in ns. */
  timeNs(i: number): bigint;
  y?: Float64Array;
  o?: Float64Array;
  h?: Float64Array;
  l?: Float64Array;
  c?: Float64Array;
  vol?: Float64Array;
  m?: Marker[];
}

export interface Rejection {
  code: ErrorCode;
  message: string;
}

export type DecodeResult = { ok: true; batch: DecodedBatch } | { ok: false; error: Rejection };

// ignoreBOM keeps a leading U+FEFF in the text, so "\uFEFF1" is not "1" (SPEC: v, k and n are ASCII).
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** 2^53 * 1000 / 2^32: a time is in range iff its high 32 bits are in [0, this). */
const MAX_TIME_HIGH = Number(LIMITS.maxTimeNs >> 32n);

function fail(code: ErrorCode, message: string): DecodeResult {
  return { ok: false, error: { code, message } };
}

function text(fields: EntryFields, name: string): string | undefined {
  const raw = fields[name];
  if (raw === undefined) return undefined;
  try {
    return textDecoder.decode(raw);
  } catch {
    return undefined;
  }
}

function f64Column(bytes: Uint8Array): Float64Array {
  if (LITTLE_ENDIAN && bytes.byteOffset % 8 === 0) {
    return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  }
  const out = new Float64Array(bytes.byteLength / 8);
  if (LITTLE_ENDIAN) {
    // A byte copy to an aligned array: ioredis hands out slices at any offset.
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}

function requiredColumns(kind: SeriesKind): string[] {
  if (isOhlcKind(kind)) return ["t", "o", "h", "l", "c"];
  if (kind === "marker") return ["t", "y", "m"];
  return ["t", "y"];
}

function kindColumns(kind: SeriesKind): string[] {
  return isOhlcKind(kind) ? ["t", "o", "h", "l", "c", "vol"] : ["t", "y"];
}

const COUNT_PATTERN = /^[1-9][0-9]{0,5}$/;
const COLOR_PATTERN = /^#[0-9a-fA-F]{6}$/;

/**
 * Validates `fields` in the order SPEC section 3 lists and returns the batch or the first
 * rejection. `registered` is the kind in the series registry, when the reader knows it.
 */
export function decodeEntry(fields: EntryFields, registered?: SeriesKind): DecodeResult {
  if (text(fields, "v") !== PROTOCOL_VERSION) return fail("E_VERSION", `v is ${JSON.stringify(text(fields, "v") ?? null)}, expected "1"`);
  const kind = text(fields, "k");
  if (kind === undefined || !isSeriesKind(kind)) return fail("E_KIND", `k is ${JSON.stringify(kind ?? null)}, not a series kind`);
  if (registered !== undefined && kind !== registered) {
    return fail("E_KIND_MISMATCH", `entry kind ${kind} differs from the registered kind ${registered}`);
  }
  const count = text(fields, "n");
  if (count === undefined || !COUNT_PATTERN.test(count) || Number(count) > LIMITS.maxBatchPoints) {
    return fail("E_COUNT", `n is ${JSON.stringify(count ?? null)}, expected a decimal in 1..${LIMITS.maxBatchPoints}`);
  }
  const n = Number(count);
  for (const name of requiredColumns(kind)) {
    if (fields[name] === undefined) return fail("E_FIELD", `${kind} entry has no ${name} field`);
  }
  const columns: Record<string, Float64Array> = {};
  // Only the kind's own columns: a binary field of another kind is a field this kind does not know (ignored).
  for (const name of kindColumns(kind)) {
    const bytes = fields[name];
    if (bytes === undefined) continue;
    if (bytes.byteLength !== n * 8) return fail("E_LENGTH", `${name} has ${bytes.byteLength} bytes, expected ${n * 8} for n=${n}`);
    if (name !== "t") columns[name] = f64Column(bytes);
  }

  const tBytes = fields["t"] as Uint8Array;
  const tView = new DataView(tBytes.buffer, tBytes.byteOffset, tBytes.byteLength);
  const tUs = new Float64Array(n);
  let prevHi = -1;
  let prevLo = 0;
  /** The first point earlier than the one before it: E_ORDER, once every time is known to be in range (E_TIME comes first). */
  let backwards = -1;
  // 32-bit halves read from an aligned copy (little-endian hosts; DataView reads are several times slower).
  const aligned = LITTLE_ENDIAN ? f64Column(tBytes) : null;
  const halves = aligned === null ? null : new Int32Array(aligned.buffer, aligned.byteOffset, 2 * n);
  for (let i = 0; i < n; i++) {
    const lo = halves === null ? tView.getUint32(i * 8, true) : halves[2 * i] >>> 0;
    const hi = halves === null ? tView.getInt32(i * 8 + 4, true) : halves[2 * i + 1];
    if (hi < 0 || hi >= MAX_TIME_HIGH) return fail("E_TIME", `t[${i}] = ${tView.getBigInt64(i * 8, true)} ns is outside [0, 2^53*1000)`);
    if (backwards < 0 && (hi < prevHi || (hi === prevHi && lo < prevLo))) backwards = i;
    prevHi = hi;
    prevLo = lo;
    // floor((hi * 2^32 + lo) / 1000) without leaving exact double range: 2^32 = 4294967 * 1000 + 296.
    tUs[i] = hi * 4294967 + Math.floor((hi * 296 + lo) / 1000);
  }
  if (backwards > 0) return fail("E_ORDER", `t[${backwards}] = ${tView.getBigInt64(backwards * 8, true)} ns is before t[${backwards - 1}]`);

  for (const name of ["y", "o", "h", "l", "c", "vol"]) {
    const col = columns[name];
    if (col === undefined) continue;
    // A marker's price may be NaN ("no price"), never infinite.
    const nanAllowed = name === "y" && kind === "marker";
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(col[i]) && !(nanAllowed && Number.isNaN(col[i]))) return fail("E_NONFINITE", `${name}[${i}] is ${col[i]}`);
    }
  }
  const batch: DecodedBatch = {
    kind,
    n,
    tUs,
    timeNs: (i) => tView.getBigInt64(i * 8, true),
    ...columns,
  };
  if (isOhlcKind(kind)) {
    const { o, h, l, c } = columns as Required<typeof columns>;
    for (let i = 0; i < n; i++) {
      if (l[i] > Math.min(o[i], c[i]) || h[i] < Math.max(o[i], c[i])) {
        return fail("E_CANDLE", `candle ${i} has o=${o[i]} h=${h[i]} l=${l[i]} c=${c[i]}: needs l <= min(o,c) and h >= max(o,c)`);
      }
    }
  }
  if (kind === "marker") {
    const markers = decodeMarkers(fields["m"] as Uint8Array, n);
    if (typeof markers === "string") return fail("E_MARKER", markers);
    batch.m = markers;
  }
  return { ok: true, batch };
}

/** Characters as SPEC counts them (code points), the same in every language. */
function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function oneOf<T extends string>(allowed: readonly T[], value: unknown): value is T {
  return typeof value === "string" && (allowed as readonly string[]).includes(value);
}

/** Returns the markers, or a message saying which marker breaks which rule. */
function decodeMarkers(bytes: Uint8Array, n: number): Marker[] | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(textDecoder.decode(bytes));
  } catch (err) {
    return `m is not JSON: ${(err as Error).message}`;
  }
  if (!Array.isArray(parsed) || parsed.length !== n) return `m must be an array of ${n} markers`;
  const out: Marker[] = [];
  for (let i = 0; i < n; i++) {
    const raw: unknown = parsed[i];
    if (typeof raw !== "object" || raw === null) return `m[${i}] is not an object`;
    const { side, text: label, shape, position, color } = raw as Record<string, unknown>;
    if (side !== null && !oneOf(MARKER_SIDES, side)) return `m[${i}].side is ${JSON.stringify(side)}, expected "buy", "sell" or null`;
    if (typeof label !== "string" || codePoints(label) > LIMITS.maxMarkerText) {
      return `m[${i}].text must be a string of at most ${LIMITS.maxMarkerText} characters`;
    }
    const marker: Marker = { side, text: label };
    if (shape !== undefined) {
      if (!oneOf(MARKER_SHAPES, shape)) return `m[${i}].shape ${JSON.stringify(shape)} is not one of ${MARKER_SHAPES.join(", ")}`;
      marker.shape = shape;
    }
    if (position !== undefined) {
      if (!oneOf(MARKER_POSITIONS, position)) return `m[${i}].position ${JSON.stringify(position)} is not one of ${MARKER_POSITIONS.join(", ")}`;
      marker.position = position;
    }
    if (color !== undefined) {
      if (typeof color !== "string" || !COLOR_PATTERN.test(color)) return `m[${i}].color must be #rrggbb`;
      marker.color = color;
    }
    out.push(marker);
  }
  return out;
}
