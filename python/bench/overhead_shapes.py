"""The strategy shapes of the overhead matrix (``nautilus_overhead.py``), also run by
``python/tests/test_overhead_shapes.py`` on a few bars to check that every point reaches Redis.

Each shape builds a real NautilusTrader ``BacktestEngine`` on synthetic bars (the EMA-cross
example's bar builder), with the ``ChartbridgeActor`` when ``charted`` and without it otherwise;
the decorators follow ``CHARTBRIDGE`` (off: they are the plain functions).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "examples" / "nautilus-ema-cross"))

import chartbridge as cb  # noqa: E402
import ema_cross  # noqa: E402
from shape import EMA_PERIODS, Shape  # noqa: E402
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig  # noqa: E402
from nautilus_trader.config import LoggingConfig  # noqa: E402
from nautilus_trader.indicators import (  # noqa: E402
    AverageTrueRange, BollingerBands, ExponentialMovingAverage, RelativeStrengthIndex,
)
from nautilus_trader.model.currencies import USD  # noqa: E402
from nautilus_trader.model.data import Bar, BarType  # noqa: E402
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide  # noqa: E402
from nautilus_trader.model.events import OrderFilled  # noqa: E402
from nautilus_trader.model.identifiers import Venue  # noqa: E402
from nautilus_trader.model.objects import Money  # noqa: E402
from nautilus_trader.test_kit.providers import TestInstrumentProvider  # noqa: E402

FILL_EVERY = 5  # bars between the fill-heavy shape's orders
GBP_BAR_TYPE = "GBP/USD.SIM-5-MINUTE-LAST-EXTERNAL"


class MeanReversion(ema_cross.EMACross):
    """Indicator-heavy: Nautilus's Bollinger(20, 2), RSI(14), ATR(14) and the two EMAs registered,
    the SDK's indicator decorators and a candlestick ``@cb.chart`` returning the ``Bar``; buys
    below the lower band with RSI < 0.3, sells above the upper one with RSI > 0.7."""

    def __init__(self, config: ema_cross.EMACrossConfig) -> None:
        super().__init__(config)
        self.bands = BollingerBands(20, 2.0)
        self.rsi = RelativeStrengthIndex(14)
        self.atr = AverageTrueRange(14)

    def on_start(self) -> None:
        for indicator in (self.bands, self.rsi, self.atr):
            self.register_indicator_for_bars(self.config.bar_type, indicator)
        super().on_start()

    @cb.chart(kind="candlestick", pane="candles")
    def candle(self, bar: Bar) -> Bar:
        return bar

    @cb.bollinger(20, 2.0)
    @cb.rsi(14)
    def price(self, bar: Bar) -> float:
        return bar.close.as_double()

    @cb.ema(50)
    def mid(self, bar: Bar) -> float:
        return (bar.high.as_double() + bar.low.as_double()) / 2

    def on_bar(self, bar: Bar) -> None:
        self.candle(bar)
        self.price(bar)
        self.mid(bar)
        if not self.indicators_initialized():
            return
        close = bar.close.as_double()
        instrument_id = self.config.instrument_id
        if close < self.bands.lower and self.rsi.value < 0.3 and not self.portfolio.is_net_long(instrument_id):
            self._enter(OrderSide.BUY)
        elif close > self.bands.upper and self.rsi.value > 0.7 and not self.portfolio.is_net_short(instrument_id):
            self._enter(OrderSide.SELL)


class FillHeavy(ema_cross.EMACross):
    """A fill every ``FILL_EVERY`` bars (in and out of a long), each with a ``cb.marker``."""

    def on_bar(self, bar: Bar) -> None:
        self.bars = getattr(self, "bars", 0) + 1
        if self.bars % FILL_EVERY:
            return
        assert self.instrument is not None
        side = OrderSide.SELL if self.portfolio.is_net_long(self.config.instrument_id) else OrderSide.BUY
        self.submit_order(self.order_factory.market(self.config.instrument_id, side,
                                                    self.instrument.make_qty(self.config.trade_size)))

    def on_order_filled(self, fill: OrderFilled) -> None:
        cb.marker("fills", side=fill.order_side, price=fill.last_px, text=f"fill {fill.last_qty}")


def _engine() -> BacktestEngine:
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
    engine.add_venue(Venue("SIM"), oms_type=OmsType.NETTING, account_type=AccountType.MARGIN,
                     starting_balances=[Money(1_000_000, USD)], base_currency=USD)
    return engine


def _charted(engine: BacktestEngine, charted: bool) -> BacktestEngine:
    if charted:
        from chartbridge.nautilus import ChartbridgeActor

        engine.add_actor(ChartbridgeActor())
    return engine


def single(strategy_class: type[ema_cross.EMACross], periods: tuple[int, int] = (10, 20)) -> Callable[
        [int, bool], BacktestEngine]:
    """One strategy on EUR/USD one-minute bars."""
    def build(bars: int, charted: bool) -> BacktestEngine:
        engine, _ = ema_cross.build_engine(bars, charted=charted, periods=periods, strategy_class=strategy_class)
        return engine
    return build


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
    return _charted(engine, charted)


SHAPES: dict[str, Shape] = {s.name: s for s in (
    Shape("ema_cross", f"EMA-cross example ({EMA_PERIODS[0]}/{EMA_PERIODS[1]})", 1_000_000, 100_000,
          single(ema_cross.EMACross, EMA_PERIODS)),
    Shape("indicator_heavy", "5 Nautilus indicators + @cb.bollinger, @cb.rsi, @cb.ema, candlestick @cb.chart",
          200_000, 50_000, single(MeanReversion)),
    Shape("fill_heavy", f"a fill every {FILL_EVERY} bars, cb.marker on each", 50_000, 20_000,
          single(FillHeavy)),
    Shape("short", "the indicator-heavy strategy, 20k bars (run start counts)", 20_000, 20_000, single(MeanReversion)),
    Shape("two_instruments", "EMA-cross on EUR/USD 1-min and GBP/USD 5-min bars", 500_000, 50_000, two_instruments),
)}
