/**
 * Time on the chart. THE RULE: the horizontal scale is keyed by our JSON times themselves,
 * integer microseconds since the Unix epoch, through a custom horizontal-scale behaviour
 * (`createChartEx`). lightweight-charts' built-in Time scale keys by whole seconds, so ticks or
 * sub-second bars would collide there (and equal times throw); here two points 1 µs apart are two
 * distinct bars and nothing is rounded. Microseconds stay exact in a JS number until 2255.
 *
 * Labels are shown in UTC or local time by a setting. Tick-mark weights (which label is bold or
 * kept when crowded) follow UTC calendar boundaries in both modes; only the text changes with the
 * zone, so switching zones never re-lays out the scale.
 */
import type {
  ChartOptionsImpl,
  DataItem,
  HorzScaleItemConverterToInternalObj,
  IHorzScaleBehavior,
  InternalHorzScaleItem,
  InternalHorzScaleItemKey,
  LocalizationOptions,
  Mutable,
  SeriesDataItemTypeMap,
  SeriesType,
  TickMark,
  TickMarkWeightValue,
  TimeMark,
  TimeScalePoint,
} from "lightweight-charts";
import type { TimeZoneSetting } from "../shared/webviewProtocol.js";

/** Microseconds since the Unix epoch, the horizontal item of every series. */
export type Micros = number;

/** Weights of lightweight-charts' TickMarkWeight, extended below one second. */
const YEAR = 70, MONTH = 60, DAY = 50;
const INTRADAY: [divisorUs: number, weight: number][] = [
  [1_000, 1],
  [10_000, 2],
  [100_000, 3],
  [1_000_000, 10],
  [60_000_000, 20],
  [300_000_000, 21],
  [1_800_000_000, 22],
  [3_600_000_000, 30],
  [10_800_000_000, 31],
  [21_600_000_000, 32],
  [43_200_000_000, 33],
];

function weightBetween(prev: Micros, cur: Micros): number {
  const a = new Date(Math.floor(prev / 1000));
  const b = new Date(Math.floor(cur / 1000));
  if (a.getUTCFullYear() !== b.getUTCFullYear()) return YEAR;
  if (a.getUTCMonth() !== b.getUTCMonth()) return MONTH;
  if (a.getUTCDate() !== b.getUTCDate()) return DAY;
  for (let i = INTRADAY.length - 1; i >= 0; i--) {
    const d = INTRADAY[i][0];
    if (Math.floor(prev / d) !== Math.floor(cur / d)) return INTRADAY[i][1];
  }
  return 0;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number, width = 2) => String(n).padStart(width, "0");

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Microseconds within the second. */
  micro: number;
}

export function timeParts(us: Micros, zone: TimeZoneSetting): Parts {
  const ms = Math.floor(us / 1000);
  const d = new Date(ms);
  const micro = us - Math.floor(us / 1_000_000) * 1_000_000;
  return zone === "utc"
    ? { year: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(), micro }
    : { year: d.getFullYear(), month: d.getMonth(), day: d.getDate(), hour: d.getHours(), minute: d.getMinutes(), second: d.getSeconds(), micro };
}

/** `.123` or `.123456`, only as precise as the time is. */
function fraction(micro: number): string {
  if (micro === 0) return "";
  return micro % 1000 === 0 ? `.${pad(micro / 1000, 3)}` : `.${pad(micro, 6)}`;
}

/** `2024-03-12 14:03:05.123456` (fraction only when present). */
export function formatTime(us: Micros, zone: TimeZoneSetting): string {
  const p = timeParts(us, zone);
  return `${p.year}-${pad(p.month + 1)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${fraction(p.micro)}`;
}

function formatTick(us: Micros, weight: number, zone: TimeZoneSetting): string {
  const p = timeParts(us, zone);
  if (weight >= YEAR) return String(p.year);
  if (weight >= MONTH) return MONTHS[p.month];
  if (weight >= DAY) return `${p.day} ${MONTHS[p.month]}`;
  if (weight >= 20) return `${pad(p.hour)}:${pad(p.minute)}`;
  if (weight >= 10) return `${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
  return `${pad(p.second)}${fraction(p.micro) || ".000"}`;
}

/** The horizontal-scale behaviour for Micros; see the rule at the top of this file. */
export class MicrosScale implements IHorzScaleBehavior<Micros> {
  private chartOptions!: ChartOptionsImpl<Micros>;

  constructor(public zone: TimeZoneSetting) {}

  options(): ChartOptionsImpl<Micros> {
    return this.chartOptions;
  }
  setOptions(options: ChartOptionsImpl<Micros>): void {
    this.chartOptions = options;
  }
  preprocessData(_data: DataItem<Micros> | DataItem<Micros>[]): void {}
  updateFormatter(_options: LocalizationOptions<Micros>): void {}
  convertHorzItemToInternal(item: Micros): InternalHorzScaleItem {
    return item as unknown as InternalHorzScaleItem;
  }
  createConverterToInternalObj(_data: SeriesDataItemTypeMap<Micros>[SeriesType][]): HorzScaleItemConverterToInternalObj<Micros> {
    return (time) => time as unknown as InternalHorzScaleItem;
  }
  key(item: InternalHorzScaleItem | Micros): InternalHorzScaleItemKey {
    return item as unknown as InternalHorzScaleItemKey;
  }
  cacheKey(item: InternalHorzScaleItem): number {
    return item as unknown as number;
  }
  formatHorzItem(item: InternalHorzScaleItem): string {
    return formatTime(item as unknown as Micros, this.zone);
  }
  formatTickmark(tick: TickMark, _localization: LocalizationOptions<Micros>): string {
    return formatTick(tick.time as unknown as Micros, tick.weight, this.zone);
  }
  maxTickMarkWeight(marks: TimeMark[]): TickMarkWeightValue {
    let max = marks[0].weight as number;
    for (const m of marks) max = Math.max(max, m.weight);
    // As lightweight-charts does: 15:00 bold beside a plain 14:00 looks wrong, so cap at the hour.
    return (max > 30 && max < DAY ? 30 : max) as TickMarkWeightValue;
  }
  fillWeightsForPoints(points: readonly Mutable<TimeScalePoint>[], startIndex: number): void {
    for (let i = Math.max(1, startIndex); i < points.length; i++) {
      points[i].timeWeight = weightBetween(points[i - 1].time as unknown as Micros, points[i].time as unknown as Micros) as TickMarkWeightValue;
    }
    if (startIndex === 0 && points.length > 1) {
      // The first point has no predecessor: weigh it against one average step earlier.
      const first = points[0].time as unknown as Micros;
      const step = ((points[points.length - 1].time as unknown as Micros) - first) / (points.length - 1);
      points[0].timeWeight = weightBetween(first - Math.ceil(step), first) as TickMarkWeightValue;
    }
  }
  /** Labels change with the zone: always reformat. */
  shouldResetTickmarkLabels(): boolean {
    return true;
  }
}

/** ns decimal string (protocol results) to Micros. */
export const nsStringToMicros = (ns: string): Micros => Number(BigInt(ns) / 1000n);
