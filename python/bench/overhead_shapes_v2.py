"""The overhead matrix's shapes on NautilusTrader 2 (``nautilus_overhead.py`` run in the nt2 venv):
the same five as 1.x's ``overhead_shapes.py`` (the table and the strategies' rules are in
``shape.py``), on the EMA-cross example in its 2.x form (``ema_cross_v2.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "nautilus-ema-cross"))

import ema_cross_v2  # noqa: E402
import shape  # noqa: E402
from shape import EMA_PERIODS, GBP_BAR_TYPE, Shape, shapes, single  # noqa: E402
from nautilus_trader.backtest import BacktestEngine  # noqa: E402
from nautilus_trader.model import BarType  # noqa: E402
from nautilus_trader.testkit.providers import TestInstrumentProvider  # noqa: E402


class MeanReversion(shape.MeanReversion, ema_cross_v2.EMACross):
    """The indicator-heavy shape's strategy (``shape.MeanReversion``) on 2.x."""


class FillHeavy(shape.FillHeavy, ema_cross_v2.EMACross):
    """The fill-heavy shape's strategy (``shape.FillHeavy``) on 2.x."""


def two_instruments(bars: int, charted: bool) -> BacktestEngine:
    """EMA-cross on EUR/USD one-minute bars and on GBP/USD five-minute bars (``bars`` each)."""
    engine, _ = ema_cross_v2.build_engine(bars, charted=False, periods=EMA_PERIODS)
    instrument = TestInstrumentProvider.default_fx_ccy("GBP/USD")
    engine.add_instrument(instrument)
    engine.add_data(ema_cross_v2.synthetic_bars(bars, seed=8, bar_type=GBP_BAR_TYPE))
    engine.add_strategy(ema_cross_v2.EMACross(ema_cross_v2.EMACrossConfig(
        instrument.id, BarType.from_str(GBP_BAR_TYPE), fast_ema_period=EMA_PERIODS[0],
        slow_ema_period=EMA_PERIODS[1], order_id_tag="001")))
    return shape.charted(engine, charted)


SHAPES: dict[str, Shape] = shapes({"ema_cross": single(ema_cross_v2.build_engine, ema_cross_v2.EMACross, EMA_PERIODS),
                                   "indicator_heavy": single(ema_cross_v2.build_engine, MeanReversion),
                                   "fill_heavy": single(ema_cross_v2.build_engine, FillHeavy),
                                   "short": single(ema_cross_v2.build_engine, MeanReversion),
                                   "decorators_only": single(ema_cross_v2.build_engine, MeanReversion, actor=False),
                                   "two_instruments": two_instruments},
                                  ", NautilusTrader 2")
