/**
 * Typed operations of the server's GraphQL schema (src/server/schema.ts) over graphql-ws.
 * Queries go over the same socket as subscriptions: one connection, one auth, one transport.
 */
import type { Client } from "graphql-ws";
import type { BatchReply, Plugin, RangeReply, RunDetail, RunEvent, RunSummary, SeriesMeta } from "../shared/api.js";

const SERIES_FIELDS = "id kind pane title color options source { file line } target count firstTimeUs lastTimeUs rejected stale lost lastError { code message entryId }";

export class Api {
  constructor(private readonly ws: Client) {}

  private query<T>(source: string, variables: Record<string, unknown> = {}): Promise<T> {
    return new Promise((resolve, reject) => {
      let data: T | undefined;
      this.ws.subscribe<T>({ query: source, variables }, {
        next: (r) => {
          if (r.errors?.length) reject(new Error(r.errors.map((e) => e.message).join("; ")));
          else data = r.data ?? undefined;
        },
        error: (err) => reject(err instanceof Error ? err : new Error(closeReason(err))),
        complete: () => (data === undefined ? reject(new Error("no data")) : resolve(data)),
      });
    });
  }

  /** A subscription; returns its disposer. Errors go to `onError` (the connection retries by itself). */
  private follow<T>(source: string, variables: Record<string, unknown>, onData: (data: T) => void, onError: (message: string) => void): () => void {
    return this.ws.subscribe<T>({ query: source, variables }, {
      next: (r) => {
        if (r.errors?.length) onError(r.errors.map((e) => e.message).join("; "));
        else if (r.data) onData(r.data);
      },
      error: (err) => onError(closeReason(err)),
      complete: () => {},
    });
  }

  async runs(): Promise<RunSummary[]> {
    return (await this.query<{ runs: RunSummary[] }>("{ runs { id strategy status startedUs } }")).runs;
  }

  async run(id: string): Promise<RunDetail | null> {
    const q = `query($id: ID!) { run(id: $id) { id strategy status startedUs source endedUs series { ${SERIES_FIELDS} } plugins { name enabled params } results } }`;
    return (await this.query<{ run: RunDetail | null }>(q, { id })).run;
  }

  async seriesState(run: string): Promise<SeriesMeta[]> {
    const q = `query($id: ID!) { run(id: $id) { series { ${SERIES_FIELDS} } } }`;
    return (await this.query<{ run: { series: SeriesMeta[] } | null }>(q, { id: run })).run?.series ?? [];
  }

  async range(run: string, series: string, fromUs: number | null, toUs: number | null, maxPoints: number): Promise<RangeReply> {
    const q = `query($run: ID!, $series: ID!, $from: Float, $to: Float, $max: Int!) {
      range(run: $run, series: $series, fromUs: $from, toUs: $to, maxPoints: $max) { kind count total decimated bucketUs lastId points } }`;
    return (await this.query<{ range: RangeReply }>(q, { run, series, from: fromUs, to: toUs, max: maxPoints })).range;
  }

  batches(run: string, series: string, after: string, onBatch: (batch: BatchReply) => void, onError: (message: string) => void): () => void {
    const q = `subscription($run: ID!, $series: ID!, $after: String) { batches(run: $run, series: $series, after: $after) { series count lastId points } }`;
    return this.follow<{ batches: BatchReply }>(q, { run, series, after }, (d) => onBatch(d.batches), onError);
  }

  /** Events of one run, or of the run list when `run` is null. */
  runEvents(run: string | null, onEvent: (event: RunEvent) => void, onError: (message: string) => void): () => void {
    const q = `subscription($run: ID) { runEvents(run: $run) { run type data id } }`;
    return this.follow<{ runEvents: RunEvent }>(q, { run }, (d) => onEvent(d.runEvents), onError);
  }

  plugins(onPlugin: (plugin: Plugin) => void, onError: (message: string) => void): () => void {
    return this.follow<{ plugins: Plugin }>("subscription { plugins { name origin version code error deleted } }", {}, (d) => onPlugin(d.plugins), onError);
  }
}

function closeReason(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "object" && err !== null && "code" in err) return `connection closed (${String((err as { code: unknown }).code)})`;
  return String(err);
}
