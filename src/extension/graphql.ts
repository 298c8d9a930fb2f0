/**
 * The few GraphQL calls the extension host makes itself (plugin QuickPick, run picker, lens facts,
 * delete), over HTTP with the session token. The chart's own traffic goes through the tunnel.
 * No vscode import.
 */
import type { TunnelTarget } from "./tunnel.js";

export interface RunSummary {
  id: string;
  strategy: string;
  status: "running" | "ended";
  startedUs: number;
  series: { id: string; count: number; lastTimeUs: number | null; lastValue: number | null }[];
  plugins: { name: string; enabled: boolean }[];
}

export interface PluginSummary {
  name: string;
  origin: "workspace" | "builtin";
  version: number;
  error: string | null;
}

export async function gql<T>(server: TunnelTarget, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${server.port}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors !== undefined && body.errors.length > 0) throw new Error(body.errors.map((e) => e.message).join("; "));
  if (body.data === undefined) throw new Error(`GraphQL answered HTTP ${response.status} without data`);
  return body.data;
}

/** Runs, newest first; `withCounts` also loads each series' count (the server reads them in). */
export async function listRuns(server: TunnelTarget, withCounts = false): Promise<RunSummary[]> {
  const series = withCounts ? "series { id count lastTimeUs lastValue }" : "series { id }";
  const { runs } = await gql<{ runs: RunSummary[] }>(server, `{ runs { id strategy status startedUs ${series} plugins { name enabled } } }`);
  return runs;
}

export async function runFacts(server: TunnelTarget, run: string): Promise<RunSummary | null> {
  const q = `query($run: ID!) { run(id: $run) { id strategy status startedUs series { id count lastTimeUs lastValue } plugins { name enabled } } }`;
  return (await gql<{ run: RunSummary | null }>(server, q, { run })).run;
}

export async function listPlugins(server: TunnelTarget): Promise<PluginSummary[]> {
  return (await gql<{ plugins: PluginSummary[] }>(server, "{ plugins { name origin version error } }")).plugins;
}

export async function setPlugin(server: TunnelTarget, run: string, name: string, enabled: boolean): Promise<void> {
  const q = "mutation($run: ID!, $name: String!, $enabled: Boolean!) { setPlugin(run: $run, name: $name, enabled: $enabled) { name } }";
  await gql(server, q, { run, name, enabled });
}

export async function deleteRun(server: TunnelTarget, run: string): Promise<boolean> {
  return (await gql<{ deleteRun: boolean }>(server, "mutation($run: ID!) { deleteRun(run: $run) }", { run })).deleteRun;
}

/** The newest run that has `series` (what "Show chart" on a lens opens). */
export function newestRunWith(runs: RunSummary[], series: string[]): RunSummary | undefined {
  return runs.find((r) => r.series.some((s) => series.includes(s.id)));
}

/** Whether a plugin runs on a run's chart: the run's own choice, else workspace plugins on and built-ins off (src/webview/pluginHost.ts). */
export function pluginEnabled(plugin: PluginSummary, run: RunSummary | undefined): boolean {
  return run?.plugins.find((p) => p.name === plugin.name)?.enabled ?? plugin.origin === "workspace";
}
