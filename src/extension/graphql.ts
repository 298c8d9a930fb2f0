/**
 * The few GraphQL calls the extension host makes itself (plugin QuickPick, run picker, lens facts,
 * delete), over HTTP with the session token. The chart's own traffic goes through the tunnel.
 * The operations and their types are src/shared/api.ts's. No vscode import.
 */
import { OPERATIONS, type Operation, type PluginSummary, type RunFacts, type RunListing } from "../shared/api.js";
import type { TunnelTarget } from "./tunnel.js";

/** Runs one of OPERATIONS (or, for tests, a document without variables). */
export async function gql<V extends Record<string, unknown>, D>(server: TunnelTarget, op: Operation<V, D>, variables: V): Promise<D>;
export async function gql<D>(server: TunnelTarget, document: string): Promise<D>;
export async function gql<D>(server: TunnelTarget, op: Operation<Record<string, unknown>, D> | string, variables: Record<string, unknown> = {}): Promise<D> {
  const response = await fetch(`http://127.0.0.1:${server.port}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.token}` },
    body: JSON.stringify({ query: typeof op === "string" ? op : op.document, variables }),
  });
  const body = (await response.json()) as { data?: D; errors?: { message: string }[] };
  if (body.errors !== undefined && body.errors.length > 0) throw new Error(body.errors.map((e) => e.message).join("; "));
  if (body.data === undefined) throw new Error(`GraphQL answered HTTP ${response.status} without data`);
  return body.data;
}

/** Runs, newest first, with their series ids and plugin choices. */
export async function listRuns(server: TunnelTarget): Promise<RunListing[]> {
  return (await gql(server, OPERATIONS.runListing, {})).runs;
}

export async function runFacts(server: TunnelTarget, run: string): Promise<RunFacts | null> {
  return (await gql(server, OPERATIONS.runFacts, { run })).run;
}

export async function listPlugins(server: TunnelTarget): Promise<PluginSummary[]> {
  return (await gql(server, OPERATIONS.pluginList, {})).plugins;
}

export async function setPlugin(server: TunnelTarget, run: string, name: string, enabled: boolean): Promise<void> {
  await gql(server, OPERATIONS.setPlugin, { run, name, enabled });
}

export async function deleteRun(server: TunnelTarget, run: string): Promise<boolean> {
  return (await gql(server, OPERATIONS.deleteRun, { run })).deleteRun;
}

/** The newest run that has `series` (what "Show chart" on a lens opens). */
export function newestRunWith(runs: RunListing[], series: string[]): RunListing | undefined {
  return runs.find((r) => r.series.some((s) => series.includes(s.id)));
}
