import { strict as assert } from "node:assert";
import { fork, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testRedis } from "./harness/rootHooks.js";

const SERVER = join(__dirname, "..", "dist", "server.js");

/** Resolves with everything printed once `pattern` appears on stdout. */
function waitFor(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (pattern.test(out)) resolve(out);
    });
    child.once("exit", (code) => reject(new Error(`exited ${code} before ${pattern}: ${out}`)));
  });
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

describe("chartbridge serve (CLI)", function () {
  this.timeout(20000);
  let cwd: string;
  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), "cb-cli-"));
  });
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));

  it("serves with the Redis and token from its environment, prints its URL, and stops on SIGTERM", async () => {
    const child = spawn(process.execPath, [SERVER, "serve"], {
      cwd,
      env: { ...process.env, CHARTBRIDGE_REDIS_URL: testRedis().url, CHARTBRIDGE_TOKEN: "s3cret-token-for-test" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out = await waitFor(child, /redis: .*\n/);
    const url = /Chartbridge server: (http:\/\/127\.0\.0\.1:\d+)\/\?token=s3cret-token-for-test/.exec(out)?.[1];
    assert.ok(url, out);
    assert.match(out, new RegExp(`redis: ${testRedis().url.replace(/[/.]/g, "\\$&")}`));
    const res = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { authorization: "Bearer s3cret-token-for-test", "content-type": "application/json" },
      body: JSON.stringify({ query: "{ runs { id } }" }),
    });
    assert.deepEqual(await res.json(), { data: { runs: [] } });
    child.kill("SIGTERM");
    assert.equal(await exited(child), 0);
  });

  it("exits when the parent's IPC channel closes, so none is left running", async () => {
    // execArgv: [] so the child does not inherit mocha's loader flags.
    const child = fork(SERVER, ["serve"], { cwd, execArgv: [], env: { ...process.env, CHARTBRIDGE_REDIS_URL: testRedis().url }, stdio: ["ignore", "pipe", "pipe", "ipc"] });
    await waitFor(child, /token: [0-9a-f]{64}\n/);
    child.disconnect();
    assert.equal(await exited(child), 0);
  });

  it("says which Redis it cannot reach, without its password", async () => {
    const child = spawn(process.execPath, [SERVER, "serve", "--redis", "redis://user:hunter2@127.0.0.1:1/0"], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
    assert.equal(await exited(child), 1);
    assert.match(err, /^chartbridge: cannot reach Redis at redis:\/\/\*\*\*@127\.0\.0\.1:1\/0: /m);
    assert.doesNotMatch(err, /hunter2/);
  });

  it("refuses a bad port with a clear message", async () => {
    const child = spawn(process.execPath, [SERVER, "serve", "--port", "99999"], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
    assert.equal(await exited(child), 1);
    assert.equal(err, "chartbridge: --port 99999 is not a port number\n");
  });
});
