/**
 * The webview's calls of the server's GraphQL operations (src/shared/api.ts OPERATIONS) over
 * graphql-ws. Queries go over the same socket as subscriptions: one connection, one auth, one transport.
 */
import type { Client } from "graphql-ws";
import { OPERATIONS, type BatchReply, type Comparison, type ConditionBars, type RunIdentity, type Operation, type Plugin, type RangeReply, type RunDetail, type RunEvent, type RunListEvent, type RunSummary, type SeriesMeta, type Sweep } from "../shared/api.js";

export class Api {
  constructor(private readonly ws: Client) {}

  private query<V extends Record<string, unknown>, D>(op: Operation<V, D>, variables: V): Promise<D> {
    return new Promise((resolve, reject) => {
      let data: D | undefined;
      this.ws.subscribe<D>({ query: op.document, variables }, {
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
  private follow<V extends Record<string, unknown>, D>(op: Operation<V, D>, variables: V, onData: (data: D) => void, onError: (message: string) => void): () => void {
    return this.ws.subscribe<D>({ query: op.document, variables }, {
      next: (r) => {
        if (r.errors?.length) onError(r.errors.map((e) => e.message).join("; "));
        else if (r.data) onData(r.data);
      },
      error: (err) => onError(closeReason(err)),
      complete: () => {},
    });
  }

  async runs(): Promise<RunSummary[]> {
    return (await this.query(OPERATIONS.runs, {})).runs;
  }

  async run(id: string): Promise<RunDetail | null> {
    return (await this.query(OPERATIONS.run, { id })).run;
  }

  async seriesState(run: string): Promise<SeriesMeta[]> {
    return (await this.query(OPERATIONS.seriesState, { id: run })).run?.series ?? [];
  }

  async range(run: string, series: string, fromUs: number | null, toUs: number | null, maxPoints: number): Promise<RangeReply> {
    return (await this.query(OPERATIONS.range, { run, series, from: fromUs, to: toUs, max: maxPoints })).range;
  }

  async conditionBars(run: string, conditions: string[], fromUs: number | null, toUs: number | null, maxPoints: number): Promise<ConditionBars> {
    return (await this.query(OPERATIONS.conditionBars, { run, conditions, from: fromUs, to: toUs, max: maxPoints })).conditionBars;
  }

  batches(run: string, series: string, after: string, onBatch: (batch: BatchReply) => void, onError: (message: string) => void): () => void {
    return this.follow(OPERATIONS.batches, { run, series, after }, (d) => onBatch(d.batches), onError);
  }

  /** Events of one run. */
  runEvents(run: string, onEvent: (event: RunEvent) => void, onError: (message: string) => void): () => void {
    return this.follow(OPERATIONS.runEvents, { run }, (d) => onEvent(d.runEvents), onError);
  }

  /** Runs starting, ending and being deleted. */
  runListEvents(onEvent: (event: RunListEvent) => void, onError: (message: string) => void): () => void {
    return this.follow(OPERATIONS.runListEvents, {}, (d) => onEvent(d.runEvents), onError);
  }

  /** The first run is the base; the others are compared with it (`compare`). */
  async compare(runs: string[], tolerance = 0): Promise<Comparison> {
    return (await this.query(OPERATIONS.compare, { runs, tolerance })).compare;
  }

  /** Two runs' saved uncommitted diffs (null: clean or not saved). */
  async dirtyDiffs(from: string, to: string) {
    return this.query(OPERATIONS.dirtyDiffs, { from, to });
  }

  /** Every run of a strategy with its parameters and statistics (`sweep`). */
  async sweep(strategy: string): Promise<Sweep> {
    return (await this.query(OPERATIONS.sweep, { strategy })).sweep;
  }

  async identities(): Promise<Map<string, RunIdentity | null>> {
    return new Map((await this.query(OPERATIONS.runIdentities, {})).runs.map((r) => [r.id, r.identity]));
  }

  plugins(onPlugin: (plugin: Plugin) => void, onError: (message: string) => void): () => void {
    return this.follow(OPERATIONS.plugins, {}, (d) => onPlugin(d.plugins), onError);
  }
}

function closeReason(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "object" && err !== null && "code" in err) return `connection closed (${String((err as { code: unknown }).code)})`;
  return String(err);
}
