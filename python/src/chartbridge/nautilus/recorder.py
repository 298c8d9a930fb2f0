# nautilus_trader's compiled (Cython) modules ship no stubs: their names are Any here.
# mypy: disable-error-code="import-not-found"
"""``BarRecorder`` and ``TickRecorder``: what the actor does on each bar and tick, compiled when
it can be.

The ``record`` method of the recorder of one bar type is the bus handler of its bars (a method:
compiled, the bus calls it without an argument tuple). Each bar appends its candle
(``t``: time, ``v``: open, high, low, close, volume), the value of each indicator in ``reads``
that is initialized (``(indicator, attribute, times, values)``), and, with ``keep_closes``, its
close for ``pnl``; every ``batch`` bars (``pending`` counts them) it calls ``on_batch()``. An
exception is never raised into the bus: ``on_error()`` is called inside the ``except``.
``candles(bars)`` appends candles only; ``pnl(positions, out)`` appends to ``out`` the positions'
unrealized PnL at each close kept since the last call (``kept`` of them) and returns how many.

``price_each(log, cache, instrument_id, positions, pnl_t, pnl_v)`` prices each bar instead, as it
is recorded: its PnL by ``positions`` at its close goes to ``pnl_t``/``pnl_v``, no close is
kept. ``log`` is the actor's list of the events since the last hand-over, appended to by the bus:
at the first bar after new entries, each ``PositionOpened`` of the instrument adds its position
(from ``cache``) to ``positions`` and ``marks`` gets the pair (entries in the log, PnL points
made before this bar): the events up to there apply from that point on; closed positions leave
``positions`` then. ``rescan()``, called by the actor after emptying the log, scans it from its
start again; ``keep_each()`` goes back to keeping closes. Both return the positions still open.

The ``record`` of the recorder of one instrument's ticks is the bus handler of its quotes and
trades. Each tick
appends its time and prices to the lines given (``take_quotes``: bid and ask, ``take_trades``);
it keeps the last quote and trade (``quote``, ``trade``), and with an ``interval`` (ns, 0 for
none) the last tick (``last``, at ``last_t``) and, when a tick is of another interval than
``last``, the sample ``(last_t, quote, trade)`` of the interval it closes (``samples``); every
``batch`` ticks (``pending``) it calls ``on_batch()``; errors go to ``on_error()``. ``equity`` makes
equity and drawdown points from PnL points. Every price, size and amount is the nearest double
of the decimal Nautilus holds (``float(str(x))``), and sums are made in the currency's units.

Two implementations, one behaviour (a test runs a backtest through each and compares every
point): ``_recorder.pyx``, built against the installed nautilus_trader by ``python/setup.py``,
and ``PyBarRecorder``, ``PyTickRecorder`` and ``py_equity`` here. A charted bar or tick inside a
backtest costs well under 1 us in the first and microseconds in the second, the difference being
Python objects made per price. The compiled one is used when it is built for the nautilus_trader
version that is imported (its struct layouts are valid for that version only); ``COMPILED`` tells
which, and ``WHY_PURE`` why not.

Not one source in Cython's pure-Python mode: the compiled one reads C struct fields, int128 raws
(C code: Nautilus's ``.pxd`` calls them ``long long``) and cdef methods that have no Python
spelling, and this twin must import beside a compiled module built for another version.
"""

from __future__ import annotations

import importlib
from array import array
from collections.abc import Callable
from typing import Any

import nautilus_trader

from .. import fastline
from .compat import V2, Bar, Price, QuoteTick, TradeTick
from .convert import decimal_value, units_value

if not V2:  # pricing each bar (``price_each``) is the 1.x actor's
    from nautilus_trader.model.enums import PositionSide
    from nautilus_trader.model.events import PositionOpened


class PyBarRecorder:
    """``BarRecorder`` in Python (see the module docstring)."""

    def __init__(self, t: array[int], v: array[float], on_batch: Callable[[], None], on_error: Callable[[], None],
                 batch: int, keep_closes: bool) -> None:
        self.t, self.v = t, v
        self.on_batch, self.on_error = on_batch, on_error
        self.batch, self.keep_closes = batch, keep_closes
        self.reads: list[tuple[Any, str, array[int], array[float]]] = []
        self.pending = 0
        self.closes: list[Price] = []
        self.log: list[Any] | None = None
        self.positions: list[Any] = []
        self.marks: list[int] = []

    def price_each(self, log: list[Any], cache: Any, instrument_id: Any, positions: list[Any], pnl_t: array[int],
                   pnl_v: array[float]) -> None:
        self.log, self.cache, self.instrument_id, self.positions = log, cache, instrument_id, positions
        self.pnl_t, self.pnl_v = pnl_t, pnl_v
        self.scanned = 0
        self.marks = []

    def keep_each(self) -> list[Any]:
        self.log = None
        return self.rescan()

    def rescan(self) -> list[Any]:
        self.scanned = 0
        self.marks = []
        return self._open()

    def _open(self) -> list[Any]:
        """The positions not closed, kept."""
        self.positions = [p for p in self.positions if p.side != PositionSide.FLAT]
        return self.positions

    def record(self, bar: Bar) -> None:
        try:
            self.candles([bar])
            if self.log is not None:
                if len(self.log) != self.scanned:
                    self._open()
                    for entry in self.log[self.scanned:]:
                        if type(entry) is PositionOpened and entry.instrument_id == self.instrument_id:
                            position = self.cache.position(entry.position_id)
                            if position is not None and all(p is not position for p in self.positions):
                                self.positions.append(position)
                    self.marks += [len(self.log), len(self.pnl_t)]
                    self.scanned = len(self.log)
                self.pnl_t.append(bar.ts_event)
                self.pnl_v.append(self._price(bar.close))
            elif self.keep_closes:
                self.closes.append(bar.close)
            for indicator, name, t, v in self.reads:
                if indicator.initialized:
                    t.append(bar.ts_event)
                    v.append(getattr(indicator, name))
            self.pending += 1
            if self.pending >= self.batch:
                self.on_batch()
        except Exception:
            self.on_error()

    def candles(self, bars: list[Bar]) -> None:
        self.t.extend(bar.ts_event for bar in bars)
        candle = self.v.extend
        for bar in bars:
            candle((decimal_value(bar.open), decimal_value(bar.high), decimal_value(bar.low),
                    decimal_value(bar.close), decimal_value(bar.volume)))

    @property
    def kept(self) -> int:
        return len(self.closes)

    def pnl(self, positions: list[Any], out: array[float]) -> int:
        closes, self.closes = self.closes, []
        out.extend(self._price(close, positions) for close in closes)
        return len(closes)

    def _price(self, close: Price, positions: list[Any] | None = None) -> float:
        # Money of one currency added as raws: exact, where adding doubles is not.
        return decimal_value(sum(p.unrealized_pnl(close).raw for p in (self.positions if positions is None else positions)))


class PyTickRecorder:
    """``TickRecorder`` in Python (see the module docstring)."""

    def __init__(self, on_batch: Callable[[], None], on_error: Callable[[], None], batch: int, interval: int) -> None:
        self.on_batch, self.on_error = on_batch, on_error
        self.batch, self.interval = batch, interval
        self.pending = 0
        self.quote: Any = None
        self.trade: Any = None
        self.last: Any = None
        self.last_t = 0
        self.samples: list[tuple[int, Any, Any]] = []
        self.quotes: tuple[array[int], array[float], array[int], array[float]] | None = None
        self.trades: tuple[array[int], array[float]] | None = None

    def take_quotes(self, bid_t: array[int], bid_v: array[float], ask_t: array[int], ask_v: array[float]) -> None:
        self.quotes = bid_t, bid_v, ask_t, ask_v

    def take_trades(self, t: array[int], v: array[float]) -> None:
        self.trades = t, v

    def record(self, tick: Any) -> None:
        try:
            if type(tick) is QuoteTick and self.quotes is not None:
                ts = tick.ts_event
                bid_t, bid_v, ask_t, ask_v = self.quotes
                bid_t.append(ts)
                bid_v.append(decimal_value(tick.bid_price))
                ask_t.append(ts)
                ask_v.append(decimal_value(tick.ask_price))
            elif type(tick) is TradeTick and self.trades is not None:
                ts = tick.ts_event
                self.trades[0].append(ts)
                self.trades[1].append(decimal_value(tick.price))
            else:
                raise TypeError(f"a {type(tick).__name__} is not a tick this recorder takes")
            if self.interval:
                if self.last is not None and ts // self.interval != self.last_t // self.interval:
                    self.samples.append((self.last_t, self.quote, self.trade))
                self.last, self.last_t = tick, ts
            if type(tick) is QuoteTick:
                self.quote = tick
            else:
                self.trade = tick
            self.pending += 1
            if self.pending >= self.batch:
                self.on_batch()
        except Exception:
            self.on_error()


def py_equity(balance: float, pnl: array[float] | None, start: int, end: int, peak: float,
              equity: array[float], drawdown: array[float], precision: int) -> float:
    """Append ``balance + pnl[i]`` (``balance`` alone without ``pnl``) for ``start <= i < end``
    to ``equity``, added in units of a currency of ``precision`` digits, and to ``drawdown`` its
    percentage below the running ``peak`` (0 while the peak is not positive); returns the peak.
    A NaN is never the peak."""
    for i in range(start, end):
        value = balance if pnl is None else units_value((balance, pnl[i]), precision)
        equity.append(value)
        if value > peak:
            peak = value
        drawdown.append((value / peak - 1.0) * 100.0 if peak > 0 else 0.0)
    return peak


def _compiled() -> tuple[Any, str]:
    if V2:  # the compiled one reads 1.x's C structs
        return None, f"nautilus_trader {nautilus_trader.__version__} has no C structs to read"
    try:  # by name: ``from . import`` inside the package's own import reports a missing one as circular
        _recorder = importlib.import_module(f"{__package__}._recorder")
    except (ImportError, ValueError) as exc:  # not built (no compiler or Cython at install), or built for other structs
        return None, f"chartbridge.nautilus._recorder is not importable ({exc})"
    if _recorder.BUILT_FOR != nautilus_trader.__version__:
        return None, (f"chartbridge.nautilus._recorder was built for nautilus_trader {_recorder.BUILT_FOR}, "
                      f"not {nautilus_trader.__version__}: reinstall chartbridge to rebuild it")
    return _recorder, ""


_COMPILED, WHY_PURE = _compiled()
COMPILED = _COMPILED is not None
BarRecorder: Any = _COMPILED.BarRecorder if COMPILED else PyBarRecorder
TickRecorder: Any = _COMPILED.TickRecorder if COMPILED else PyTickRecorder
# A Bar's candle columns in C for the SDK's fast path (``series.row_reader_of``); None: read by attribute.
candle_row: Callable[[Any], tuple[float, ...] | None] | None = _COMPILED.candle_row if COMPILED else None
# The message bus's cached subscribers resolved again after the actor's (un)subscriptions; the bus's
# cache is not reachable from Python, so uncompiled a late subscription costs its array each publish.
resolve_again: Callable[[Any], None] = _COMPILED.resolve_again if COMPILED else lambda bus: None
if COMPILED:  # the C twins of the clock's and the row reader's Python calls, for the SDK's fast path
    fastline.read_clock_with(_COMPILED.CLOCK, _COMPILED.CLOCK_NS)
    fastline.read_rows_with(_COMPILED.candle_row, _COMPILED.ROW_INTO)
    fastline.read_decimals_with(_COMPILED.DECIMALS, _COMPILED.DECIMAL)
equity: Callable[[float, array[float] | None, int, int, float, array[float], array[float], int], float] = (
    _COMPILED.equity if COMPILED else importlib.import_module(f"{__package__}.v2_recorder").equity if V2 else py_equity)
