/**
 * The server <-> client boundary: the TypeScript shapes of what src/server/schema.ts answers, one
 * type per GraphQL object. The server's resolvers and the webview's client both use these, so a
 * change to the schema's shapes breaks the build on both sides instead of drifting.
 */
import type { Points, RunStatus, SeriesKind } from "./protocol.js";

export interface EntryError {
  code: string;
  message: string;
  entryId: string;
}

export interface SeriesMeta {
  id: string;
  kind: SeriesKind;
  pane: string;
  title: string;
  color: string | null;
  options: Record<string, unknown>;
  source: { file: string; line: number } | null;
  target: string | null;
  count: number;
  firstTimeUs: number | null;
  lastTimeUs: number | null;
  rejected: number;
  stale: number;
  /** Points the producer could not store (protocol/SPEC.md section 11). */
  lost: number;
  lastError: EntryError | null;
}

export interface RunPlugin {
  name: string;
  enabled: boolean;
  params: Record<string, unknown>;
}

export interface Trade {
  entry_t: string;
  exit_t: string;
  side?: string;
  entry_price?: number;
  exit_price?: number;
  pnl?: number;
  [field: string]: unknown;
}

export interface Results {
  stats: Record<string, number | string>;
  trades: Trade[];
}

export interface RunSummary {
  id: string;
  strategy: string;
  status: RunStatus;
  startedUs: number;
}

export interface RunDetail extends RunSummary {
  source: string;
  endedUs: number | null;
  series: SeriesMeta[];
  plugins: RunPlugin[];
  results: Results | null;
}

export interface RangeReply {
  kind: SeriesKind;
  count: number;
  total: number;
  decimated: boolean;
  bucketUs: number;
  lastId: string;
  points: Points;
}

export interface BatchReply {
  series: string;
  count: number;
  lastId: string;
  points: Points;
}

export interface RunEvent {
  run: string;
  type: string;
  data: unknown;
  id: string;
}

export interface Plugin {
  name: string;
  origin: "workspace" | "builtin";
  version: number;
  code: string | null;
  error: string | null;
  deleted: boolean;
}
