/** The discovery record notebooks find the extension's server by: real files in a temp dir, a real dist/server.js. */
import { strict as assert } from "node:assert";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keepServerRecord, recordDir, RECORD_VERSION, writeRecord } from "../../src/extension/serverRecord.js";
import { Backoff, ServerSupervisor } from "../../src/extension/supervisor.js";
import { testRedis } from "../harness/rootHooks.js";
import { until } from "../harness/supervisorState.js";

const SERVER = join(__dirname, "..", "..", "dist", "server.js");

describe("extension: server record for notebooks", function () {
  this.timeout(40_000);
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), "cb-record-"))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("lives in CHARTBRIDGE_RUNTIME_DIR, else XDG_RUNTIME_DIR/chartbridge, else ~/.cache/chartbridge/servers", () => {
    assert.equal(recordDir({ CHARTBRIDGE_RUNTIME_DIR: "/a", XDG_RUNTIME_DIR: "/run/user/7" }), "/a");
    assert.equal(recordDir({ XDG_RUNTIME_DIR: "/run/user/7" }), "/run/user/7/chartbridge");
    assert.match(recordDir({}), /\/\.cache\/chartbridge\/servers$/);
  });

  it("is readable by the user only and never holds the Redis password", () => {
    const dir = join(root, "runtime", "chartbridge");
    const file = writeRecord(dir, {
      version: RECORD_VERSION, url: "http://127.0.0.1:4000", token: "t0k", pid: 4242,
      redis: "redis://alice:s3cret@cache.example:6380/2", prefix: "cb", workspaceFolders: ["/home/u/proj"],
    });
    assert.equal(file, join(dir, "server-4242.json"));
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const text = readFileSync(file, "utf8");
    assert.ok(!text.includes("s3cret") && !text.includes("alice"), text);
    assert.deepEqual(JSON.parse(text), {
      version: 1, url: "http://127.0.0.1:4000", token: "t0k", pid: 4242,
      redis: "redis://***@cache.example:6380/2", prefix: "cb", workspaceFolders: ["/home/u/proj"],
    });
    assert.deepEqual(readdirSync(dir), ["server-4242.json"], "no temporary file is left");
  });

  it("is written while the supervisor's server is connected and removed when it stops and when disposed", async () => {
    const supervisor = new ServerSupervisor({
      serverPath: SERVER,
      args: () => ["--redis", testRedis().url, "--prefix", "rec"],
      portRange: () => null,
      log: () => {},
      backoff: new Backoff(50, 400, 60_000),
    });
    const dir = join(root, "servers");
    const drop = keepServerRecord((l) => supervisor.onState(l), { dir, prefix: () => "rec", workspaceFolders: () => ["/w"], log: assert.fail });
    try {
      const server = await supervisor.ready();
      await until(supervisor, "connected", (s) => s.kind === "connected");
      const record = JSON.parse(readFileSync(join(dir, `server-${server.pid}.json`), "utf8"));
      assert.deepEqual(record, { version: 1, url: server.url, token: server.token, pid: server.pid, redis: server.redis, prefix: "rec", workspaceFolders: ["/w"] });
      assert.equal(statSync(join(dir, `server-${server.pid}.json`)).mode & 0o777, 0o600);
      await supervisor.stop();
      assert.deepEqual(readdirSync(dir), [], "stopping the server removes its record");
      supervisor.start();
      const again = await supervisor.ready();
      await until(supervisor, "connected", (s) => s.kind === "connected");
      assert.deepEqual(readdirSync(dir), [`server-${again.pid}.json`]);
      drop();
      assert.deepEqual(readdirSync(dir), [], "deactivating removes the record");
    } finally {
      drop();
      await supervisor.dispose();
    }
  });
});
