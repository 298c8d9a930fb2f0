/**
 * Load: 50 series x 2000 points/s for 60 s from the Python SDK (one process), the server in its
 * own process, three WebSocket subscribers to all 50 series from the first point, one of which
 * stops reading its socket. The two healthy ones must get every point exactly once, in order,
 * with the exact time and value; the slow one must be closed with 4499 and told where to resume
 * (checked by resuming there); the server's RSS, sampled every second, must stay under a bound.
 */
import { strict as assert } from "node:assert";
import WebSocket from "ws";
import { testRedis } from "../harness/rootHooks.js";
import { BATCHES, ExactSeries, gqlData, gqlWs, randomPrefix, sleep, spawnProducer, spawnServer, wsUrl, type LinePoints, type ProducerProcess, type ServerProcess } from "./lib.js";

const SERIES = 50;
const RATE = 2000;
const SECONDS = Number(process.env.CHARTBRIDGE_REL_LOAD_SECONDS ?? 60);
const TOTAL = RATE * SECONDS;
const T0_NS = 1_700_000_000_000_000_000n;
const T0_US = Number(T0_NS / 1000n);
const STEP_US = 1_000_000 / RATE;
/**
 * The server's JS heap limits here. Left to itself, V8 lets a heap that allocates this fast grow
 * long before it collects: the peak RSS of a correct server varied from 456 to 606 MiB between
 * runs on one machine. Capped, it collects in time; the points live in typed arrays outside the
 * heap, and a leak (a per-client queue) would exhaust it and stop the server, failing the test.
 * `--max-old-space-size` caps the old generation only: the young one (3 semi-spaces) comes on top,
 * so its size is set too.
 */
const HEAP_MIB = 256;
const SEMI_SPACE_MIB = 16;
/**
 * The bound on the server's RSS, from its parts: what it started with, both heap generations at
 * their caps, and the points it holds (6M points: 16 bytes each in typed arrays, plus the stream ID
 * of each of ~600k entries: about 150 MiB). A per-client queue for the slow subscriber (the JSON of
 * every point it did not read, ~100 MiB a minute) or a leak per message would fill the capped heap
 * and stop the server instead. (A fixed 512 MiB bound failed once at 522 MiB on a correct server:
 * the young generation was not counted; alone here the peak is about 310 MiB.)
 */
const DATA_MIB = 150;
const rssBound = (startBytes: number) => startBytes + (HEAP_MIB + 3 * SEMI_SPACE_MIB + DATA_MIB) * 1048576;
/** The server drops a client that read nothing for this long while points waited (LiveBatchOptions default). */
const STALL_MS = 8_000;
/** How long the slow client does not read. */
const SLOW_PAUSE_MS = Number(process.env.CHARTBRIDGE_REL_SLOW_PAUSE_MS ?? STALL_MS + 8_000);
const names = Array.from({ length: SERIES }, (_, i) => `s${String(i).padStart(2, "0")}`);

interface Batch {
  batches: { series: string; count: number; lastId: string; points: LinePoints };
}

/** A graphql-ws client subscribed to every series from the start, checking each point. */
function healthySubscriber(server: ServerProcess, run: string, label: string) {
  const client = gqlWs(server);
  const checkers = new Map(names.map((n) => [n, new ExactSeries(`${label}/${n}`, T0_US, STEP_US)]));
  const errors: unknown[] = [];
  for (const series of names) {
    client.subscribe<Batch>({ query: BATCHES, variables: { run, series, after: "0-0" } }, {
      next: (r) => {
        if (r.errors) errors.push(r.errors);
        if (r.data) checkers.get(r.data.batches.series)!.add(r.data.batches.points);
      },
      error: (e) => errors.push(e),
      complete: () => {},
    });
  }
  return {
    client,
    checkers,
    errors,
    received: () => [...checkers.values()].reduce((n, c) => n + c.next, 0),
    done: () => [...checkers.values()].every((c) => c.next === TOTAL),
  };
}

/** graphql-transport-ws by hand, so it can stop reading its socket (as test/slow-client.test.ts). */
async function slowSubscriber(server: ServerProcess, run: string) {
  const ws = new WebSocket(wsUrl(server), "graphql-transport-ws");
  const checkers = new Map(names.map((n) => [n, new ExactSeries(`slow/${n}`, T0_US, STEP_US)]));
  const lastIds = new Map<string, string>(names.map((n) => [n, "0-0"]));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  const clientErrors: string[] = [];
  ws.on("error", (err) => clientErrors.push(String(err)));
  await new Promise((resolve) => ws.once("open", resolve));
  const acked = new Promise<void>((resolve) =>
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as { type: string; payload?: { data?: Batch } };
      if (msg.type === "connection_ack") resolve();
      const b = msg.payload?.data?.batches;
      if (msg.type === "next" && b) {
        checkers.get(b.series)!.add(b.points);
        lastIds.set(b.series, b.lastId);
      }
    }),
  );
  ws.send(JSON.stringify({ type: "connection_init" }));
  await acked;
  names.forEach((series, i) => ws.send(JSON.stringify({ id: String(i), type: "subscribe", payload: { query: BATCHES, variables: { run, series, after: "0-0" } } })));
  return { ws, closed, checkers, lastIds, clientErrors };
}

describe("reliability: load", function () {
  let server: ServerProcess | null = null;
  let producer: ProducerProcess | null = null;
  after(async () => {
    producer?.child.kill("SIGKILL");
    await server?.kill();
  });

  it(`${SERIES} series x ${RATE} points/s for ${SECONDS} s, 3 subscribers, one slow: nothing lost or repeated, the slow one dropped and told, memory bounded`, async function () {
    this.timeout((SECONDS + 150) * 1000);
    const prefix = randomPrefix("load");
    const run = "load";
    server = await spawnServer({ redisUrl: testRedis().url, prefix, nodeArgs: [`--max-old-space-size=${HEAP_MIB}`, `--max-semi-space-size=${SEMI_SPACE_MIB}`] });
    const srv = server;
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(srv.rss()), 1000);
    try {
      rss.push(srv.rss());
      producer = spawnProducer({ redisUrl: testRedis().url, prefix, run, series: SERIES, rate: RATE, seconds: SECONDS, t0Ns: T0_NS });
      await producer.waitFor("started", 30_000);
      // Subscriptions need the series registered; the producer registers each before its first point.
      for (let tries = 0; ; tries++) {
        const d = await gqlData<{ run: { series: { id: string }[] } | null }>(srv, `query($id: ID!) { run(id: $id) { series { id } } }`, { id: run });
        if (d.run?.series.length === SERIES) break;
        assert.ok(tries < 200, `series not registered: ${JSON.stringify(d)}`);
        await sleep(50);
      }
      const started = Date.now();
      const healthy = [healthySubscriber(srv, run, "healthy1"), healthySubscriber(srv, run, "healthy2")];
      const slow = await slowSubscriber(srv, run);
      slow.ws.pause();

      // Stalled past the stall limit (its kernel buffers fill within ~2 s, then 8 s), resumed before
      // graphql-ws' keepalive (ping after 12 s, terminate 12 s later without a pong) kills the
      // socket: a client silent for longer loses the queued 4499 close too and sees 1006.
      await sleep(SLOW_PAUSE_MS);
      const lagDuringStall = healthy.map((h) => h.received());
      slow.ws.resume();
      const close = await Promise.race([slow.closed, sleep(30_000).then(() => null)]);
      assert.ok(close !== null, "the slow client was not closed");
      assert.equal(close.code, 4499, `close reason: ${close.reason}; client errors ${slow.clientErrors.join("; ")}; received ${[...slow.checkers.values()].reduce((n, c) => n + c.next, 0)}; server log: ${srv.logs.slice(-20).join("\n")}`);
      const resume = /^SLOW_CONSUMER: resume after (\d+-\d+)$/.exec(close.reason);
      assert.ok(resume, close.reason);
      const resumeAfter = resume[1];

      const done = await producer.waitFor("done", (SECONDS + 60) * 1000);
      assert.equal(done.points, TOTAL);
      assert.equal(done.flushed, true);
      assert.equal(done.stats?.dropped, 0, "the producer dropped points");
      const deadline = Date.now() + 60_000;
      const anyProblem = () => healthy.some((h) => [...h.checkers.values()].some((c) => c.problems.length > 0));
      while (!healthy.every((h) => h.done()) && Date.now() < deadline && !anyProblem()) {
        await sleep(200);
      }
      const deliveredMs = Date.now() - started;

      for (const h of healthy) {
        const problems = [...h.checkers.values()].flatMap((c) => c.problems);
        assert.deepEqual(problems, [], "points lost, repeated or wrong");
        assert.deepEqual(h.errors, []);
        for (const [name, c] of h.checkers) assert.equal(c.next, TOTAL, `${name}: ${c.next} of ${TOTAL} points`);
        await h.client.dispose();
      }

      // The slow client got an exact prefix of every series, and resuming where it was told completes one exactly.
      const slowProblems = [...slow.checkers.values()].flatMap((c) => c.problems);
      assert.deepEqual(slowProblems, []);
      const slowReceived = [...slow.checkers.values()].reduce((n, c) => n + c.next, 0);
      assert.ok(slowReceived < TOTAL * SERIES, "the slow client was not behind");
      const dropped = names.filter((n) => slow.lastIds.get(n) === resumeAfter);
      assert.ok(dropped.length > 0, `no series of the slow client ended at ${resumeAfter}: ${JSON.stringify([...slow.lastIds])}`);
      const resumer = gqlWs(srv);
      for (const series of dropped) {
        const checker = slow.checkers.get(series)!;
        const before = checker.next;
        await new Promise<void>((resolve, reject) => {
          const stop = resumer.subscribe<Batch>({ query: BATCHES, variables: { run, series, after: resumeAfter } }, {
            next: (r) => {
              if (r.data) checker.add(r.data.batches.points);
              if (checker.next >= TOTAL || checker.problems.length > 0) {
                stop();
                resolve();
              }
            },
            error: reject,
            complete: () => {},
          });
        });
        assert.deepEqual(checker.problems, [], `resuming ${series} after ${resumeAfter} (it had ${before} points)`);
        assert.equal(checker.next, TOTAL);
      }
      await resumer.dispose();

      const ended = await producer.waitFor("ended", 60_000);
      assert.equal(ended.stats?.dropped, 0);
      clearInterval(sampler);
      rss.push(srv.rss());
      const peak = Math.max(...rss);
      const mib = (b: number) => (b / 1048576).toFixed(1);
      console.log(
        `      load: ${SERIES} series x ${RATE}/s x ${SECONDS} s = ${TOTAL * SERIES} points (${done.stats?.entries} entries); ` +
          `healthy subscribers: ${healthy.map((h) => h.received()).join(" and ")} points each, 0 lost, 0 repeated, all delivered ${(deliveredMs / 1000).toFixed(1)} s after subscribing; ` +
          `healthy progress while the slow one stalled: ${lagDuringStall.join(", ")}; ` +
          `slow subscriber: ${slowReceived} points, closed ${close.code} "${close.reason}", resumed ${dropped.length} series from there exactly; ` +
          `server RSS: start ${mib(rss[0])} MiB, peak ${mib(peak)} MiB, end ${mib(rss[rss.length - 1])} MiB (bound ${mib(rssBound(rss[0]))} MiB, ${rss.length} samples)`,
      );
      assert.ok(srv.alive(), "the server is still running");
      assert.ok(peak < rssBound(rss[0]), `server RSS peaked at ${mib(peak)} MiB, over ${mib(rssBound(rss[0]))} MiB`);
    } finally {
      clearInterval(sampler);
    }
  });
});
