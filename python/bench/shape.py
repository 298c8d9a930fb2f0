"""A strategy shape of the overhead matrix (``nautilus_overhead.py``), the timed run of one, and
what the two NautilusTrader lines' shapes share: the matrix's table (``MATRIX``) and the trading
rules of its strategies (``MeanReversion``, ``FillHeavy``: their series are named after them),
mixed into each line's EMA-cross example (``overhead_shapes.py`` on 1.x, ``overhead_shapes_v2.py``
on 2.x)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import chartbridge as cb
from chartbridge.nautilus.compat import V2, Bar, OrderSide
from nautilus_trader.indicators import AverageTrueRange, BollingerBands, RelativeStrengthIndex

EMA_PERIODS = (100, 400)  # the EMA-cross shape: trades every few hundred bars (see nautilus_overhead.py)
FILL_EVERY = 5  # bars between the fill-heavy shape's orders
GBP_BAR_TYPE = "GBP/USD.SIM-5-MINUTE-LAST-EXTERNAL"  # the two-instrument shape's second bar type
RSI_SCALE = 100.0 if V2 else 1.0  # 2.x's RelativeStrengthIndex is 0-100, 1.x's 0-1
# name -> what it is, bars in the full matrix, bars with --quick
MATRIX: dict[str, tuple[str, int, int]] = {
    "ema_cross": (f"EMA-cross example ({EMA_PERIODS[0]}/{EMA_PERIODS[1]})", 1_000_000, 100_000),
    "indicator_heavy": ("5 Nautilus indicators + @cb.bollinger, @cb.rsi, @cb.ema, candlestick @cb.chart", 200_000,
                        50_000),
    "fill_heavy": (f"a fill every {FILL_EVERY} bars, cb.marker on each", 50_000, 20_000),
    "short": ("the indicator-heavy strategy, 20k bars (run start counts)", 20_000, 20_000),
    "decorators_only": ("the indicator-heavy strategy charted by its decorators alone, no actor (a first try)",
                        20_000, 20_000),
    "two_instruments": ("EMA-cross on EUR/USD 1-min and GBP/USD 5-min bars", 500_000, 50_000),
    "everyday": ("EMA-cross charted in the README's plain forms: Nautilus values returned as they are (candles as a "
                 "tuple of Prices, a Price, a Quantity), cb.series assigned, @cb.signals", 200_000, 50_000),
}


@dataclass(frozen=True)
class Shape:
    name: str
    what: str
    bars: int  # the full matrix
    quick_bars: int  # --quick
    build: Callable[[int, bool], Any]  # (bars, charted) -> a BacktestEngine


def shapes(builds: dict[str, Callable[[int, bool], Any]], line: str = "") -> dict[str, Shape]:
    """The matrix's shapes of one NautilusTrader line (``line`` is added to what each is)."""
    return {name: Shape(name, MATRIX[name][0] + line, *MATRIX[name][1:], build) for name, build in builds.items()}


def charted(engine: Any, charted: bool) -> Any:
    """``engine``, with the ``ChartbridgeActor`` when ``charted``."""
    if charted:
        from chartbridge.nautilus import ChartbridgeActor

        engine.add_actor(ChartbridgeActor())
    return engine


def single(build_engine: Callable[..., tuple[Any, Any]], strategy_class: type,
           periods: tuple[int, int] = (10, 20), actor: bool = True) -> Callable[[int, bool], Any]:
    """One strategy on EUR/USD one-minute bars, built by a line's EMA-cross example; charted,
    with the ``ChartbridgeActor`` unless ``actor`` is False (the decorators alone chart it)."""
    def build(bars: int, charted: bool) -> Any:
        engine, _ = build_engine(bars, charted=charted and actor, periods=periods, strategy_class=strategy_class)
        return engine
    return build


def _settings(strategy: Any) -> Any:
    """The EMA-cross example's settings: 2.x's keeps them in ``params``, 1.x's in ``config``."""
    return getattr(strategy, "params", None) or strategy.config


class MeanReversion:
    """Indicator-heavy: Nautilus's Bollinger(20, 2), RSI(14), ATR(14) and the two EMAs registered,
    the SDK's indicator decorators and a candlestick ``@cb.chart`` returning the ``Bar``; buys
    below the lower band with RSI < 0.3, sells above the upper one with RSI > 0.7. Mixed in
    before a line's ``EMACross``."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.bands = BollingerBands(20, 2.0)
        self.rsi = RelativeStrengthIndex(14)
        self.atr = AverageTrueRange(14)

    def on_start(self) -> None:
        for indicator in (self.bands, self.rsi, self.atr):
            self.register_indicator_for_bars(_settings(self).bar_type, indicator)
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
        instrument_id = _settings(self).instrument_id
        portfolio = self.portfolio
        rsi = self.rsi.value / RSI_SCALE
        if close < self.bands.lower and rsi < 0.3 and not portfolio.is_net_long(instrument_id):
            self._enter(OrderSide.BUY)
        elif close > self.bands.upper and rsi > 0.7 and not portfolio.is_net_short(instrument_id):
            self._enter(OrderSide.SELL)


class FillHeavy:
    """A fill every ``FILL_EVERY`` bars (in and out of a long), each with a ``cb.marker``. Mixed in
    before a line's ``EMACross``."""

    def on_bar(self, bar: Bar) -> None:
        self.bars = getattr(self, "bars", 0) + 1
        if self.bars % FILL_EVERY:
            return
        settings = _settings(self)
        side = OrderSide.SELL if self.portfolio.is_net_long(settings.instrument_id) else OrderSide.BUY
        self.submit_order(self.order_factory.market(
            settings.instrument_id, side, self.instrument.make_qty(float(settings.trade_size))))

    def on_order_filled(self, fill: Any) -> None:
        cb.marker("fills", side=fill.order_side, price=fill.last_px, text=f"fill {fill.last_qty}")


class Everyday:
    """The EMA-cross strategy charted as a newcomer writes it from the README, returning Nautilus's
    values as they are: candles as a tuple of the bar's ``Price``s and ``Quantity``, the close
    as a ``Price``, the volume as a ``Quantity`` histogram, its two EMAs assigned to ``cb.series``
    at each bar, and a ``@cb.signals`` method returning "buy"/"sell" where they cross (None on
    every other bar). Mixed in before a line's ``EMACross``."""

    fast_line = cb.series(kind="line", color="#2962ff")
    slow_line = cb.series(kind="line", color="#ff6d00")

    @cb.chart(kind="candlestick", pane="candles")
    def ohlc(self, bar: Bar) -> tuple[Any, ...]:
        return (bar.open, bar.high, bar.low, bar.close, bar.volume)

    @cb.chart
    def last(self, bar: Bar) -> Any:
        return bar.close

    @cb.chart(kind="histogram", pane="volume")
    def traded(self, bar: Bar) -> Any:
        return bar.volume

    @cb.signals
    def cross(self, above: bool) -> str | None:
        crossed = above != getattr(self, "above", above)
        self.above = above
        return ("buy" if above else "sell") if crossed else None

    def on_bar(self, bar: Bar) -> None:
        self.ohlc(bar)
        self.last(bar)
        self.traded(bar)
        if self.indicators_initialized():
            self.fast_line, self.slow_line = self.fast_ema.value, self.slow_ema.value
            self.cross(self.fast_ema.value >= self.slow_ema.value)
        super().on_bar(bar)


def run(shape: Shape, bars: int, charted: bool, built: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """Build and run ``shape`` in this process (``built`` is called in between); the timed part is
    ``engine.run()`` plus, when charted, ``cb.flush()`` until Redis holds every point, from
    ``start`` to ``end`` (``time.monotonic()``)."""
    engine = shape.build(bars, charted)
    built()
    start, cpu = time.monotonic(), time.process_time()
    engine.run()
    ran = time.monotonic()
    delivered = cb.flush(120.0)
    end, cpu = time.monotonic(), time.process_time() - cpu
    return {"seconds": end - start, "run": ran - start, "start": start, "end": end, "cpu": cpu,
            "delivered": delivered, "orders": engine.cache.orders_total_count(), **cb.stats()}
