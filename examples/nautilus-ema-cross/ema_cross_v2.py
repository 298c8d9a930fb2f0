"""The EMA-cross example (``ema_cross.py``) on NautilusTrader 2, the Rust engine with PyO3 bindings.

The same strategy, bars and venue in 2.x's API: its types are flat in ``nautilus_trader.model``,
a backtest venue names its fee model (the 1.x instrument's 0.002 % maker and taker fees), and a
strategy's settings are plain attributes. ``build_engine`` charts it with ``ChartbridgeActor``,
the same one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
from nautilus_trader.backtest import BacktestEngine, BacktestEngineConfig
from nautilus_trader.common import LoggerConfig, LogLevel
from nautilus_trader.execution import MakerTakerFeeModel
from nautilus_trader.indicators import ExponentialMovingAverage
from nautilus_trader.model import (AccountType, Bar, BarType, Currency, InstrumentId, Money, OmsType, OrderSide, Price,
                                   Quantity, StrategyId, Venue)
from nautilus_trader.testkit.providers import TestInstrumentProvider
from nautilus_trader.trading import Strategy, StrategyConfig

import chartbridge as cb

BAR_TYPE = "EUR/USD.SIM-1-MINUTE-LAST-EXTERNAL"
START = pd.Timestamp("2024-01-02", tz="UTC")
FEE = Decimal("0.00002")


@dataclass(frozen=True)
class EMACrossConfig:
    instrument_id: InstrumentId
    bar_type: BarType
    trade_size: Decimal = Decimal(100_000)
    fast_ema_period: int = 10
    slow_ema_period: int = 20
    order_id_tag: str = "000"


def _nautilus_config(config: EMACrossConfig) -> StrategyConfig:
    """2.x's own strategy settings (a PyO3 class that takes no fields of ours), naming the
    strategy as 1.x does (``EMACross-000``)."""
    return StrategyConfig(strategy_id=StrategyId(f"EMACross-{config.order_id_tag}"))


class EMACross(Strategy):
    """Long when the fast EMA is above the slow one, short when below (netting)."""

    def __new__(cls, config: EMACrossConfig) -> EMACross:  # the PyO3 base is built from its own config
        return super().__new__(cls, _nautilus_config(config))  # type: ignore[no-any-return]

    def __init__(self, config: EMACrossConfig) -> None:
        super().__init__(_nautilus_config(config))
        self.params = config  # the run's parameters (ChartbridgeActor records them)
        self.instrument_id, self.bar_type, self.trade_size = config.instrument_id, config.bar_type, config.trade_size
        self.fast_ema = ExponentialMovingAverage(config.fast_ema_period)
        self.slow_ema = ExponentialMovingAverage(config.slow_ema_period)
        self.instrument = None

    def on_start(self) -> None:
        self.instrument = self.cache.instrument(self.instrument_id)
        self.register_indicator_for_bars(self.bar_type, self.fast_ema)
        self.register_indicator_for_bars(self.bar_type, self.slow_ema)
        self.subscribe_bars(self.bar_type)
        cb.plugin("bollinger", period=20, series=str(self.bar_type))

    @cb.chart(kind="histogram", pane="ema-gap", color="#7e57c2")
    def ema_gap(self) -> float:
        """The strategy's own value: how far apart the EMAs are, in pips."""
        return (self.fast_ema.value - self.slow_ema.value) * 10_000

    def on_bar(self, bar: Bar) -> None:
        if not self.indicators_initialized():
            return
        self.ema_gap()
        side = OrderSide.BUY if self.fast_ema.value >= self.slow_ema.value else OrderSide.SELL
        if side == OrderSide.BUY and not self.portfolio.is_net_long(self.instrument_id):
            self._enter(side)
        elif side == OrderSide.SELL and not self.portfolio.is_net_short(self.instrument_id):
            self._enter(side)

    def _enter(self, side: OrderSide) -> None:
        self.close_all_positions(self.instrument_id)
        assert self.instrument is not None
        self.submit_order(self.order_factory.market(self.instrument_id, side,
                                                    self.instrument.make_qty(float(self.trade_size))))

    def on_stop(self) -> None:
        self.close_all_positions(self.instrument_id)


def synthetic_bars(count: int, seed: int = 7, bar_type: str = BAR_TYPE, start: pd.Timestamp = START) -> list[Bar]:
    """``count`` one-minute bars of the 1.x example's random walk around 1.10, at the same times."""
    rng = np.random.default_rng(seed)
    close = 1.10 + np.cumsum(rng.normal(0.0, 0.0002, count))
    open_ = np.concatenate(([1.10], close[:-1]))
    wick = np.abs(rng.normal(0.0, 0.0001, (2, count)))
    high, low = np.maximum(open_, close) + wick[0], np.minimum(open_, close) - wick[1]
    volume = rng.integers(1, 100, count).astype(float) * 1_000_000
    parsed, step = BarType.from_str(bar_type), 60_000_000_000
    return [Bar(parsed, Price(open_[i], 5), Price(high[i], 5), Price(low[i], 5), Price(close[i], 5),
                Quantity(volume[i], 0), start.value + i * step, start.value + i * step) for i in range(count)]


def build_engine(bar_count: int, *, charted: bool = True, seed: int = 7, periods: tuple[int, int] = (10, 20),
                 strategy_class: type[EMACross] = EMACross) -> tuple[BacktestEngine, EMACross]:
    """A backtest of ``strategy_class`` on ``bar_count`` synthetic bars, with the Chartbridge
    actor unless ``charted`` is False."""
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggerConfig(stdout_level=LogLevel.ERROR)))
    usd = Currency.from_str("USD")
    engine.add_venue(Venue("SIM"), OmsType.NETTING, AccountType.MARGIN, [Money(1_000_000, usd)], base_currency=usd,
                     fee_model=MakerTakerFeeModel(FEE, FEE))
    instrument = TestInstrumentProvider.default_fx_ccy("EUR/USD")
    engine.add_instrument(instrument)
    engine.add_data(synthetic_bars(bar_count, seed))
    strategy = strategy_class(EMACrossConfig(instrument.id, BarType.from_str(BAR_TYPE), fast_ema_period=periods[0],
                                             slow_ema_period=periods[1]))
    engine.add_strategy(strategy)
    if charted:
        from chartbridge.nautilus import ChartbridgeActor

        engine.add_actor(ChartbridgeActor())  # the one line that charts the backtest
    return engine, strategy
