/**
 * Decodes one entry of NautilusTrader's Redis message bus (MessageBusConfig.database) into a typed
 * point: a bar, a fill, a position change or a trader state change. Pure: no Redis, no state.
 *
 * What Nautilus 1.231 writes (checked against a real backtest, see python/README.md): fields
 * `topic`, `payload` (and `type`, `encoding`; `encoding` reads `Json` even for msgpack, so the
 * payload is sniffed instead). The payload is a map from msgspec with `type` (`Bar`,
 * `OrderFilled`, `PositionOpened`, ...), prices and quantities as decimal strings, times as
 * decimal ns strings (timestamps_as_str is hardcoded), `signed_qty` as a float (so a position's
 * signed quantity is read from its `side` and decimal `quantity` instead).
 *
 * What Nautilus 2.x writes (its Rust serde types, checked against a real 2.x node): the same
 * fields plus `type` naming the payload's Rust type (`Bar`, `OrderEventAny`, `PositionEvent`);
 * `encoding` reads `Json` or `MsgPack` truly. An order or position event is an enum, tagged from
 * outside: `{"Filled": {"type": "OrderFilled", ...}}`, `{"PositionOpened": {...}}` (no inner
 * `type`). Times are integers of ns (over 2^53: read exactly), prices and quantities decimal
 * strings as in 1.x.
 */
import { decode as decodeMsgpack } from "@msgpack/msgpack";
import { LIMITS } from "../shared/protocol.js";
import { decimalsOf } from "./nautilusSeries.js";

export type BusPoint =
  /** `pricePrecision`: the decimals its prices are written with (the instrument's price precision). */
  | { type: "bar"; barType: string; tNs: bigint; open: number; high: number; low: number; close: number; volume: number; pricePrecision: number }
  /** `qty`, `price`: the decimals as Nautilus writes them; `order`: its client order id (a fill's parts share it). */
  | { type: "fill"; instrument: string; tNs: bigint; order: string; side: "BUY" | "SELL"; qty: string; price: string; positionId: string | null }
  /** `signedQty`: the decimal Nautilus holds, signed (`-0.300`), so sums stay exact. */
  | { type: "position"; instrument: string; positionId: string; tNs: bigint; signedQty: string }
  | { type: "trader"; state: string }
  /** A node's heartbeat (2.x's `heartbeat_interval_secs`): it is alive. */
  | { type: "heartbeat" }
  /** A message the bridge has no use for (an order event on a position topic, a non-Trader component). */
  | { type: "ignored" };

export type BusDecodeResult = { ok: true; point: BusPoint } | { ok: false; reason: string };

/** Which kind of bus stream an entry came from (the topic's family). */
export type BusTopic = "bars" | "fills" | "positions" | "system" | "heartbeat";

type Payload = Record<string, unknown>;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const DECIMAL = /^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/;
const NS = /^[0-9]{1,19}$/;

/**
 * Integers of more digits than a double holds exactly (2.x writes times in ns as JSON numbers),
 * quoted so they parse as their decimal text; a string literal is matched first, so digits in one
 * are left alone.
 */
const LONG_INTEGER = /("(?:[^"\\]|\\.)*")|(?<![\d.eE+-])(-?\d{16,})(?![\d.eE])/g;

/** JSON starts with `{`; msgpack maps with 0x80-0x8f (fixmap), 0xde (map16) or 0xdf (map32). */
export function parsePayload(bytes: Uint8Array): Payload | string {
  const first = bytes[0];
  let value: unknown;
  try {
    if (first === 0x7b) value = JSON.parse(utf8.decode(bytes).replace(LONG_INTEGER, (_match, text: string | undefined, digits: string) => text ?? `"${digits}"`));
    else if (first !== undefined && ((first >= 0x80 && first <= 0x8f) || first === 0xde || first === 0xdf)) {
      // int64 values as bigint: a uint64 over 2^53 must not silently round.
      value = decodeMsgpack(bytes, { useBigInt64: true });
    } else return `payload is neither JSON nor a msgpack map (first byte 0x${(first ?? 0).toString(16).padStart(2, "0")})`;
  } catch (err) {
    return `payload does not decode: ${(err as Error).message}`;
  }
  if (!isMap(value)) return "payload is not a map";
  return value;
}

function isMap(value: unknown): value is Payload {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/**
 * A payload's message type and fields: 1.x's flat map with its `type`, or 2.x's enum tagged from
 * outside (one key, the variant, over the fields; an order event's fields carry their `type`, a
 * position event's not, so the variant names it).
 */
function message(p: Payload): { kind: string; fields: Payload } {
  if (typeof p.type === "string") return { kind: p.type, fields: p };
  const keys = Object.keys(p);
  const inner = keys.length === 1 ? p[keys[0]] : undefined;
  if (!isMap(inner)) return { kind: "", fields: p };
  return { kind: typeof inner.type === "string" ? inner.type : keys[0], fields: inner };
}

/** A price or quantity as written (a decimal string; some fields plain numbers), or why it is not one. */
function decimalText(p: Payload, name: string): { text: string } | string {
  const raw = p[name];
  const text = typeof raw === "string" ? raw : typeof raw === "number" || typeof raw === "bigint" ? String(raw) : "";
  return DECIMAL.test(text) && Number.isFinite(Number(text)) ? { text } : `${name} is ${JSON.stringify(typeof raw === "bigint" ? String(raw) : raw ?? null)}, not a finite number`;
}

/** A time in ns within SPEC's range [0, 2^53 * 1000): decimal strings (as written), or integers. */
function nanos(p: Payload, name: string): bigint | string {
  const raw = p[name];
  let value: bigint | null = null;
  if (typeof raw === "string" && NS.test(raw)) value = BigInt(raw);
  else if (typeof raw === "bigint") value = raw;
  else if (typeof raw === "number" && Number.isSafeInteger(raw)) value = BigInt(raw);
  if (value === null || value < 0n || value >= LIMITS.maxTimeNs) return `${name} is ${JSON.stringify(typeof raw === "bigint" ? String(raw) : raw ?? null)}, not a time in ns`;
  return value;
}

function str(p: Payload, name: string): string | null {
  const raw = p[name];
  return typeof raw === "string" && raw !== "" ? raw : null;
}

function bar(p: Payload): BusDecodeResult {
  const barType = str(p, "bar_type");
  if (barType === null) return { ok: false, reason: "Bar without bar_type" };
  const tNs = nanos(p, "ts_event");
  if (typeof tNs === "string") return { ok: false, reason: tNs };
  const values: number[] = [];
  let pricePrecision = 0;
  for (const name of ["open", "high", "low", "close", "volume"]) {
    const v = decimalText(p, name);
    if (typeof v === "string") return { ok: false, reason: v };
    // The nearest double of the decimal (JavaScript's string-to-number conversion rounds correctly).
    values.push(Number(v.text));
    if (name !== "volume") pricePrecision = Math.max(pricePrecision, decimalsOf(v.text));
  }
  const [open, high, low, close, volume] = values;
  // The wire format refuses such a candle (E_CANDLE); a broken bar must not cost its batch.
  if (low > Math.min(open, close) || high < Math.max(open, close)) return { ok: false, reason: `bar o=${open} h=${high} l=${low} c=${close} is not a candle` };
  return { ok: true, point: { type: "bar", barType, tNs, open, high, low, close, volume, pricePrecision } };
}

function fill(p: Payload): BusDecodeResult {
  const instrument = str(p, "instrument_id");
  const side = str(p, "order_side");
  if (instrument === null) return { ok: false, reason: "OrderFilled without instrument_id" };
  if (side !== "BUY" && side !== "SELL") return { ok: false, reason: `order_side is ${JSON.stringify(p.order_side ?? null)}` };
  const tNs = nanos(p, "ts_event");
  if (typeof tNs === "string") return { ok: false, reason: tNs };
  const price = decimalText(p, "last_px");
  if (typeof price === "string") return { ok: false, reason: price };
  const qty = decimalText(p, "last_qty");
  if (typeof qty === "string") return { ok: false, reason: qty };
  const order = str(p, "client_order_id");
  if (order === null) return { ok: false, reason: "OrderFilled without client_order_id" };
  return { ok: true, point: { type: "fill", instrument, tNs, order, side, qty: qty.text, price: price.text, positionId: str(p, "position_id") } };
}

function position(p: Payload, kind: string): BusDecodeResult {
  const instrument = str(p, "instrument_id");
  const positionId = str(p, "position_id");
  if (instrument === null || positionId === null) return { ok: false, reason: `${kind} without instrument_id or position_id` };
  // PositionClosed carries ts_closed, not ts_event (1.231); ts_init is the same moment in a backtest.
  const timeField = p.ts_event !== undefined ? "ts_event" : p.ts_closed !== undefined ? "ts_closed" : "ts_init";
  const tNs = nanos(p, timeField);
  if (typeof tNs === "string") return { ok: false, reason: tNs };
  if (kind === "PositionClosed") return { ok: true, point: { type: "position", instrument, positionId, tNs, signedQty: "0" } };
  const side = str(p, "side");
  const qty = decimalText(p, "quantity");
  if (typeof qty === "string") return { ok: false, reason: qty };
  if (side !== "LONG" && side !== "SHORT" && side !== "FLAT") return { ok: false, reason: `position side is ${JSON.stringify(p.side ?? null)}` };
  const signedQty = side === "FLAT" ? "0" : side === "SHORT" ? `-${qty.text.replace(/^[-+]/, "")}` : qty.text;
  return { ok: true, point: { type: "position", instrument, positionId, tNs, signedQty } };
}

/** Decodes the entry `fields` of a stream of family `topic`. */
export function decodeBusEntry(topic: BusTopic, fields: Readonly<Record<string, Uint8Array | undefined>>): BusDecodeResult {
  // Its payload is the node's wall-clock time as RFC 3339 text; the entry's stream ID tells as much.
  if (topic === "heartbeat") return { ok: true, point: { type: "heartbeat" } };
  const raw = fields.payload;
  if (raw === undefined || raw.byteLength === 0) return { ok: false, reason: "entry has no payload" };
  const parsed = parsePayload(raw);
  if (typeof parsed === "string") return { ok: false, reason: parsed };
  const { kind, fields: p } = message(parsed);
  switch (topic) {
    case "bars":
      return kind === "Bar" ? bar(p) : { ok: false, reason: `a ${JSON.stringify(kind)} message on a bars topic` };
    case "fills":
      return kind === "OrderFilled" ? fill(p) : { ok: false, reason: `a ${JSON.stringify(kind)} message on a fills topic` };
    case "positions":
      // PositionSnapshot (snapshot_positions) repeats state the opened/changed/closed events told.
      return kind === "PositionOpened" || kind === "PositionChanged" || kind === "PositionClosed" ? position(p, kind) : { ok: true, point: { type: "ignored" } };
    case "system":
      return kind === "ComponentStateChanged" && p.component_type === "Trader" && typeof p.state === "string"
        ? { ok: true, point: { type: "trader", state: p.state } }
        : { ok: true, point: { type: "ignored" } };
  }
}
