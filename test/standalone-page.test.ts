import { strict as assert } from "node:assert";
import { createConnection } from "node:net";
import { testRedis } from "./harness/rootHooks.js";
import { lineFields, useTestServer, writeRun, xadd } from "./harness/server.js";

const pageConfig = (html: string) => JSON.parse(/<script[^>]*id="chartbridge-config"[^>]*>([^<]*)<\/script>/.exec(html)?.[1] ?? "null") as { run?: string } | null;

describe("standalone page: ?run= and reading ahead", () => {
  const t = useTestServer();
  const page = (query: string) => fetch(`${t.server.url}/?token=${t.server.token}${query}`);

  it("opens the run named by ?run=, and refuses a malformed run id with what was wrong", async () => {
    const config = pageConfig(await (await page("&run=older.run-1")).text());
    assert.deepEqual(config, { transport: { kind: "websocket" }, run: "older.run-1" });
    assert.deepEqual(pageConfig(await (await page("")).text()), { transport: { kind: "websocket" } });
    const bad = await page(`&run=${encodeURIComponent("</script><b>")}`);
    assert.equal(bad.status, 400);
    assert.equal(await bad.text(), 'invalid run id "</script><b>"');
  });

  it("starts reading the page's run from Redis when it serves the page, before the page asks", async () => {
    await writeRun(t, "old", { a: { kind: "line" } });
    await writeRun(t, "new", { price: { kind: "line" }, fast: { kind: "line" } });
    await t.redis.zadd(t.keys.runs, 1, "old", 2, "new");
    for (const [run, series] of [["old", "a"], ["new", "price"], ["new", "fast"]]) await xadd(t, t.keys.series(run, series), lineFields([1n, 2n], [1, 2]));
    // MONITOR on a bare socket: ioredis's monitor() throws "Command queue state error" when
    // another client's command arrives in the same read as MONITOR's +OK (seen in CI).
    const monitor = createConnection({ host: "127.0.0.1", port: testRedis().port });
    try {
      const read = new Set<string>();
      let pending = "";
      monitor.on("data", (chunk: Buffer) => {
        const lines = (pending + chunk.toString("latin1")).split("\r\n");
        pending = lines.pop() ?? "";
        for (const line of lines) {
          const args = [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
          if (args[0]?.toUpperCase() === "XRANGE" && args[1]?.startsWith(`${t.prefix}:`)) read.add(args[1]);
        }
      });
      await new Promise<void>((resolve) => {
        monitor.once("data", () => resolve());
        monitor.write("MONITOR\r\n");
      });
      assert.equal((await page("")).status, 200);
      const deadline = Date.now() + 5000;
      while (read.size < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      // The newest run's two series, not the older run's.
      assert.deepEqual([...read].sort(), [t.keys.series("new", "fast"), t.keys.series("new", "price")]);
    } finally {
      monitor.destroy();
    }
  });
});
