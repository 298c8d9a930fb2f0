/**
 * Following streams on a Redis Cluster. XREAD takes the keys of one slot only (CROSSSLOT
 * otherwise, even for two slots of one node), and a connection blocked in XREAD takes no other
 * command, so each slot with followed keys gets a BlockingStreamReader with a blocking connection
 * of its own to the slot's master. A run's keys share a hash tag (SPEC section 2): that is one
 * connection per run followed live, plus one for the global `runlog`. The slot map (refreshed by
 * the Cluster client every second) is checked every second: a slot that moved (resharding, a
 * replica promoted by a failover, a new master) has its reader rebuilt on the new owner from the
 * last ID each key delivered, so nothing is skipped or delivered twice.
 */
import type { Cluster, Redis } from "ioredis";
import type { NodeKey } from "./redisConnection.js";
import { BlockingStreamReader, type EntriesListener, type StreamReader, type StreamReaderOptions } from "./redisStreams.js";

/** Redis Cluster's slot of `key`: CRC16 (XMODEM) of its hash tag (or of the whole key), mod 16384. */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, "utf8");
  let [start, end] = [0, bytes.length];
  const open = bytes.indexOf(0x7b);
  const close = open < 0 ? -1 : bytes.indexOf(0x7d, open + 1);
  if (close > open + 1) [start, end] = [open + 1, close];
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc ^= bytes[i] << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc & 16383;
}

interface Follower {
  lastId: string;
  listener: EntriesListener;
  /** Stops its slot's current reader delivering it. */
  untrack: () => void;
}

interface SlotGroup {
  node: NodeKey;
  blocking: Redis;
  reader: BlockingStreamReader;
  keys: Map<string, Follower>;
}

/** How often the slot map is compared with where each slot is read, in ms. */
const FOLLOW_MS = 1000;

export class ClusterStreamReader implements StreamReader {
  private readonly groups = new Map<number, SlotGroup>();
  /** One command connection per node (CLIENT UNBLOCK must reach the node the XREAD blocks on), shared by its slots. */
  private readonly commands = new Map<NodeKey, { conn: Redis; users: number }>();
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly log: (message: string) => void;

  constructor(
    private readonly cluster: Cluster,
    private readonly openNode: (node: NodeKey) => Redis,
    private readonly options: StreamReaderOptions = {},
  ) {
    this.log = options.log ?? (() => {});
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const group of this.groups.values()) group.reader.start();
    this.timer = setInterval(() => this.follow(), FOLLOW_MS);
    this.timer.unref();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) clearInterval(this.timer);
    for (const group of this.groups.values()) this.close(group);
    this.groups.clear();
  }

  track(key: string, afterId: string, listener: EntriesListener): () => void {
    const slot = keySlot(key);
    let group = this.groups.get(slot);
    if (group === undefined) {
      group = this.open(this.owner(slot));
      this.groups.set(slot, group);
    }
    if (group.keys.has(key)) throw new Error(`stream ${key} is already tracked`);
    const follower: Follower = { lastId: afterId, listener, untrack: () => {} };
    group.keys.set(key, follower);
    this.attach(group, key, follower);
    return () => {
      const now = this.groups.get(slot);
      if (now?.keys.get(key) !== follower) return;
      now.keys.delete(key);
      if (now.keys.size > 0) {
        follower.untrack();
        return;
      }
      this.close(now);
      this.groups.delete(slot);
    };
  }

  /** The master serving `slot` now, as the Cluster client last learned it. */
  private owner(slot: number): NodeKey {
    const node = this.cluster.slots[slot]?.[0];
    if (node === undefined) throw new Error(`no node of the Redis Cluster serves slot ${slot} (is every slot assigned?)`);
    return node;
  }

  private attach(group: SlotGroup, key: string, follower: Follower): void {
    follower.untrack = group.reader.track(key, follower.lastId, (entries) => {
      follower.lastId = entries[entries.length - 1].id;
      follower.listener(entries);
    });
  }

  private open(node: NodeKey): SlotGroup {
    const blocking = this.openNode(node);
    const shared = this.commands.get(node) ?? { conn: this.openNode(node), users: 0 };
    shared.users++;
    this.commands.set(node, shared);
    const reader = new BlockingStreamReader(blocking, shared.conn, this.options);
    if (this.running) reader.start();
    return { node, blocking, reader, keys: new Map() };
  }

  private close(group: SlotGroup): void {
    // Disconnected first: an XREAD waiting on a node that died then fails at once instead of never.
    group.blocking.disconnect();
    group.reader.stop();
    const shared = this.commands.get(group.node);
    if (shared !== undefined && --shared.users === 0) {
      shared.conn.disconnect();
      this.commands.delete(group.node);
    }
  }

  /** Moves the reading of every slot whose master changed to its new master. */
  private follow(): void {
    for (const [slot, group] of this.groups) {
      const owner = this.cluster.slots[slot]?.[0];
      if (owner === undefined || owner === group.node) continue;
      this.log(`stream reader: slot ${slot} moved from ${group.node} to ${owner}; reading it there from the last entries delivered`);
      this.close(group);
      const moved = this.open(owner);
      for (const [key, follower] of group.keys) {
        moved.keys.set(key, follower);
        this.attach(moved, key, follower);
      }
      this.groups.set(slot, moved);
    }
  }
}
