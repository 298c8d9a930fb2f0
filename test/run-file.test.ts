/**
 * Runs as files (src/server/runFile.ts, protocol/SPEC.md section 13): `chartbridge export`, flush
 * Redis, `chartbridge import`, and the run is back exactly (every key, field, stream entry and its
 * ID, each stream's ID state), on a single Redis and on a real Redis Cluster; a truncated or corrupt
 * file is refused with the error a user sees and writes nothing.
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzipSync, gzipSync } from "node:zlib";
import { Cluster, Redis } from "ioredis";
import { startServer } from "../src/server/app.js";
import { startPrivateRedis, type PrivateRedis } from "../src/server/privateRedis.js";
import { scanKeys, type RedisClient } from "../src/server/redisConnection.js";
import { redisKeys, type RedisKeys, type ValuePoints } from "../src/shared/protocol.js";
import { startRedisCluster, type TestCluster } from "./harness/redisCluster.js";
import { query, WEBVIEW_BUNDLE, wsClient } from "./harness/server.js";

const ROOT = join(__dirname, "..");
const CLI = join(ROOT, "src", "server", "cli.ts");
const PYTHON = join(ROOT, ".venv", "bin", "python");
/** test/fixtures/rich_run.py's T0 (ns) and its line: point i at T0 + i s, value i * 0.25 - 3. */
const T0 = 1_700_000_000_123_456_789n;
const N = 5000;

function cli(...args: string[]) {
  return promisify(execFile)(process.execPath, ["--import", "tsx", CLI, ...args]);
}

/** The CLI's error output when it fails (it must fail). */
async function cliError(...args: string[]): Promise<string> {
  try {
    await cli(...args);
  } catch (err) {
    return (err as { stderr: string }).stderr;
  }
  throw new Error(`chartbridge ${args.join(" ")} succeeded`);
}

function richRun(url: string, prefix: string, run: string) {
  return promisify(execFile)(PYTHON, [join(__dirname, "fixtures", "rich_run.py"), url, prefix, run, String(N)]);
}

/** Where the record starting at `at` of a file's content ends (SPEC section 13: a count, then length-prefixed strings). */
function recordEnd(content: Buffer, at: number): number {
  let end = at + 4;
  for (let i = 0; i < content.readUInt32LE(at); i++) end += 4 + content.readUInt32LE(end);
  return end;
}

/** Everything Redis holds of a run, exactly: each key's type and bytes, streams with IDs and ID state, its `runs` score. */
async function snapshot(redis: RedisClient, keys: RedisKeys, run: string) {
  const out: Record<string, unknown> = { score: await redis.zscore(keys.runs, run), pinned: await redis.sismember(keys.pinned, run) };
  const hex = (b: Buffer) => b.toString("hex");
  for (const key of (await scanKeys(redis, keys.runPattern(run))).sort()) {
    const type = await redis.type(key);
    if (type === "string") out[key] = hex((await redis.getBuffer(key)) as Buffer);
    else if (type === "hash") out[key] = ((await redis.callBuffer("HGETALL", key)) as Buffer[]).map(hex).reduce<string[]>((pairs, v, i, all) => (i % 2 ? pairs : [...pairs, `${v}=${all[i + 1]}`]), []).sort();
    else if (type === "stream") {
      const info = (await redis.call("XINFO", "STREAM", key)) as unknown[];
      const state = ["length", "last-generated-id", "max-deleted-entry-id", "entries-added"].map((f) => `${f} ${String(info[info.indexOf(f) + 1])}`);
      const entries = ((await redis.callBuffer("XRANGE", key, "-", "+")) as [Buffer, Buffer[]][]).map(([id, fields]) => [id.toString(), ...fields.map(hex)]);
      out[key] = { state, entries };
    } else out[key] = type;
  }
  return out;
}

/** What a chart shows of the run: its series with counts, lost, results, plugins, and the line's points. */
async function charted(url: string, prefix: string, run: string) {
  const server = await startServer({ redisUrl: url, prefix, log: () => {}, pluginsDir: null, builtinPluginsDir: null, webviewBundle: WEBVIEW_BUNDLE, nautilusBus: false });
  const ws = wsClient(server);
  try {
    const r = await query<{ run: { status: string; series: { id: string; count: number; lost: number; error: string | null }[]; results: unknown; plugins: unknown; error: string | null } }>(
      ws,
      "query($run: ID!) { run(id: $run) { status series { id kind count lost firstTimeUs lastTimeUs lastValue error } results plugins { name enabled params } error } }",
      { run },
    );
    assert.deepEqual(r.errors, undefined);
    const h = await query<{ history: { points: ValuePoints } }>(ws, "query($run: ID!) { history(run: $run, series: \"ema\", maxPoints: 100000) { points } }", { run });
    return { run: r.data?.run, ema: h.data?.history.points };
  } finally {
    await ws.dispose();
    await server.close();
  }
}

describe("run files: chartbridge export / import", function () {
  this.timeout(180_000);
  let dir: string;
  let redis: PrivateRedis;
  let admin: Redis;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "cbrun-"));
    redis = await startPrivateRedis();
    admin = new Redis(redis.url);
  });
  after(async () => {
    admin?.disconnect();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("export, FLUSHALL, import on one Redis: every key, stream entry ID and point is back; a second import is refused; --replace overwrites", async () => {
    const prefix = `f${randomBytes(3).toString("hex")}`;
    const keys = redisKeys(prefix);
    await richRun(redis.url, prefix, "rich-1");
    // A series that lost points in an outage (the record a producer writes, SPEC section 11), and a pin.
    await admin.hset(keys.lost("rich-1"), "ema", "17");
    // An event deleted after the run: its stream's last ID lies beyond its last entry (restored by XSETID).
    await admin.xdel(keys.events("rich-1"), (await admin.xadd(keys.events("rich-1"), "*", "type", "note", "data", "{}")) as string);
    // A stream whose every entry was deleted: it exists, empty, with its ID state.
    await admin.xadd(keys.series("rich-1", "drained"), "5-1", "v", "1");
    await admin.xdel(keys.series("rich-1", "drained"), "5-1");
    await cli("pin", "rich-1", "--redis", redis.url, "--prefix", prefix);
    const before = await snapshot(admin, keys, "rich-1");
    const shown = await charted(redis.url, prefix, "rich-1");
    assert.equal(shown.run?.status, "ended");
    assert.deepEqual(shown.run?.series.map((s) => [s.id, s.count, s.lost, s.error]), [["bars", 84, 0, null], ["ema", N, 17, null], ["fills", 10, 0, null]]);
    assert.deepEqual(shown.ema?.t, Array.from({ length: N }, (_, i) => Number((T0 + BigInt(i) * 1_000_000_000n) / 1000n)));
    assert.deepEqual(shown.ema?.y, Array.from({ length: N }, (_, i) => i * 0.25 - 3));

    const file = join(dir, "rich-1.cbrun");
    const exported = await cli("export", "rich-1", "-o", file, "--redis", redis.url, "--prefix", prefix);
    const streams = before as Record<string, { entries?: unknown[] }>;
    const entries = Object.values(streams).reduce((sum, v) => sum + (v?.entries?.length ?? 0), 0);
    const keyCount = Object.keys(before).length - 2;
    assert.equal(exported.stdout, `exported rich-1 to ${file}: ${keyCount} keys, ${entries} stream entries\n`);
    await admin.flushall();
    const imported = await cli("import", file, "--redis", redis.url, "--prefix", prefix);
    assert.equal(imported.stdout, `imported rich-1 into prefix ${prefix}: ${keyCount} keys, ${entries} stream entries\n`);
    assert.deepEqual(await snapshot(admin, keys, "rich-1"), before);
    assert.deepEqual(await charted(redis.url, prefix, "rich-1"), shown);
    // The run list's log announces it, so a server that is running shows it at once.
    assert.deepEqual((await admin.xrange(keys.runlog, "-", "+")).map(([, f]) => f.join(" ")), ["run rich-1 type start", "run rich-1 type end"]);

    assert.equal(
      await cliError("import", file, "--redis", redis.url, "--prefix", prefix),
      `chartbridge: run rich-1 already exists under prefix ${prefix} in ${redis.url} (${keyCount} keys); nothing was written. Pass --replace to overwrite it, or --prefix to import it under another prefix\n`,
    );
    // Overwritten by --replace: a key the file does not have goes, the rest is the file's.
    await admin.hset(keys.registry("rich-1"), "extra", "{}");
    const replaced = await cli("import", file, "--replace", "--redis", redis.url, "--prefix", prefix);
    assert.equal(replaced.stdout, `imported rich-1 into prefix ${prefix}, replacing the run there: ${keyCount} keys, ${entries} stream entries\n`);
    assert.deepEqual(await snapshot(admin, keys, "rich-1"), before);
  });

  it("a truncated, corrupt or foreign file is refused with what is wrong, and writes nothing", async () => {
    const prefix = `c${randomBytes(3).toString("hex")}`;
    const keys = redisKeys(prefix);
    await richRun(redis.url, prefix, "rich-2");
    const file = join(dir, "rich-2.cbrun");
    await cli("export", "rich-2", "-o", file, "--redis", redis.url, "--prefix", prefix);
    const good = readFileSync(file);
    const other = redisKeys(`o${prefix}`);
    const refused = async (bytes: Buffer, name: string) => {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const stderr = await cliError("import", path, "--redis", redis.url, "--prefix", `o${prefix}`);
      assert.deepEqual(await scanKeys(admin, other.runPattern("rich-2")), [], "nothing of the run was written");
      assert.equal(await admin.exists(other.runs, other.runlog), 0);
      return stderr.replace(path, "FILE");
    };
    // Cut in the middle of the compressed data (a copy that stopped half way).
    assert.match(await refused(good.subarray(0, Math.floor(good.length / 2)), "cut.cbrun"), /^chartbridge: FILE is truncated: its content ends after [0-9]+ bytes, in (entry [0-9]+ of stream "s:[a-z]+"|key "[a-z:]+") \(export the run again\)\n$/);
    // One byte flipped inside the compressed data.
    const flipped = Buffer.from(good);
    flipped[Math.floor(good.length / 2)] ^= 0xff;
    // Either gzip's checks or the records' own (met first when the damage decompresses to nonsense) say it.
    assert.match(await refused(flipped, "flipped.cbrun"), /^chartbridge: FILE is corrupt(: gzip reports "[^"]+" after [0-9]+ bytes of content| at byte [0-9]+ of its content), in .+\n$/);
    assert.equal(await refused(Buffer.from("run,t,y\n"), "foreign.cbrun"), "chartbridge: FILE is not a Chartbridge run file: it does not start with gzip's bytes 1f 8b\n");
    // Whole gzip, but the content lacks its end record: cut at a record boundary and compressed again.
    const content = gunzipSync(good);
    const header = recordEnd(content, 0);
    assert.equal(await refused(gzipSync(content.subarray(0, header)), "headonly.cbrun"), `chartbridge: FILE is truncated: its content ends after ${header} bytes, in record 1 (after the header) (export the run again)\n`);
    // A newer format.
    const v2 = Buffer.from(content);
    v2.write("2", 4 + 4 + 15 + 4);
    assert.equal(await refused(gzipSync(v2), "v2.cbrun"), 'chartbridge: FILE is a run file of version "2"; this chartbridge reads version 1\n');
    // And the run in Redis was not touched by any of it.
    assert.equal(await admin.exists(keys.manifest("rich-2")), 1);
  });

  describe("on a Redis Cluster (3 masters, 3 replicas)", () => {
    let cluster: TestCluster;
    let client: Cluster;
    before(async () => {
      cluster = await startRedisCluster();
      client = new Cluster([{ host: "127.0.0.1", port: cluster.nodes[0].port }]);
    });
    after(async () => {
      client?.disconnect();
      await cluster?.stop();
    });

    it("a run exported from a single Redis imports into the cluster exactly, and back out of it after the cluster was flushed", async () => {
      const prefix = `k${randomBytes(3).toString("hex")}`;
      const keys = redisKeys(prefix);
      await richRun(redis.url, prefix, "rich-3");
      const before = await snapshot(admin, keys, "rich-3");
      const shown = await charted(redis.url, prefix, "rich-3");
      const single = join(dir, "single.cbrun");
      await cli("export", "rich-3", "-o", single, "--redis", redis.url, "--prefix", prefix);

      await cli("import", single, "--redis", cluster.url, "--prefix", prefix);
      assert.deepEqual(await snapshot(client, keys, "rich-3"), before);
      assert.deepEqual(await charted(cluster.url, prefix, "rich-3"), shown);

      const fromCluster = join(dir, "cluster.cbrun");
      await cli("export", "rich-3", "-o", fromCluster, "--redis", cluster.url, "--prefix", prefix);
      await Promise.all(client.nodes("master").map((n) => n.flushall()));
      assert.deepEqual(await scanKeys(client, keys.runPattern("rich-3")), []);
      await cli("import", fromCluster, "--redis", cluster.url, "--prefix", prefix);
      assert.deepEqual(await snapshot(client, keys, "rich-3"), before);
      assert.deepEqual(await charted(cluster.url, prefix, "rich-3"), shown);
    });
  });
});
