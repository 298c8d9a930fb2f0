/**
 * Runs as files (`chartbridge export RUN -o run.cbrun`, `chartbridge import run.cbrun`): the
 * format of protocol/SPEC.md section 13, "Run files". A file holds every key of one run exactly
 * (hash fields, strings, stream entries with their IDs and each stream's ID state), so an import
 * into any Redis or cluster gives back the same bytes. Import reads the whole file once to check
 * it before writing anything: a truncated or corrupt file changes nothing in Redis.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import { NAME_PATTERNS, type RedisKeys } from "../shared/protocol.js";
import { scanKeys, type RedisClient } from "./redisConnection.js";
import { deleteRun } from "./runWriter.js";

export const RUN_FILE_MAGIC = "chartbridge-run";
export const RUN_FILE_VERSION = 1;
/** The Redis types a run's keys have (SPEC section 2); a run file holds these only. */
const KEY_TYPES = ["string", "hash", "stream"] as const;
type KeyType = (typeof KEY_TYPES)[number];
/** Redis's largest string: a longer length in a file can only be corruption. */
const MAX_STRING = 512 * 1024 * 1024;
/** Stream entries per XRANGE while exporting, and commands per pipeline while importing. */
const CHUNK = 256;
const PIPELINE_BYTES = 8 * 1024 * 1024;
const STREAM_ID = /^[0-9]{1,20}-[0-9]{1,20}$/;

/** What a file says of itself besides its keys (SPEC section 13). */
export interface RunFileHeader {
  run: string;
  /** The prefix it was exported from (an import may choose another). */
  prefix: string;
  /** When it was exported, ns. */
  exported: string;
  /** The run's score in `<prefix>:runs` as Redis wrote it, or null when it was not listed. */
  score: string | null;
  /** Whether the run was in `<prefix>:pinned`. */
  pinned: boolean;
}

/** One thing read from a file, in file order. */
export type RunFileItem =
  | { item: "header"; header: RunFileHeader }
  | { item: "string"; suffix: string; value: Buffer }
  | { item: "hash"; suffix: string; fields: Buffer[] }
  | { item: "stream"; suffix: string; lastId: string; entriesAdded: string; maxDeletedId: string }
  | { item: "entry"; suffix: string; id: string; fields: Buffer[] }
  | { item: "streamEnd"; suffix: string }
  | { item: "end"; keys: number; entries: number };

/** A file that is not a whole run file of a version this code reads; the message says where and why. */
export class RunFileError extends Error {}

// ---------------------------------------------------------------------------------------------
// Records: an array of byte strings, u32 LE count then each string as u32 LE length and bytes.

function record(parts: (Buffer | string)[]): Buffer {
  const buffers = parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : p));
  const out = Buffer.allocUnsafe(4 + buffers.reduce((sum, b) => sum + 4 + b.length, 0));
  out.writeUInt32LE(buffers.length, 0);
  let at = 4;
  for (const b of buffers) {
    out.writeUInt32LE(b.length, at);
    b.copy(out, at + 4);
    at += 4 + b.length;
  }
  return out;
}

/** Pulls exact byte counts out of a stream of chunks, counting the offset for error messages. */
class ByteReader {
  offset = 0;
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(
    private readonly source: AsyncIterator<Buffer>,
    private readonly fail: (gzipMessage: string, offset: number) => never,
  ) {}

  /** `n` bytes, or null when the content ended first. */
  async take(n: number): Promise<Buffer | null> {
    while (this.buffered < n) {
      let next: IteratorResult<Buffer>;
      try {
        next = await this.source.next();
      } catch (err) {
        this.fail((err as Error).message, this.offset + this.buffered);
      }
      if (next.done) return null;
      this.chunks.push(next.value);
      this.buffered += next.value.length;
    }
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.buffered -= n;
    this.offset += n;
    return out;
  }
}

/**
 * The items of `path`, checked as they come (SPEC section 13): a RunFileError names what is wrong
 * and at which byte of the content. The gzip layer's own checks (CRC-32, length) end the read.
 */
export async function* readRunFile(path: string): AsyncGenerator<RunFileItem> {
  const handle = await open(path, "r").catch((err: Error) => Promise.reject(new RunFileError(`cannot read ${path}: ${err.message}`)));
  const head = Buffer.alloc(2);
  const { bytesRead } = await handle.read(head, 0, 2, 0).finally(() => handle.close());
  if (bytesRead < 2 || head[0] !== 0x1f || head[1] !== 0x8b) {
    throw new RunFileError(`${path} is not a Chartbridge run file: it does not start with gzip's bytes 1f 8b`);
  }
  let where = "the header";
  const gunzip = createReadStream(path).pipe(createGunzip());
  const bytes = new ByteReader(gunzip[Symbol.asyncIterator](), (message, offset) => {
    if (/unexpected end of file/.test(message)) throw truncated(offset);
    throw new RunFileError(`${path} is corrupt: gzip reports "${message}" after ${offset} bytes of content, in ${where}`);
  });
  const truncated = (offset: number) => new RunFileError(`${path} is truncated: its content ends after ${offset} bytes, in ${where} (export the run again)`);
  const corrupt = (what: string) => new RunFileError(`${path} is corrupt at byte ${bytes.offset} of its content, in ${where}: ${what}`);
  const need = async (n: number) => (await bytes.take(n)) ?? Promise.reject(truncated(bytes.offset));
  const next = async (): Promise<Buffer[]> => {
    const count = (await need(4)).readUInt32LE(0);
    const parts: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const length = (await need(4)).readUInt32LE(0);
      if (length > MAX_STRING) throw corrupt(`a string of ${length} bytes, over Redis's 512 MiB`);
      parts.push(await need(length));
    }
    return parts;
  };
  try {
    const first = await next();
    if (first[0]?.toString() !== RUN_FILE_MAGIC) throw corrupt(`the first record is not "${RUN_FILE_MAGIC}"`);
    if (first[1]?.toString() !== String(RUN_FILE_VERSION)) {
      throw new RunFileError(`${path} is a run file of version ${JSON.stringify(first[1]?.toString())}; this chartbridge reads version ${RUN_FILE_VERSION}`);
    }
    yield { item: "header", header: parseHeader(first[2], corrupt) };
    const seen = new Set<string>();
    let inStreams = false;
    let entries = 0;
    for (;;) {
      where = `record ${seen.size + 1} (after the header)`;
      const parts = await next();
      const kind = parts[0]?.toString();
      if (kind === "end") {
        where = "the end record";
        const [keys, total] = [Number(parts[1]?.toString()), Number(parts[2]?.toString())];
        if (parts.length !== 3 || keys !== seen.size || total !== entries) {
          throw corrupt(`the end record says ${parts[1]?.toString()} keys and ${parts[2]?.toString()} stream entries; the file holds ${seen.size} and ${entries}`);
        }
        if ((await bytes.take(1)) !== null) throw corrupt("content follows the end record");
        yield { item: "end", keys, entries };
        return;
      }
      if (!KEY_TYPES.includes(kind as KeyType)) throw corrupt(`a key record of type ${JSON.stringify(kind)}, not string, hash or stream (or the end record)`);
      const suffix = parts[1]?.toString() ?? "";
      where = `key ${JSON.stringify(suffix)}`;
      if (suffix === "" || seen.has(suffix)) throw corrupt(suffix === "" ? "a key without a name" : "the key appears twice");
      seen.add(suffix);
      if (kind === "string") {
        if (inStreams || parts.length !== 3) throw corrupt(inStreams ? "a string after a stream (streams come last)" : "a string record holds 3 parts");
        yield { item: "string", suffix, value: parts[2] };
      } else if (kind === "hash") {
        if (inStreams || parts.length < 4 || parts.length % 2 !== 0) throw corrupt(inStreams ? "a hash after a stream (streams come last)" : "a hash record holds field-value pairs");
        yield { item: "hash", suffix, fields: parts.slice(2) };
      } else {
        inStreams = true;
        const [lastId, entriesAdded, maxDeletedId] = parts.slice(2).map((p) => p.toString());
        if (parts.length !== 5 || !STREAM_ID.test(lastId) || !STREAM_ID.test(maxDeletedId) || !/^[0-9]{0,20}$/.test(entriesAdded)) throw corrupt("a stream record holds its last ID, entries added and max deleted ID");
        yield { item: "stream", suffix, lastId, entriesAdded, maxDeletedId };
        let previous = "0-0";
        for (let n = 1; ; n++) {
          where = `entry ${n} of stream ${JSON.stringify(suffix)}`;
          const entry = await next();
          if (entry.length === 0) break;
          const id = entry[0].toString();
          if (!STREAM_ID.test(id) || entry.length < 3 || entry.length % 2 !== 1) throw corrupt("an entry holds its ID and field-value pairs");
          if (compareIds(id, previous) <= 0 || compareIds(id, lastId) > 0) throw corrupt(`entry ID ${id} is not after ${previous} and at most the stream's last ID ${lastId}`);
          previous = id;
          entries++;
          yield { item: "entry", suffix, id, fields: entry.slice(1) };
        }
        yield { item: "streamEnd", suffix };
      }
    }
  } finally {
    gunzip.destroy();
  }
}

function parseHeader(raw: Buffer | undefined, corrupt: (what: string) => Error): RunFileHeader {
  let v: unknown;
  try {
    v = JSON.parse(raw?.toString() ?? "");
  } catch {
    throw corrupt("the header is not JSON");
  }
  const h = v as Partial<RunFileHeader> | null;
  if (typeof h !== "object" || h === null || typeof h.run !== "string" || !NAME_PATTERNS.run.test(h.run)) throw corrupt("the header names no valid run id");
  if (typeof h.prefix !== "string" || typeof h.exported !== "string" || !(h.score === null || typeof h.score === "string") || typeof h.pinned !== "boolean") {
    throw corrupt("the header lacks prefix, exported, score or pinned");
  }
  return { run: h.run, prefix: h.prefix, exported: h.exported, score: h.score, pinned: h.pinned };
}

function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(BigInt);
  const [bm, bs] = b.split("-").map(BigInt);
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}

// ---------------------------------------------------------------------------------------------
// Export

export interface ExportSummary {
  keys: number;
  entries: number;
  running: boolean;
}

/** The fields of `XINFO STREAM` a file keeps (entries-added and max-deleted-entry-id: Redis 7+, else empty and 0-0). */
async function streamState(redis: RedisClient, key: string): Promise<[string, string, string]> {
  const info = (await redis.call("XINFO", "STREAM", key)) as unknown[];
  const field = (name: string) => {
    const i = info.indexOf(name);
    return i < 0 ? null : String(info[i + 1]);
  };
  return [field("last-generated-id") ?? "0-0", field("entries-added") ?? "", field("max-deleted-entry-id") ?? "0-0"];
}

/**
 * Writes run `run` of `keys`' prefix to `path` (through a temporary file renamed at the end, so a
 * failed export leaves no file that looks whole). Throws when the run has no keys.
 */
export async function exportRun(redis: RedisClient, keys: RedisKeys, prefix: string, run: string, path: string): Promise<ExportSummary> {
  const tagged = keys.runPattern(run).slice(0, -1);
  const found = (await scanKeys(redis, keys.runPattern(run))).sort();
  if (found.length === 0) throw new Error(`run ${run} is not in Redis under prefix ${prefix}: nothing to export`);
  const typed = await Promise.all(found.map(async (key) => ({ key, type: await redis.type(key) })));
  const odd = typed.find((k) => !KEY_TYPES.includes(k.type as KeyType));
  if (odd !== undefined) throw new Error(`${odd.key} holds a ${odd.type}; a run's keys are strings, hashes and streams (protocol/SPEC.md section 2): delete it or fix it, then export again`);
  // Strings and hashes first, then streams (a reader knows the registry before the points).
  const ordered = [...typed.filter((k) => k.type !== "stream"), ...typed.filter((k) => k.type === "stream")];
  const [score, pinned, status] = await Promise.all([redis.zscore(keys.runs, run), redis.sismember(keys.pinned, run), redis.hget(keys.manifest(run), "status")]);
  const summary: ExportSummary = { keys: ordered.length, entries: 0, running: status === "running" };
  const header: RunFileHeader = { run, prefix, exported: String(BigInt(Date.now()) * 1_000_000n), score, pinned: pinned === 1 };

  async function* records(): AsyncGenerator<Buffer> {
    yield record([RUN_FILE_MAGIC, String(RUN_FILE_VERSION), JSON.stringify(header)]);
    for (const { key, type } of ordered) {
      const suffix = key.slice(tagged.length);
      if (type === "string") yield record(["string", suffix, (await redis.callBuffer("GET", key)) as Buffer]);
      else if (type === "hash") yield record(["hash", suffix, ...((await redis.callBuffer("HGETALL", key)) as Buffer[])]);
      else {
        const [lastId, entriesAdded, maxDeletedId] = await streamState(redis, key);
        yield record(["stream", suffix, lastId, entriesAdded, maxDeletedId]);
        // Up to the last ID read above: entries a live producer adds meanwhile stay out, so the state fits the entries.
        let from = "-";
        for (;;) {
          const chunk = (await redis.callBuffer("XRANGE", key, from, lastId, "COUNT", CHUNK)) as [Buffer, Buffer[]][];
          for (const [id, fields] of chunk) yield record([id, ...fields]);
          summary.entries += chunk.length;
          if (chunk.length < CHUNK) break;
          from = `(${chunk[chunk.length - 1][0].toString()}`;
        }
        yield record([]);
      }
    }
    yield record(["end", String(ordered.length), String(summary.entries)]);
  }

  const temporary = `${path}.partial-${process.pid}`;
  try {
    await pipeline(Readable.from(records()), createGzip({ level: 1 }), createWriteStream(temporary));
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  return summary;
}

// ---------------------------------------------------------------------------------------------
// Import

export interface ImportOptions {
  /** Delete the run's keys in Redis first; without it, a run already there is an error. */
  replace?: boolean;
  /** The redacted URL, for the error a user sees. */
  shownUrl: string;
}

export interface ImportSummary {
  run: string;
  keys: number;
  entries: number;
  replaced: boolean;
}

/** Commands for one slot, sent in pipelines of bounded size. */
class Batch {
  private pipeline;
  private count = 0;
  private bytes = 0;

  constructor(private readonly redis: RedisClient) {
    this.pipeline = redis.pipeline();
  }

  async add(args: (string | Buffer)[]): Promise<void> {
    const [name, ...rest] = args;
    this.pipeline.call(name as string, ...rest);
    this.count++;
    this.bytes += args.reduce((sum, a) => sum + a.length, 0);
    if (this.count >= CHUNK * 4 || this.bytes >= PIPELINE_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.count === 0) return;
    const replies = (await this.pipeline.exec()) ?? [];
    this.pipeline = this.redis.pipeline();
    this.count = this.bytes = 0;
    const failed = replies.find(([err]) => err !== null);
    if (failed) throw failed[0];
  }
}

/**
 * Restores the run in `path` under `keys`' prefix: checks the whole file first (nothing is written
 * for a bad one), refuses a run that exists unless `replace`, then writes every key (streams with
 * their entry IDs and ID state), lists the run in `runs` (and `pinned`) and announces it on
 * `runlog`.
 */
export async function importRun(redis: RedisClient, keys: RedisKeys, prefix: string, path: string, options: ImportOptions): Promise<ImportSummary> {
  let header: RunFileHeader | null = null;
  for await (const item of readRunFile(path)) if (item.item === "header") header = item.header;
  if (header === null) throw new RunFileError(`${path} has no header`);
  const run = header.run;
  const existing = await scanKeys(redis, keys.runPattern(run));
  const listed = (await redis.zscore(keys.runs, run)) !== null;
  if ((existing.length > 0 || listed) && !options.replace) {
    throw new Error(`run ${run} already exists under prefix ${prefix} in ${options.shownUrl} (${existing.length} keys); nothing was written. Pass --replace to overwrite it, or --prefix to import it under another prefix`);
  }
  const replaced = existing.length > 0 || listed;
  if (replaced) await deleteRun(redis, keys, run);
  const tagged = keys.runPattern(run).slice(0, -1);
  const batch = new Batch(redis);
  let manifestStatus: string | null = null;
  let summary: ImportSummary = { run, keys: 0, entries: 0, replaced };
  let stream: Extract<RunFileItem, { item: "stream" }> | null = null;
  let streamEntries = 0;
  for await (const item of readRunFile(path)) {
    if (item.item === "string") await batch.add(["SET", tagged + item.suffix, item.value]);
    else if (item.item === "hash") {
      await batch.add(["HSET", tagged + item.suffix, ...item.fields]);
      if (item.suffix === "manifest") manifestStatus = hashField(item.fields, "status");
    } else if (item.item === "stream") {
      stream = item;
      streamEntries = 0;
    } else if (item.item === "entry") {
      await batch.add(["XADD", tagged + item.suffix, item.id, ...item.fields]);
      streamEntries++;
    } else if (item.item === "streamEnd" && stream !== null) {
      const key = tagged + stream.suffix;
      // A stream whose entries were all deleted exists empty: a consumer group makes one.
      if (streamEntries === 0) {
        await batch.add(["XGROUP", "CREATE", key, "chartbridge-import", "$", "MKSTREAM"]);
        await batch.add(["XGROUP", "DESTROY", key, "chartbridge-import"]);
      }
      const state = stream.entriesAdded === "" ? [] : ["ENTRIESADDED", stream.entriesAdded, "MAXDELETEDID", stream.maxDeletedId];
      await batch.add(["XSETID", key, stream.lastId, ...state]);
    } else if (item.item === "end") summary = { ...summary, keys: item.keys, entries: item.entries };
  }
  await batch.flush();
  // Listed last, so a server sees the run once every key is there.
  if (header.score !== null) await redis.zadd(keys.runs, header.score, run);
  if (header.pinned) await redis.sadd(keys.pinned, run);
  await redis.xadd(keys.runlog, "MAXLEN", "~", 10000, "*", "run", run, "type", "start");
  if (manifestStatus === "ended") await redis.xadd(keys.runlog, "MAXLEN", "~", 10000, "*", "run", run, "type", "end");
  return summary;
}

function hashField(fields: Buffer[], name: string): string | null {
  for (let i = 0; i < fields.length; i += 2) if (fields[i].toString() === name) return fields[i + 1].toString();
  return null;
}

