/**
 * How far a producer running in another process has got, read from its series stream: the time of
 * the newest point stored. Entries are not a measure of that: a producer hands over what has
 * gathered since its last hand-over, from one point to thousands an entry, depending on the load.
 */
import { strict as assert } from "node:assert";
import type { Cluster, Redis } from "ioredis";
import { decodeEntry } from "../../src/shared/decode.js";

/** The time of `stream`'s newest point in microseconds; -1 while the stream is empty. */
export async function newestPointUs(conn: Redis | Cluster, stream: string): Promise<number> {
  const [newest] = await conn.xrevrangeBuffer(stream, "+", "-", "COUNT", 1);
  if (newest === undefined) return -1;
  const flat = newest[1];
  const fields: Record<string, Uint8Array> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i].toString()] = flat[i + 1];
  const decoded = decodeEntry(fields);
  assert.ok(decoded.ok, `${stream}: its newest entry decodes`);
  return decoded.batch.tUs[decoded.batch.n - 1];
}

/** Reads until `done` holds; past `ms`, fails saying what it waited for and what it read last. */
export async function pollUntil<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}; last read: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
