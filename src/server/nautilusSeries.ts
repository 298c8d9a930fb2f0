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

/** Fills at one time are one chart point: its marker tells them all, in order, within the text limit. */
export function joinFillTexts(earlier: string | null, text: string): string {
  const joined = earlier === null ? text : `${earlier}, ${text}`;
  const chars = [...joined];
  return chars.length > LIMITS.maxMarkerText ? chars.slice(0, LIMITS.maxMarkerText - 1).join("") + "…" : joined;
}
