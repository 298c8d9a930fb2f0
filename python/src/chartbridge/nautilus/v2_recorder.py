"""What ``ChartbridgeActor`` does on each bar of NautilusTrader 2, compiled when it can be.

2.x's bars are PyO3 objects: each price is a getter and its ``raw`` an int128 made into a Python
int, and turning the raw into the nearest double of its decimal in Python (``raw / 10**16``, an
exact big-int division) costs as much again. ``BarRecorder`` is the handler 2.x calls with each
bar of one bar type (set as the actor's ``on_bar`` where it is the only one): it charts the
fills queued since the last bar first (``fills``: ``on_fills()`` settles the bars before them),
appends the candle (``t``: time, ``v``: open, high, low, close, volume), the value of each
indicator in ``reads`` that is initialized (``(indicator, attribute, times, values)``), and,
with ``keep_closes``, the bar's time and close, priced into unrealized PnL later and in one go
(``pnl``) with the positions open until the next fill. Every ``batch`` bars (``pending`` counts
them) it calls ``on_batch()``; an exception is never raised into Nautilus: ``on_error()`` is
called inside the ``except``.

One source, two forms (Cython's pure-Python mode, ``v2_recorder.pxd`` gives the C types,
``python/setup.py`` builds it; ``scripts/setup.sh`` builds it in ``.venv``, whose CPython the 2.x
venv shares): compiled, a raw becomes its double with C integer arithmetic, exact by the rule
in ``exact``; interpreted, the same numbers from Python's int division. ``COMPILED`` says which.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Any

from .convert import units_value

COMPILED = not __file__.endswith(".py")
_EXACT = 2**53  # integers up to this are doubles exactly


def exact(raw: int, scale: int, cscale: int) -> float:
    """The nearest double of ``raw / scale`` (``scale`` a power of ten up to 10**16, ``cscale``
    the same as a C integer when compiled), as Python's correctly rounded int division gives it.
    Compiled (``c_exact`` in the .pxd): a raw that fits a C long long is stripped of the zeros it
    shares with the scale until it is below 2**53; then both are exact doubles, and one IEEE
    division of exact operands is correctly rounded."""
    if COMPILED:
        return c_exact(raw, scale, cscale)  # type: ignore[no-any-return,name-defined]  # noqa: F821
    return raw / scale


class BarRecorder:
    """The per-bar handler of one bar type (see the module docstring)."""

    def __init__(self, t: array[int], v: array[float], fills: list[Any], on_fills: Callable[[], None],
                 on_batch: Callable[[], None], on_error: Callable[[], None], batch: int, keep_closes: bool,
                 scale: int) -> None:
        self.t, self.v = t, v
        self.fills, self.on_fills = fills, on_fills
        self.on_batch, self.on_error = on_batch, on_error
        self.batch, self.keep_closes = batch, keep_closes
        self.scale = scale
        self.cscale = scale
        self.reads: list[tuple[Any, str, array[int], array[float]]] = []
        self.pending = 0
        self.close_t: array[int] = array("q")  # times and closes of the bars whose PnL is not priced yet
        self.closes: list[Any] = []
        self.last_close: Any = None

    def __call__(self, bar: Any) -> None:
        try:
            if self.fills:
                self.on_fills()
            self.candle(bar)
            ts = bar.ts_event
            for indicator, name, t, v in self.reads:
                if indicator.initialized:
                    t.append(ts)
                    v.append(getattr(indicator, name))
            close = bar.close
            self.last_close = close
            if self.keep_closes:
                self.close_t.append(ts)
                self.closes.append(close)
            self.pending += 1
            if self.pending >= self.batch:
                self.on_batch()
        except Exception:
            self.on_error()

    def candle(self, bar: Any) -> None:
        scale, cscale = self.scale, self.cscale
        self.t.append(bar.ts_event)
        v = self.v
        v.append(exact(bar.open.raw, scale, cscale))
        v.append(exact(bar.high.raw, scale, cscale))
        v.append(exact(bar.low.raw, scale, cscale))
        v.append(exact(bar.close.raw, scale, cscale))
        v.append(exact(bar.volume.raw, scale, cscale))

    def candles(self, bars: list[Any]) -> None:
        """Candles only (the bars before the strategies ran)."""
        for bar in bars:
            self.candle(bar)

    def pnl(self, positions: list[Any], t: array[int], out: array[float]) -> int:
        """Append to ``t`` and ``out`` the time and the ``positions``' unrealized PnL (added as
        raws: exact) of each bar kept since the last call; returns how many."""
        times, closes = self.close_t, self.closes
        count = len(closes)
        scale, cscale = self.scale, self.cscale
        t.extend(times)
        for close in closes:
            raw = 0
            for position in positions:
                raw += position.unrealized_pnl(close).raw
            out.append(exact(raw, scale, cscale))
        del times[:]
        self.closes = []
        return count


def equity(balance: float, pnl: array[float] | None, start: int, end: int, peak: float, equities: array[float],
           drawdowns: array[float], precision: int) -> float:
    """Append ``balance + pnl[i]`` (``balance`` alone without ``pnl``) for ``start <= i < end``
    to ``equities``, added in units of a currency of ``precision`` digits (``units_value``), and to
    ``drawdowns`` its percentage below the running ``peak`` (0 while the peak is not positive);
    returns the peak. A NaN is never the peak. Compiled, the units are C doubles: each amount
    rounded half to even as Python's ``round``, their sum exact below 2**53 and one division by an
    exact power of ten correctly rounded, as Python's int division."""
    scale = 10**precision
    base = balance * scale
    for i in range(start, end):
        if pnl is None:
            value = balance
        elif COMPILED and pnl.data.as_doubles[i] == pnl.data.as_doubles[i]:  # type: ignore[attr-defined]
            units = rint(base) + rint(pnl.data.as_doubles[i] * scale)  # type: ignore  # noqa: F821
            value = units / scale if -_EXACT <= units <= _EXACT else units_value((balance, pnl[i]), precision)
        else:
            value = units_value((balance, pnl[i]), precision)
        equities.append(value)
        if value > peak:
            peak = value
        drawdowns.append((value / peak - 1.0) * 100.0 if peak > 0 else 0.0)
    return peak
