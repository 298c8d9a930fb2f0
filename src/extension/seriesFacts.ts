/**
 * What a lens says about a series of the run the chart shows: how many points, the last value and
 * when. No vscode import (unit-tested).
 */

export interface SeriesFacts {
  count: number;
  lastTimeUs: number | null;
  lastValue: number | null;
  /** Points the producer could not store (an outage beyond its backlog). */
  lost: number;
}

const VALUE = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 6 });

/** e.g. "1,000 points · last 1.10234 at 2024-01-02 16:39:00 UTC" (after the count: "· 20 not stored" when some were lost). */
export function describeFacts(facts: SeriesFacts): string {
  const stored = `${facts.count.toLocaleString("en-US")} point${facts.count === 1 ? "" : "s"}`;
  const points = facts.lost > 0 ? `${stored} · ${facts.lost.toLocaleString("en-US")} not stored` : stored;
  if (facts.lastTimeUs === null) return points;
  const at = new Date(facts.lastTimeUs / 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  return facts.lastValue === null ? `${points} · last at ${at}` : `${points} · last ${VALUE.format(facts.lastValue)} at ${at}`;
}

/** What may follow `<series id>/` in a further calling object's series id (the SDK's instance key). */
const INSTANCE_KEY = /^[A-Za-z0-9_.-]+$/;

/**
 * A charted method called by several objects (one strategy class on two instruments) charts every
 * object after the first as `<series id>/<key>` (protocol/SPEC.md section 1). The site's series per
 * object: "" -> `series` itself, then each key that `known` ids show, in order of first sight.
 */
export function seriesByInstance(series: string[], known: Iterable<string>): Map<string, string[]> {
  const out = new Map<string, string[]>([["", series]]);
  for (const id of known) {
    for (const base of series) {
      const key = id.startsWith(`${base}/`) ? id.slice(base.length + 1) : "";
      if (!INSTANCE_KEY.test(key)) continue;
      out.set(key, [...(out.get(key) ?? []), id]);
      break;
    }
  }
  return out;
}
