/**
 * `chartbridge serve` stops on SIGTERM within 2 s whatever Redis is doing (issue 20 #8: with Redis
 * down it was still running 10 s later, close() waiting on a client that retries forever). Each
 * test has a Redis of its own, since it is killed or frozen.
 */
import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { startPrivateRedis, type PrivateRedis } from "../src/server/privateRedis.js";

const SERVER = join(__dirname, "..", "dist", "server.js");
const DEADLINE_MS = 2000;

/** Resolves true if the child exits within `ms`, false otherwise (the deadline of the wait, not a speed measure). */
function exitsWithin(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function serve(redis: PrivateRedis): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, [SERVER, "serve", "--plugins", "none"], {
    env: { ...process.env, CHARTBRIDGE_REDIS_URL: redis.url },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      if (/token: [0-9a-f]{64}\n/.test(out)) resolve();
    });
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${out} ${err}`)));
  });
  return { child, stderr: () => err };
}

describe("chartbridge serve: SIGTERM whatever Redis is doing", function () {
  this.timeout(20000);
  let redis: PrivateRedis;
  let child: ChildProcess | null = null;
  beforeEach(async () => {
    redis = await startPrivateRedis();
  });
  afterEach(async () => {
    if (child !== null && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    child = null;
    redis.signal("SIGCONT");
    await redis.stop();
  });

  it("exits within 2 s of SIGTERM while Redis is down (killed)", async () => {
    const s = await serve(redis);
    child = s.child;
    await redis.kill();
    // Let its connections notice and start retrying.
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGTERM");
    assert.ok(await exitsWithin(child, DEADLINE_MS), `still running ${DEADLINE_MS} ms after SIGTERM; stderr: ${s.stderr()}`);
    await redis.restart();
  });

  it("exits within 2 s of SIGTERM while Redis is frozen (SIGSTOP: connections open, no replies)", async () => {
    const s = await serve(redis);
    child = s.child;
    redis.signal("SIGSTOP");
    child.kill("SIGTERM");
    assert.ok(await exitsWithin(child, DEADLINE_MS), `still running ${DEADLINE_MS} ms after SIGTERM; stderr: ${s.stderr()}`);
  });
});
