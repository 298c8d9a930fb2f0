"""Every point of every shape of the overhead matrix (python/bench/overhead_shapes.py) reaches
Redis exactly, read back from a real Redis after real Nautilus backtests on a few bars; a paced
backtest delivers at each hand-over, during the run; a live (not backtest) run's points reach
Redis while the strategy is still waiting, without a flush."""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import redis

import chartbridge as cb
from chartbridge.indicators import EMA, RSI, Bollinger
from chartbridge.session import Settings
from chartbridge.testing import RedisServer
from conftest import REPO, events, nautilus_1x_only, read_points, registry

nautilus_1x_only("the matrix's strategies are 1.x code; 2.x runs the EMA-cross shape (overhead_shapes_v2.py)")

sys.path.insert(0, str(REPO / "python" / "bench"))
import overhead_shapes as shapes  # noqa: E402
from nautilus_trader.indicators import (  # noqa: E402
    AverageTrueRange, BollingerBands, ExponentialMovingAverage, RelativeStrengthIndex,
)
from nautilus_trader.model.events import OrderFilled  # noqa: E402

from chartbridge.nautilus import ChartbridgeActor  # noqa: E402
from chartbridge.nautilus.points import Markers  # noqa: E402

BARS = 1_500


def configure(url: str, prefix: str, run: str) -> None:
    cb.set_clock(None)
    defaults = dataclasses.asdict(Settings())
    cb.configure(**{**defaults, "url": url, "prefix": prefix, "run": run, "enabled": True, "exit_timeout": 2.0})


@pytest.fixture(scope="module")
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_server.url)
    yield c
    cb.configure(exit_timeout=0.5)
    c.close()


def backtest(client: redis.Redis, redis_server: RedisServer, shape: str) -> SimpleNamespace:
    configure(redis_server.url, "ovh", shape)
    engine = shapes.SHAPES[shape].build(BARS, True)
    engine.run()
    assert cb.flush(20)
    actor = next((a for a in engine.trader.actors() if isinstance(a, ChartbridgeActor)), None)
    return SimpleNamespace(engine=engine, actor=actor, run=shape)


def bars_of(engine: Any) -> dict[str, list[Any]]:
    """The bars each bar type was fed, as the engine holds them."""
    out: dict[str, list[Any]] = {}
    for data in engine.data:
        out.setdefault(str(data.bar_type), []).append(data)
    return out


def fills(engine: Any) -> list[Any]:
    return sorted((e for order in engine.cache.orders() for e in order.events if isinstance(e, OrderFilled)),
                  key=lambda e: e.ts_event)


def candle_columns(bars: list[Any]) -> dict[str, list[float]]:
    return {"o": [float(str(b.open)) for b in bars], "h": [float(str(b.high)) for b in bars],
            "l": [float(str(b.low)) for b in bars], "c": [float(str(b.close)) for b in bars],
            "vol": [float(str(b.volume)) for b in bars]}


def nautilus(indicator: Any, bars: list[Any], outputs: tuple[str, ...]) -> tuple[list[int], list[list[float]]]:
    """A fresh Nautilus indicator fed the same bars: times and each output once initialized."""
    times: list[int] = []
    values: list[list[float]] = [[] for _ in outputs]
    for bar in bars:
        indicator.handle_bar(bar)
        if indicator.initialized:
            times.append(bar.ts_event)
            for column, name in zip(values, outputs):
                column.append(getattr(indicator, name))
    return times, values


def sdk(indicator: Any, bars: list[Any], value: Any) -> tuple[list[int], list[list[float]]]:
    """The SDK's own indicator fed what the decorated method returns: times and each output."""
    times: list[int] = []
    values: list[list[float]] = [[] for _ in indicator.outputs]
    for bar in bars:
        out = indicator.update(value(bar))
        if out is not None:
            times.append(bar.ts_event)
            for column, v in zip(values, out):
                column.append(v)
    return times, values


def assert_actor_delivered_all(client: redis.Redis, run: SimpleNamespace) -> None:
    """Each series the actor charted holds in Redis exactly the points it handed to the SDK
    (markers, which it does not count, are compared with the fills themselves)."""
    for points in run.actor.points:
        if isinstance(points, Markers):
            continue
        times, _ = read_points(client, points.series.id, run.run)
        assert len(times) == points.count, points.series.id
    assert cb.stats()["dropped"] == 0 and cb.stats()["rejected"] == 0


@pytest.mark.parametrize("shape", ["ema_cross", "two_instruments"])
def test_every_candle_indicator_and_fill_of_the_ema_shapes_is_in_redis(
        client: redis.Redis, redis_server: RedisServer, shape: str) -> None:
    run = backtest(client, redis_server, shape)
    bar_types = bars_of(run.engine)
    assert len(bar_types) == (2 if shape == "two_instruments" else 1)
    for strategy in run.engine.trader.strategies():
        bar_type = str(strategy.config.bar_type)
        bars = bar_types[bar_type]
        times, cols = read_points(client, bar_type, run.run)
        assert times == [b.ts_event for b in bars] and cols == candle_columns(bars)
        for name, period in (("fast_ema", strategy.config.fast_ema_period),
                             ("slow_ema", strategy.config.slow_ema_period)):
            expected_t, (expected_v,) = nautilus(ExponentialMovingAverage(period), bars, ("value",))
            times, cols = read_points(client, f"{strategy.id}.{name}", run.run)
            assert len(times) == len(bars) - period + 1
            assert (times, cols["y"]) == (expected_t, expected_v)
        instrument = str(strategy.config.instrument_id)
        expected = [f for f in fills(run.engine) if str(f.instrument_id) == instrument]
        times, cols = read_points(client, f"fills:{instrument}", run.run)
        assert expected and times == [f.ts_event for f in expected]
        assert cols["y"] == [float(str(f.last_px)) for f in expected]
    if shape == "two_instruments":
        assert_equity_of_two_instruments(client, run)
    assert_actor_delivered_all(client, run)
    run.engine.dispose()


def assert_equity_of_two_instruments(client: redis.Redis, run: SimpleNamespace) -> None:
    """One account, two instruments: an equity point at each PnL point of either, in time order
    (the first charted first at equal times), equal to a balance Nautilus reported plus the
    latest PnL of each, added in cents; drawdown below the running peak of those."""
    series = ["unrealized_pnl:EUR/USD.SIM", "unrealized_pnl:GBP/USD.SIM"]
    order = [data["id"] for kind, data in events(client, run.run) if kind == "series" and data["id"] in series]
    merged = sorted((t, order.index(sid), sid, pnl) for sid in series
                    for t, pnl in zip(*(lambda p: (p[0], p[1]["y"]))(read_points(client, sid, run.run))))
    latest: dict[str, int] = {}
    pnl_cents = []
    for _, _, sid, pnl in merged:
        latest[sid] = round(pnl * 100)
        pnl_cents.append(sum(latest.values()))
    (account,) = run.engine.cache.accounts()
    balances = {round(float(b.total.as_decimal()) * 100) for state in account.events for b in state.balances}
    times, cols = read_points(client, "equity:SIM:USD", run.run)
    assert times == [t for t, _, _, _ in merged]
    residual = [round(e * 100) - p for e, p in zip(cols["y"], pnl_cents)]
    assert set(residual) <= balances and len(set(residual)) > 1  # the strategies' fills moved the balance
    assert cols["y"] == [(b + p) / 100 for b, p in zip(residual, pnl_cents)]
    peak = float("-inf")
    drawdown = []
    for value in cols["y"]:
        peak = max(peak, value)
        drawdown.append((value / peak - 1.0) * 100.0 if peak > 0 else 0.0)
    assert read_points(client, "drawdown:SIM:USD", run.run)[1]["y"] == drawdown


def test_every_point_of_the_indicator_heavy_shape_is_in_redis(client: redis.Redis,
                                                              redis_server: RedisServer) -> None:
    """Also the ``short`` shape's strategy (the same on more bars)."""
    run = backtest(client, redis_server, "indicator_heavy")
    (bars,) = bars_of(run.engine).values()
    (strategy,) = run.engine.trader.strategies()
    for indicator, name, outputs in ((BollingerBands(20, 2.0), "bands", ("upper", "middle", "lower")),
                                     (RelativeStrengthIndex(14), "rsi", ("value",)),
                                     (AverageTrueRange(14), "atr", ("value",)),
                                     (ExponentialMovingAverage(10), "fast_ema", ("value",))):
        expected_t, expected = nautilus(indicator, bars, outputs)
        for out, values in zip(outputs, expected):
            series = f"{strategy.id}.{name}" + (f".{out}" if len(outputs) > 1 else "")
            times, cols = read_points(client, series, run.run)
            assert (times, cols["y"]) == (expected_t, values), series
    assert_decorators_delivered_all(client, run, bars)
    assert fills(run.engine)
    assert_actor_delivered_all(client, run)
    run.engine.dispose()


def assert_decorators_delivered_all(client: redis.Redis, run: SimpleNamespace, bars: list[Any]) -> None:
    """The indicator-heavy strategy's decorated methods: its candles and the SDK's indicators of
    what they return, point by point."""
    times, cols = read_points(client, "MeanReversion.candle", run.run)  # @cb.chart returning the Bar
    assert registry(client, "MeanReversion.candle", run.run)["kind"] == "candlestick"
    assert times == [b.ts_event for b in bars] and cols == candle_columns(bars)
    close = lambda bar: bar.close.as_double()  # noqa: E731
    for indicator, series, value in ((Bollinger(20, 2.0), "MeanReversion.price.bollinger20", close),
                                     (RSI(14), "MeanReversion.price.rsi14", close),
                                     (EMA(50), "MeanReversion.mid.ema50",
                                      lambda bar: (bar.high.as_double() + bar.low.as_double()) / 2)):
        expected_t, expected = sdk(indicator, bars, value)
        assert len(expected_t) > BARS - 60
        for out, values in zip(indicator.outputs, expected):
            name = series + (f".{out}" if len(indicator.outputs) > 1 else "")
            times, cols = read_points(client, name, run.run)
            assert (times, cols["y"]) == (expected_t, values), name


def test_every_point_of_the_decorators_only_shape_is_in_redis(client: redis.Redis,
                                                              redis_server: RedisServer) -> None:
    """No actor: the decorated calls take their times from the bar they are given, and nothing
    paces the producer; the same points as with the actor, and no other series."""
    run = backtest(client, redis_server, "decorators_only")
    assert run.actor is None
    (bars,) = bars_of(run.engine).values()
    assert_decorators_delivered_all(client, run, bars)
    prefix = cb.session.current().settings.prefix
    assert sorted(k.decode().rpartition(":s:")[2] for k in client.keys(f"{prefix}:{{{run.run}}}:s:*")) == sorted(
        ["MeanReversion.candle", "MeanReversion.price.bollinger20.upper", "MeanReversion.price.bollinger20.middle",
         "MeanReversion.price.bollinger20.lower", "MeanReversion.price.rsi14", "MeanReversion.mid.ema50"])
    assert cb.stats()["dropped"] == 0 and cb.stats()["rejected"] == 0
    run.engine.dispose()


def test_every_fill_marker_of_the_fill_heavy_shape_is_in_redis(client: redis.Redis,
                                                               redis_server: RedisServer) -> None:
    run = backtest(client, redis_server, "fill_heavy")
    expected = fills(run.engine)
    assert len(expected) >= BARS // shapes.FILL_EVERY
    for series in ("fills", "fills:EUR/USD.SIM"):  # cb.marker in on_order_filled, and the actor's
        times, cols = read_points(client, series, run.run)
        assert times == [f.ts_event for f in expected], series
        assert cols["y"] == [float(str(f.last_px)) for f in expected]
        assert [m["side"] for m in cols["m"]] == [f.order_side.name.lower() for f in expected]
    _, cols = read_points(client, "fills", run.run)
    assert [m["text"] for m in cols["m"]] == [f"fill {f.last_qty}" for f in expected]
    assert_actor_delivered_all(client, run)
    run.engine.dispose()


def test_every_point_of_the_everyday_shape_is_in_redis(client: redis.Redis, redis_server: RedisServer) -> None:
    """Nautilus values returned as they are: the candles of a tuple of Prices and a Quantity,
    the close and the volume at their exact decimals; the EMAs assigned to ``cb.series`` at each
    bar once initialized; a signal marker at each cross of the two."""
    run = backtest(client, redis_server, "everyday")
    (bars,) = bars_of(run.engine).values()
    (strategy,) = run.engine.trader.strategies()
    every = [b.ts_event for b in bars]
    times, cols = read_points(client, "Everyday.ohlc", run.run)
    assert registry(client, "Everyday.ohlc", run.run)["kind"] == "candlestick"
    assert (times, cols) == (every, candle_columns(bars))
    assert read_points(client, "Everyday.last", run.run) == (every, {"y": [float(str(b.close)) for b in bars]})
    assert read_points(client, "Everyday.traded", run.run) == (every, {"y": [float(str(b.volume)) for b in bars]})
    slow = strategy.config.slow_ema_period  # both EMAs are initialized from the slow one's first value
    lines = {}
    for name, period in (("fast_line", strategy.config.fast_ema_period), ("slow_line", slow)):
        expected_t, (expected_v,) = nautilus(ExponentialMovingAverage(period), bars, ("value",))
        lines[name] = expected_v[slow - period:]
        assert read_points(client, f"Everyday.{name}", run.run) == (expected_t[slow - period:], {"y": lines[name]})
    above = [f >= s for f, s in zip(lines["fast_line"], lines["slow_line"])]
    crosses = [(bars[slow - 1 + i], "buy" if a else "sell") for i, a in enumerate(above) if i and a != above[i - 1]]
    times, cols = read_points(client, "Everyday.cross", run.run)
    assert len(crosses) >= 2 and times == [b.ts_event for b, _ in crosses]
    assert [m["side"] for m in cols["m"]] == [side for _, side in crosses]
    assert_actor_delivered_all(client, run)
    run.engine.dispose()


class Watching(shapes.MeanReversion):
    """Looks at Redis from inside the backtest: what the bars before this one handed over."""

    seen: list[tuple[int, int, int]] = []  # (bars before, candles in Redis, decorator points in Redis)

    def on_bar(self, bar: Any) -> None:
        self.count = getattr(self, "count", 0) + 1
        if self.count % 100 == 1:
            client = redis.Redis.from_url(cb.session.current().settings.url)
            prefix = cb.session.current().settings.prefix
            candles = sum(int(f[b"n"]) for _, f in client.xrange(f"{prefix}:{{paced}}:s:{self.config.bar_type}"))
            mine = sum(int(f[b"n"]) for _, f in client.xrange(f"{prefix}:{{paced}}:s:MeanReversion.candle"))
            self.seen.append((self.count - 1, candles, mine))
            client.close()
        super().on_bar(bar)


def test_a_backtest_delivers_each_hand_over_during_the_run(client: redis.Redis,
                                                           redis_server: RedisServer) -> None:
    """Paced delivery is on the strategy's thread at each hand-over (here every 100 bars), so at
    the next bar Redis holds every point of the bars handed over: nothing waits for the run's end."""
    from chartbridge.nautilus import ChartbridgeConfig

    configure(redis_server.url, "ovh", "paced")
    Watching.seen = []
    engine, _ = shapes.ema_cross.build_engine(1_000, charted=False, strategy_class=Watching)
    engine.add_actor(ChartbridgeActor(ChartbridgeConfig(backtest_batch=100)))
    engine.run()
    # the actor hands over after every 100th bar; the strategy's bar comes before the actor's
    assert Watching.seen == [(n, n, n) for n in range(0, 1_000, 100)]
    engine.dispose()


def test_a_live_run_delivers_while_the_strategy_waits(client: redis.Redis, redis_server: RedisServer) -> None:
    """Not a backtest: the flush thread delivers within its interval on its own; the strategy
    thread is blocked on an event until the test has seen its point in Redis (or 30 s passed)."""
    configure(redis_server.url, "ovh", "live")
    seen = threading.Event()

    @cb.chart(name="live")
    def value(x: float) -> float:
        return x

    def strategy() -> None:
        value(1.5)
        seen.wait(30)
    thread = threading.Thread(target=strategy)
    thread.start()
    key = f"ovh:{{live}}:s:live"
    try:
        for _ in range(3000):
            if client.exists(key):
                break
            time.sleep(0.01)
        in_redis_while_waiting = thread.is_alive() and client.exists(key) == 1
    finally:
        seen.set()
        thread.join()
    assert in_redis_while_waiting
    assert read_points(client, "live", "live")[1]["y"] == [1.5]
