import { strict as assert } from "node:assert";
import WebSocket from "ws";
import { collect, lineFields, useTestServer, writeRun, xadd } from "./harness/server.js";

const T0 = 1_700_000_000_000_000_000n;
const SUBSCRIBE = `subscription { batches(run: "slow", series: "p", after: "0-0") { count lastId points } }`;
const RESUME = `subscription($after: String) { batches(run: "slow", series: "p", after: $after) { count lastId points } }`;

interface RawBatch {
  count: number;
  lastId: string;
  points: { t: number[] };
}

/** A graphql-ws client by hand, so the test can stop reading its socket. */
async function rawSubscriber(url: string): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }>; received: () => number; batches: RawBatch[] }> {
  const ws = new WebSocket(url, "graphql-transport-ws");
  let points = 0;
  const batches: RawBatch[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise((resolve) => ws.once("open", resolve));
  ws.send(JSON.stringify({ type: "connection_init" }));
  await new Promise<void>((resolve) =>
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as { type: string; payload?: { data?: { batches?: RawBatch } } };
      if (msg.type === "connection_ack") resolve();
      const batch = msg.payload?.data?.batches;
      if (batch !== undefined) batches.push(batch);
      points += batch?.count ?? 0;
    }),
  );
  ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: SUBSCRIBE } }));
  return { ws, closed, received: () => points, batches };
}

describe("server: a slow client", function () {
  this.timeout(60000);
  const t = useTestServer({ live: { stallMs: 300, maxPoints: 20_000 } });

  it("is dropped and told where to resume, while a healthy client gets every point and memory stays put", async () => {
    await writeRun(t, "slow", { p: { kind: "line" } });
    const key = t.keys.series("slow", "p");
    const healthy = collect<{ batches: { count: number } }>(t.ws, SUBSCRIBE, {});
    const slow = await rawSubscriber(`ws://127.0.0.1:${t.server.port}/graphql?token=${t.server.token}`);
    // Stop reading: the kernel buffers fill, the server's sends stop completing.
    slow.ws.pause();

    // 2M points in 100k-point entries, slower than the 300 ms stall limit in all: the server checks
    // the stalled client each time new points arrive.
    const perEntry = 100_000;
    let written = 0;
    const heapBefore = process.memoryUsage().heapUsed;
    while (written < 2_000_000) {
      const times = Array.from({ length: perEntry }, (_, i) => T0 + BigInt(written + i) * 1_000_000n);
      await xadd(t, key, lineFields(times, times.map((_, i) => written + i)));
      written += perEntry;
      await new Promise((r) => setTimeout(r, 100));
    }
    slow.ws.resume();
    const close = await slow.closed;
    assert.equal(close.code, 4499);
    assert.match(close.reason, /^SLOW_CONSUMER: resume after \d+-\d+$/);
    assert.ok(slow.received() < written, "the slow client did not get everything");

    await healthy.until((xs) => xs.reduce((n, b) => n + b.batches.count, 0) === written, 30_000);
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    // The store holds 16 bytes a point; a per-client queue would add the JSON of every unsent point.
    assert.ok(heapGrowth < written * 16 * 3, `heap grew ${heapGrowth} bytes for ${written} points`);
  });
});

describe("server: a client silent past graphql-ws' keepalive", function () {
  this.timeout(90000);
  // No stall limit in reach: the keepalive (a ping every 12 s, terminated 12 s after an unanswered one) ends it first.
  const t = useTestServer({ live: { stallMs: 600_000, maxPoints: 1000 } });

  it("is closed with 1006, and resumes exactly after the lastId of the last batch it read", async () => {
    await writeRun(t, "slow", { p: { kind: "line" } });
    const key = t.keys.series("slow", "p");
    const write = async (from: number, count: number) => {
      const times = Array.from({ length: count }, (_, i) => T0 + BigInt(from + i) * 1_000_000n);
      await xadd(t, key, lineFields(times, times.map((_, i) => from + i)));
    };
    for (let i = 0; i < 50; i++) await write(i * 1000, 1000);
    const silent = await rawSubscriber(`ws://127.0.0.1:${t.server.port}/graphql?token=${t.server.token}`);
    silent.ws.pause(); // reads nothing, answers no ping
    // Past one unanswered ping and the next (12 s + 12 s): the server terminates the socket, no close frame.
    await new Promise((r) => setTimeout(r, 27_000));
    silent.ws.resume();
    const close = await silent.closed;
    assert.equal(close.code, 1006);
    // What it read before the socket died: whole batches, each with the ID to resume after.
    const seen = silent.batches.flatMap((b) => b.points.t);
    const lastId = silent.batches.at(-1)?.lastId ?? "0-0";
    for (let i = 50; i < 60; i++) await write(i * 1000, 1000);
    const rest = collect<{ batches: RawBatch }>(t.ws, RESUME, { after: lastId });
    const all = Array.from({ length: 60_000 }, (_, i) => Number((T0 + BigInt(i) * 1_000_000n) / 1000n));
    await rest.until((xs) => seen.length + xs.reduce((n, b) => n + b.batches.count, 0) >= all.length, 30_000);
    assert.deepEqual([...seen, ...rest.items.flatMap((b) => b.batches.points.t)], all);
  });
});
