/** Retention: `chartbridge gc` (src/server/gc.ts, the CLI in src/server/cli.ts) on the private Redis. */
import { strict as assert } from "node:assert";
import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { parseBytes, parseDuration, planGc } from "../src/server/gc.js";
import { RETENTION_FLAGS, retentionArgs } from "../src/shared/retention.js";
import { KeyFaults } from "../src/server/keyFaults.js";
import { RunCatalog } from "../src/server/runCatalog.js";
import { redisKeys, type RedisKeys } from "../src/shared/protocol.js";
import { testRedis } from "./harness/rootHooks.js";
import { lineFields } from "./harness/server.js";

const CLI = join(__dirname, "..", "src", "server", "cli.ts");
const DAY = 86_400_000;

function cli(...args: string[]) {
  return promisify(execFile)(process.execPath, ["--import", "tsx", CLI, ...args]);
}

describe("chartbridge gc: retention", function () {
  this.timeout(60_000);
  let redis: Redis;
  let prefix: string;
  let keys: RedisKeys;
  const now = Date.now();

  /** An ended run of `strategy` started `ageMs` ago with `points` points; `running` keeps its heartbeat fresh. */
  async function run(id: string, strategy: string, ageMs: number, points = 100, running = false) {
    const started = BigInt(now - ageMs) * 1_000_000n;
    const heartbeat = running ? BigInt(Date.now()) * 1_000_000n : started;
    await redis.hset(keys.manifest(id), { v: "1", run: id, strategy, source: "", language: "test", started: String(started), heartbeat: String(heartbeat), status: running ? "running" : "ended" });
    await redis.zadd(keys.runs, now - ageMs, id);
    await redis.hset(keys.registry(id), "price", JSON.stringify({ kind: "line", pane: "main", title: "price", options: {}, source: null }));
    const times = Array.from({ length: points }, (_, i) => started + BigInt(i) * 1000n);
    await redis.xadd(keys.series(id, "price"), "*", ...Object.entries(lineFields(times, times.map((_, i) => i))).flat());
  }

  beforeEach(async () => {
    redis = new Redis(testRedis().url);
    prefix = `g${randomBytes(4).toString("hex")}`;
    keys = redisKeys(prefix);
    await run("ema-1", "ema", 10 * DAY);
    await run("ema-2", "ema", 5 * DAY);
    await run("ema-3", "ema", 1 * DAY);
    await run("ema-4", "ema", DAY / 24);
    await run("ema-live", "ema", 20 * DAY, 100, true);
    await run("rsi-1", "rsi", 10 * DAY);
    await run("rsi-2", "rsi", 3 * DAY);
  });
  afterEach(() => redis.disconnect());

  const remaining = async () => (await redis.zrange(keys.runs, "0", "-1")).sort();

  it("--dry-run lists what would go and deletes nothing; then gc deletes exactly that; pinned and running runs stay", async () => {
    assert.equal((await cli("pin", "rsi-1", "--redis", testRedis().url, "--prefix", prefix)).stdout, `pinned rsi-1 (prefix ${prefix})\n`);
    const plan = await planGc(redis, keys, new RunCatalog(redis, keys, new KeyFaults(() => {})), { keepLast: 2, maxAgeMs: 2 * DAY });
    assert.deepEqual(plan.collect.map((r) => r.run).sort(), ["ema-1", "ema-2"]);
    const line = (verb: string, id: string, age: number) => {
      const r = plan.collect.find((c) => c.run === id);
      return `${verb} ${id} (strategy ema, started ${new Date(now - age).toISOString()}, ${r?.bytes} bytes): not among the newest 2 of strategy "ema" and older than 172800 s`;
    };
    const args = ["gc", "--keep-last", "2", "--max-age", "2d", "--redis", testRedis().url, "--prefix", prefix];
    const dry = await cli(...args, "--dry-run");
    const [first, second, summary] = dry.stdout.trimEnd().split("\n");
    assert.deepEqual([first, second].sort(), [line("would delete", "ema-1", 10 * DAY), line("would delete", "ema-2", 5 * DAY)].sort());
    assert.equal(summary, `2 run(s) would go; the prefix ${prefix} uses ${plan.bytesBefore} bytes, would use ${plan.bytesAfter}`);
    assert.deepEqual(await remaining(), ["ema-1", "ema-2", "ema-3", "ema-4", "ema-live", "rsi-1", "rsi-2"]);
    assert.equal(await redis.exists(keys.series("ema-1", "price")), 1);

    await cli(...args);
    assert.deepEqual(await remaining(), ["ema-3", "ema-4", "ema-live", "rsi-1", "rsi-2"]);
    assert.deepEqual(await redis.exists(keys.manifest("ema-1"), keys.series("ema-1", "price"), keys.registry("ema-2")), 0);
    const log = (await redis.xrange(keys.runlog, "-", "+")).map(([, f]) => `${f[1]} ${f[3]}`).sort();
    assert.deepEqual(log, ["ema-1 delete", "ema-2 delete"]);
  });

  it("--max-memory deletes the oldest unpinned ended runs until the prefix fits, and says so", async () => {
    await redis.sadd(keys.pinned, "rsi-1");
    const catalog = new RunCatalog(redis, keys, new KeyFaults(() => {}));
    const before = await planGc(redis, keys, catalog, {});
    assert.deepEqual(before.collect, []);
    const bytes = (id: string) => planGc(redis, keys, catalog, { keepLast: 0 }).then((p) => p.collect.find((r) => r.run === id)?.bytes ?? 0);
    // Room for everything but the oldest collectable run (ema-1: ema-live runs, rsi-1 is pinned).
    const budget = before.bytesBefore - (await bytes("ema-1"));
    const plan = await planGc(redis, keys, catalog, { maxBytes: budget });
    assert.deepEqual(plan.collect.map((r) => [r.run, r.reason]), [["ema-1", `the prefix uses ${before.bytesBefore} bytes, over the budget of ${budget}`]]);
    assert.equal(plan.bytesAfter, budget);
    await cli("gc", "--max-memory", String(budget), "--redis", testRedis().url, "--prefix", prefix);
    assert.deepEqual(await remaining(), ["ema-2", "ema-3", "ema-4", "ema-live", "rsi-1", "rsi-2"]);
  });

  it("refuses a bad rule with the flag and the value, before touching Redis", async () => {
    await assert.rejects(cli("gc", "--max-age", "7 days", "--redis", testRedis().url, "--prefix", prefix), (err: Error & { stderr: string }) => {
      assert.equal(err.stderr, 'chartbridge: --max-age "7 days" is not a duration (a whole number and d, h, m or s: 7d, 12h)\n');
      return true;
    });
    await assert.rejects(cli("gc", "--redis", testRedis().url), (err: Error & { stderr: string }) => {
      assert.equal(err.stderr, "chartbridge: gc needs a rule: --keep-last, --max-age or --max-memory\n");
      return true;
    });
    assert.deepEqual((await remaining()).length, 7);
  });

  /** Polls Redis until `done` holds (what the server does on its own, after its start). */
  async function until(done: () => Promise<boolean>, what: string) {
    for (let i = 0; !(await done()); i++) {
      if (i > 300) throw new Error(`not reached: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it("chartbridge serve --gc-keep-last 2 --gc-max-age 2d (VS Code's chartbridge.retention.*) deletes what gc would, on its own, and logs each run", async () => {
    await redis.sadd(keys.pinned, "rsi-1");
    const args = retentionArgs({ keepLast: 2, maxAge: "2d", maxMemory: "" });
    assert.deepEqual(args, ["--gc-keep-last", "2", "--gc-max-age", "2d"]);
    const server = spawn(process.execPath, ["--import", "tsx", CLI, "serve", "--redis", testRedis().url, "--prefix", prefix, "--plugins", "none", "--no-nautilus-bus", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    server.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      await until(async () => (await remaining()).length === 5, "two runs deleted");
      assert.deepEqual(await remaining(), ["ema-3", "ema-4", "ema-live", "rsi-1", "rsi-2"]);
      await until(async () => stderr.split("\n").filter((l) => l.includes("retention: deleted")).length === 2, "two log lines");
      const logged = stderr.split("\n").filter((l) => l.includes("retention: deleted")).map((l) => l.replace(/^.*retention: /, "").replace(/, [0-9]+ bytes\)/, ")")).sort();
      assert.deepEqual(logged, [
        `deleted ema-1 (strategy ema, started ${new Date(now - 10 * DAY).toISOString()}): not among the newest 2 of strategy "ema" and older than 172800 s`,
        `deleted ema-2 (strategy ema, started ${new Date(now - 5 * DAY).toISOString()}): not among the newest 2 of strategy "ema" and older than 172800 s`,
      ]);
    } finally {
      server.kill("SIGTERM");
    }
  });

  it("a bad retention flag stops serve before it starts, naming the flag; the settings' patterns accept exactly what the server parses", async () => {
    await assert.rejects(cli("serve", "--gc-max-age", "7 days", "--redis", testRedis().url, "--prefix", prefix), (err: Error & { stderr: string }) => {
      assert.equal(err.stderr, 'chartbridge: --gc-max-age "7 days" is not a duration (a whole number and d, h, m or s: 7d, 12h)\n');
      return true;
    });
    const properties = (JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")) as { contributes: { configuration: { properties: Record<string, { pattern?: string }> } } }).contributes.configuration.properties;
    const accepts = (setting: string, text: string) => new RegExp(properties[`chartbridge.retention.${setting}`]?.pattern ?? "(?!)").test(text);
    const parses = (parse: (t: string) => number, text: string) => {
      try {
        parse(text);
        return true;
      } catch {
        return false;
      }
    };
    for (const text of ["7d", "12h", "30m", "45s", "7", "7 days", "1w", "-1d", "2.5h"]) assert.equal(accepts("maxAge", text), parses(parseDuration, text), text);
    for (const text of ["500mb", "2GB", "100kb", "1000", "1000b", "2 gb", "1tb", "-5mb", "1.5gb"]) assert.equal(accepts("maxMemory", text), parses(parseBytes, text), text);
    assert.deepEqual(Object.keys(properties).filter((k) => k.startsWith("chartbridge.retention.")).sort(), ["chartbridge.retention.keepLast", "chartbridge.retention.maxAge", "chartbridge.retention.maxMemory"]);
    assert.deepEqual(retentionArgs({ keepLast: null, maxAge: "", maxMemory: " 2gb " }), [RETENTION_FLAGS.maxMemory, "2gb"]);
  });
});
