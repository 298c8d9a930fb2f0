/**
 * Runs as files (src/server/runFile.ts): `chartbridge export` and `import` of a 1M-point run
 * (1,000 entries of 1,000 line points, plus 100k candles), against, in the same run, reading the
 * same entries with plain XRANGE (export's baseline) and writing them with plain pipelined XADD
 * (import's baseline); and the file's size against what Redis uses for the run (MEMORY USAGE).
 * Run: npx tsx bench/runFile.ts
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { startPrivateRedis } from "../src/server/privateRedis.js";
import { scanKeys } from "../src/server/redisConnection.js";
import { exportRun, importRun } from "../src/server/runFile.js";
import { redisKeys } from "../src/shared/protocol.js";
import { printFigures } from "./figures.js";

const ENTRIES = 1000;
const PER_ENTRY = 1000;
const CANDLES = 100_000;
const T0 = 1_700_000_000_000_000_000n;

const column = (n: number, value: (i: number) => number) => {
  const b = Buffer.alloc(8 * n);
  for (let i = 0; i < n; i++) b.writeDoubleLE(value(i), i * 8);
  return b;
};
const times = (from: number, n: number, stepNs: bigint) => {
  const b = Buffer.alloc(8 * n);
  for (let i = 0; i < n; i++) b.writeBigInt64LE(T0 + BigInt(from + i) * stepNs, i * 8);
  return b;
};

/** The run's entries as [key, fields] in write order. */
function entries(keys: ReturnType<typeof redisKeys>, run: string): [string, (string | Buffer)[]][] {
  const out: [string, (string | Buffer)[]][] = [];
  for (let e = 0; e < ENTRIES; e++) {
    out.push([keys.series(run, "ema"), ["v", "1", "k", "line", "n", String(PER_ENTRY), "t", times(e * PER_ENTRY, PER_ENTRY, 1_000_000n), "y", column(PER_ENTRY, (i) => 1.1 + Math.sin((e * PER_ENTRY + i) / 500) * 0.01)]]);
  }
  for (let e = 0; e < CANDLES / PER_ENTRY; e++) {
    const o = column(PER_ENTRY, (i) => 1.1 + (e * PER_ENTRY + i) * 1e-6);
    out.push([keys.series(run, "bars"), ["v", "1", "k", "candlestick", "n", String(PER_ENTRY), "t", times(e * PER_ENTRY, PER_ENTRY, 60_000_000_000n), "o", o, "h", o, "l", o, "c", o]]);
  }
  return out;
}

async function write(redis: Redis, keys: ReturnType<typeof redisKeys>, run: string): Promise<number> {
  const started = performance.now();
  await redis.hset(keys.manifest(run), { v: "1", run, strategy: "bench", source: "", language: "python", started: String(T0), heartbeat: String(T0), status: "ended" });
  await redis.hset(keys.registry(run), "ema", JSON.stringify({ kind: "line", pane: "main", title: "ema", options: {}, source: null }), "bars", JSON.stringify({ kind: "candlestick", pane: "main", title: "bars", options: {}, source: null }));
  const all = entries(keys, run);
  for (let i = 0; i < all.length; i += 64) {
    const p = redis.pipeline();
    for (const [key, fields] of all.slice(i, i + 64)) p.xadd(key, "*", ...fields);
    await p.exec();
  }
  await redis.zadd(keys.runs, String(T0 / 1_000_000n), run);
  return performance.now() - started;
}

async function main(): Promise<void> {
  const server = await startPrivateRedis();
  const redis = new Redis(server.url);
  const dir = mkdtempSync(join(tmpdir(), "cbrun-bench-"));
  const points = ENTRIES * PER_ENTRY + CANDLES;
  try {
    const keys = redisKeys("bench");
    const writeMs = await write(redis, keys, "big");
    const found = await scanKeys(redis, keys.runPattern("big"));
    const bytes = (await Promise.all(found.map((k) => redis.call("MEMORY", "USAGE", k, "SAMPLES", "0") as Promise<number>))).reduce((a, b) => a + b, 0);

    let started = performance.now();
    for (const key of found.filter((k) => k.includes(":s:"))) {
      let from = "-";
      for (;;) {
        const chunk = (await redis.callBuffer("XRANGE", key, from, "+", "COUNT", 256)) as [Buffer, Buffer[]][];
        if (chunk.length < 256) break;
        from = `(${chunk[chunk.length - 1][0].toString()}`;
      }
    }
    const readMs = performance.now() - started;
    const file = join(dir, "big.cbrun");
    started = performance.now();
    await exportRun(redis, keys, "bench", "big", file);
    const exportMs = performance.now() - started;

    await redis.flushall();
    started = performance.now();
    await importRun(redis, keys, "bench", file, { shownUrl: server.url });
    const importMs = performance.now() - started;
    const fileBytes = statSync(file).size;
    console.log(`run of ${points} points: Redis uses ${bytes} bytes, the file ${fileBytes}; XADD ${writeMs.toFixed(0)} ms, XRANGE ${readMs.toFixed(0)} ms, export ${exportMs.toFixed(0)} ms, import ${importMs.toFixed(0)} ms`);
    printFigures([
      { name: "chartbridge export of a 1.1M-point run", value: points / (exportMs / 1000), unit: "points/s", target: ">= 500000", baseline: points / (readMs / 1000), baselineLabel: "plain XRANGE of the same entries", better: "higher" },
      { name: "chartbridge import of a 1.1M-point run (checks the file, then writes)", value: points / (importMs / 1000), unit: "points/s", target: ">= 500000", baseline: points / (writeMs / 1000), baselineLabel: "plain pipelined XADD of the same entries", better: "higher" },
      { name: "run file size", value: fileBytes, unit: "bytes", target: `<= ${bytes}`, baseline: bytes, baselineLabel: "Redis MEMORY USAGE of the run's keys", better: "lower" },
    ]);
  } finally {
    redis.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
