/**
 * A real Redis Cluster for tests and benchmarks: 3 masters and 3 replicas (by default), each a
 * private redis-server on a free loopback port with `--cluster-enabled yes`, joined by
 * `redis-cli --cluster create --cluster-replicas 1`. Its URL is `redis+cluster://` with every
 * node as a seed (protocol/SPEC.md section 9).
 */
import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { startPrivateRedis, type PrivateRedis } from "../../src/server/privateRedis.js";

const run = promisify(execFile);

/** How long a master may be silent before its replica takes over, in ms (Redis' default is 15 s). */
export const NODE_TIMEOUT_MS = 1000;

export interface TestCluster {
  /** `redis+cluster://127.0.0.1:<port>,...` (every node). */
  url: string;
  nodes: PrivateRedis[];
  /** The node serving `slot` now, as the nodes themselves say. */
  masterOf(slot: number): Promise<PrivateRedis>;
  /** The replica of `master`. */
  replicaOf(master: PrivateRedis): Promise<PrivateRedis>;
  /** Starts an empty master (no slots, no replica) and joins it to the cluster, as `redis-cli --cluster add-node` does. */
  addMaster(): Promise<PrivateRedis>;
  /**
   * Moves `slot` and its keys to `to` while the cluster serves them, the steps `redis-cli --cluster
   * reshard` takes for each slot: IMPORTING/MIGRATING (clients get ASK for moved keys), MIGRATE a
   * few keys at a time, then SETSLOT NODE on every master (clients get MOVED).
   */
  moveSlot(slot: number, to: PrivateRedis): Promise<void>;
  /**
   * Waits until every node says the cluster is `ok`, every slot is served by a master that answers,
   * and every replica of a live master is in sync with it.
   */
  settled(): Promise<void>;
  /**
   * Fails `master` over so that the replica taking over lacks the master's last writes, which is
   * what asynchronous replication can lose (in production a lag of milliseconds; here certain):
   * the replica is frozen and cut off, `moreWritten` resolves once the master took more writes,
   * then the master dies, the replica resumes, and the cluster settles.
   */
  failOverLosingTail(master: PrivateRedis, moreWritten: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

function listenable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/** A free port whose cluster bus port (10000 higher, so at most 55535) is free too. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 35000);
    if (!taken.has(port) && !taken.has(port + 10000) && (await listenable(port)) && (await listenable(port + 10000))) {
      taken.add(port).add(port + 10000);
      return port;
    }
  }
}

async function clusterInfo(port: number): Promise<{ state: string; slots: [number, number, number][]; replicaSynced: boolean; masterPort: number | null } | null> {
  const conn = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  conn.on("error", () => {});
  try {
    await conn.connect();
    const info = (await conn.cluster("INFO")) as string;
    const slots = await conn.cluster("SLOTS");
    const replication = await conn.info("replication");
    return {
      state: /cluster_state:(\w+)/.exec(info)?.[1] ?? "",
      slots: slots.map(([from, to, master]): [number, number, number] => [from, to, master[1]]),
      // A replica that never synced refuses to take over (its data would be too old).
      replicaSynced: !/role:slave/.test(replication) || /master_link_status:up/.test(replication),
      masterPort: /role:slave/.test(replication) ? Number(/master_port:(\d+)/.exec(replication)?.[1]) : null,
    };
  } catch {
    return null;
  } finally {
    conn.disconnect();
  }
}

/** One command on one node, on a connection of its own. */
async function onNode<T>(port: number, command: (conn: Redis) => Promise<T>): Promise<T> {
  const conn = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 0 });
  try {
    return await command(conn);
  } finally {
    conn.disconnect();
  }
}

export async function startRedisCluster(masters = 3): Promise<TestCluster> {
  const args = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", String(NODE_TIMEOUT_MS)];
  const taken = new Set<number>();
  const nodes: PrivateRedis[] = [];
  const addresses = () => nodes.map((n) => `127.0.0.1:${n.port}`);
  try {
    for (let i = 0; i < masters * 2; i++) nodes.push(await startPrivateRedis({ args, port: await clusterPort(taken) }));
    await run("redis-cli", ["--cluster", "create", ...addresses(), "--cluster-replicas", "1", "--cluster-yes"]);
  } catch (err) {
    // No node outlives a start that failed half way.
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  const byPort = new Map(nodes.map((n) => [n.port, n]));
  const alive = new Set(nodes);
  const cluster: TestCluster = {
    url: `redis+cluster://${addresses().join(",")}`,
    nodes,
    async masterOf(slot) {
      for (const node of alive) {
        const info = await clusterInfo(node.port);
        const range = info?.slots.find(([from, to]) => from <= slot && slot <= to);
        if (range !== undefined) return byPort.get(range[2]) as PrivateRedis;
      }
      throw new Error(`no node serves slot ${slot}`);
    },
    async replicaOf(master) {
      for (const node of alive) if ((await clusterInfo(node.port))?.masterPort === master.port) return node;
      throw new Error(`no replica of 127.0.0.1:${master.port}`);
    },
    async addMaster() {
      const member = [...alive][0];
      const node = await startPrivateRedis({ args, port: await clusterPort(taken) });
      nodes.push(node);
      byPort.set(node.port, node);
      alive.add(node);
      await run("redis-cli", ["--cluster", "add-node", `127.0.0.1:${node.port}`, `127.0.0.1:${member.port}`]);
      // Joined once every node knows it (gossip spreads the meet).
      for (let tries = 0; ; tries++) {
        const known = await Promise.all([...alive].map((n) => onNode(n.port, (c) => c.cluster("NODES") as Promise<string>).catch(() => "")));
        if (known.every((text) => text.includes(`127.0.0.1:${node.port}@`))) break;
        if (tries > 600) throw new Error(`node 127.0.0.1:${node.port} did not join`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // It serves nothing (CLUSTERDOWN) until it has learnt every slot's master.
      await cluster.settled();
      return node;
    },
    async moveSlot(slot, to) {
      const from = await cluster.masterOf(slot);
      const [fromId, toId] = await Promise.all([from, to].map((n) => onNode(n.port, (c) => c.cluster("MYID") as Promise<string>)));
      await onNode(to.port, (c) => c.cluster("SETSLOT", slot, "IMPORTING", fromId));
      await onNode(from.port, (c) => c.cluster("SETSLOT", slot, "MIGRATING", toId));
      for (;;) {
        const keys = await onNode(from.port, (c) => c.cluster("GETKEYSINSLOT", slot, 10) as Promise<string[]>);
        if (keys.length === 0) break;
        await onNode(from.port, (c) => c.migrate("127.0.0.1", to.port, "", 0, 5000, "KEYS", ...keys));
      }
      const masterPorts = new Set((await clusterInfo(to.port))?.slots.map(([, , p]) => p));
      for (const port of [to.port, from.port, ...[...masterPorts].filter((p) => p !== to.port && p !== from.port)]) {
        await onNode(port, (c) => c.cluster("SETSLOT", slot, "NODE", toId));
      }
    },
    async settled() {
      // Polls for the state the cluster reaches on its own (joining, a failover): no fixed delay.
      for (let tries = 0; ; tries++) {
        const infos = await Promise.all([...alive].map((n) => clusterInfo(n.port)));
        const served = infos[0]?.slots.reduce((sum, [from, to]) => sum + to - from + 1, 0);
        const masters = new Set(infos[0]?.slots.map(([, , p]) => p));
        const ok = infos.every((i) => i?.state === "ok" && i.replicaSynced) && served === 16384 && [...masters].every((p) => alive.has(byPort.get(p) as PrivateRedis));
        if (ok) return;
        if (tries > 600) throw new Error(`the cluster did not settle: ${JSON.stringify(infos)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async failOverLosingTail(master, moreWritten) {
      const replica = await cluster.replicaOf(master);
      replica.signal("SIGSTOP");
      const direct = new Redis({ port: master.port, host: "127.0.0.1" });
      await direct.call("CLIENT", "KILL", "TYPE", "replica");
      direct.disconnect();
      await moreWritten();
      await master.kill();
      replica.signal("SIGCONT");
      await cluster.settled();
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
  // A killed node is left out of what `settled` asks.
  for (const node of nodes) {
    const kill = node.kill.bind(node);
    node.kill = async () => {
      alive.delete(node);
      await kill();
    };
  }
  await cluster.settled();
  return cluster;
}
