"""Tick-driven NautilusTrader backtests with no bars: the strategies of the tick tests
(python/tests/test_nautilus_ticks.py) and of the tick overhead benchmark (ticks_overhead.py).

``QuoteCross`` trades EUR/USD on quote ticks only, ``TradeCross`` on trade ticks only: an EMA
cross of the mid (or the trade price), long above, short below (netting, market orders), as
Nautilus's quote-tick EMA-cross example does. ``record=True`` makes the strategy note every tick
it saw and, after handling each tick and at each position event, Nautilus's own unrealized PnL
and equity, which the tests compare with what was charted.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.indicators import ExponentialMovingAverage
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide, PriceType
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.model.objects import Money, Quantity
from nautilus_trader.persistence.wranglers import QuoteTickDataWrangler, TradeTickDataWrangler
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy

START = pd.Timestamp("2024-01-02", tz="UTC")
VENUE = Venue("SIM")


class TickCrossConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    trade_size: Decimal = Decimal(100_000)
    fast_ema_period: int = 10
    slow_ema_period: int = 20
    record: bool = False


class TickCross(Strategy):
    """Long when the fast EMA of the tick price is above the slow one, short when below."""

    def __init__(self, config: TickCrossConfig) -> None:
        super().__init__(config)
        self.fast_ema = ExponentialMovingAverage(config.fast_ema_period)
        self.slow_ema = ExponentialMovingAverage(config.slow_ema_period)
        self.seen: list[Any] = []  # the ticks handled, with record=True
        self.after_ticks: list[tuple[float, float]] = []  # Nautilus's unrealized PnL and USD equity after each tick
        self.at_positions: list[tuple[int, float, float]] = []  # and at each position event, with its time

    def on_tick(self, tick: Any, price: float) -> None:
        self.fast_ema.update_raw(price)
        self.slow_ema.update_raw(price)
        if self.slow_ema.initialized:
            instrument_id = self.config.instrument_id
            buy = self.fast_ema.value > self.slow_ema.value
            held = self.portfolio.is_net_short(instrument_id) if buy else self.portfolio.is_net_long(instrument_id)
            if not (self.portfolio.is_net_long(instrument_id) if buy else self.portfolio.is_net_short(instrument_id)):
                quantity = Quantity.from_str(str(self.config.trade_size * (2 if held else 1)))  # flip or enter
                self.submit_order(self.order_factory.market(instrument_id, OrderSide.BUY if buy else OrderSide.SELL,
                                                            quantity))
        if self.config.record:
            self.seen.append(tick)
            self.after_ticks.append(self.nautilus())

    def nautilus(self) -> tuple[float, float]:
        """Nautilus's unrealized PnL, and its balance plus that PnL added as decimals (its
        ``Portfolio.equity`` adds them as floats: 999995.7999999999 for 999995.8). On trade
        ticks, each position's PnL at the last trade: ``Portfolio.unrealized_pnl`` is refreshed
        by quotes, bars and position events only, so it keeps the last fill's value there."""
        instrument_id = self.config.instrument_id
        if isinstance(self, TradeCross):
            last = self.cache.price(instrument_id, PriceType.LAST)
            pnl_value = sum((p.unrealized_pnl(last).as_decimal() for p in self.cache.positions_open(
                instrument_id=instrument_id)), Decimal(0))
        else:
            pnl = self.portfolio.unrealized_pnl(instrument_id)
            pnl_value = pnl.as_decimal() if pnl is not None else Decimal(0)
        balance = self.portfolio.account(VENUE).balance_total(USD).as_decimal()
        return float(pnl_value), float(balance + pnl_value)

    def on_position_event(self, event: Any) -> None:
        if self.config.record:
            self.at_positions.append((event.ts_event, *self.nautilus()))

    def on_stop(self) -> None:
        self.close_all_positions(self.config.instrument_id)


class QuoteCross(TickCross):
    def on_start(self) -> None:
        self.subscribe_quote_ticks(self.config.instrument_id)

    def on_quote_tick(self, tick: Any) -> None:
        self.on_tick(tick, (tick.bid_price.as_double() + tick.ask_price.as_double()) / 2)


class TradeCross(TickCross):
    def on_start(self) -> None:
        self.subscribe_trade_ticks(self.config.instrument_id)

    def on_trade_tick(self, tick: Any) -> None:
        self.on_tick(tick, tick.price.as_double())


def ticks(instrument: Any, count: int, kind: str, seed: int = 11) -> list[Any]:
    """``count`` quote or trade ticks of a random walk around 1.10, 0.1 to 2 s apart."""
    rng = np.random.default_rng(seed)
    mid = 1.10 + np.cumsum(rng.normal(0.0, 0.00002, count))
    index = START + pd.to_timedelta(np.cumsum(rng.integers(100, 2_000, count)), unit="ms")
    if kind == "quotes":
        half = rng.integers(1, 4, count) * 0.00001
        frame = pd.DataFrame({"bid_price": mid - half, "ask_price": mid + half,
                              "bid_size": 1_000_000.0, "ask_size": 1_000_000.0}, index=index)
        return list(QuoteTickDataWrangler(instrument).process(frame))
    frame = pd.DataFrame({"price": mid, "quantity": rng.integers(1, 50, count) * 100_000.0,
                          "buyer_maker": rng.integers(0, 2, count).astype(bool),
                          "trade_id": [str(i) for i in range(count)]}, index=index)
    return list(TradeTickDataWrangler(instrument).process(frame))


def build_engine(count: int, kind: str, *, actor: Any = None, record: bool = False,
                 periods: tuple[int, int] = (10, 20)) -> tuple[BacktestEngine, TickCross]:
    """A backtest of ``QuoteCross`` (``kind`` "quotes") or ``TradeCross`` ("trades") on ``count``
    ticks of EUR/USD on a USD margin account, with ``actor`` added when given."""
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
    engine.add_venue(VENUE, oms_type=OmsType.NETTING, account_type=AccountType.MARGIN,
                     starting_balances=[Money(1_000_000, USD)], base_currency=USD)
    instrument = TestInstrumentProvider.default_fx_ccy("EUR/USD")
    engine.add_instrument(instrument)
    engine.add_data(ticks(instrument, count, kind))
    strategy_class = QuoteCross if kind == "quotes" else TradeCross
    strategy = strategy_class(TickCrossConfig(instrument_id=instrument.id, fast_ema_period=periods[0],
                                              slow_ema_period=periods[1], record=record))
    engine.add_strategy(strategy)
    if actor is not None:
        engine.add_actor(actor)
    return engine, strategy
