"""Decorated methods called by several objects (one strategy class on two instruments) and
indicator state across runs: each object charts its own series, each run starts fresh."""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any

import pytest
import redis
from conftest import REPO, nautilus_1x_only, read_points, registry

import chartbridge as cb

T0 = 1_700_000_000_000_000_000


def ema_reference(xs: list[float], period: int) -> list[float]:
    """Nautilus's EMA as the docs state it: alpha = 2 / (period + 1), seeded with the first value,
    shown from the ``period``-th value on (the values below are dyadic: every step is exact)."""
    alpha, value, out = 2.0 / (period + 1.0), xs[0], []
    for i, x in enumerate(xs):
        value = alpha * x + (1.0 - alpha) * value
        if i >= period - 1:
            out.append(value)
    return out


class Pair:
    """One class, several instances: each one's calls must chart into its own series."""

    def __init__(self, offset: float, ident: str | None = None) -> None:
        self.offset = offset
        if ident is not None:
            self.id = ident

    @cb.chart
    def spread(self, x: float) -> float:
        cb.condition("wide", x + self.offset > 10.0)
        return x + self.offset

    @cb.ema(3, nautilus=1)  # ema_reference's definition, whichever NautilusTrader is installed
    def price(self, x: float) -> float:
        return x + self.offset


SPREAD = "Pair.spread"
EMA3 = "Pair.price.ema3"


def test_two_instances_chart_their_own_points_conditions_and_ema_values(r: redis.Redis) -> None:
    a, b = Pair(0.0), Pair(100.0)
    xs = [1.0, 3.0, 2.0, 6.0, 5.0, 9.0]
    for i, x in enumerate(xs):  # interleaved at equal times, as two instruments' bars are
        cb.set_clock(T0 + i)
        a.spread(x)
        b.spread(x)
        a.price(x)
        b.price(x)
    # The fast path is bound (the last caller's sink) and still kept them apart.
    assert type(Pair.__dict__["spread"].charted.sink).__name__ == "Line"
    assert cb.flush()
    times = [T0 + i for i in range(len(xs))]
    assert read_points(r, SPREAD) == (times, {"y": xs})
    assert read_points(r, f"{SPREAD}/2") == (times, {"y": [x + 100.0 for x in xs]})
    assert read_points(r, EMA3) == (times[2:], {"y": ema_reference(xs, 3)})
    assert read_points(r, f"{EMA3}/2") == (times[2:], {"y": ema_reference([x + 100.0 for x in xs], 3)})
    # A condition checked in a method belongs to the calling object's series.
    assert read_points(r, f"{SPREAD}:wide") == (times, {"y": [0.0] * len(xs)})
    assert read_points(r, f"{SPREAD}/2:wide") == (times, {"y": [1.0] * len(xs)})
    assert registry(r, f"{SPREAD}/2:wide")["target"] == f"{SPREAD}/2"
    assert registry(r, f"{SPREAD}/2")["title"] == f"{SPREAD}/2"
    assert registry(r, SPREAD)["source"] == registry(r, f"{SPREAD}/2")["source"]  # one CodeLens site


def test_a_further_instance_is_named_by_its_component_id_and_one_numbering_holds_for_every_method(
        r: redis.Redis) -> None:
    first, second, third = Pair(0.0, "Pair-001"), Pair(1.0, "EMACross-002"), Pair(2.0)
    cb.set_clock(T0)
    second.price(4.0)  # the first caller of this class in the run keeps the plain ids, in every method
    first.price(4.0)
    third.spread(4.0)
    first.spread(4.0)
    second.spread(4.0)
    assert cb.flush()
    assert read_points(r, SPREAD) == ([T0], {"y": [5.0]})  # second's
    assert read_points(r, f"{SPREAD}/Pair-001") == ([T0], {"y": [4.0]})
    assert read_points(r, f"{SPREAD}/3") == ([T0], {"y": [6.0]})  # no id: the n-th object of its class


def test_a_new_run_starts_the_indicators_fresh(r: redis.Redis) -> None:
    first, second = [1.0, 2.0, 4.0, 8.0, 16.0], [32.0, 0.0, 8.0, 4.0]
    p = Pair(0.0)
    with cb.run("sweep-1"):
        for i, x in enumerate(first):
            cb.set_clock(T0 + i)
            p.price(x)
    with cb.run("sweep-2"):  # the same object in the next run of a sweep
        for i, x in enumerate(second):
            cb.set_clock(T0 + i)
            p.price(x)
    q = Pair(0.0)
    with cb.run("sweep-3"):  # a new object in the next run keeps the plain ids
        for i, x in enumerate(second):
            cb.set_clock(T0 + i)
            q.price(x)
    assert cb.flush()
    assert read_points(r, EMA3, run="sweep-1") == ([T0 + 2, T0 + 3, T0 + 4], {"y": ema_reference(first, 3)})
    fresh = ([T0 + 2, T0 + 3], {"y": ema_reference(second, 3)})
    assert read_points(r, EMA3, run="sweep-2") == fresh
    assert read_points(r, EMA3, run="sweep-3") == fresh


def _charted_strategy() -> tuple[Any, Any]:
    """A subclass of the example's EMACross with decorated methods, and the example's module."""
    sys.path.insert(0, str(REPO / "examples" / "nautilus-ema-cross"))
    import ema_cross

    class Charted(ema_cross.EMACross):
        """Records what each instance saw: its closes and its own Nautilus EMA(10)."""

        def __init__(self, config: Any) -> None:
            super().__init__(config)
            self.seen_closes: list[tuple[int, float]] = []
            self.seen_ema: list[tuple[int, float]] = []

        @cb.chart
        def close(self, bar: Any) -> float:
            return float(bar.close.as_double())

        @cb.ema(10)
        def price(self, bar: Any) -> Any:
            return bar

        def on_bar(self, bar: Any) -> None:
            self.seen_closes.append((bar.ts_event, self.close(bar)))
            self.price(bar)
            if self.fast_ema.initialized:
                self.seen_ema.append((bar.ts_event, self.fast_ema.value))
            super().on_bar(bar)
    return Charted, ema_cross


def _points(seen: list[tuple[int, float]]) -> tuple[list[int], dict[str, list[float]]]:
    return [t for t, _ in seen], {"y": [v for _, v in seen]}


def test_a_real_two_instrument_backtest_charts_each_strategy_instance_apart(r: redis.Redis) -> None:
    nautilus_1x_only("a 1.x backtest; the SDK code it checks is the same on 2.x")
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.data import BarType
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import Venue
    from nautilus_trader.model.objects import Money
    from nautilus_trader.test_kit.providers import TestInstrumentProvider

    from chartbridge.nautilus import ChartbridgeActor, ChartbridgeConfig

    Charted, ema_cross = _charted_strategy()
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
    engine.add_venue(Venue("SIM"), oms_type=OmsType.NETTING, account_type=AccountType.MARGIN,
                     starting_balances=[Money(1_000_000, USD)], base_currency=USD)
    strategies = []
    for n, pair in enumerate(("EUR/USD", "GBP/USD")):
        instrument = TestInstrumentProvider.default_fx_ccy(pair)
        bar_type = f"{pair}.SIM-1-MINUTE-LAST-EXTERNAL"
        engine.add_instrument(instrument)
        engine.add_data(ema_cross.synthetic_bars(instrument, 120, seed=7 + n, bar_type=bar_type))
        strategy = Charted(ema_cross.EMACrossConfig(
            instrument_id=instrument.id, bar_type=BarType.from_str(bar_type), order_id_tag=f"00{n + 1}",
            fast_ema_period=10, slow_ema_period=20, trade_size=Decimal(100_000)))
        engine.add_strategy(strategy)
        strategies.append(strategy)
    engine.add_actor(ChartbridgeActor(ChartbridgeConfig(run="two-instruments")))
    engine.run()
    engine.dispose()
    assert cb.flush(10)

    eur, gbp = strategies
    assert [str(s.id) for s in strategies] == ["Charted-001", "Charted-002"]
    assert len(eur.seen_closes) == len(gbp.seen_closes) == 120 and len(eur.seen_ema) == 111
    assert eur.seen_closes != gbp.seen_closes
    first, other = (eur, gbp) if eur.seen_closes[0][0] <= gbp.seen_closes[0][0] else (gbp, eur)
    sid = "_charted_strategy._locals_.Charted"
    run = "two-instruments"
    assert read_points(r, f"{sid}.close", run) == _points(first.seen_closes)
    assert read_points(r, f"{sid}.close/{other.id}", run) == _points(other.seen_closes)
    assert read_points(r, f"{sid}.price.ema10", run) == _points(first.seen_ema)  # equals Nautilus's EMA(10)
    assert read_points(r, f"{sid}.price.ema10/{other.id}", run) == _points(other.seen_ema)


def test_a_sweep_of_backtests_in_one_process_charts_each_run_from_fresh_indicators(r: redis.Redis) -> None:
    nautilus_1x_only("a 1.x backtest; the SDK code it checks is the same on 2.x")
    from chartbridge.nautilus import ChartbridgeActor, ChartbridgeConfig

    Charted, ema_cross = _charted_strategy()
    sid = "_charted_strategy._locals_.Charted.price.ema10"
    for n, seed in enumerate((7, 8)):  # two backtests one after another, as a parameter sweep runs them
        engine, strategy = ema_cross.build_engine(60, charted=False, seed=seed, strategy_class=Charted)
        engine.add_actor(ChartbridgeActor(ChartbridgeConfig(run=f"sweep-{n}")))
        engine.run()
        engine.dispose()
        assert cb.flush(10)
        assert len(strategy.seen_ema) == 51
        assert read_points(r, sid, f"sweep-{n}") == _points(strategy.seen_ema)
