"""An EMA-cross strategy on synthetic bars, charted by Chartbridge.

The strategy itself has one decorator (``ema_gap``, a value of its own) and one plugin call;
the bars, both EMAs, the fills, positions, equity and the end-of-run statistics are charted by
``ChartbridgeActor`` with no decorator. ``build_engine(..., charted=False)`` builds the same
backtest without the actor (the benchmark's baseline).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.indicators import ExponentialMovingAverage
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Money, Quantity
from nautilus_trader.persistence.wranglers import BarDataWrangler
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy

import chartbridge as cb

BAR_TYPE = "EUR/USD.SIM-1-MINUTE-LAST-EXTERNAL"
START = pd.Timestamp("2024-01-02", tz="UTC")


class EMACrossConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    bar_type: BarType
    trade_size: Decimal = Decimal(100_000)
    fast_ema_period: int = 10
    slow_ema_period: int = 20


class EMACross(Strategy):
    """Long when the fast EMA is above the slow one, short when below (netting)."""

    def __init__(self, config: EMACrossConfig) -> None:
        super().__init__(config)
        self.fast_ema = ExponentialMovingAverage(config.fast_ema_period)
        self.slow_ema = ExponentialMovingAverage(config.slow_ema_period)
        self.instrument: Instrument | None = None

    def on_start(self) -> None:
        self.instrument = self.cache.instrument(self.config.instrument_id)
        self.register_indicator_for_bars(self.config.bar_type, self.fast_ema)
        self.register_indicator_for_bars(self.config.bar_type, self.slow_ema)
        self.subscribe_bars(self.config.bar_type)
        # A JS plugin enabled from Python, drawn over the bars the actor charts.
        cb.plugin("bollinger", period=20, series=str(self.config.bar_type))

    @cb.chart(kind="histogram", pane="ema-gap", color="#7e57c2")
    def ema_gap(self) -> float:
        """The strategy's own value: how far apart the EMAs are, in pips."""
        return (self.fast_ema.value - self.slow_ema.value) * 10_000

    def on_bar(self, bar: Bar) -> None:
        if not self.indicators_initialized():
            return
        self.ema_gap()
        side = OrderSide.BUY if self.fast_ema.value >= self.slow_ema.value else OrderSide.SELL
        instrument_id = self.config.instrument_id
        if side == OrderSide.BUY and not self.portfolio.is_net_long(instrument_id):
            self._enter(side)
        elif side == OrderSide.SELL and not self.portfolio.is_net_short(instrument_id):
            self._enter(side)

    def _enter(self, side: OrderSide) -> None:
        self.close_all_positions(self.config.instrument_id)
        assert self.instrument is not None
        order = self.order_factory.market(self.config.instrument_id, side,
                                          self.instrument.make_qty(self.config.trade_size))
        self.submit_order(order)

    def on_stop(self) -> None:
        self.close_all_positions(self.config.instrument_id)


def synthetic_bars(instrument: Instrument, count: int, seed: int = 7, bar_type: str = BAR_TYPE,
                   start: pd.Timestamp = START) -> list[Bar]:
    """``count`` one-minute bars of a random walk around 1.10 from ``start`` (no download)."""
    rng = np.random.default_rng(seed)
    close = 1.10 + np.cumsum(rng.normal(0.0, 0.0002, count))
    open_ = np.concatenate(([1.10], close[:-1]))
    wick = np.abs(rng.normal(0.0, 0.0001, (2, count)))
    frame = pd.DataFrame({"open": open_, "high": np.maximum(open_, close) + wick[0],
                          "low": np.minimum(open_, close) - wick[1], "close": close,
                          "volume": rng.integers(1, 100, count).astype(float) * 1_000_000},
                         index=pd.date_range(start, periods=count, freq="1min"))
    bars: list[Bar] = BarDataWrangler(BarType.from_str(bar_type), instrument).process(frame)
    return bars


def build_engine(bar_count: int, *, charted: bool = True, seed: int = 7, periods: tuple[int, int] = (10, 20),
                 strategy_class: type[EMACross] = EMACross) -> tuple[BacktestEngine, EMACross]:
    """A backtest of ``strategy_class`` on ``bar_count`` synthetic bars, with the Chartbridge
    actor unless ``charted`` is False."""
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
    engine.add_venue(Venue("SIM"), oms_type=OmsType.NETTING, account_type=AccountType.MARGIN,
                     starting_balances=[Money(1_000_000, USD)], base_currency=USD)
    instrument = TestInstrumentProvider.default_fx_ccy("EUR/USD")
    engine.add_instrument(instrument)
    engine.add_data(synthetic_bars(instrument, bar_count, seed))
    strategy = strategy_class(EMACrossConfig(instrument_id=instrument.id, bar_type=BarType.from_str(BAR_TYPE),
                                            fast_ema_period=periods[0], slow_ema_period=periods[1]))
    engine.add_strategy(strategy)
    if charted:
        from chartbridge.nautilus import ChartbridgeActor

        engine.add_actor(ChartbridgeActor())  # the one line that charts the backtest
    return engine, strategy
