/**
 * Encodes one point batch as the stream-entry fields of SPEC section 3, the inverse of decode.ts.
 * The SDKs have their own encoders; the server needs one since it writes runs itself (the
 * Nautilus message-bus bridge). No node API here (src/shared rule): bytes are Uint8Arrays.
 * Callers pass points that are already valid (finite, times in order): this writes, it does not judge.
 */
import { PROTOCOL_VERSION, isOhlcKind, type Marker, type SeriesKind } from "./protocol.js";

export interface BatchInput {
  /** Times in ns. */
  t: readonly bigint[];
  y?: readonly number[];
  o?: readonly number[];
  h?: readonly number[];
  l?: readonly number[];
  c?: readonly number[];
  vol?: readonly number[];
  m?: readonly Marker[];
}

export type EntryFieldValues = Record<string, string | Uint8Array>;

function f64Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  // SPEC writes a NaN price as the quiet NaN 0x7ff8000000000000, which is what setFloat64(NaN) stores.
  values.forEach((v, i) => view.setFloat64(i * 8, v, true));
  return out;
}

function i64Bytes(values: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, v, true));
  return out;
}

/** Compact JSON with the key order SPEC asks of producers (side, text, shape, position, color). */
function markerJson(markers: readonly Marker[]): string {
  return JSON.stringify(
    markers.map((m) => ({
      side: m.side,
      text: m.text,
      ...(m.shape === undefined ? {} : { shape: m.shape }),
      ...(m.position === undefined ? {} : { position: m.position }),
      ...(m.color === undefined ? {} : { color: m.color }),
    })),
  );
}

export function encodeBatch(kind: SeriesKind, input: BatchInput): EntryFieldValues {
  const fields: EntryFieldValues = { v: PROTOCOL_VERSION, k: kind, n: String(input.t.length), t: i64Bytes(input.t) };
  const columns = isOhlcKind(kind) ? (["o", "h", "l", "c", "vol"] as const) : (["y"] as const);
  for (const name of columns) {
    const col = input[name];
    if (col !== undefined) fields[name] = f64Bytes(col);
  }
  if (kind === "marker") fields.m = markerJson(input.m ?? []);
  return fields;
}
