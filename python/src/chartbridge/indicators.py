# cython: boundscheck=False, wraparound=False
"""Incremental indicators with Nautilus's definitions, so a chart shows the line a strategy trades on.

Each class computes what nautilus_trader's class of the same role computes, step for step in
the same floating-point order (nautilus_trader/indicators/averages.pyx, volatility.pyx,
momentum.pyx; a test compares them value by value on real Bars):

- ``SMA``: ``SimpleMovingAverage``, the window summed oldest first from 0.0, divided by its length.
- ``EMA``: ``ExponentialMovingAverage``: alpha = 2 / (period + 1); the first value seeds it and
  is then smoothed with itself (``alpha * x + (1 - alpha) * value``).
- ``Bollinger``: ``BollingerBands``: SMA of the window +/- k population standard deviations.
- ``RSI``: ``RelativeStrengthIndex``: gains and losses in two EMAs (the first value counts as
  a change of 0), ``1 - 1 / (1 + gain / loss)``, 0 to 1, 1 while no loss was seen.
- ``WilderRSI``: Wilder's RSI (TA-Lib, TradingView), 0 to 100: the first ``period`` changes
  averaged, then smoothed by ``(avg * (period - 1) + change) / period``; 50 while flat.

Nothing is emitted until an indicator is warmed up: after ``period`` values (Nautilus's
``initialized``), ``WilderRSI`` after ``period`` changes. ``bar_value`` reads a bar's prices as
Nautilus's ``handle_bar`` does (``Price.as_double()``, which ``float(price)`` is).

One source, two forms: Cython compiles this file when the package is built (indicators.pxd
gives the C types; ``python/setup.py``), else it runs as it is.
"""

from __future__ import annotations

import math
from array import array

from .protocol import check_finite, to_float

_NAN = math.nan

# The inputs a bar offers (``source=``); the index is what ``bar_value`` takes.
SOURCES = ("close", "open", "high", "low", "hl2", "typical", "ohlc4")
CLOSE, OPEN, HIGH, LOW, HL2, TYPICAL, OHLC4 = range(len(SOURCES))


class Indicator:
    """Something that turns a stream of values into one or more output lines: each class below.
    Compiled, ``update`` is a C method, which the decorators' fast path calls without boxing."""

    @property
    def outputs(self) -> tuple[str, ...]:
        """The names of its output lines (a class attribute of each indicator)."""
        raise NotImplementedError

    def update(self, x: float) -> tuple[float, ...] | None:
        """Take the next value; return the outputs once warmed up, else None."""
        raise NotImplementedError


def source_index(source: str) -> int:
    """The index of a ``source=`` name, or ValueError naming the choices."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    return SOURCES.index(source)


def as_float(x: object) -> float:
    """``protocol.to_float``'s value of ``x`` (a Nautilus ``Price``: ``as_double()``), or NaN
    where it refuses ``x``: the hot paths' spelling, with no message built."""
    if type(x) is float:
        return x
    if x is None or isinstance(x, (str, bytes, bytearray)):  # a literal tuple: C type checks when compiled
        return _NAN
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _NAN


def _price(bar: object, name: str, where: str) -> float:
    x = getattr(bar, name, None)
    value = as_float(x)
    if value - value != 0.0:  # not finite (C arithmetic when compiled): the protocol's checks raise the error
        what = f"{where}: the bar's {name}"
        check_finite(to_float(x, what), what)
    return value


def bar_value(bar: object, source: int, where: str) -> float:
    """The input ``source`` (an index of ``SOURCES``) of a bar: one price, or the same sum
    Nautilus forms (its typical price is ``(high + low + close) / 3.0``)."""
    if source == CLOSE:
        return _price(bar, "close", where)
    if source == OPEN:
        return _price(bar, "open", where)
    high = _price(bar, "high", where)
    if source == HIGH:
        return high
    low = _price(bar, "low", where)
    if source == LOW:
        return low
    if source == HL2:
        return (high + low) / 2.0
    if source == TYPICAL:
        return (high + low + _price(bar, "close", where)) / 3.0
    return (_price(bar, "open", where) + high + low + _price(bar, "close", where)) / 4.0


def _check_period(period: int) -> int:
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        raise ValueError(f"period must be a positive int, not {period!r}")
    return period


class Window:
    """The last ``period`` values in a ring, summed oldest first as Nautilus's ``fast_mean`` and
    ``fast_std_with_mean`` sum them: O(period) per value, in C when compiled (what exact
    equality with Nautilus costs; a running sum would round differently)."""

    def __init__(self, period: int) -> None:
        self.period = _check_period(period)
        self.values = array("d", bytes(8 * period))
        self.count = 0
        self.start = 0  # the oldest value, once full

    def push(self, x: float) -> bool:
        """Add ``x`` (replacing the oldest value when full); True once the window is full."""
        if self.count < self.period:
            self.values[self.count] = x
            self.count += 1
        else:
            self.values[self.start] = x
            self.start = self.start + 1 if self.start + 1 < self.period else 0
        return self.count == self.period

    def mean(self) -> float:
        """The mean of a full window."""
        total = 0.0
        for i in range(self.start, self.period):
            total += self.values[i]
        for i in range(self.start):
            total += self.values[i]
        return total / self.period

    def std(self, mean: float) -> float:
        """The population standard deviation of a full window around ``mean``."""
        total = 0.0
        for i in range(self.start, self.period):
            d = self.values[i] - mean
            total += d * d
        for i in range(self.start):
            d = self.values[i] - mean
            total += d * d
        return math.sqrt(total / self.period)


class SMA(Indicator):
    """Simple moving average (Nautilus ``SimpleMovingAverage``)."""

    outputs = ("sma",)

    def __init__(self, period: int) -> None:
        self.window = Window(period)

    def update(self, x: float) -> tuple[float, ...] | None:
        return (self.window.mean(),) if self.window.push(x) else None


class EMA(Indicator):
    """Exponential moving average (Nautilus ``ExponentialMovingAverage``)."""

    outputs = ("ema",)

    def __init__(self, period: int) -> None:
        self.period = _check_period(period)
        self.alpha = 2.0 / (period + 1.0)
        self.value = 0.0
        self.count = 0

    def step(self, x: float) -> None:
        if self.count == 0:
            self.value = x
        self.value = self.alpha * x + ((1.0 - self.alpha) * self.value)
        self.count += 1

    def update(self, x: float) -> tuple[float, ...] | None:
        self.step(x)
        return (self.value,) if self.count >= self.period else None


class Bollinger(Indicator):
    """Bollinger bands (Nautilus ``BollingerBands``): SMA +/- k population standard deviations."""

    outputs = ("upper", "middle", "lower")

    def __init__(self, period: int, k: float = 2.0) -> None:
        if isinstance(k, bool) or not isinstance(k, (int, float)) or not 0.0 < k < math.inf:
            raise ValueError(f"k must be a positive number, not {k!r}")
        self.window = Window(period)
        self.k = float(k)

    def update(self, x: float) -> tuple[float, ...] | None:
        if not self.window.push(x):
            return None
        middle = self.window.mean()
        width = self.k * self.window.std(middle)
        return (middle + width, middle, middle - width)


class RSI(Indicator):
    """Relative strength index as Nautilus's ``RelativeStrengthIndex`` (0 to 1)."""

    outputs = ("rsi",)

    def __init__(self, period: int = 14) -> None:
        self.period = _check_period(period)
        self.gain = EMA(period)
        self.loss = EMA(period)
        self.last = 0.0
        self.seen = False

    def update(self, x: float) -> tuple[float, ...] | None:
        if not self.seen:
            self.last = x
            self.seen = True
        change = x - self.last
        self.last = x
        self.gain.step(change if change > 0.0 else 0.0)
        self.loss.step(-change if change < 0.0 else 0.0)
        if self.gain.count < self.period:
            return None
        if self.loss.value == 0.0:
            return (1.0,)
        return (1.0 - 1.0 / (1.0 + self.gain.value / self.loss.value),)


class WilderRSI(Indicator):
    """Wilder's relative strength index (0 to 100): 100 after only gains, 50 when flat."""

    outputs = ("rsi",)

    def __init__(self, period: int = 14) -> None:
        self.period = _check_period(period)
        self.last = 0.0
        self.seen = False
        self.gain = 0.0
        self.loss = 0.0
        self.changes = 0

    def update(self, x: float) -> tuple[float, ...] | None:
        if not self.seen:
            self.last = x
            self.seen = True
            return None
        change = x - self.last
        self.last = x
        gain = change if change > 0.0 else 0.0
        loss = -change if change < 0.0 else 0.0
        n = self.period
        if self.changes < n:
            self.changes += 1
            self.gain += gain / n
            self.loss += loss / n
            if self.changes < n:
                return None
        else:
            self.gain = (self.gain * (n - 1) + gain) / n
            self.loss = (self.loss * (n - 1) + loss) / n
        if self.loss == 0.0:
            return (100.0 if self.gain > 0.0 else 50.0,)
        return (100.0 - 100.0 / (1.0 + self.gain / self.loss),)
