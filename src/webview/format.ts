/**
 * How a series' numbers read: its precision (decimals) and unit. A series declares them in its
 * registry options (protocol/SPEC.md section 5: `priceFormat: {precision, minMove}` and `unit`);
 * one that does not gets a precision inferred from its data, so a 1.08123 never reads 1.08.
 * Numbers carry thousands separators everywhere (price scale, legend, data window, tooltips).
 */
import type { PriceFormat } from "lightweight-charts";
import type { ChartPoint } from "./seriesData.js";

export interface NumberFormat {
  precision: number;
  minMove: number;
  /** "" when the series has none; "%" reads `-0.16%`, any other `1,000,018.16 USD`. */
  unit: string;
}

/** Significant digits an inferred precision shows at most: past them an indicator's float noise shows. */
const MAX_DIGITS = 10;
/** Values inspected when inferring: the data's decimals show in any few hundred of them. */
const SAMPLE = 400;

const grouping = new Map<number, Intl.NumberFormat>();

/** `1234567.5` at precision 2: `1,234,567.50`. */
export function formatNumber(value: number, precision: number): string {
  let nf = grouping.get(precision);
  if (nf === undefined) {
    nf = new Intl.NumberFormat("en-US", { minimumFractionDigits: precision, maximumFractionDigits: precision });
    grouping.set(precision, nf);
  }
  return nf.format(value);
}

export function withUnit(text: string, unit: string): string {
  return unit === "" ? text : unit === "%" ? `${text}%` : `${text} ${unit}`;
}

export function formatValue(value: number, f: NumberFormat): string {
  return withUnit(formatNumber(value, f.precision), f.unit);
}

/** The format a series' registry options declare, or null (then it is inferred: inferFormat). */
export function declaredFormat(options: Readonly<Record<string, unknown>>): NumberFormat | null {
  const pf = options.priceFormat as { type?: unknown; precision?: unknown; minMove?: unknown } | undefined;
  const unit = typeof options.unit === "string" ? options.unit : "";
  if (pf === undefined || (pf.type !== undefined && pf.type !== "price") || !isPrecision(pf.precision)) return null;
  const minMove = typeof pf.minMove === "number" && pf.minMove > 0 ? pf.minMove : 10 ** -pf.precision;
  return { precision: pf.precision, minMove, unit };
}

function isPrecision(p: unknown): p is number {
  return typeof p === "number" && Number.isInteger(p) && p >= 0 && p <= 15;
}

/** The values of a few hundred points spread over `data` (a candle's four prices). */
export function sampleValues(data: readonly ChartPoint[]): number[] {
  const step = Math.max(1, Math.floor(data.length / SAMPLE));
  const values: number[] = [];
  for (let i = 0; i < data.length; i += step) {
    const p = data[i];
    if ("open" in p) values.push(p.open, p.high, p.low, p.close);
    else if ("value" in p) values.push(p.value);
  }
  return values;
}

/**
 * The fewest decimals that write every value exactly (1.08123: 5), at most what keeps 10
 * significant digits (an EMA of 1.08 reads 1.081234568, of 1,000,000 reads 1,000,012.346).
 */
export function inferPrecision(values: readonly number[]): number {
  const sample = values.filter(Number.isFinite);
  const largest = sample.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const most = Math.max(2, MAX_DIGITS - 1 - Math.max(0, Math.floor(Math.log10(largest || 1))));
  let precision = 0;
  for (const v of sample) {
    while (precision < most && Math.abs(Number(v.toFixed(precision)) - v) > Math.abs(v) * 1e-12) precision++;
  }
  return precision;
}

export function inferFormat(values: readonly number[], unit: string): NumberFormat {
  const precision = inferPrecision(values);
  return { precision, minMove: 10 ** -precision, unit };
}

/** lightweight-charts' price format for the price scale and crosshair label: the precision with separators. */
export function lwcPriceFormat(f: NumberFormat): PriceFormat {
  return { type: "custom", minMove: f.minMove, formatter: (price: number) => formatNumber(price, f.precision) };
}
