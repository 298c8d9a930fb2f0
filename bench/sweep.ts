/**
 * A parameter sweep of 1,000 runs (a 25 x 40 grid of params, each with statistics and 20 trades):
 * the `sweep(strategy)` query plus sorting its rows by a statistic, as the panel's sweep table does,
 * against the plain `runs` query of the same 1,000 runs, in the same run. Run: npx tsx bench/sweep.ts
 */
import { Redis } from "ioredis";
import { startServer } from "../src/server/app.js";
import { startPrivateRedis } from "../src/server/privateRedis.js";
import { OPERATIONS, type Sweep } from "../src/shared/api.js";
import { redisKeys } from "../src/shared/protocol.js";
import { printFigures } from "./figures.js";

const RUNS = 1_000;
const ROUNDS = 15;
const T0_NS = 1_700_000_000_000_000_000n;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const redis = await startPrivateRedis();
  const prefix = "bench";
  const keys = redisKeys(prefix);
  const client = new Redis(redis.url);
  try {
    const pipeline = client.pipeline();
    for (let i = 0; i < RUNS; i++) {
      const id = `sweep-${i}`;
      const started = String(T0_NS + BigInt(i) * 1_000_000_000n);
      const identity = { params: { fast: 2 + (i % 25), slow: 30 + Math.floor(i / 25) }, git: null, data: [], versions: { python: "3.13.0" } };
      const trades = Array.from({ length: 20 }, (_, k) => ({ entry_t: k * 60_000_000_000, exit_t: k * 60_000_000_000 + 30_000_000_000, side: "BUY", entry_price: 1 + k / 100, exit_price: 1.01 + k / 100, pnl: (i % 7) - 3 }));
      pipeline.zadd(keys.runs, Number(started) / 1e9, id);
      pipeline.hset(keys.manifest(id), { strategy: "ema-cross", source: "bench.py", language: "python", status: "ended", started, ended: started, identity: JSON.stringify(identity) });
      pipeline.set(keys.results(id), JSON.stringify({ stats: { PnL: Math.sin(i) * 1000, "Sharpe Ratio": Math.cos(i), Trades: 20, Currency: "USD" }, trades }));
    }
    await pipeline.exec();
    const server = await startServer({ redisUrl: redis.url, prefix, pluginsDir: null, builtinPluginsDir: null, log: () => {} });
    const ask = async <T>(document: string, variables: Record<string, unknown> = {}): Promise<T> => {
      const r = await fetch(`${server.url}/graphql`, { method: "POST", headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" }, body: JSON.stringify({ query: document, variables }) });
      const body = (await r.json()) as { data?: T; errors?: unknown };
      if (body.data === undefined) throw new Error(JSON.stringify(body.errors));
      return body.data;
    };
    const sweepMs: number[] = [];
    const runsMs: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      let t = performance.now();
      const { runs } = await ask<{ runs: unknown[] }>(OPERATIONS.runs.document);
      runsMs.push(performance.now() - t);
      if (runs.length !== RUNS) throw new Error(`runs answered ${runs.length} runs, not ${RUNS}`);
      t = performance.now();
      const { sweep } = await ask<{ sweep: Sweep }>(OPERATIONS.sweep.document, { strategy: "ema-cross" });
      const sorted = [...sweep.runs].sort((a, b) => (b.stats.PnL ?? -Infinity) - (a.stats.PnL ?? -Infinity));
      sweepMs.push(performance.now() - t);
      if (sorted.length !== RUNS) throw new Error(`sweep answered ${sorted.length} runs, not ${RUNS}`);
    }
    await server.close();
    printFigures([
      { name: "sweep_1000_runs_list_and_sort_ms", value: median(sweepMs), unit: "ms", target: "<= 250", baseline: median(runsMs), baselineLabel: "the plain runs query of the same 1,000 runs (no params, no statistics)" },
    ]);
  } finally {
    client.disconnect();
    await redis.stop();
  }
}

void main();
