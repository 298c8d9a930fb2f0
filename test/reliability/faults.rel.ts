/**
 * Faults while a real Python producer writes: Redis killed and restarted, the server killed and
 * started again on the same port, the producer killed. Every check is on the exact point set.
 */
import { strict as assert } from "node:assert";
import { createClient } from "graphql-ws";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { redisKeys } from "../../src/shared/protocol.js";
import { testRedis } from "../harness/rootHooks.js";
import { BATCHES, ExactSeries, gqlData, historyAll, randomPrefix, sleep, spawnProducer, spawnServer, until, wsUrl, type LinePoints, type ProducerProcess, type ServerProcess } from "./lib.js";

const T0_NS = 1_700_000_000_000_000_000n;
const T0_US = Number(T0_NS / 1000n);
const SERIES = 5;
const RATE = 1000;
const STEP_US = 1_000_000 / RATE;
const names = Array.from({ length: SERIES }, (_, i) => `s${String(i).padStart(2, "0")}`);

interface Batch {
  batches: { series: string; count: number; lastId: string; points: LinePoints };
}

async function registered(srv: ServerProcess, run: string, count: number): Promise<void> {
  await until(async () => {
    const d = await gqlData<{ run: { series: { id: string }[] } | null }>(srv, `query($id: ID!) { run(id: $id) { series { id } } }`, { id: run });
    return d.run?.series.length === count;
  }, `${count} series of run ${run}`);
}

describe("reliability: faults", function () {
  this.timeout(120_000);
  const cleanup: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });
  const track = (p: ProducerProcess) => {
    cleanup.push(() => void p.child.kill("SIGKILL"));
    return p;
  };
  const trackServer = (s: ServerProcess) => {
    cleanup.push(() => s.kill("SIGKILL"));
    return s;
  };

  it("Redis killed and restarted mid-run: the producer's backlog is delivered, readers resume, nothing lost or repeated", async () => {
    const prefix = randomPrefix("redis");
    const run = "redisfault";
    const seconds = 10;
    const total = RATE * seconds;
    const srv = trackServer(await spawnServer({ redisUrl: testRedis().url, prefix }));
    const producer = track(spawnProducer({ redisUrl: testRedis().url, prefix, run, series: SERIES, rate: RATE, seconds, t0Ns: T0_NS }));
    await registered(srv, run, SERIES);
    const client = createClient({ url: wsUrl(srv), webSocketImpl: WebSocket, retryAttempts: 0 });
    cleanup.push(() => client.dispose());
    const checkers = new Map(names.map((n) => [n, new ExactSeries(n, T0_US, STEP_US)]));
    const errors: unknown[] = [];
    for (const series of names) {
      client.subscribe<Batch>({ query: BATCHES, variables: { run, series, after: "0-0" } }, {
        next: (r) => (r.data ? checkers.get(r.data.batches.series)!.add(r.data.batches.points) : errors.push(r.errors)),
        error: (e) => errors.push(e),
        complete: () => {},
      });
    }
    await sleep(3000);
    // Freeze writes, snapshot, and kill: every entry Redis acknowledged is in the snapshot (a
    // Redis without persistence loses acknowledged writes, which no reader can get back), and
    // every write the producer attempts from here on waits in its backlog.
    const admin = new Redis(testRedis().url, { maxRetriesPerRequest: 0 });
    await admin.call("CLIENT", "PAUSE", "10000", "WRITE");
    await admin.save();
    admin.disconnect();
    const seenAtKill = [...checkers.values()].reduce((n, c) => n + c.next, 0);
    await testRedis().kill();
    const down = Date.now();
    await sleep(2500);
    const during = producer.events.filter((e) => e.event === "progress" && e.stats);
    const backlogPeak = Math.max(0, ...during.map((e) => e.stats!.backlog));
    await testRedis().restart({ keepData: true });
    const outageMs = Date.now() - down;

    const done = await producer.waitFor("done", 60_000);
    assert.equal(done.flushed, true);
    assert.equal(done.stats?.dropped, 0);
    await until(() => [...checkers.values()].every((c) => c.next >= total || c.problems.length > 0), "every point at the subscriber", 60_000,
      () => `points per series: ${[...checkers].map(([n, c]) => `${n} ${c.next}`).join(", ")}; server log: ${srv.logs.slice(-5).join(" | ")}`);
    await sleep(500); // anything repeated after the last point would show now
    assert.deepEqual([...checkers.values()].flatMap((c) => c.problems), []);
    assert.deepEqual(errors, []);
    for (const [name, c] of checkers) assert.equal(c.next, total, name);
    // The stored copy agrees.
    const stored = await historyAll<LinePoints>(srv, run, "s00");
    assert.equal(stored.t.length, total);
    assert.ok(backlogPeak > 0, `the producer had no backlog while Redis was down: ${JSON.stringify(during.slice(-3))}`);
    console.log(`      redis restart: outage ${outageMs} ms, producer backlog peak ${backlogPeak} points (dropped 0), ${seenAtKill} points seen before the kill, ${SERIES} x ${total} points delivered exactly once`);
    assert.ok(srv.alive());
  });

  it("server killed mid-stream and started again on the same port: a graphql-ws client with retries resumes after its lastId and ends with exactly the full set", async () => {
    const prefix = randomPrefix("srv");
    const run = "serverfault";
    const seconds = 10;
    const total = RATE * seconds;
    const first = await spawnServer({ redisUrl: testRedis().url, prefix });
    cleanup.push(() => first.kill("SIGKILL"));
    const producer = track(spawnProducer({ redisUrl: testRedis().url, prefix, run, series: SERIES, rate: RATE, seconds, t0Ns: T0_NS }));
    await registered(first, run, SERIES);
    let connects = 0;
    const client = createClient({
      url: wsUrl(first),
      webSocketImpl: WebSocket,
      retryAttempts: 50,
      // As the webview's transport: a refused connection (the server not back yet) is retried too.
      shouldRetry: () => true,
      retryWait: () => sleep(200),
      on: { connected: () => connects++ },
    });
    cleanup.push(() => client.dispose());
    const checkers = new Map(names.map((n) => [n, new ExactSeries(n, T0_US, STEP_US)]));
    const errors: unknown[] = [];
    for (const series of names) {
      // graphql-ws resends this payload on every reconnect: keeping `after` at the last ID received resumes there.
      const payload = { query: BATCHES, variables: { run, series, after: "0-0" } };
      client.subscribe<Batch>(payload, {
        next: (r) => {
          if (!r.data) return void errors.push(r.errors);
          checkers.get(series)!.add(r.data.batches.points);
          payload.variables.after = r.data.batches.lastId;
        },
        error: (e) => errors.push(describe_(e)),
        complete: () => {},
      });
    }
    await sleep(3000);
    const seenAtKill = [...checkers.values()].reduce((n, c) => n + c.next, 0);
    await first.kill("SIGKILL");
    await sleep(1000);
    const second = trackServer(await spawnServer({ redisUrl: testRedis().url, prefix, port: first.port, token: first.token }));
    await producer.waitFor("done", 60_000);
    await until(() => [...checkers.values()].every((c) => c.next >= total || c.problems.length > 0), "every point after the restart", 60_000).catch((err: Error) => {
      throw new Error(`${err.message}: connects ${connects}, received ${[...checkers.values()].map((c) => c.next).join(",")}, errors ${JSON.stringify(errors)}, server log ${second.logs.join("\n")}`);
    });
    await sleep(500);
    assert.deepEqual([...checkers.values()].flatMap((c) => c.problems), [], "lost or repeated points");
    assert.deepEqual(errors, []);
    for (const [name, c] of checkers) assert.equal(c.next, total, name);
    assert.equal(connects, 2, "connected once to each server");
    await client.dispose();
    assert.ok(seenAtKill > 0 && seenAtKill < SERIES * total);
    console.log(`      server restart: ${seenAtKill} points received before the kill, reconnected on port ${second.port}, ${SERIES} x ${total} points in the end, none twice`);
  });

  it("producer killed with SIGKILL: the run is reported ended once its heartbeat is over 30 s old, and its data is kept", async () => {
    const prefix = randomPrefix("prod");
    const run = "producerfault";
    const srv = trackServer(await spawnServer({ redisUrl: testRedis().url, prefix }));
    const producer = track(spawnProducer({ redisUrl: testRedis().url, prefix, run, series: 3, rate: RATE, seconds: 2, t0Ns: T0_NS, hold: true }));
    const done = await producer.waitFor("done", 30_000);
    assert.equal(done.flushed, true);
    const status = async () =>
      (await gqlData<{ run: { status: string; endedUs: number | null; series: { id: string; count: number; rejected: number }[] } }>(srv, `query($id: ID!) { run(id: $id) { status endedUs series { id count rejected } } }`, { id: run })).run;
    assert.equal((await status()).status, "running");
    producer.child.kill("SIGKILL");
    await producer.exited;
    // Its heartbeat is still fresh: the run still counts as running.
    assert.equal((await status()).status, "running");
    // Rather than wait 30 s: the heartbeat the dead producer would have left 31 s ago.
    const redis = new Redis(testRedis().url);
    const beat = BigInt(Date.now() - 31_000) * 1_000_000n;
    await redis.hset(redisKeys(prefix).manifest(run), "heartbeat", String(beat));
    redis.disconnect();
    const after = await status();
    assert.deepEqual(after, {
      status: "ended",
      endedUs: null,
      series: names.slice(0, 3).map((id) => ({ id, count: 2 * RATE, rejected: 0 })),
    });
    const runs = await gqlData<{ runs: { id: string; status: string }[] }>(srv, `{ runs { id status } }`);
    assert.deepEqual(runs.runs, [{ id: run, status: "ended" }]);
    for (const id of names.slice(0, 3)) {
      const stored = await historyAll<LinePoints>(srv, run, id);
      const c = new ExactSeries(id, T0_US, STEP_US);
      c.add(stored);
      assert.deepEqual(c.problems, []);
      assert.equal(c.next, 2 * RATE);
    }
    console.log(`      producer SIGKILL: run "${run}" running until its heartbeat was 31 s old, then ended; 3 x ${2 * RATE} points kept`);
  });
});

/** What a graphql-ws sink error is: GraphQL errors, a close event, or an error event. */
function describe_(e: unknown): string {
  const x = e as { type?: string; code?: number; reason?: string; message?: string; error?: Error };
  if (Array.isArray(e)) return JSON.stringify(e);
  return `${x.type ?? ""} code=${x.code} reason=${x.reason} message=${x.message ?? x.error?.message}`;
}
