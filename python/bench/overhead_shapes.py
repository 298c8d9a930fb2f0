"""The strategy shapes of the overhead matrix (``nautilus_overhead.py``), also run by
``python/tests/test_overhead_shapes.py`` on a few bars to check that every point reaches Redis.

Each shape builds a real NautilusTrader ``BacktestEngine`` on synthetic bars (the EMA-cross
example's bar builder), with the ``ChartbridgeActor`` when ``charted`` and without it otherwise;
the decorators follow ``CHARTBRIDGE`` (off: they are the plain functions).
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "examples" / "nautilus-ema-cross"))

import ema_cross  # noqa: E402
import shape  # noqa: E402
from shape import EMA_PERIODS, FILL_EVERY, GBP_BAR_TYPE, Shape, shapes, single  # noqa: E402, F401 (FILL_EVERY: tests)
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig  # noqa: E402
from nautilus_trader.config import LoggingConfig  # noqa: E402
from nautilus_trader.model.currencies import USD  # noqa: E402
from nautilus_trader.model.data import BarType  # noqa: E402
from nautilus_trader.model.enums import AccountType, OmsType  # noqa: E402
from nautilus_trader.model.identifiers import Venue  # noqa: E402
from nautilus_trader.model.objects import Money  # noqa: E402
from nautilus_trader.test_kit.providers import TestInstrumentProvider  # noqa: E402



class MeanReversion(shape.MeanReversion, ema_cross.EMACross):
    """The indicator-heavy shape's strategy (``shape.MeanReversion``) on 1.x."""


class FillHeavy(shape.FillHeavy, ema_cross.EMACross):
    """The fill-heavy shape's strategy (``shape.FillHeavy``) on 1.x."""


class Everyday(shape.Everyday, ema_cross.EMACross):
    """The everyday shape's strategy (``shape.Everyday``) on 1.x."""


def _engine() -> BacktestEngine:
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
    engine.add_venue(Venue("SIM"), oms_type=OmsType.NETTING, account_type=AccountType.MARGIN,
                     starting_balances=[Money(1_000_000, USD)], base_currency=USD)
    return engine


def two_instruments(bars: int, charted: bool) -> BacktestEngine:
    """EMA-cross on EUR/USD one-minute bars and on GBP/USD five-minute bars (``bars`` each)."""
    engine = _engine()
    for n, (pair, bar_type) in enumerate((("EUR/USD", ema_cross.BAR_TYPE), ("GBP/USD", GBP_BAR_TYPE))):
        instrument = TestInstrumentProvider.default_fx_ccy(pair)
        engine.add_instrument(instrument)
        engine.add_data(ema_cross.synthetic_bars(instrument, bars, seed=7 + n, bar_type=bar_type))
        engine.add_strategy(ema_cross.EMACross(ema_cross.EMACrossConfig(
            instrument_id=instrument.id, bar_type=BarType.from_str(bar_type), order_id_tag=str(n + 1),
            fast_ema_period=EMA_PERIODS[0], slow_ema_period=EMA_PERIODS[1], trade_size=Decimal(100_000))))
    return shape.charted(engine, charted)


SHAPES: dict[str, Shape] = shapes({"ema_cross": single(ema_cross.build_engine, ema_cross.EMACross, EMA_PERIODS),
                                   "indicator_heavy": single(ema_cross.build_engine, MeanReversion),
                                   "fill_heavy": single(ema_cross.build_engine, FillHeavy),
                                   "short": single(ema_cross.build_engine, MeanReversion),
                                   "decorators_only": single(ema_cross.build_engine, MeanReversion, actor=False),
                                   "two_instruments": two_instruments,
                                   "everyday": single(ema_cross.build_engine, Everyday, EMA_PERIODS)})
