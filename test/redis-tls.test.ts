/**
 * Redis with TLS and ACL users, end to end: a real TLS-only redis-server (openssl certificates made
 * for the run), the Python SDK publishing as one ACL user, the server reading as another, each
 * limited to the `chartbridge:` keys and the commands protocol/SPEC.md lists ("Connecting to
 * Redis"); and the one clear error each refusal gives.
 */
import { strict as assert } from "node:assert";
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { startServer } from "../src/server/app.js";
import { RedisUnusable } from "../src/server/redisConnection.js";
import type { ValuePoints } from "../src/shared/protocol.js";
import { PRODUCER_RIGHTS, SERVER_RIGHTS, startTlsRedis, type TlsRedis } from "./harness/tlsRedis.js";
import { query, WEBVIEW_BUNDLE, wsClient } from "./harness/server.js";

const ROOT = join(__dirname, "..");
const SERVER = join(ROOT, "dist", "server.js");
const PYTHON = join(ROOT, ".venv", "bin", "python");
const T0 = 1_700_000_000_123_456_789n;
const PASSWORD = "s3cret-Pw-7b1e";

/** Publishes from a real Python process; what it printed (nothing may hold the password). */
async function publish(tls: TlsRedis, url: string, n: number, env: Record<string, string> = {}): Promise<string> {
  const args = [join(__dirname, "fixtures", "publish_points.py"), url, "chartbridge", "tls-run", "price", String(T0), String(n)];
  const { stdout, stderr } = await promisify(execFile)(PYTHON, args, { env: { ...process.env, CHARTBRIDGE_REDIS_CA: tls.files.ca, ...env } });
  assert.ok(!`${stdout}${stderr}`.includes(PASSWORD), `${stdout}${stderr}`);
  return `${stdout}${stderr}`;
}

/** What publish_points.py writes, in the JSON form: microsecond times (floor of the ns). */
const expected = (n: number) => ({
  t: Array.from({ length: n }, (_, i) => Number((T0 + BigInt(i) * 60_000_000_000n) / 1000n)),
  y: Array.from({ length: n }, (_, i) => i * 0.5 - 1),
});

/** The run's history as the server reads it; with `mutate`, then its writes too: a plugin toggled and the run deleted. */
async function historyOf(url: string, tls: { ca?: string; cert?: string; key?: string }, logs: string[], mutate = false) {
  const server = await startServer({ redisUrl: url, redisTls: tls, prefix: "chartbridge", pluginsDir: null, builtinPluginsDir: null, webviewBundle: WEBVIEW_BUNDLE, log: (m) => logs.push(m) });
  const ws = wsClient(server);
  try {
    const h = await query<{ history: { count: number; points: ValuePoints } }>(ws, `{ history(run: "tls-run", series: "price") { count points } }`);
    if (mutate) {
      const set = await query(ws, `mutation { setPlugin(run: "tls-run", name: "bollinger", enabled: true, params: {period: 5}) { name enabled } }`);
      assert.deepEqual(set, { data: { setPlugin: { name: "bollinger", enabled: true } } });
      assert.deepEqual(await query(ws, `mutation { deleteRun(run: "tls-run") }`), { data: { deleteRun: true } });
      assert.deepEqual(await query(ws, "{ runs { id } }"), { data: { runs: [] } });
    }
    return h.data?.history;
  } finally {
    await ws.dispose();
    await server.close();
  }
}

/** Runs `chartbridge serve` until it printed its `redis:` line (then SIGTERM) or exited; everything it wrote. */
function serve(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [SERVER, "serve", "--plugins", "none", "--no-nautilus-bus", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (c: Buffer) => {
    out.stdout += c.toString();
    if (/^redis: .*\n/m.test(out.stdout)) child.kill("SIGTERM");
  });
  child.stderr.on("data", (c: Buffer) => (out.stderr += c.toString()));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, ...out })));
}

/** The error startServer gives for `url` (it must give one). */
async function refusal(url: string, tls: { ca?: string; cert?: string; key?: string }): Promise<RedisUnusable> {
  const logs: string[] = [];
  try {
    await startServer({ redisUrl: url, redisTls: tls, prefix: "chartbridge", pluginsDir: null, builtinPluginsDir: null, log: (m) => logs.push(m) });
  } catch (err) {
    assert.ok(err instanceof RedisUnusable, String(err));
    assert.deepEqual(logs, [], "the error is said once, by the failed start, not also logged");
    return err;
  }
  throw new Error("the server started");
}

describe("Redis over TLS with ACL users (real TLS-only redis-server, openssl certificates)", function () {
  this.timeout(60_000);
  let tls: TlsRedis;
  before(async () => {
    tls = await startTlsRedis();
  });
  after(() => tls.stop());
  beforeEach(async () => {
    await tls.admin.flushall();
    await tls.admin.call("ACL", "LOG", "RESET");
  });

  it("Python publishes as a producer user, the server reads (and toggles a plugin, deletes the run) as a reader user, GraphQL gives the exact values", async () => {
    await tls.setUser("producer", PASSWORD, PRODUCER_RIGHTS);
    await tls.setUser("reader", PASSWORD, SERVER_RIGHTS);
    assert.equal(await publish(tls, tls.urlFor("producer", PASSWORD), 250), "", "Python had nothing to warn about");
    const logs: string[] = [];
    assert.deepEqual(await historyOf(tls.urlFor("reader", PASSWORD), { ca: tls.files.ca }, logs, true), { count: 250, points: expected(250) });
    assert.deepEqual(await tls.denials(), [], "neither needed a right SPEC does not list");
    assert.ok(logs.length > 0 && !logs.join("\n").includes(PASSWORD), logs.join("\n"));
    assert.match(logs.join("\n"), new RegExp(`\\(redis rediss://\\*\\*\\*@127\\.0\\.0\\.1:${tls.redis.port}/0, prefix chartbridge\\)`));
  });

  it("chartbridge serve prints the URL redacted, and a refusal is one line on stderr, never the password", async () => {
    await tls.setUser("reader", PASSWORD, SERVER_RIGHTS);
    const ok = await serve(["--redis", tls.urlFor("reader", PASSWORD), "--redis-ca", tls.files.ca]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`^redis: rediss://\\*\\*\\*@127\\.0\\.0\\.1:${tls.redis.port}/0$`, "m"));
    await tls.setUser("reader", "another-one", SERVER_RIGHTS);
    const refused = await serve(["--redis", tls.urlFor("reader", PASSWORD), "--redis-ca", tls.files.ca]);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      `chartbridge: Redis at rediss://***@127.0.0.1:${tls.redis.port}/0 refused the user name or password: WRONGPASS invalid username-password pair or user is disabled. (check user:password in the Redis URL)\n`,
    );
    for (const run of [ok, refused]) assert.ok(!`${run.stdout}${run.stderr}`.includes(PASSWORD), `${run.stdout}${run.stderr}`);
  });

  it("serve --help names every Redis flag and environment variable, and how to send the token", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [SERVER, "serve", "--help"]);
    for (const name of ["--redis URL", "--redis-ca FILE", "--redis-cert FILE", "--redis-key FILE", "CHARTBRIDGE_REDIS_URL", "CHARTBRIDGE_REDIS_CA", "CHARTBRIDGE_REDIS_CERT", "CHARTBRIDGE_REDIS_KEY", "CHARTBRIDGE_TOKEN", "Authorization: Bearer <token>", "?token=<token>"]) {
      assert.ok(stdout.includes(name), `${name} missing from:\n${stdout}`);
    }
  });

  it("a wrong password is one clear error, without the password", async () => {
    await tls.setUser("reader", "the-right-one", SERVER_RIGHTS);
    const err = await refusal(tls.urlFor("reader", PASSWORD), { ca: tls.files.ca });
    assert.equal(err.fault, "authFailed");
    assert.equal(
      err.message,
      `Redis at rediss://***@127.0.0.1:${tls.redis.port}/0 refused the user name or password: WRONGPASS invalid username-password pair or user is disabled. (check user:password in the Redis URL)`,
    );
  });

  it("a CA that did not sign Redis's certificate is one clear TLS error", async () => {
    await tls.setUser("reader", PASSWORD, SERVER_RIGHTS);
    const err = await refusal(tls.urlFor("reader", PASSWORD), { ca: tls.files.otherCa });
    assert.equal(err.fault, "tlsFailed");
    assert.equal(
      err.message,
      `TLS with Redis at rediss://***@127.0.0.1:${tls.redis.port}/0 failed: self-signed certificate in certificate chain (check the CA file (--redis-ca, CHARTBRIDGE_REDIS_CA, chartbridge.redisTls.ca), the client certificate and key, and that the port serves TLS)`,
    );
  });

  it("a user without rights on the prefix is one clear error at start", async () => {
    await tls.setUser("reader", PASSWORD, ["~other:*", ...SERVER_RIGHTS.slice(1)]);
    const err = await refusal(tls.urlFor("reader", PASSWORD), { ca: tls.files.ca });
    assert.equal(err.fault, "noPermission");
    assert.equal(
      err.message,
      `the Redis user at rediss://***@127.0.0.1:${tls.redis.port}/0 lacks a permission the server needs: NOPERM this user has no permissions to access one of the keys used as arguments (zrevrange on chartbridge:runs) (grant it the commands and keys listed in protocol/SPEC.md, "Connecting to Redis")`,
    );
  });

  it("TLS files that cannot work are refused before connecting, saying which", async () => {
    const plain = `redis://reader:${PASSWORD}@127.0.0.1:${tls.redis.port}/0`;
    assert.equal((await refusal(plain, { ca: tls.files.ca })).message, `--redis-ca given, but the Redis URL redis://***@127.0.0.1:${tls.redis.port}/0 is not TLS: use rediss://`);
    assert.equal((await refusal(tls.urlFor("reader", PASSWORD), { cert: tls.files.cert })).message, "a client certificate needs both --redis-cert and --redis-key; only --redis-cert is given");
    const missing = await refusal(tls.urlFor("reader", PASSWORD), { ca: "/no/such/ca.crt" });
    assert.equal(missing.fault, "misconfigured");
    assert.equal(missing.message, "cannot read the Redis TLS ca file given by --redis-ca: ENOENT: no such file or directory, open '/no/such/ca.crt'");
  });

  it("a Redis that requires client certificates: with --redis-cert/--redis-key it works, without it is a TLS error", async () => {
    const strict = await startTlsRedis("yes");
    try {
      await strict.setUser("producer", PASSWORD, PRODUCER_RIGHTS);
      await strict.setUser("reader", PASSWORD, SERVER_RIGHTS);
      await publish(strict, strict.urlFor("producer", PASSWORD), 7, { CHARTBRIDGE_REDIS_CA: strict.files.ca, CHARTBRIDGE_REDIS_CERT: strict.files.cert, CHARTBRIDGE_REDIS_KEY: strict.files.key });
      assert.deepEqual(await historyOf(strict.urlFor("reader", PASSWORD), strict.files, []), { count: 7, points: expected(7) });
      // TLS 1.3 says "certificate required" after the handshake; the client's first write may meet only the reset.
      const { fault, message } = await refusal(strict.urlFor("reader", PASSWORD), { ca: strict.files.ca });
      const shown = `rediss://***@127.0.0.1:${strict.redis.port}/0`;
      const said = {
        tlsFailed: `TLS with Redis at ${shown} failed: tlsv13 alert certificate required (check the CA file (--redis-ca, CHARTBRIDGE_REDIS_CA, chartbridge.redisTls.ca), the client certificate and key, and that the port serves TLS)`,
        unreachable: `cannot reach Redis at ${shown}: write ECONNRESET (if Redis requires client certificates, give --redis-cert and --redis-key)`,
      };
      assert.ok(fault === "tlsFailed" || fault === "unreachable", fault);
      assert.equal(message, said[fault]);
    } finally {
      await strict.stop();
    }
  });
});
