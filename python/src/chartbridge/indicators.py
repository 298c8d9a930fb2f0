# cython: boundscheck=False, wraparound=False
"""Incremental indicators with Nautilus's definitions, so a chart shows the line a strategy trades on.

NautilusTrader changed its indicators between its lines, so each class takes ``nautilus=1`` or
``2`` and computes what that line's class of the same role computes, step for step in the same
floating-point order (1.x: nautilus_trader/indicators/averages.pyx, volatility.pyx,
momentum.pyx; 2.x: the Rust crate nautilus-indicators, whose ``mul_add`` is a fused
multiply-add, ``fused`` here; a test compares them value by value on real Bars):

- ``SMA``: ``SimpleMovingAverage``, the mean of the last ``period`` values: 1.x sums the window
  oldest first from 0.0 at each value; 2.x keeps a running sum (the oldest value subtracted, the
  new one added) re-summed oldest first every 16 windows.
- ``EMA``: ``ExponentialMovingAverage``: alpha = 2 / (period + 1). 1.x: the first value seeds it
  and is then smoothed with itself (``alpha * x + (1 - alpha) * value``); 2.x: the mean of the
  first ``period`` values seeds it, then ``fused(alpha, x, (1 - alpha) * value)``.
  ``wilder=True`` (2.x only): 2.x's ``WilderMovingAverage``, the same seed, then
  ``(value * (period - 1) + x) / period``.
- ``Bollinger``: ``BollingerBands``: the SMA of the window +/- k population standard deviations
  (2.x: ``fused(k, +/-std, middle)``).
- ``RSI``: ``RelativeStrengthIndex``. 1.x: gains and losses in two 1.x EMAs (the first value
  counts as a change of 0), ``1 - 1 / (1 + gain / loss)``, 0 to 1, 1 while no loss was seen.
  2.x: the changes from the second value on in two Wilder averages,
  ``100 * (gain / (gain + loss))``, 0 to 100, 50 while flat.
- ``WilderRSI``: Wilder's RSI (TA-Lib, TradingView), 0 to 100: the first ``period`` changes
  averaged, then smoothed by ``(avg * (period - 1) + change) / period``; 50 while flat.

Nothing is emitted until an indicator is warmed up, where the line's class becomes
``initialized``: after ``period`` values; 2.x's RSI and ``WilderRSI`` after ``period`` changes.
``bar_value`` reads a bar's prices as Nautilus's ``handle_bar`` does (``Price.as_double()``,
which ``float(price)`` is).

One source, two forms: Cython compiles this file when the package is built (indicators.pxd
gives the C types; ``python/setup.py``), else it runs as it is.
"""

from __future__ import annotations

import math
import sys
from array import array

from .protocol import check_finite, to_float

_NAN = math.nan

# The inputs a bar offers (``source=``); the index is what ``bar_value`` takes.
SOURCES = ("close", "open", "high", "low", "hl2", "typical", "ohlc4")
CLOSE, OPEN, HIGH, LOW, HL2, TYPICAL, OHLC4 = range(len(SOURCES))


class Indicator:
    """Something that turns a stream of values into one or more output lines: each class below.
    Compiled, ``into`` is a C method writing to a C array, which the decorators' fast path calls
    with no tuple or float object made."""

    def __init__(self) -> None:
        self.out = [0.0, 0.0, 0.0]  # ``update``'s outputs, 3 at most (Bollinger's; compiled, a C array)

    @property
    def outputs(self) -> tuple[str, ...]:
        """The names of its output lines (a class attribute of each indicator)."""
        raise NotImplementedError

    def into(self, x: float, out: list[float]) -> int:
        """Take the next value; once warmed up, write the outputs to ``out`` and return how many,
        else return 0."""
        raise NotImplementedError

    def update(self, x: float) -> tuple[float, ...] | None:
        """Take the next value; return the outputs once warmed up, else None."""
        n = self.into(x, self.out)
        return tuple([self.out[i] for i in range(n)]) if n else None


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
    except (TypeError, ValueError, OverflowError):
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


_COMPILED = not __file__.endswith(".py")  # a C constant when compiled
if sys.version_info >= (3, 13):
    _fma = math.fma
else:
    from fractions import Fraction

    def _fma(a: float, b: float, c: float) -> float:
        return float(Fraction(a) * Fraction(b) + Fraction(c))


# Compiled, C's fma and sqrt (indicators.pxd): both are correctly rounded, so they give the same
# doubles as ``math``'s, whose module lookup and call were most of a Bollinger update's cost
# inside a backtest (callgrind: ~680 instructions and ~30 L1 misses of ~1,660 and ~46).
def fused(a: float, b: float, c: float) -> float:
    """``a * b + c`` rounded once, as Rust's ``mul_add`` (``math.fma`` from Python 3.13)."""
    if _COMPILED:
        return c_fma(a, b, c)  # type: ignore[name-defined,no-any-return]  # noqa: F821
    return _fma(a, b, c)


def root(x: float) -> float:
    """``math.sqrt(x)``."""
    if _COMPILED:
        return c_sqrt(x)  # type: ignore[name-defined,no-any-return]  # noqa: F821
    return math.sqrt(x)


def check_line(nautilus: int) -> int:
    """A NautilusTrader line whose definitions to follow: 1 or 2, else ValueError."""
    if nautilus not in (1, 2) or isinstance(nautilus, bool):
        raise ValueError(f"nautilus must be 1 or 2 (the NautilusTrader line whose definitions to follow), "
                         f"not {nautilus!r}")
    return nautilus


def _check_period(period: int) -> int:
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        raise ValueError(f"period must be a positive int, not {period!r}")
    return period


class Window:
    """The last ``period`` values in a ring, summed oldest first as Nautilus's ``fast_mean`` and
    ``fast_std_with_mean`` sum them: O(period) per value, in C when compiled (what exact
    equality with Nautilus costs; a running sum would round differently)."""

    def __init__(self, period: int, nautilus: int = 1) -> None:
        self.period = _check_period(period)
        self.values = array("d", bytes(8 * period))
        self.count = 0
        self.start = 0  # the oldest value, once full
        self.running = check_line(nautilus) == 2  # 2.x's running sum, else 1.x's sum at each mean
        self.sum = 0.0
        self.updates = 0  # since the running sum was last re-summed

    def push(self, x: float) -> bool:
        """Add ``x`` (replacing the oldest value when full); True once the window is full."""
        if self.count < self.period:
            self.values[self.count] = x
            self.count += 1
        else:
            if self.running:
                self.sum -= self.values[self.start]
            self.values[self.start] = x
            self.start = self.start + 1 if self.start + 1 < self.period else 0
        if self.running:
            self.sum += x
            self.updates += 1
            if self.updates >= 16 * self.period:  # 2.x's SMA_RESEED_WINDOWS
                self.sum = self.total()
                self.updates = 0
        return self.count == self.period

    def total(self) -> float:
        """The sum of the values held, oldest first from 0.0."""
        total = 0.0
        for i in range(self.start, self.count):
            total += self.values[i]
        for i in range(self.start):
            total += self.values[i]
        return total

    def mean(self) -> float:
        """The mean of a full window."""
        return (self.sum if self.running else self.total()) / self.period

    def std(self, mean: float) -> float:
        """The population standard deviation of a full window around ``mean``."""
        total = 0.0
        for i in range(self.start, self.period):
            d = self.values[i] - mean
            total += d * d
        for i in range(self.start):
            d = self.values[i] - mean
            total += d * d
        return root(total / self.period)


class SMA(Indicator):
    """Simple moving average (Nautilus ``SimpleMovingAverage`` of the line ``nautilus``)."""

    outputs = ("sma",)

    def __init__(self, period: int, nautilus: int = 1) -> None:
        super().__init__()
        self.window = Window(period, nautilus)

    def into(self, x: float, out: list[float]) -> int:
        if not self.window.push(x):
            return 0
        out[0] = self.window.mean()
        return 1


class EMA(Indicator):
    """Exponential moving average (Nautilus ``ExponentialMovingAverage`` of the line ``nautilus``;
    ``wilder=True``: 2.x's ``WilderMovingAverage``, the averages of 2.x's RSI)."""

    outputs = ("ema",)

    def __init__(self, period: int, nautilus: int = 1, wilder: bool = False) -> None:
        super().__init__()
        self.period = _check_period(period)
        self.alpha = 2.0 / (period + 1.0)
        self.value = 0.0  # on 2.x, the sum of the values seen until the ``period``-th
        self.count = 0
        self.seeded = check_line(nautilus) == 2  # 2.x: seeded with the mean of the first values
        self.wilder = wilder
        if wilder and not self.seeded:
            raise ValueError("wilder=True is NautilusTrader 2's WilderMovingAverage: give nautilus=2")

    def step(self, x: float) -> None:
        self.count += 1
        if not self.seeded:
            if self.count == 1:
                self.value = x
            self.value = self.alpha * x + ((1.0 - self.alpha) * self.value)
        elif self.count < self.period:
            self.value += x
        elif self.count == self.period:
            self.value = (self.value + x) / self.period
        elif self.wilder:
            self.value = (self.value * (self.period - 1.0) + x) / self.period
        else:
            self.value = fused(self.alpha, x, (1.0 - self.alpha) * self.value)

    def into(self, x: float, out: list[float]) -> int:
        self.step(x)
        if self.count < self.period:
            return 0
        out[0] = self.value
        return 1


class Bollinger(Indicator):
    """Bollinger bands (Nautilus ``BollingerBands`` of the line ``nautilus``): SMA +/- k population
    standard deviations."""

    outputs = ("upper", "middle", "lower")

    def __init__(self, period: int, k: float = 2.0, nautilus: int = 1) -> None:
        if isinstance(k, bool) or not isinstance(k, (int, float)) or not 0.0 < k < math.inf:
            raise ValueError(f"k must be a positive number, not {k!r}")
        super().__init__()
        self.window = Window(period, nautilus)
        self.k = float(k)

    def into(self, x: float, out: list[float]) -> int:
        if not self.window.push(x):
            return 0
        middle = self.window.mean()
        std = self.window.std(middle)
        out[1] = middle
        if self.window.running:  # 2.x
            out[0], out[2] = fused(self.k, std, middle), fused(self.k, -std, middle)
        else:
            width = self.k * std
            out[0], out[2] = middle + width, middle - width
        return 3


class RSI(Indicator):
    """Relative strength index as Nautilus's ``RelativeStrengthIndex`` of the line ``nautilus``:
    1.x's 0 to 1, 2.x's 0 to 100."""

    outputs = ("rsi",)

    def __init__(self, period: int = 14, nautilus: int = 1) -> None:
        super().__init__()
        self.period = _check_period(period)
        self.first_is_change = check_line(nautilus) == 1  # 1.x: the first value is a change of 0
        self.gain = EMA(period, nautilus, wilder=not self.first_is_change)
        self.loss = EMA(period, nautilus, wilder=not self.first_is_change)
        self.last = 0.0
        self.seen = False

    def into(self, x: float, out: list[float]) -> int:
        if not self.seen:
            self.last = x
            self.seen = True
            if not self.first_is_change:
                return 0
        change = x - self.last
        self.last = x
        self.gain.step(change if change > 0.0 else 0.0)
        self.loss.step(-change if change < 0.0 else 0.0)
        if self.gain.count < self.period:
            return 0
        out[0] = self.level()
        return 1

    def level(self) -> float:
        """The RSI of the averages of gains and losses."""
        if not self.first_is_change:
            total = self.gain.value + self.loss.value
            return 50.0 if total == 0.0 else 100.0 * (self.gain.value / total)
        if self.loss.value == 0.0:
            return 1.0
        return 1.0 - 1.0 / (1.0 + self.gain.value / self.loss.value)


class WilderRSI(Indicator):
    """Wilder's relative strength index (0 to 100): 100 after only gains, 50 when flat."""

    outputs = ("rsi",)

    def __init__(self, period: int = 14) -> None:
        super().__init__()
        self.period = _check_period(period)
        self.last = 0.0
        self.seen = False
        self.gain = 0.0
        self.loss = 0.0
        self.changes = 0

    def into(self, x: float, out: list[float]) -> int:
        if not self.seen:
            self.last = x
            self.seen = True
            return 0
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
                return 0
        else:
            self.gain = (self.gain * (n - 1) + gain) / n
            self.loss = (self.loss * (n - 1) + loss) / n
        if self.loss == 0.0:
            out[0] = 100.0 if self.gain > 0.0 else 50.0
        else:
            out[0] = 100.0 - 100.0 / (1.0 + self.gain / self.loss)
        return 1
