import { strict as assert } from "node:assert";
import { findChartSites, sanitizeSeriesId } from "../../src/extension/chartSites.js";

const py = (text: string) => findChartSites(text, "python").map((s) => [s.line, s.name, s.series]);
const rs = (text: string) => findChartSites(text, "rust").map((s) => [s.line, s.name, s.series]);

describe("chart sites: Python (ids as python/src/chartbridge derives them)", () => {
  it("names a method's series by its qualname, Class.method", () => {
    const text = [
      "import chartbridge as cb",
      "",
      "class EMACross(Strategy):",
      '    @cb.chart(kind="candlestick", show=True)',
      "    def on_bar(self, bar):",
      "        return bar",
      "",
      "    @chart",
      "    def spread(self, quote) -> float:",
      "        return 1.0",
    ].join("\n");
    assert.deepEqual(py(text), [
      [3, "on_bar", ["EMACross.on_bar"]],
      [7, "spread", ["EMACross.spread"]],
    ]);
  });

  it("uses name= when given and reads multi-line decorator calls", () => {
    const text = ["class A:", "    @cb.chart(", '        name="price",  # the mid', '        kind="line",', "    )", "    def mid(self): ..."].join("\n");
    assert.deepEqual(py(text), [[1, "mid", ["price"]]]);
  });

  it("derives indicator outputs: ema/sma/rsi periods, bollinger bands, raw", () => {
    const text = [
      "class S:",
      "    @cb.ema(20)",
      "    @cb.sma(period=5, raw=True)",
      "    @property",
      "    def mid(self): ...",
      "    @chartbridge.bollinger()",
      "    def band(self): ...",
      "    @cb.rsi(7, name='r')",
      "    def osc(self): ...",
    ].join("\n");
    assert.deepEqual(py(text), [
      [1, "mid", ["S.mid.ema20"]],
      [2, "mid", ["S.mid.sma5", "S.mid"]],
      [5, "band", ["S.band.bollinger20.upper", "S.band.bollinger20.middle", "S.band.bollinger20.lower"]],
      [7, "osc", ["r.rsi7"]],
    ]);
  });

  it("nested functions get <locals> sanitized, as sanitize_series_id does", () => {
    const text = ["def make():", "    @cb.signals", "    async def cross(bar):", "        return 'buy'", "", "@cb.chart", "def top(): ..."].join("\n");
    assert.deepEqual(py(text), [
      [1, "cross", ["make._locals_.cross"]],
      [5, "top", ["top"]],
    ]);
    assert.equal(sanitizeSeriesId("f.<locals>.g"), "f._locals_.g");
    assert.equal(sanitizeSeriesId(".x"), "_.x");
  });

  it("charts class attributes made with cb.series, and ignores other decorators and strings", () => {
    const text = [
      "class S(Strategy):",
      '    fast = cb.series(kind="line", color="#2962ff")',
      '    slow = cb.series("slow-ema")',
      '    """',
      "    @cb.chart",
      "    def not_code(self): ...",
      '    """',
      "    @functools.cache",
      "    def plain(self): ...",
    ].join("\n");
    assert.deepEqual(py(text), [
      [1, "fast", ["S.fast"]],
      [2, "slow", ["slow-ema"]],
    ]);
  });
});

describe("chart sites: Rust (ids as rust/chartbridge site.rs derives them)", () => {
  it("methods are Owner.name (generics and paths dropped), free functions their name", () => {
    const text = [
      "impl<T: Clone> nautilus::Strategy for EmaCross<T> {",
      "    #[chart(kind = \"candlestick\", arg = bar)]",
      "    fn on_bar(&mut self, bar: &Bar) {",
      '        let s = "}"; // a brace in a string: }',
      "    }",
      "    #[chart]",
      "    fn helper(x: f64) -> f64 { x }",
      "}",
      "",
      "#[chartbridge::chart(ema = 20, sma = 5)]",
      "pub fn mid(bar: &Bar) -> f64 { 1.0 }",
      "",
      "#[chart(",
      '    name = "trend",',
      "    ema = 50, raw = false,",
      ")]",
      "#[inline]",
      "fn trend<'a>(",
      "    self: &'a Self,",
      ") -> f64 { 0.0 }",
    ].join("\n");
    assert.deepEqual(rs(text), [
      [1, "on_bar", ["EmaCross.on_bar"]],
      [5, "helper", ["helper"]],
      [9, "mid", ["mid.ema20", "mid.sma5"]],
      [12, "trend", ["trend.ema50"]],
    ]);
  });

  it("raw = true keeps the value beside its indicators", () => {
    assert.deepEqual(rs("#[chart(ema = 3, raw = true)]\nfn v() -> f64 { 0.0 }"), [[0, "v", ["v", "v.ema3"]]]);
  });
});
