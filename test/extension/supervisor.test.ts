/** The server supervisor against the real server bundle (dist/server.js) and the test Redis. */
import { strict as assert } from "node:assert";
import { request } from "node:http";
import { join } from "node:path";
import { Backoff, ServerSupervisor, type ServerInfo } from "../../src/extension/supervisor.js";
import { gql } from "../../src/extension/graphql.js";
import { testRedis } from "../harness/rootHooks.js";
import { until } from "../harness/supervisorState.js";

const SERVER = join(__dirname, "..", "..", "dist", "server.js");

/** The HTTP status of the server's page asked for under another name (Host), as a forwarded browser tab asks. */
function statusAs(server: ServerInfo, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: server.port, path: `/?token=${server.token}`, headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

async function eventually(what: string, test: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const exited = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

describe("extension: backoff", () => {
  it("doubles from the initial delay up to the cap, and starts over after a stable run", () => {
    const b = new Backoff(500, 4000, 60_000);
    assert.deepEqual([0, 0, 0, 0, 0].map(() => b.next(100)), [500, 1000, 2000, 4000, 4000]);
    assert.equal(b.next(60_000), 500, "a server that ran a minute crashed once, not in a loop");
    assert.equal(b.next(10), 1000);
  });
});

describe("extension: server supervisor (real dist/server.js)", function () {
  this.timeout(40_000);
  let supervisor: ServerSupervisor;
  const logs: string[] = [];
  let redisArgs: string[];

  beforeEach(() => {
    redisArgs = ["--redis", testRedis().url];
    supervisor = new ServerSupervisor({
      serverPath: SERVER,
      args: () => [...redisArgs, "--prefix", "tsup", "--plugins", join(__dirname, "no-such-plugins-dir")],
      portRange: () => null,
      log: (level, message) => logs.push(`${level} ${message}`),
      backoff: new Backoff(50, 400, 60_000),
    });
  });
  afterEach(() => supervisor.dispose());

  it("starts the server with its own token, restarts it after a crash, stops it for good", async () => {
    const first = await supervisor.ready();
    assert.match(first.token, /^[0-9a-f]{64}$/);
    const { runs } = await gql<{ runs: unknown[] }>(first, "{ runs { id } }");
    assert.ok(Array.isArray(runs), "the printed port and the env token reach the server");

    process.kill(first.pid, "SIGKILL");
    await until(supervisor, "a crash", (s) => s.kind === "crashed");
    const second = (await until(supervisor, "the restart", (s) => s.kind === "connected")) as { server: ServerInfo };
    assert.notEqual(second.server.pid, first.pid);
    assert.notEqual(second.server.token, first.token, "every start gets a fresh token");
    await gql(second.server, "{ runs { id } }");

    await supervisor.stop();
    assert.equal(supervisor.state.kind, "stopped");
    assert.ok(exited(second.server.pid), "stop waits for the child to exit");
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(supervisor.state.kind, "stopped", "no restart after a deliberate stop");
  });

  it("has the server accept the name VS Code forwards it under (allowHost), also after a restart", async () => {
    const name = "cs.example:8080";
    const first = await supervisor.ready();
    assert.equal(await statusAs(first, name), 403, "an unknown name is refused");
    supervisor.allowHost(name);
    await eventually("the forwarded name accepted", async () => (await statusAs(first, name)) === 200);
    process.kill(first.pid, "SIGKILL");
    const second = (await until(supervisor, "the restart", (s) => s.kind === "connected" && s.server.pid !== first.pid)) as { server: ServerInfo };
    await eventually("the restarted server told the name too", async () => (await statusAs(second.server, name)) === 200);
    assert.equal(await statusAs(second.server, "evil.example:8080"), 403, "only that name");
  });

  it("binds inside the configured port range", async () => {
    const ranged = new ServerSupervisor({
      serverPath: SERVER,
      args: () => [...redisArgs, "--prefix", "tsup"],
      portRange: () => ({ from: 47_611, to: 47_619 }),
      log: () => {},
    });
    try {
      const server = await ranged.ready();
      assert.ok(server.port >= 47_611 && server.port <= 47_619, `port ${server.port}`);
    } finally {
      await ranged.dispose();
    }
  });

  it("says Redis is unreachable, and keeps retrying with backoff", async () => {
    redisArgs = ["--redis", "redis://127.0.0.1:1/0"];
    supervisor.start();
    const state = await until(supervisor, "redis unreachable", (s) => s.kind === "redisUnreachable");
    assert.match(JSON.stringify(state), /ECONNREFUSED|redis/i);
    // It keeps trying: fix the setting and the next attempt connects.
    redisArgs = ["--redis", testRedis().url];
    await until(supervisor, "connected after Redis came back", (s) => s.kind === "connected");
  });
});
