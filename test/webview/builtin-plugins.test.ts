import { strict as assert } from "node:assert";
import { join } from "node:path";
import { writeRun, xadd } from "../harness/server.js";
import { chartSuitePerTest, ohlcFields, openChart } from "./browser.js";

const T0 = 1_700_000_000_000_000_000n;
const MIN = 60_000_000_000n;
const at = (i: number) => T0 + BigInt(i) * MIN;
const BUILTINS = join(__dirname, "..", "..", "dist", "plugins");

describe("webview: the built-in plugins, enabled from the run", function () {
  this.timeout(30_000);
  const s = chartSuitePerTest({ builtinPluginsDir: BUILTINS });

  it("bollinger, session shading, volume profile and trade boxes run and draw on the candles", async () => {
    const t = s.t;
    await writeRun(t, "bi", { bars: { kind: "candlestick" } });
    const n = 100;
    const closes = Array.from({ length: n }, (_, i) => 100 + Math.sin(i / 7) * 4);
    await xadd(t, t.keys.series("bi", "bars"), ohlcFields(Array.from({ length: n }, (_, i) => at(i)), closes));
    const trades = [{ entry_t: String(at(10)), exit_t: String(at(30)), side: "buy", entry_price: closes[10], exit_price: closes[30], pnl: closes[30] - closes[10] }];
    await t.redis.set(t.keys.results("bi"), JSON.stringify({ stats: { trades: 1 }, trades }));
    const enabled = { enabled: true, params: {} };
    await t.redis.hset(t.keys.plugins("bi"), {
      bollinger: JSON.stringify({ enabled: true, params: { period: 20, k: 2 } }),
      "session-shading": JSON.stringify(enabled),
      "volume-profile": JSON.stringify(enabled),
      "trade-boxes": JSON.stringify(enabled),
    });

    const chart = (s.chart = await openChart(s.browser, t.server));
    const state = await chart.until((x) => x.plugins.filter((p) => p.running !== null).length === 4, "four built-ins running");
    assert.deepEqual(state.plugins.map((p) => [p.name, p.error]).sort(), [["bollinger", null], ["session-shading", null], ["trade-boxes", null], ["volume-profile", null]]);
    // Main pane: the candles (100), the session shading (one column a bar: 100) and three bands
    // that start once a full 20-bar window exists (100 - 20 + 1 = 81 points each).
    assert.deepEqual([...(state.paneSeries[0] ?? [])].sort((a, b) => a - b), [81, 81, 81, 100, 100]);
    await chart.screenshot("webview-builtin-plugins");
  });
});
