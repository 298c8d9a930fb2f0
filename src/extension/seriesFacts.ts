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
