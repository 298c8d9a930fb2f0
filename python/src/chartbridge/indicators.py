"""Incremental indicators: each ``update`` is O(1) (amortised), whatever the period.

Conventions follow TA-Lib: EMA is seeded with the SMA of its first ``period`` values, Bollinger
uses the population standard deviation, RSI uses Wilder's smoothing seeded with plain averages.
Nothing is emitted until an indicator has seen enough values.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Protocol


class Indicator(Protocol):
    """Something that turns a stream of values into one or more output lines."""

    outputs: tuple[str, ...]

    def update(self, x: float) -> tuple[float, ...] | None:
        """Take the next value; return the outputs once warmed up, else None."""


def _check_period(period: int) -> int:
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        raise ValueError(f"period must be a positive int, not {period!r}")
    return period


class Window:
    """Mean and variance over the last ``period`` values, updated in O(1).

    The sliding update accumulates rounding error, so every ``period`` updates the sums are
    recomputed exactly: O(period) once per ``period`` values, O(1) amortised.
    """

    def __init__(self, period: int) -> None:
        self.period = _check_period(period)
        self.values: deque[float] = deque()
        self.mean = 0.0
        self._m2 = 0.0
        self._since_exact = 0

    def push(self, x: float) -> bool:
        """Add ``x`` (dropping the oldest value when full); True once the window is full."""
        values = self.values
        if len(values) < self.period:
            values.append(x)
            delta = x - self.mean
            self.mean += delta / len(values)
            self._m2 += delta * (x - self.mean)
        else:
            old = values.popleft()
            values.append(x)
            mean = self.mean + (x - old) / self.period
            self._m2 += (x - old) * (x - mean + old - self.mean)
            self.mean = mean
            self._since_exact += 1
            if self._since_exact >= self.period:
                self._since_exact = 0
                self.mean = math.fsum(values) / self.period
                self._m2 = math.fsum((v - self.mean) ** 2 for v in values)
        return len(values) == self.period

    @property
    def std(self) -> float:
        """Population standard deviation of the window."""
        return math.sqrt(max(self._m2, 0.0) / len(self.values))


class SMA:
    """Simple moving average."""

    outputs: tuple[str, ...] = ("sma",)

    def __init__(self, period: int) -> None:
        self.window = Window(period)

    def update(self, x: float) -> tuple[float, ...] | None:
        return (self.window.mean,) if self.window.push(x) else None


class EMA:
    """Exponential moving average, alpha = 2 / (period + 1), seeded with the first SMA."""

    outputs: tuple[str, ...] = ("ema",)

    def __init__(self, period: int) -> None:
        self.period = _check_period(period)
        self.alpha = 2.0 / (period + 1)
        self.value: float | None = None
        self._seed_sum = 0.0
        self._seen = 0

    def update(self, x: float) -> tuple[float, ...] | None:
        if self.value is None:
            self._seed_sum += x
            self._seen += 1
            if self._seen < self.period:
                return None
            self.value = self._seed_sum / self.period
        else:
            self.value += self.alpha * (x - self.value)
        return (self.value,)


class Bollinger:
    """Bollinger bands: SMA +/- k population standard deviations."""

    outputs: tuple[str, ...] = ("upper", "middle", "lower")

    def __init__(self, period: int, k: float = 2.0) -> None:
        self.window = Window(period)
        self.k = k

    def update(self, x: float) -> tuple[float, ...] | None:
        if not self.window.push(x):
            return None
        mid, width = self.window.mean, self.k * self.window.std
        return (mid + width, mid, mid - width)


class RSI:
    """Relative strength index with Wilder's smoothing; 100 after only gains, 50 when flat."""

    outputs: tuple[str, ...] = ("rsi",)

    def __init__(self, period: int = 14) -> None:
        self.period = _check_period(period)
        self._prev: float | None = None
        self._gain = 0.0
        self._loss = 0.0
        self._seen = 0

    def update(self, x: float) -> tuple[float, ...] | None:
        prev, self._prev = self._prev, x
        if prev is None:
            return None
        change = x - prev
        gain, loss = max(change, 0.0), max(-change, 0.0)
        n = self.period
        if self._seen < n:
            self._seen += 1
            self._gain += gain / n
            self._loss += loss / n
            if self._seen < n:
                return None
        else:
            self._gain = (self._gain * (n - 1) + gain) / n
            self._loss = (self._loss * (n - 1) + loss) / n
        if self._loss == 0.0:
            return (100.0 if self._gain > 0.0 else 50.0,)
        return (100.0 - 100.0 / (1.0 + self._gain / self._loss),)
