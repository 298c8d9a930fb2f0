/**
 * The "Nautilus series" contract (protocol/SPEC.md section 8) as the bus bridge writes it: series
 * ids, titles, panes and options, and the fill marker text. The Chartbridge actor
 * (python/src/chartbridge/nautilus/contract.py) writes the same for the same facts; a test charts
 * one backtest both ways and compares them (test/nautilus-bus.test.ts).
 */
import { LIMITS, type SeriesInfo } from "../shared/protocol.js";
import { sanitizeSeriesId } from "../shared/seriesIds.js";

export const barsSeriesId = (barType: string) => sanitizeSeriesId(barType);
export const fillsSeriesId = (instrument: string) => sanitizeSeriesId(`fills:${instrument}`);
export const positionSeriesId = (instrument: string) => sanitizeSeriesId(`position:${instrument}`);

/**
 * The price format (SPEC section 5) of numbers written with `precision` decimals: Nautilus writes a
 * price or size with its instrument's precision, which is all the bus tells of the instrument; the
 * tick is 10^-precision (the actor's `Series(precision=)` makes the same).
 */
export function priceFormat(precision: number): { type: "price"; precision: number; minMove: number } {
  return { type: "price", precision, minMove: Number(`1e-${precision}`) };
}

/** The decimals of a decimal as Nautilus writes it: `1.08120` has 5, `100000` 0. */
export function decimalsOf(text: string): number {
  const point = text.indexOf(".");
  return point < 0 ? 0 : text.length - point - 1;
}

/** A run's first bar type is drawn on `main`, each further one on a pane of its own (its id). */
export function barsInfo(barType: string, primary: boolean, pricePrecision: number): SeriesInfo {
  return { kind: "candlestick", pane: primary ? "main" : barsSeriesId(barType), title: barType, options: { priceFormat: priceFormat(pricePrecision) }, source: null };
}

/** Markers on the instrument's first bar series (`target`), once it has one. */
export function fillsInfo(instrument: string, target: string | undefined): SeriesInfo {
  return { kind: "marker", pane: "main", title: `fills ${instrument}`, options: {}, source: null, ...(target === undefined ? {} : { target }) };
}

/** lineType 1 is lightweight-charts' LineType.WithSteps: a position holds until it changes. */
export function positionInfo(instrument: string, sizePrecision: number): SeriesInfo {
  return { kind: "line", pane: "position", title: `position ${instrument}`, options: { lineType: 1, priceFormat: priceFormat(sizePrecision) }, source: null };
}

/** One fill: `BUY 0.100 @ 42990.9 P-1` (side, quantity and price as Nautilus writes them, the position id). */
export function fillText(side: "BUY" | "SELL", qty: string, price: string, positionId: string | null): string {
  return `${side} ${qty} @ ${price}${positionId === null ? "" : ` ${positionId}`}`;
}

/**
 * The sum of signed decimals, exact (`0.100` + `0.200` is `0.300`, where adding doubles gives
 * 0.30000000000000004), as a decimal string. A state written before quantities were kept as
 * decimal strings holds numbers: their shortest text (`1e-7` included) is the decimal they were
 * parsed from.
 */
export function sumDecimals(values: readonly (string | number)[]): string {
  const parts = values.map((v) => {
    const [, sign, whole, frac = "", exp = "0"] = /^([-+]?)([0-9]*)(?:\.([0-9]*))?(?:e([-+]?[0-9]+))?$/i.exec(String(v)) ?? [];
    if (whole === undefined) throw new Error(`${JSON.stringify(v)} is not a decimal`);
    // units of 10^-scale: the digits, with the exponent moving the point
    return { units: BigInt(`${whole}${frac}` || "0") * (sign === "-" ? -1n : 1n), scale: frac.length - Number(exp) };
  });
  const scale = Math.max(0, ...parts.map((p) => p.scale));
  let total = 0n;
  for (const p of parts) total += p.units * 10n ** BigInt(scale - p.scale);
  const sign = total < 0n ? "-" : "";
  const text = (total < 0n ? -total : total).toString().padStart(scale + 1, "0");
  return scale === 0 ? `${sign}${text}` : `${sign}${text.slice(0, -scale)}.${text.slice(-scale)}`;
}

/** An average price is told to two decimals more than the parts' prices. */
const AVERAGE_EXTRA_DECIMALS = 2;

/** A decimal as an exact fraction: its digits (a bigint) over 10^scale. */
function exact(text: string): { units: bigint; scale: number } {
  const [whole, frac = ""] = text.replace(/^\+/, "").split(".");
  return { units: BigInt(`${whole}${frac}`), scale: frac.length };
}

/** `a / b` rounded half to even (b > 0). */
function divideHalfEven(a: bigint, b: bigint): bigint {
  const negative = a < 0n;
  const m = negative ? -a : a;
  let q = m / b;
  const twice = 2n * (m % b);
  if (twice > b || (twice === b && q % 2n === 1n)) q += 1n;
  return negative ? -q : q;
}

/**
 * The marker of one order's fills at one time (its partial fills, SPEC section 8): the total
 * quantity at the quantity-weighted average price, then the parts when there are several. `parts`
 * are quantity and price as Nautilus writes them. The same as the actor's `contract.fill_marker`.
 */
export function fillMarker(side: "BUY" | "SELL", parts: readonly { qty: string; price: string }[], positions: readonly string[]): { price: string; text: string } {
  const decimals = Math.max(...parts.map((p) => decimalsOf(p.price)));
  let places = decimals + AVERAGE_EXTRA_DECIMALS;
  // Sum(q * p) / Sum(q) in units of 10^-places, exactly, then rounded half to even.
  const qtyScale = Math.max(...parts.map((p) => exact(p.qty).scale));
  const scaled = (text: string, scale: number) => exact(text).units * 10n ** BigInt(scale - exact(text).scale);
  let weighted = 0n;
  let total = 0n;
  for (const p of parts) {
    weighted += scaled(p.qty, qtyScale) * scaled(p.price, decimals);
    total += scaled(p.qty, qtyScale);
  }
  let units = divideHalfEven(weighted * 10n ** BigInt(places), total * 10n ** BigInt(decimals));
  while (places > decimals && units % 10n === 0n) {
    units /= 10n;
    places--;
  }
  const digits = (units < 0n ? -units : units).toString().padStart(places + 1, "0");
  const price = `${units < 0n ? "-" : ""}${places === 0 ? digits : `${digits.slice(0, -places)}.${digits.slice(-places)}`}`;
  let text = fillText(side, sumDecimals(parts.map((p) => p.qty)), price, positions.length > 0 ? positions.join(" ") : null);
  if (parts.length > 1) text += ` (${parts.length} fills: ${parts.map((p) => `${p.qty} @ ${p.price}`).join(", ")})`;
  const chars = [...text];
  return { price, text: chars.length > LIMITS.maxMarkerText ? chars.slice(0, LIMITS.maxMarkerText - 1).join("") + "…" : text };
}
