"""test_instances.py's real backtests on NautilusTrader 2: one strategy class on two instruments
charts each instance apart (the second under its component id, 2.x's ``strategy_id``), and a
sweep of backtests in one process charts each run from fresh indicators. The decorators' EMA is
compared with 2.x's ``ExponentialMovingAverage`` fed the instance's closes (the decorators follow
the installed line's definitions: python/README.md, "Indicators")."""

from __future__ import annotations

import sys
from typing import Any

import pytest
import redis
from conftest import REPO, read_points

import chartbridge as cb

nautilus = pytest.importorskip("nautilus_trader")
if int(nautilus.__version__.split(".")[0]) < 2:
    pytest.skip(f"NautilusTrader 2 only (this venv has {nautilus.__version__}): test_instances.py covers 1.x",
                allow_module_level=True)

sys.path.insert(0, str(REPO / "examples" / "nautilus-ema-cross"))
import ema_cross_v2  # noqa: E402
from nautilus_trader.indicators import ExponentialMovingAverage  # noqa: E402
from nautilus_trader.model import BarType  # noqa: E402
from nautilus_trader.testkit.providers import TestInstrumentProvider  # noqa: E402

from chartbridge.nautilus import ChartbridgeActor, ChartbridgeConfig  # noqa: E402

CALLS: list[str] = []  # the strategies' ids in the order of their calls


class Charted(ema_cross_v2.EMACross):
    """Records what each instance saw: its closes."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.seen_closes: list[tuple[int, float]] = []

    @cb.chart
    def close(self, bar: Any) -> float:
        return float(bar.close.as_double())

    @cb.ema(10)
    def price(self, bar: Any) -> Any:
        return bar

    def on_bar(self, bar: Any) -> None:
        CALLS.append(str(self.strategy_id))
        self.seen_closes.append((bar.ts_event, self.close(bar)))
        self.price(bar)
        super().on_bar(bar)


def _points(seen: list[tuple[int, float]]) -> tuple[list[int], dict[str, list[float]]]:
    return [t for t, _ in seen], {"y": [v for _, v in seen]}


def _ema(seen: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """A fresh Nautilus EMA(10) of the closes once initialized: what a run's first call starts from."""
    ema, out = ExponentialMovingAverage(10), []
    for t, close in seen:
        ema.update_raw(close)
        if ema.initialized:
            out.append((t, ema.value))
    return out


def test_a_real_two_instrument_backtest_charts_each_strategy_instance_apart(r: redis.Redis) -> None:
    engine, eur = ema_cross_v2.build_engine(120, charted=False, strategy_class=Charted)
    bar_type = "GBP/USD.SIM-1-MINUTE-LAST-EXTERNAL"
    instrument = TestInstrumentProvider.default_fx_ccy("GBP/USD")
    engine.add_instrument(instrument)
    engine.add_data(ema_cross_v2.synthetic_bars(120, seed=8, bar_type=bar_type))
    gbp = Charted(ema_cross_v2.EMACrossConfig(instrument.id, BarType.from_str(bar_type), order_id_tag="001"))
    engine.add_strategy(gbp)
    engine.add_actor(ChartbridgeActor(ChartbridgeConfig(run="two-instruments")))
    del CALLS[:]
    engine.run()
    engine.dispose()
    assert cb.flush(10)

    assert [str(s.strategy_id) for s in (eur, gbp)] == ["EMACross-000", "EMACross-001"]
    assert len(eur.seen_closes) == len(gbp.seen_closes) == 120
    assert eur.seen_closes != gbp.seen_closes
    first, other = (eur, gbp) if CALLS[0] == "EMACross-000" else (gbp, eur)
    run = "two-instruments"
    assert read_points(r, "Charted.close", run) == _points(first.seen_closes)
    assert read_points(r, f"Charted.close/{other.strategy_id}", run) == _points(other.seen_closes)
    assert read_points(r, "Charted.price.ema10", run) == _points(_ema(first.seen_closes))
    assert read_points(r, f"Charted.price.ema10/{other.strategy_id}", run) == _points(_ema(other.seen_closes))


def test_a_sweep_of_backtests_in_one_process_charts_each_run_from_fresh_indicators(r: redis.Redis) -> None:
    for n, seed in enumerate((7, 8)):  # two backtests one after another, as a parameter sweep runs them
        engine, strategy = ema_cross_v2.build_engine(60, charted=False, seed=seed, strategy_class=Charted)
        engine.add_actor(ChartbridgeActor(ChartbridgeConfig(run=f"sweep-{n}")))
        engine.run()
        engine.dispose()
        assert cb.flush(10)
        expected = _ema(strategy.seen_closes)
        assert len(expected) == 51
        assert read_points(r, "Charted.price.ema10", f"sweep-{n}") == _points(expected)
