/**
 * The server's status over IPC (src/shared/serverIpc.ts) as the extension shows it: the real
 * dist/server.js forked by the supervisor against a real TLS-only redis-server with ACL users.
 * What a refusal says in the status bar and tooltip, that it clears once the user fixes Redis, and
 * that the password of the Redis URL is in none of the server's output, the extension's log lines,
 * its state, status bar text or tooltip.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { Backoff, describeState, ServerSupervisor, statusBar } from "../../src/extension/supervisor.js";
import { gql } from "../../src/extension/graphql.js";
import { isHostIpcMessage } from "../../src/shared/serverIpc.js";
import { until } from "../harness/supervisorState.js";
import { SERVER_RIGHTS, startTlsRedis, type TlsRedis } from "../harness/tlsRedis.js";

const SERVER = join(__dirname, "..", "..", "dist", "server.js");
const PASSWORD = "pw-Must-Not-Show-41d7";

describe("extension: the server's status message (IPC)", () => {
  it("accepts only well-formed status messages", () => {
    const ok = { type: "status", payload: { url: "http://127.0.0.1:1", redisUrl: "redis://127.0.0.1:6379/0", redis: "ok", message: "" } };
    assert.equal(isHostIpcMessage(ok), true);
    assert.equal(isHostIpcMessage({ ...ok, payload: { ...ok.payload, url: null, redis: "authFailed", message: "m" } }), true);
    assert.equal(isHostIpcMessage({ ...ok, payload: { ...ok.payload, redis: "sleepy" } }), false);
    assert.equal(isHostIpcMessage({ ...ok, payload: { ...ok.payload, url: 5 } }), false);
    assert.equal(isHostIpcMessage({ type: "allowHost", payload: { host: "x" } }), false);
    assert.equal(isHostIpcMessage(null), false);
  });

  it("puts the open chart's points not stored before the rate, as a warning, and says why in the tooltip", () => {
    const state = { kind: "connected", server: { url: "http://127.0.0.1:1", port: 1, token: "t", redis: "redis://127.0.0.1:6379/0", pid: 2 } } as const;
    assert.deepEqual(statusBar(state, 2500, 12345), {
      icon: "$(warning)",
      text: "Chartbridge: 12,345 points not stored",
      tooltip: "Chartbridge server running at http://127.0.0.1:1, Redis redis://127.0.0.1:6379/0. The chart's run lost 12,345 points while Redis was down or full (its series show how many each). Click for actions.",
      warning: true,
    });
    assert.deepEqual(statusBar(state, 2500, 0), { icon: "$(graph)", text: "Chartbridge: 2.5k pts/s", tooltip: "Chartbridge server running at http://127.0.0.1:1, Redis redis://127.0.0.1:6379/0. Click for actions.", warning: false });
  });
});

describe("extension: Redis refusals in the status bar (real dist/server.js, TLS redis-server with ACL users)", function () {
  this.timeout(60_000);
  let tls: TlsRedis;
  let supervisor: ServerSupervisor;
  let env: Record<string, string>;
  let args: string[];
  const logs: string[] = [];
  /** Everything the extension shows or logs, to search for the password. */
  const shown: string[] = [];

  before(async () => {
    tls = await startTlsRedis();
  });
  after(() => tls.stop());
  beforeEach(async () => {
    logs.length = 0;
    shown.length = 0;
    await tls.setUser("reader", PASSWORD, SERVER_RIGHTS);
    env = { CHARTBRIDGE_REDIS_URL: tls.urlFor("reader", PASSWORD), CHARTBRIDGE_REDIS_CA: tls.files.ca };
    args = ["--plugins", "none", "--no-nautilus-bus"];
    supervisor = new ServerSupervisor({
      serverPath: SERVER,
      args: () => args,
      env: () => env,
      portRange: () => null,
      log: (level, message) => logs.push(`${level} ${message}`),
      backoff: new Backoff(50, 400, 60_000),
    });
    supervisor.onState((s) => {
      const bar = statusBar(s, 0);
      shown.push(JSON.stringify(s), describeState(s), bar.text, bar.tooltip);
    });
  });
  afterEach(async () => {
    await supervisor.dispose();
    const everything = [...logs, ...shown].join("\n");
    assert.ok(logs.some((l) => l.includes("server: ")), "the server's output reached the log");
    assert.ok(!everything.includes(PASSWORD), `the password shows in:\n${everything.split("\n").filter((l) => l.includes(PASSWORD)).join("\n")}`);
  });

  const port = () => tls.redis.port;
  const tooltip = (message: string) => `Chartbridge server ${message}. Click for actions.`;

  it("connected: the URL is shown redacted, and the server answers", async () => {
    const server = await supervisor.ready();
    assert.equal(server.redis, `rediss://***@127.0.0.1:${port()}/0`);
    assert.equal(statusBar(supervisor.state, 0).tooltip, tooltip(`running at ${server.url}, Redis rediss://***@127.0.0.1:${port()}/0`));
    assert.deepEqual(await gql(server, "{ runs { id } }"), { runs: [] });
  });

  it("a URL given as --redis rather than in the environment is redacted in the logged command line", async () => {
    env = { CHARTBRIDGE_REDIS_CA: tls.files.ca };
    args = ["--redis", tls.urlFor("reader", PASSWORD), ...args];
    await supervisor.ready();
    assert.ok(logs.some((l) => l.includes(` serve --port 0 --redis rediss://***@127.0.0.1:${port()}/0 --plugins none`)), logs.join("\n"));
  });

  it("a wrong password: 'Redis refused the password' with the cause, then connected once the user fixes it", async () => {
    await tls.setUser("reader", "another-password", SERVER_RIGHTS);
    supervisor.start();
    const state = await until(supervisor, "refused", (s) => s.kind === "redisRefused", 20_000);
    const message = `Redis at rediss://***@127.0.0.1:${port()}/0 refused the user name or password: WRONGPASS invalid username-password pair or user is disabled. (check user:password in the Redis URL)`;
    assert.deepEqual(state, { kind: "redisRefused", fault: "authFailed", detail: message, server: undefined });
    assert.deepEqual(statusBar(state, 0), { icon: "$(warning)", text: "Chartbridge: Redis refused the password", tooltip: tooltip(message), warning: true });
    await tls.admin.call("ACL", "SETUSER", "reader", `>${PASSWORD}`);
    await until(supervisor, "connected after the fix", (s) => s.kind === "connected");
  });

  it("a user without rights: 'Redis user lacks rights' naming the refused command and key, then connected once granted", async () => {
    await tls.setUser("reader", PASSWORD, ["~other:*", ...SERVER_RIGHTS.slice(1)]);
    supervisor.start();
    const state = await until(supervisor, "refused", (s) => s.kind === "redisRefused", 20_000);
    const message = `the Redis user at rediss://***@127.0.0.1:${port()}/0 lacks a permission the server needs: NOPERM this user has no permissions to access one of the keys used as arguments (zrevrange on chartbridge:runs) (grant it the commands and keys listed in protocol/SPEC.md, "Connecting to Redis")`;
    assert.deepEqual(statusBar(state, 0), { icon: "$(warning)", text: "Chartbridge: Redis user lacks rights", tooltip: tooltip(message), warning: true });
    await tls.admin.call("ACL", "SETUSER", "reader", "~chartbridge:*");
    await until(supervisor, "connected after the grant", (s) => s.kind === "connected");
  });

  it("a CA that did not sign Redis's certificate: 'Redis TLS failed'", async () => {
    env = { ...env, CHARTBRIDGE_REDIS_CA: tls.files.otherCa };
    supervisor.start();
    const state = await until(supervisor, "refused", (s) => s.kind === "redisRefused", 20_000);
    const message = `TLS with Redis at rediss://***@127.0.0.1:${port()}/0 failed: self-signed certificate in certificate chain (check the CA file (--redis-ca, CHARTBRIDGE_REDIS_CA, chartbridge.redisTls.ca), the client certificate and key, and that the port serves TLS)`;
    assert.deepEqual(statusBar(state, 0), { icon: "$(warning)", text: "Chartbridge: Redis TLS failed", tooltip: tooltip(message), warning: true });
    env = { ...env, CHARTBRIDGE_REDIS_CA: tls.files.ca };
    await until(supervisor, "connected with the right CA", (s) => s.kind === "connected");
  });

  it("Redis refusing a running server (its user's password changed) is a status message; fixed, the same server is connected again", async () => {
    const server = await supervisor.ready();
    await tls.admin.call("ACL", "SETUSER", "reader", "resetpass", ">changed-by-admin");
    await tls.admin.call("CLIENT", "KILL", "USER", "reader");
    const state = await until(supervisor, "refused while running", (s) => s.kind === "redisRefused", 20_000);
    assert.equal(state.kind === "redisRefused" && state.fault, "authFailed");
    assert.equal(state.kind === "redisRefused" && state.server?.pid, server.pid, "the server keeps running and waits for Redis");
    assert.equal(statusBar(state, 0).text, "Chartbridge: Redis refused the password");
    const said = logs.filter((l) => l.includes("refused the user name or password"));
    assert.equal(said.length, 1, `said once, not per reconnect attempt:\n${said.join("\n")}`);
    await tls.admin.call("ACL", "SETUSER", "reader", `>${PASSWORD}`);
    const back = await until(supervisor, "connected again", (s) => s.kind === "connected");
    assert.equal(back.kind === "connected" && back.server.pid, server.pid);
  });
});
