"""@cb.chart, cb.series, indicators, markers, signals, plugins, results, publish, runs, time."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import math
import os
import sys
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from conftest import events, keys, read_points, registry

import chartbridge as cb

T0 = 1_700_000_000_000_000_000
HERE = __file__


class Price:
    """Stands in for Nautilus Price/Quantity: a number only through float()."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __float__(self) -> float:
        return self.value


def bar(ts: int, o: float, h: float, l: float, c: float, v: float | None = None) -> SimpleNamespace:  # noqa: E741
    """Stands in for a Nautilus Bar: Price attributes, ts_event/ts_init in ns."""
    return SimpleNamespace(open=Price(o), high=Price(h), low=Price(l), close=Price(c),
                           volume=None if v is None else Price(v), ts_event=ts, ts_init=ts + 1)


def line_of(text: str) -> int:
    """The line of this file holding ``text`` (to check recorded source lines)."""
    return next(i for i, line in enumerate(open(HERE), 1) if text in line)


def test_bare_chart_on_a_function_keeps_it_intact(r: redis.Redis) -> None:
    @cb.chart
    def spread(a: float, b: float = 1.0) -> float:
        """The spread."""
        return a - b

    assert spread.__name__ == "spread" and spread.__doc__ == "The spread."
    assert str(inspect.signature(spread)) == "(a: 'float', b: 'float' = 1.0) -> 'float'"
    cb.set_clock(T0)
    assert spread(3.0) == 2.0
    cb.set_clock(T0 + 1)
    assert spread(5.0, b=0.5) == 4.5
    assert cb.flush()
    sid = "test_bare_chart_on_a_function_keeps_it_intact._locals_.spread"
    assert read_points(r, sid) == ([T0, T0 + 1], {"y": [2.0, 4.5]})
    entry = registry(r, sid)
    assert entry == {"kind": "line", "pane": "main", "title": sid, "options": {},
                     "source": {"file": HERE, "line": line_of("    @cb.chart\n")}}


class Strat:
    fast = cb.series(kind="line", color="#2962ff", lineWidth=2)
    bars = cb.series(kind="candlestick", pane="price", show=False)

    @cb.chart(kind="candlestick", title="Bars", plugins={"volume-profile": {"rows": 24}})  # chart-on-bar
    def on_bar(self, b: Any) -> Any:
        return b

    @cb.chart(kind="histogram", pane="volume", name="vol")
    def volume(self, b: Any) -> float:
        return float(b.volume)

    @staticmethod
    @cb.chart(name="static-inner")
    def static_inner(x: float) -> float:
        return x * 2

    @cb.chart(name="static-outer")
    @staticmethod
    def static_outer(x: float) -> float:
        return x * 3

    @cb.chart(name="cls")
    @classmethod
    def cls(cls, x: float) -> float:
        return x + 1

    @cb.chart(name="async")
    async def fetch(self, x: float) -> float:
        await asyncio.sleep(0)
        return x / 2


def test_methods_static_class_and_async(r: redis.Redis) -> None:
    s = Strat()
    cb.set_clock(T0)
    assert Strat.static_inner(1.0) == 2.0 and s.static_inner(2.0) == 4.0
    assert Strat.static_outer(1.0) == 3.0
    assert Strat.cls(1.0) == 2.0
    assert asyncio.run(s.fetch(3.0)) == 1.5
    assert inspect.iscoroutinefunction(Strat.fetch) and Strat.fetch.__name__ == "fetch"
    assert cb.flush()
    assert read_points(r, "static-inner") == ([T0, T0], {"y": [2.0, 4.0]})
    assert read_points(r, "static-outer") == ([T0], {"y": [3.0]})
    assert read_points(r, "cls") == ([T0], {"y": [2.0]})
    assert read_points(r, "async") == ([T0], {"y": [1.5]})


def test_candles_from_bars_mappings_and_tuples_with_their_time(r: redis.Redis) -> None:
    s = Strat()
    assert s.on_bar(bar(T0, 1.0, 2.0, 0.5, 1.5, 100.0)).close.value == 1.5  # the result is returned as is
    s.on_bar({"open": 1.5, "high": 1.7, "low": 1.4, "close": 1.6, "volume": 50.0})
    s.on_bar((1.6, 1.8, 1.5, 1.7))  # no volume: charted as 0 in a series that has volume
    s.volume(bar(T0 + 60, 1.0, 2.0, 0.5, 1.5, 7.0))
    assert cb.flush()
    times, cols = read_points(r, "Strat.on_bar")
    assert times[0] == T0 and times[0] < times[1] < times[2]  # the bar's ts_event, then wall clock
    assert cols == {"o": [1.0, 1.5, 1.6], "h": [2.0, 1.7, 1.8], "l": [0.5, 1.4, 1.5], "c": [1.5, 1.6, 1.7],
                    "vol": [100.0, 50.0, 0.0]}
    entry = registry(r, "Strat.on_bar")
    assert entry["kind"] == "candlestick" and entry["title"] == "Bars"
    assert entry["source"] == {"file": HERE, "line": line_of("# chart-on-bar")}
    assert read_points(r, "vol") == ([T0 + 60], {"y": [7.0]})
    assert registry(r, "vol")["pane"] == "volume"
    plugins = r.hgetall(keys().plugins)
    assert json.loads(plugins[b"volume-profile"]) == {"enabled": True,
                                                      "params": {"series": "Strat.on_bar", "rows": 24}}


def test_series_descriptor_charts_every_assignment(r: redis.Redis) -> None:
    s = Strat()
    with pytest.raises(AttributeError):
        _ = s.fast
    cb.set_clock(T0)
    s.fast = 1.25
    cb.set_clock(T0 + 1)
    s.fast = Price(1.5)  # number-like values are charted as floats, stored as given
    s.fast = None  # "no value": stored, not charted
    s.bars = bar(T0 + 5, 1.0, 1.0, 1.0, 1.0)
    assert s.fast is None and isinstance(Strat.fast, cb.Series)
    assert cb.flush()
    assert read_points(r, "Strat.fast") == ([T0, T0 + 1], {"y": [1.25, 1.5]})
    entry = registry(r, "Strat.fast")
    assert entry["color"] == "#2962ff" and entry["options"] == {"lineWidth": 2}
    assert entry["source"]["line"] == line_of("fast = cb.series(")
    assert registry(r, "Strat.bars")["options"] == {"visible": False}
    assert read_points(r, "Strat.bars")[0] == [T0 + 1]  # the integration clock beats ts_event


class Priced(Price):
    """Stands in for a Nautilus Price: a number with the precision it is written with."""

    def __init__(self, value: float, precision: int) -> None:
        super().__init__(value)
        self.precision = precision


def test_precision_and_unit_travel_in_the_registry_and_bars_bring_their_own(r: redis.Redis) -> None:
    equity = cb.series("equity_ccy", pane="equity", precision=2, unit="USD")
    pips = cb.series("pips", precision=1, min_move=0.5)

    @cb.chart(kind="candlestick", name="fx_bars")
    def on_bar(b: Any) -> Any:
        return b

    @cb.chart(kind="candlestick", name="fx_declared", precision=3)
    def on_bar_declared(b: Any) -> Any:
        return b

    equity.add(1_000_018.16, time=T0)
    pips.add(1.5, time=T0)
    fx = SimpleNamespace(open=Priced(1.0812, 5), high=Priced(1.08134, 5), low=Priced(1.08101, 5),
                         close=Priced(1.08123, 5), volume=None, ts_event=T0, ts_init=T0)
    cb.set_clock(T0)
    on_bar(fx)
    on_bar_declared(fx)
    assert cb.flush()
    assert registry(r, "equity_ccy")["options"] == {"priceFormat": {"type": "price", "precision": 2, "minMove": 0.01},
                                                    "unit": "USD"}
    assert registry(r, "pips")["options"] == {"priceFormat": {"type": "price", "precision": 1, "minMove": 0.5}}
    # A Nautilus Bar's prices carry the instrument's precision; a declared one wins.
    assert registry(r, "fx_bars")["options"] == {"priceFormat": {"type": "price", "precision": 5, "minMove": 1e-05}}
    assert registry(r, "fx_declared")["options"] == {"priceFormat": {"type": "price", "precision": 3, "minMove": 0.001}}
    for kwargs, message in (({"precision": 2.5}, "precision must be an int from 0 to 15, not 2.5"),
                            ({"min_move": 0.1}, "precision must be an int from 0 to 15, not None"),
                            ({"precision": 2, "min_move": -1}, "min_move must be a positive number, not -1"),
                            ({"unit": ""}, "unit must be a text of 1 to 16 characters, not ''")):
        with pytest.raises(cb.ProtocolError, match=f"bad: {message}"):
            cb.series("bad", **kwargs)


def test_standalone_series_add_and_explicit_errors(r: redis.Redis) -> None:
    equity = cb.series("equity", pane="equity")
    equity.add(100.0, time=T0)
    equity.add(101, time=T0 + 1)
    for bad, code in ((math.nan, "E_NONFINITE"), ("1", "E_VALUE"), (None, "E_VALUE")):
        with pytest.raises(cb.ProtocolError) as caught:
            equity.add(bad, time=T0 + 2)
        assert caught.value.code == code
    with pytest.raises(cb.ProtocolError) as caught:
        equity.add(1.0, time=T0)
    assert caught.value.code == "E_ORDER"
    with pytest.raises(cb.ProtocolError) as caught:
        equity.add(1.0, time=-1)
    assert caught.value.code == "E_TIME"
    with pytest.raises(cb.ProtocolError) as caught:
        cb.series().add(1.0)
    assert caught.value.code == "E_NAME"
    with pytest.raises(cb.ProtocolError) as caught:
        cb.series("c", kind="candlestick").add((1.0, 0.5, 0.9, 1.0), time=T0)
    assert caught.value.code == "E_CANDLE"
    assert cb.flush()
    assert read_points(r, "equity") == ([T0, T0 + 1], {"y": [100.0, 101.0]})
    assert cb.stats()["rejected"] == 0  # explicit calls raise instead of counting


def test_decorators_reject_bad_values_without_raising(r: redis.Redis, caplog: pytest.LogCaptureFixture) -> None:
    values = iter([1.0, math.nan, "x", math.inf, None, 2.0, math.nan])

    @cb.chart(name="noisy")
    def noisy() -> Any:
        return next(values)

    with caplog.at_level(logging.WARNING, logger="chartbridge"):
        got = [noisy() for _ in range(7)]
    assert got[0] == 1.0 and got[2] == "x" and got[4] is None and math.isnan(got[6])
    assert cb.flush()
    assert read_points(r, "noisy")[1] == {"y": [1.0, 2.0]}
    assert cb.stats()["rejected"] == 4
    warned = [rec.getMessage() for rec in caplog.records]
    assert len(warned) == 2  # once per error code (E_NONFINITE, E_VALUE); the others are counted only
    assert all("'noisy'" in w for w in warned)

    @cb.chart(name="backwards")
    def backwards(x: SimpleNamespace) -> float:
        return 1.0

    backwards(SimpleNamespace(ts_event=T0 + 10))
    backwards(SimpleNamespace(ts_event=T0 + 5))  # earlier than the last point: rejected
    backwards(SimpleNamespace(ts_event=T0 + 10))  # equal: kept (it replaces the point)
    assert cb.flush()
    assert read_points(r, "backwards")[0] == [T0 + 10, T0 + 10]
    assert cb.stats()["rejected"] == 5


def test_time_sources_in_order(r: redis.Redis) -> None:
    @cb.chart(name="timed")
    def timed(*args: Any, **kwargs: Any) -> float:
        return 1.0

    timed(SimpleNamespace(ts_init=T0 + 3))  # ts_init when there is no ts_event
    timed(SimpleNamespace(ts_event=T0 + 4, ts_init=T0 + 9))
    timed(1.0, quote=SimpleNamespace(ts_event=T0 + 5))  # keyword arguments count too
    cb.set_clock(lambda: T0 + 6)
    timed(SimpleNamespace(ts_event=T0 + 100))  # the integration clock wins
    cb.set_clock(None)
    timed(SimpleNamespace(ts_event="soon"))  # not an int: wall clock
    timed()
    assert cb.flush()
    times = read_points(r, "timed")[0]
    assert times[:4] == [T0 + 3, T0 + 4, T0 + 5, T0 + 6]
    assert T0 + 6 < times[4] < times[5]
    with pytest.raises(cb.ProtocolError):
        cb.set_clock(-5)


def test_wall_clock_points_never_share_a_time(r: redis.Redis) -> None:
    s = cb.series("fast-wall")
    for i in range(2000):
        s.add(float(i))
    assert cb.flush()
    times, cols = read_points(r, "fast-wall")
    assert len(times) == 2000 and all(a < b for a, b in zip(times, times[1:]))
    assert cols["y"] == [float(i) for i in range(2000)]


def naive_sum(xs: list[float]) -> float:
    """Left to right from 0.0, as Nautilus sums (Python's ``sum`` compensates since 3.12)."""
    total = 0.0
    for x in xs:
        total += x
    return total


def naive_ema(xs: list[float], n: int) -> list[float]:
    """Nautilus's EMA: seeded with the first value, charted from the n-th."""
    a, v, out = 2.0 / (n + 1.0), xs[0], []
    for x in xs:
        v = a * x + (1.0 - a) * v
        out.append(v)
    return out[n - 1:]


def naive_rsi(xs: list[float], n: int) -> list[float]:
    """Nautilus's RSI (0 to 1): EMAs of the gains and losses, the first value a change of 0."""
    ch = [0.0] + [b - a for a, b in zip(xs, xs[1:])]
    gains, losses = naive_ema([max(c, 0.0) for c in ch], n), naive_ema([max(-c, 0.0) for c in ch], n)
    return [1.0 if lo == 0.0 else 1.0 - 1.0 / (1.0 + g / lo) for g, lo in zip(gains, losses)]


def naive_wilder_rsi(xs: list[float], n: int) -> list[float]:
    """Wilder's RSI: the first n changes averaged (each divided by n, as the SDK adds them), then
    smoothed by (avg * (n - 1) + change) / n."""
    ch = [b - a for a, b in zip(xs, xs[1:])]
    g = lo = 0.0
    for c in ch[:n]:
        g, lo = g + max(c, 0.0) / n, lo + max(-c, 0.0) / n
    out = [100.0 - 100.0 / (1.0 + g / lo)]
    for c in ch[n:]:
        g, lo = (g * (n - 1) + max(c, 0.0)) / n, (lo * (n - 1) + max(-c, 0.0)) / n
        out.append(100.0 - 100.0 / (1.0 + g / lo))
    return out


XS = [100 + 10 * math.sin(i / 3) + (i % 7) for i in range(300)]


def test_indicators_match_naive_computation(r: redis.Redis) -> None:
    """The naive references are 1.x's definitions (test_indicators.py compares both lines with Nautilus)."""
    it = iter(XS)

    @cb.rsi(14, wilder=True, name="wilder")
    @cb.rsi(14, nautilus=1)
    @cb.bollinger(20, 2.0, nautilus=1)
    @cb.sma(10, nautilus=1)
    @cb.ema(5, raw=True, color="#ff0000", nautilus=1)
    def mid(self: object, b: Any) -> Any:
        return next(it)

    for i in range(len(XS)):
        mid(None, SimpleNamespace(ts_event=T0 + i))
    assert cb.flush()
    base = "test_indicators_match_naive_computation._locals_.mid"
    assert read_points(r, base) == (list(range(T0, T0 + 300)), {"y": XS})
    assert read_points(r, f"{base}.ema5") == (list(range(T0 + 4, T0 + 300)), {"y": naive_ema(XS, 5)})
    assert registry(r, f"{base}.ema5")["color"] == "#ff0000"
    assert read_points(r, f"{base}.sma10") == (list(range(T0 + 9, T0 + 300)),
                                               {"y": [naive_sum(XS[i - 9:i + 1]) / 10 for i in range(9, 300)]})
    mids = [naive_sum(XS[i - 19:i + 1]) / 20 for i in range(19, 300)]
    stds = [math.sqrt(naive_sum([(x - m) ** 2 for x in XS[i - 19:i + 1]]) / 20) for i, m in zip(range(19, 300), mids)]
    for band, sign in (("upper", 1), ("middle", 0), ("lower", -1)):
        assert read_points(r, f"{base}.bollinger20.{band}") == (
            list(range(T0 + 19, T0 + 300)), {"y": [m + sign * 2 * s if sign else m for m, s in zip(mids, stds)]})
    assert read_points(r, f"{base}.rsi14") == (list(range(T0 + 13, T0 + 300)), {"y": naive_rsi(XS, 14)})
    assert registry(r, f"{base}.rsi14")["pane"] == "rsi"
    assert read_points(r, "wilder.rsi14") == (list(range(T0 + 14, T0 + 300)), {"y": naive_wilder_rsi(XS, 14)})


def test_indicator_of_a_bar_uses_its_close_and_rejects_nan(r: redis.Redis) -> None:
    @cb.sma(2, name="closes")
    def on_bar(b: Any) -> Any:
        return b

    on_bar(bar(T0, 1.0, 1.0, 1.0, 1.0))
    on_bar(bar(T0 + 1, 3.0, 3.0, 3.0, 3.0))
    on_bar(SimpleNamespace(close=math.nan, ts_event=T0 + 2))  # rejected, the SMA is not poisoned
    on_bar(bar(T0 + 3, 5.0, 5.0, 5.0, 5.0))
    assert cb.flush()
    assert read_points(r, "closes.sma2") == ([T0 + 1, T0 + 3], {"y": [2.0, 4.0]})
    assert cb.stats()["rejected"] == 1


def test_markers_and_signals(r: redis.Redis) -> None:
    class Side:
        name = "BUY"  # like Nautilus OrderSide.BUY

    cb.set_clock(T0)
    cb.marker("fills", side=Side(), price=Price(1.1005), text="fill 100", target="bars")
    cb.set_clock(T0 + 1)
    cb.marker("fills", side="sell", text="exit", shape="arrowDown", position="aboveBar", color="#ef5350")
    with pytest.raises(cb.ProtocolError) as caught:
        cb.marker("fills", side="long")
    assert caught.value.code == "E_MARKER"
    with pytest.raises(cb.ProtocolError) as caught:
        cb.marker("fills", side="buy", color="red")
    assert caught.value.code == "E_MARKER"
    with pytest.raises(cb.ProtocolError) as caught:
        cb.marker("fills", side="buy", price="1.1")
    assert caught.value.code == "E_VALUE"

    cb.set_clock(None)
    answers = iter(["buy", None, ("sell", 2.5), ("buy", None, "again"), "short"])

    @cb.signals(target="bars", name="cross")
    def cross(b: Any) -> Any:
        return next(answers)

    for i in range(5):
        cross(bar(T0 + 10 + i, 1.0, 2.0, 0.5, 1.5))
    assert cb.flush()
    times, cols = read_points(r, "fills")
    assert times == [T0, T0 + 1] and cols["y"][0] == 1.1005 and math.isnan(cols["y"][1])
    assert cols["m"] == [{"side": "buy", "text": "fill 100"},
                         {"side": "sell", "text": "exit", "shape": "arrowDown", "position": "aboveBar",
                          "color": "#ef5350"}]
    assert registry(r, "fills")["target"] == "bars" and registry(r, "fills")["kind"] == "marker"
    times, cols = read_points(r, "cross")
    assert times == [T0 + 10, T0 + 12, T0 + 13]
    assert cols["y"] == [1.5, 2.5, 1.5]  # the bar's close when the signal gives no price
    assert cols["m"] == [{"side": "buy", "text": "buy"}, {"side": "sell", "text": "sell"},
                         {"side": "buy", "text": "again"}]
    assert cb.stats()["rejected"] == 1  # "short"


def test_plugins_write_plugin_publish_and_results(r: redis.Redis, tmp_path: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cb.plugin("bollinger", period=20)
    cb.plugin("bollinger", period=30)
    cb.plugin("bollinger", enabled=False)
    cb.publish("levels", {"support": [1.1, 1.2], "note": "ünïcode"})
    with pytest.raises(cb.ProtocolError) as caught:
        cb.publish("big", "x" * (1 << 20))
    assert caught.value.code == "E_LIMIT"
    with pytest.raises(cb.ProtocolError) as caught:
        cb.plugin("../evil")
    assert caught.value.code == "E_NAME"
    cb.results({"pnl": 12.5, "trades": 2, "sharpe": math.nan, "venue": "SIM"},
               trades=[{"entry_t": T0, "exit_t": T0 + 60, "side": "buy", "entry_price": 1.0,
                        "exit_price": 1.1, "pnl": 0.1}])
    assert cb.flush()
    k = keys()
    assert json.loads(r.hget(k.plugins, "bollinger") or b"") == {"enabled": False, "params": {}}
    assert events(r) == [
        ("plugin", {"name": "bollinger", "enabled": True, "params": {"period": 20}}),
        ("plugin", {"name": "bollinger", "enabled": True, "params": {"period": 30}}),
        ("plugin", {"name": "bollinger", "enabled": False, "params": {}}),
        ("publish", {"topic": "levels", "payload": {"support": [1.1, 1.2], "note": "ünïcode"}}),
        ("results", {}),
    ]
    assert json.loads(r.get(k.results) or b"") == {
        "stats": {"pnl": 12.5, "trades": 2, "sharpe": "nan", "venue": "SIM"},
        "trades": [{"entry_t": str(T0), "exit_t": str(T0 + 60), "side": "buy", "entry_price": 1.0,
                    "exit_price": 1.1, "pnl": 0.1}]}
    assert r.hget(k.manifest, "status") == b"running"

    monkeypatch.setenv("CHARTBRIDGE_WORKSPACE", str(tmp_path))
    path = cb.write_plugin("levels", "export function setup(ctx) {}\n")
    assert path == tmp_path / ".chartbridge" / "plugins" / "levels.js"
    assert path.read_text() == "export function setup(ctx) {}\n"
    cb.write_plugin("levels", "export function setup(ctx) { ctx.x = 1 }\n")
    assert sorted(p.name for p in path.parent.iterdir()) == ["levels.js"]  # no temporary file left
    assert cb.write_plugin("p", "//", folder=tmp_path / "elsewhere").parent == tmp_path / "elsewhere"


def test_run_context_manager(r: redis.Redis) -> None:
    s = cb.series("eq")
    s.add(1.0, time=T0)
    with cb.run("sweep-1", strategy="EMA") as run:
        assert cb.current_run() is run and run.id == "sweep-1"
        s.add(2.0, time=T0)
    s.add(3.0, time=T0 + 1)
    assert cb.flush()
    assert read_points(r, "eq") == ([T0, T0 + 1], {"y": [1.0, 3.0]})
    assert read_points(r, "eq", run="sweep-1") == ([T0], {"y": [2.0]})
    manifest = r.hgetall(keys("sweep-1").manifest)
    assert manifest[b"status"] == b"ended" and manifest[b"strategy"] == b"EMA"
    assert r.hget(keys().manifest, "status") == b"running"
    assert sorted(r.zrange(keys().runs, 0, -1)) == [b"sweep-1", b"testrun"]
    assert events(r, "sweep-1") == [("series", {"id": "eq"}), ("end", {})]


def test_disabled_by_configure_costs_one_check_and_writes_nothing(r: redis.Redis) -> None:
    calls = []

    @cb.chart(name="off")
    def f(x: float) -> float:
        calls.append(x)
        return x

    cb.configure(enabled=False)
    assert f(1.0) == 1.0 and calls == [1.0]
    cb.series("off2").add(1.0)
    cb.marker("m", side="buy")
    assert cb.publish_points("off3", [T0], [1.0]) == 0

    @cb.chart
    def g(x: float) -> float:
        return x

    assert not hasattr(g, "__wrapped__")  # decorated while disabled: the function itself
    assert cb.flush()
    assert r.keys("*") == []


def test_enabled_false_leaves_the_function_alone(r: redis.Redis) -> None:
    def f() -> float:
        return 1.0

    assert cb.chart(enabled=False)(f) is f
    assert cb.ema(3, enabled=False)(f) is f
    assert cb.signals(enabled=False)(f) is f


def test_env_off_turns_decorators_into_the_function_itself(redis_server: Any, tmp_path: Any) -> None:
    import subprocess

    code = (
        "import chartbridge as cb\n"
        "def f(x): return x\n"
        "g = cb.chart(f)\n"
        "h = cb.ema(3)(f)\n"
        "assert g is f and h is f, 'not a no-op'\n"
        "cb.series('s').add(1.0)\n"
        "print(cb.stats())\n"
    )
    env = {"CHARTBRIDGE": "off", "CHARTBRIDGE_REDIS_URL": redis_server.url, "PATH": "/usr/bin:/bin",
           **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}}  # a venv without chartbridge installed
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "'entries': 0" in out.stdout
    assert redis.Redis.from_url(redis_server.url).keys("*") == []


def test_a_ts_event_parameter_times_the_point(r: redis.Redis) -> None:
    class Strat:
        @cb.chart
        def mid(self, ts_event: int, price: float) -> float:
            return price

    @cb.ema(2)
    def fast(price: float, *, ts_init: int) -> float:
        return price

    s = Strat()
    s.mid(T0 + 5, 1.0)
    s.mid(price=2.0, ts_event=T0 + 9)
    fast(3.0, ts_init=T0 + 7)
    fast(4.0, ts_init=T0 + 8)  # EMA(2) has its first value at the second input
    cb.flush(5)
    ids = sorted(k.decode() for k in r.hkeys(keys().series))
    mid = next(i for i in ids if i.endswith("Strat.mid"))
    ema = next(i for i in ids if i.endswith("fast.ema2"))
    assert read_points(r, mid) == ([T0 + 5, T0 + 9], {"y": [1.0, 2.0]})
    assert read_points(r, ema)[0] == [T0 + 8]
