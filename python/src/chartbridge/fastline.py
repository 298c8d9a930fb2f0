"""The wrapper of a decorated call, and the fast path it takes for the common case.

``wrap(func, full)`` is the wrapper of ``@cb.chart`` (line-like and candle series) and of the
indicator decorators: its calls (``ChartedCall``) call ``func`` and, while charting is enabled, offers the result
to the ``Sink`` the previous call bound; a result the sink declines goes to
``full(result, args, kwargs)``, the decorator's full path, which checks, converts, rejects and
logs, and returns the sink to bind for the next call (or None).

A sink takes the common case and returns True: the integration clock's time (not before the
buffers' last points), in the run that is current, and

- ``Line``: a finite float, or a result of the type the full path charted when it bound the
  sink (a Nautilus ``Price`` or ``Quantity``, an int, a numpy scalar, a ``Decimal``: its
  ``Reading``) whose number is finite;
- ``Candles``: a result of the type the full path charted (a Nautilus ``Bar``, a tuple, a list,
  a dict, an object with open/high/low/close attributes) with finite prices forming a valid
  candle and as many values as the series has columns;
- ``Indicated``: a finite float, a bar of the type the full path took, or a number of the type it
  took (its ``Reading``), whose input feeds the indicator; its outputs and the raw value go to
  their lines.

Anything else returns False (or raises) having changed nothing, and the full path decides. A
result of None charts nothing: once the calling object's sink is bound in the current run, the
call returns without the full path.

During a backtest (``producer.DEFERRING``: the producer paced by the actor's hand-overs, or a
replay) ``Candles`` of an integration's bars and ``Indicated`` keep what they took (the bar, or the
indicator's input, and the time) and write it at the next hand-over (``drain``): one loop with its
code and data warm, where written at each call they were cold at every bar; compiled, each sink
writes a batch per series in place (``write_run``). The drain runs before
a cycle takes the buffers, before any other write to a buffer (``PointBuffer.append``), before a
call's full path and before the run changes, so each series keeps its points in call order; what
it declines goes to the full path's charting, which refuses and counts it as at the call.

One source, two forms: Cython compiles this file when the package is built (fastline.pxd gives
the C types; ``python/setup.py``), else it runs as it is, the same steps at about twice the cost
(python/README.md has the figures). ``COMPILED`` says which.
"""

from __future__ import annotations

import functools
import math
import sys
import threading
from array import array
from collections.abc import Callable, Mapping
from typing import Any

from . import charted_attribute, clock, producer, session
from .charted_attribute import ChartedAttribute
from .indicators import Indicator, as_float, bar_value
from .protocol import MAX_MARKER_TEXT, TIME_LIMIT
from .series import SIDES, Converter, converter_of
from .series import marker as full_marker

COMPILED = not __file__.endswith(".py")
_COMPILED = COMPILED  # a C constant when compiled: the module attribute is a dict lookup a point
# Compiled code runs without letting another thread take the GIL until it calls Python code;
# not so interpreted, nor on a free-threaded Python (``Line.hold``).
_GIL_HELD = COMPILED and getattr(sys, "_is_gil_enabled", lambda: True)()
_NAN = math.nan
_TIME_LIMIT = TIME_LIMIT
_HAND_OVER = producer.HAND_OVER_POINTS
_LOCK = type(threading.Lock())
_DEFERRING: Any = producer.DEFERRING  # read in C: whether a backtest's hand-overs deliver (producer.py)
# The sinks holding deferred points, in the order they first deferred one; written by ``drain``.
_PENDING: list[Any] = []
_DRAINING = threading.RLock()  # one drain at a time: a flush thread's and a full path's


def _reads_locks() -> bool:
    """Whether ``lock_held`` (fastline.pxd: the state read from the lock object, whose layout
    CPython does not promise) reads a lock of this Python right, tried on a probe lock; where it
    does not, ``Line.hold`` calls ``locked()``."""
    if not _GIL_HELD:
        return False
    probe = threading.Lock()
    seen = [lock_held(probe)]  # type: ignore[name-defined]  # noqa: F821
    with probe:
        seen.append(lock_held(probe))  # type: ignore[name-defined]  # noqa: F821
    seen.append(lock_held(probe))  # type: ignore[name-defined]  # noqa: F821
    return seen == [False, True, False]


_READS_LOCKS = _reads_locks()
READS_LOCKS = _READS_LOCKS  # for the tests: the C constant is not a module attribute


# The integration clock (``clock.set_clock``) and the session's state (``session.EPOCH``), kept here:
# compiled, C variables, where reading the modules' attributes cost more than the rest of a call.
_clock_fixed: int | None = None
_clock_source: Callable[[], int] | None = None
_EPOCH = session.EPOCH
_seen = -1  # the epoch of ``_enabled`` and ``_run``
_enabled = False
_run: Any = None


# Compiled, a clock whose ``timestamp_ns`` an integration reads in C (``read_clock_with``): the
# clock object, read through ``_clock_read``; a Python call a point cost ~500 instructions inside
# a backtest. None: ``_clock_source`` is called.
_clock_obj: object = None
_CLOCK_READERS: dict[type, object] = {}
# An integration's row reader (``Candles``' ``read``) -> its C twin (``read_rows_with``).
_ROW_READERS: dict[object, object] = {}


def read_rows_with(read: Callable[[Any], tuple[float, ...] | None], capsule: object) -> None:
    """Compiled, ``Candles`` reads rows through ``capsule`` where the integration's reader is
    ``read``: a PyCapsule named "chartbridge.row_into" of a C function ``int (object, double*
    columns) except -2`` writing what ``read`` returns (at most 5 columns) and returning how
    many, -1 where ``read`` returns None."""
    _ROW_READERS[read] = capsule


# An integration's fixed-point decimal types (a Nautilus ``Price``) -> their C reader (``read_decimals_with``).
_DECIMAL_READERS: dict[type, object] = {}


def read_decimals_with(kinds: tuple[type, ...], capsule: object) -> None:
    """Compiled, a ``Reading`` of one of ``kinds`` reads its number through ``capsule``: a
    PyCapsule named "chartbridge.decimal" of a C function ``double (object) noexcept`` giving
    the number its integration's converter gives (NaN for another type)."""
    for kind in kinds:
        _DECIMAL_READERS[kind] = capsule


def read_clock_with(kind: type, capsule: object) -> None:
    """Read the ``timestamp_ns`` of clocks of ``kind`` through ``capsule``, a PyCapsule named
    "chartbridge.clock_ns" of a C function ``long long (object clock) except -1`` (the Nautilus
    recorder's, for its ``Clock``), when a bound ``timestamp_ns`` of one is the integration clock."""
    _CLOCK_READERS[kind] = capsule
    _on_clock(_clock_fixed, _clock_source)


def _on_clock(fixed: int | None, source: Callable[[], int] | None) -> None:
    global _clock_fixed, _clock_source, _clock_obj, _clock_read
    _clock_fixed, _clock_source, _clock_obj = fixed, source, None
    owner = getattr(source, "__self__", None)
    if not _COMPILED or owner is None or getattr(source, "__name__", None) != "timestamp_ns":
        return
    for kind, capsule in _CLOCK_READERS.items():
        if isinstance(owner, kind):
            _clock_read = clock_reader(capsule)  # type: ignore[name-defined]  # noqa: F821
            _clock_obj = owner
            return


_on_clock(clock._fixed, clock._source)
clock._listeners.append(_on_clock)


def _look() -> None:
    """Read ``session.ENABLED`` and the current run again when the session's epoch moved."""
    global _seen, _enabled, _run
    epoch = _long_at(_EPOCH, 0)
    if epoch != _seen:
        _enabled = session.ENABLED
        _run = session._session.run
        _seen = epoch


def enabled() -> bool:
    """``session.ENABLED``."""
    _look()
    return _enabled


def current_run() -> Any:
    """The session's current run (None before the first point)."""
    _look()
    return _run


def deferring() -> bool:
    """Whether the fast path defers its writes now (``producer.DEFERRING``)."""
    return bool(_long_at(_DEFERRING, 0))


def drain() -> None:
    """Write the deferred points of every sink into its buffers, each sink's in call order."""
    global _PENDING
    if not _PENDING:
        return
    with _DRAINING:
        sinks, _PENDING = _PENDING, []
        for sink in sinks:
            sink.drain()


producer.on_drain(__name__, drain)


def time_ns(t: object) -> int:
    """``t`` as a point's time in ns: a plain int in the protocol's range, else -1 (the full path
    decides). Compiled, a C integer: passing times as C integers from the clock to the buffer made
    no int object a point (the clock's time is beyond 2**30: an allocation each)."""
    if type(t) is not int:
        return -1
    try:
        ns: int = t  # compiled: a C long long, which a larger int overflows
    except OverflowError:
        return -1
    return ns if 0 <= ns < _TIME_LIMIT else -1


def now_ns() -> int:
    """The integration clock's time when it is a valid one, else -1 (the full path decides)."""
    t = _clock_fixed
    if t is None:
        if _clock_obj is not None:
            ns: int = _clock_read(_clock_obj)  # type: ignore[name-defined]  # noqa: F821
            return ns if 0 <= ns < _TIME_LIMIT else -1
        source = _clock_source
        if source is None:
            return -1
        t = source()
    return time_ns(t)


def clocked() -> bool:
    """Whether an integration clock is set (else a point's time is read from the call: ``call_ns``)."""
    return _clock_fixed is not None or _clock_source is not None


_PLAIN = clock._PLAIN
_TS_NAMES = clock.TIME_ATTRIBUTES


def call_ns(args: tuple[Any, ...], result: object) -> int:
    """The time of a decorated call's point: the integration clock's (``now_ns()``); with none
    set, ``clock.point_time``'s rule over the call's arguments, then its result (the first int
    ``ts_event`` or ``ts_init`` of a value that is not a plain one, e.g. a Nautilus ``Bar``
    handled by a strategy charted without the actor). -1 when the full path must decide: no
    such time (it charts the wall clock's), or one that is not a plain int."""
    if clocked():
        return now_ns()
    n = len(args)
    for i in range(n + 1):
        value = args[i] if i < n else result
        if type(value) in _PLAIN:
            continue
        for name in _TS_NAMES:
            ts = getattr(value, name, None)
            if type(ts) is int:
                ns = time_ns(ts)
                if ns >= 0:
                    return ns
            elif isinstance(ts, int) and type(ts) is not bool:
                return -1  # an int of another type: ``check_time``'s reading of it decides
    return -1


def finite(x: float) -> bool:
    """``math.isfinite`` as C arithmetic when compiled (inf - inf and NaN - NaN are NaN)."""
    return x - x == 0.0


_ROUND = 6755399441055744.0  # 1.5 * 2**52: x + _ROUND - _ROUND is x rounded to an integer for |x| < 2**51
_DIGITS_MAX = 1125899906842624.0  # 2**50: below it, float(x)'s error (3 ulp at most) cannot move the digits


def fixed(x: Any) -> float:
    """The nearest float of a fixed-point decimal with an int ``precision`` (digits after the
    point) and ``float(x)`` within a few ulps of it, as a Nautilus ``Price`` or ``Quantity``
    (``as_double()``, through the number protocol's slot rather than a method lookup):
    its digits are read back from the double exactly, and digits / 10**precision (both exact
    floats) is correctly rounded: the same float as dividing the decimal itself. NaN where that
    does not hold (over 15 decimals or 2**50 digits): the caller converts it the slow way."""
    p: int = x.precision
    if not 0 <= p <= 15:
        return _NAN
    scale: float = 10.0 ** p
    digits: float = float(x) * scale
    if not -_DIGITS_MAX < digits < _DIGITS_MAX:
        return _NAN
    return ((digits + _ROUND) - _ROUND) / scale


class Reading:
    """The results of one type other than float that a sink takes (``kind``: the type of the one
    the full path charted when it bound the sink; a Nautilus ``Price``, an int, a numpy scalar),
    read as the full path reads them (``series.number``): ``fixed`` where the sample is of a
    fixed-point decimal type (a Nautilus ``Price``: ``decimal_type``) and it reads the value,
    else the integration's converter, else ``float()``."""

    def __init__(self, sample: object) -> None:
        self.kind = type(sample)
        self.convert = converter_of(self.kind)
        self.decimal = decimal_type(sample)
        twin = _DECIMAL_READERS.get(self.kind) if _COMPILED else None
        self.in_c = twin is not None  # compiled: its integration's C reader (``read_decimals_with``)
        if self.in_c:
            self.read_c = decimal_reader(twin)  # type: ignore[name-defined]  # noqa: F821

    def value(self, result: object) -> float:
        """The number of ``result``; NaN where it is of another type or stands for none."""
        if type(result) is not self.kind:
            return _NAN
        if self.in_c:
            return self.read_c(result)  # type: ignore[no-any-return]
        if self.decimal is not None:
            x: float = fixed(result)
            if finite(x):
                return x
        return as_float(result) if self.convert is None else as_float(self.convert(result))


def reading_of(result: object) -> Reading | None:
    """The ``Reading`` of results like ``result``; None for a float (read as it is) or None."""
    return None if result is None or type(result) is float else Reading(result)


class Sink:
    """What a decorated call's result goes to on the fast path. ``run``: the run it writes in.
    This one takes nothing: bound in ``run`` where a series has no buffer yet, or to a marker
    series, it lets a call returning None return at once (``ChartedCall.call``)."""

    def __init__(self, run: Any = None) -> None:
        self.run = run

    def offer(self, result: object, t: int | None = None) -> bool:
        """Chart ``result`` at ``t`` (None: the integration clock's time); False (nothing
        changed) when the full path must decide."""
        return self.offer_ns(result, now_ns() if t is None else time_ns(t))

    def offer_ns(self, result: object, ns: int) -> bool:
        """``offer`` at ``ns``, a time ``time_ns`` checked (-1: none, False)."""
        return False

    def drain(self) -> None:
        """Write the points this sink deferred (``deferring``), in call order."""


def _defer_time(times: Any, ns: int) -> int:  # an array('q'), read in C
    """Append ``ns`` to a sink's deferred times; how many it held before."""
    n = len(times)
    if _COMPILED:
        grow(times, n + 1, 8)  # type: ignore[name-defined]  # noqa: F821
        times.data.as_longlongs[n] = ns
    else:
        times.append(ns)
    return n


def _long_at(values: Any, i: int) -> int:
    """``values[i]`` of an ``array('q')``, read from its memory when compiled (indexed, Cython
    makes an int object of it: ~160 instructions, at each decorated call for the epoch)."""
    if _COMPILED:
        return values.data.as_longlongs[i]  # type: ignore[no-any-return]
    return values[i]  # type: ignore[no-any-return]


class Line(Sink):
    """The buffer one series writes to in ``run`` (one value per point, or a candle's columns).
    Times are C integers here (``ns``): ``time_ns`` checked that they fit."""

    def __init__(self, run: Any, buffer: Any) -> None:
        self.run, self.buffer = run, buffer
        self.reading: Reading | None = None  # the results other than floats it takes (``offer_ns``)
        self.lock = buffer.lock
        self.acquire, self.release, self.locked = buffer.lock.acquire, buffer.lock.release, buffer.lock.locked
        self.read_lock = _READS_LOCKS and type(buffer.lock) is _LOCK
        self.t, self.v, self.last = buffer.t, buffer.v, buffer.last
        self.markers = buffer.markers  # a marker series' objects (None for any other kind)

    def current(self, ns: int) -> bool:
        """Whether a point at ``ns`` may go into this buffer now."""
        if self.run is not current_run():
            return False
        return self.after(ns)

    def after(self, ns: int) -> bool:
        """Whether ``ns`` is not before the buffer's last point (``current`` without the run)."""
        return ns >= _long_at(self.last, 0)

    def free(self) -> bool:
        """Compiled under the GIL: whether the buffer's lock is free. Every other writer and the
        producer's ``take`` hold it throughout, so while it is free and no Python code runs, no
        other thread writes to the buffer (read in C where it can be: a Python call cost ~100
        instructions and its code's cache lines a point in a backtest)."""
        if self.read_lock:
            return not lock_held(self.lock)  # type: ignore[name-defined]  # noqa: F821
        return _GIL_HELD and not self.locked()

    def hold(self) -> bool:
        """Have the buffer to this thread alone until the point is written; True: the lock was
        taken (release it then). A free lock is enough (``free``: nothing from here until the
        point is written runs Python code), one cheap call rather than acquire and release,
        which parse their arguments."""
        if self.free():
            return False
        self.acquire()
        return True

    # Compiled, the arrays grow (arrays.pxd's ``grow``, cimported by fastline.pxd) and are written
    # in C: a call's appends cost a few ns rather than a method call each.
    def stamp(self, ns: int) -> int:
        """Held (``hold``): the time of a point whose values follow (``current(ns)`` was checked).
        Returns the points the buffer held before: ``written`` tells it once the point is written."""
        n = len(self.t)
        if _COMPILED:
            self.last.data.as_longlongs[0] = ns
            grow(self.t, n + 1, 8)  # type: ignore[name-defined]  # noqa: F821
            self.t.data.as_longlongs[n] = ns
        else:
            self.last[0] = ns
            self.t.append(ns)
        return n

    def put(self, x: float) -> None:
        """Held: one value of the point."""
        if _COMPILED:
            n = len(self.v)
            grow(self.v, n + 1, 8)  # type: ignore[name-defined]  # noqa: F821
            self.v.data.as_doubles[n] = x
        else:
            self.v.append(x)

    def written(self, n: int, k: int = 1) -> None:
        """``k`` points were written to the buffer that held ``n``: wake the producer at the
        first, hand over at each HAND_OVER_POINTS (``PointBuffer.nudge``/``full``; Python code, so
        after the points are written and the lock released)."""
        if n == 0 and k:
            self.buffer.nudge()
        if (n + k) // _HAND_OVER > n // _HAND_OVER:
            self.buffer.full()

    # A batch written in place (the drain's ``write_run``, compiled): ``reserve``, the points
    # written to the arrays' data, ``commit``, then ``written``, with no Python code run until
    # every buffer of the batch is committed (``free``: no other thread runs meanwhile).
    def reserve(self, k: int, width: int) -> int:
        """Room for ``k`` more points of ``width`` values each; returns the points held, where
        the batch starts (``t``'s and ``v``'s data from there)."""
        n = len(self.t)
        grow(self.t, n + k, 8)  # type: ignore[name-defined]  # noqa: F821
        grow(self.v, (n + k) * width, 8)  # type: ignore[name-defined]  # noqa: F821
        return n

    def commit(self, n: int, k: int, width: int) -> None:
        """The first ``k`` points from ``n`` that ``reserve`` made room for are written."""
        grow(self.t, n + k, 8)  # type: ignore[name-defined]  # noqa: F821
        grow(self.v, (n + k) * width, 8)  # type: ignore[name-defined]  # noqa: F821
        if k:
            self.last.data.as_longlongs[0] = self.t.data.as_longlongs[n + k - 1]

    def add(self, ns: int, x: float, marker: dict[str, Any] | None) -> bool:
        """Append the point (``ns``, ``x``), and ``marker`` to a marker series' objects; False
        (nothing written) when another writer's point came after ``ns`` since ``after(ns)`` was
        checked: the full path refuses it then."""
        held = self.hold()
        try:
            if not self.after(ns):  # again: taking a held lock let other threads run
                return False
            n = self.stamp(ns)
            self.put(x)
            if marker is not None:
                self.markers.append(marker)
        finally:
            if held:
                self.release()
        self.written(n)
        return True

    def add_row(self, ns: int, row: list[float], width: int) -> bool:
        """Append a point of the first ``width`` columns of ``row`` (False as for ``add``)."""
        held = self.hold()
        try:
            if not self.after(ns):
                return False
            n = self.stamp(ns)
            if _COMPILED:  # the columns in one growth (``put`` each grew the array: ~60 instructions a value)
                m = len(self.v)
                grow(self.v, m + width, 8)  # type: ignore[name-defined]  # noqa: F821
                for i in range(width):
                    self.v.data.as_doubles[m + i] = row[i]
            else:
                for i in range(width):
                    self.v.append(row[i])
        finally:
            if held:
                self.release()
        self.written(n)
        return True

    def offer_ns(self, result: object, ns: int) -> bool:
        if type(result) is float:
            x: float = result
        elif self.reading is not None:
            x = self.reading.value(result)
        else:
            return False
        return finite(x) and ns >= 0 and self.current(ns) and self.add(ns, x, None)


class Candles(Sink):
    """A candle series' buffer, taking results of ``kind``, the type of the one the full path
    charted when it bound the sink: a tuple or list of open, high, low, close[, volume], a mapping
    of those keys, or an object with those attributes (a Nautilus ``Bar``). ``price``/``volume``:
    the ``Reading`` of the sample's open and volume (None: a float, or none), so each part is the
    number the full path charts (a Nautilus ``Price``: its exact decimal); a part of another type
    is declined. ``read``: the integration's compiled reader of all the columns at once
    (``series.row_reader_of``; a ``kind`` or None), which makes no object per part; None: the
    parts are read one by one. Compiled, a ``read`` with a C twin (``read_rows_with``) is not
    called: its twin writes the columns into ``row``."""

    def __init__(self, line: Line, sample: object, read: Callable[[Any], tuple[float, ...] | None] | None = None,
                 series: Any = None) -> None:
        self.line, self.kind, self.run = line, type(sample), line.run
        self.shape = _SEQUENCE if isinstance(sample, (tuple, list)) else _MAPPING if isinstance(sample, Mapping) else 0
        self.price = reading_of(self.column(sample, 0))
        self.volume = reading_of(self.column(sample, 4))
        self.read = read
        self.series = series
        self.pending: list[Any] = []  # deferred results, their times in ``pending_t``
        self.pending_t: Any = array("q")
        self.draining = False
        self.width = line.buffer.width  # fixed by the series' first point, which the full path wrote
        self.row = [0.0] * 5  # the columns of the result offered last
        twin = _ROW_READERS.get(read) if _COMPILED and read is not None else None
        self.in_c = twin is not None
        if self.in_c:
            self.read_into = row_reader(twin)  # type: ignore[name-defined]  # noqa: F821
        # Deferred only where nothing can change a result before the drain reads it: an
        # integration's bars (``read``: a Nautilus ``Bar``), or a tuple of floats and of an
        # integration's fixed-point values read in C (Nautilus ``Price``s and ``Quantity``s:
        # ``keeps_tuple``, each one's parts checked at its call by ``unchanging``), never an object
        # its caller may change. What the drain declines goes to ``series`` (the full path's
        # charting: refused and counted).
        self.keeps_tuple = read is None and type(sample) is tuple and all(
            reading is None or reading.in_c for reading in (self.price, self.volume))
        self.defers = series is not None and (read is not None or self.keeps_tuple)

    def column(self, result: Any, i: int) -> object:
        """Part ``i`` (0 open ... 4 volume) of ``result``; None where it has none (a volume)."""
        if self.shape == _SEQUENCE:
            return result[i] if i < len(result) else None
        if self.shape == _MAPPING:
            return result[_COLUMNS[i]] if i < 4 else result.get("volume")
        return getattr(result, _COLUMNS[i]) if i < 4 else getattr(result, "volume", None)

    def part(self, x: object, reading: Reading | None) -> float:
        if type(x) is float:
            return x
        return _NAN if reading is None else reading.value(x)

    def parts(self, result: object) -> int:
        """Read the columns of ``result`` one by one (open, high, low, close[, volume]: a tuple's
        items, a mapping's keys, an object's attributes) into ``row``; how many (-1: not 4 or 5)."""
        if self.shape == _SEQUENCE:  # its items, its length read once
            n = len(result)  # type: ignore[arg-type]
            if n != 4 and n != 5:
                return -1
            for i in range(4):
                self.row[i] = self.part(result[i], self.price)  # type: ignore[index]
            if n == 4:
                return 4
            self.row[4] = self.part(result[4], self.volume)  # type: ignore[index]  # None: no number, as on the full path
            return 5
        for i in range(4):
            self.row[i] = self.part(self.column(result, i), self.price)
        volume = self.column(result, 4)
        if volume is None:
            return 4
        self.row[4] = self.part(volume, self.volume)
        return 5

    def take(self, result: object) -> int:
        """Read the columns of ``result`` into ``row``; how many (-1: none)."""
        if self.in_c:
            return self.read_into(result, self.row)  # type: ignore[no-any-return]
        if self.read is None:
            return self.parts(result)
        values = self.read(result)
        if values is None or len(values) > 5:
            return -1
        for i in range(len(values)):
            self.row[i] = values[i]
        return len(values)

    def offer_ns(self, result: object, ns: int) -> bool:
        if type(result) is not self.kind:
            return False
        if (self.defers and ns >= 0 and (deferring() or self.pending or self.draining)
                and self.line.run is current_run()):
            if self.keeps_tuple and not self.unchanging(result):
                return False  # the full path reads it now, after what was deferred (``drain``)
            if not self.pending:
                _PENDING.append(self)
            self.pending.append(result)
            if (_defer_time(self.pending_t, ns) + 1) % _HAND_OVER == 0:
                self.line.buffer.full()  # a replay's hand-over, as for points written (``Line.written``)
            return True
        return self.write(result, ns)

    def unchanging(self, result: Any) -> bool:
        """Whether a tuple's parts are as many as the series' columns and each a float or of its
        ``Reading``'s type (``keeps_tuple``: values nothing changes)."""
        n = len(result)
        if n != self.width:
            return False
        for i in range(n):
            kind = type(result[i])
            reading = self.price if i < 4 else self.volume
            if kind is not float and (reading is None or kind is not reading.kind):
                return False
        return True

    def drain(self) -> None:
        self.draining = True  # until it is done, later calls defer too: they come after these
        try:
            while self.pending:
                results, times = self.pending, self.pending_t
                self.pending, self.pending_t = [], array("q")
                i = self.write_run(results, times, 0)
                while i < len(results):  # one the batch did not take: as at a call
                    ns = _long_at(times, i)
                    try:
                        written = self.write(results[i], ns)
                    except Exception:
                        written = False  # as at a call: the full path meets it again, and logs it
                    if not written:
                        self.series.record(results[i], ns)
                    i = self.write_run(results, times, i + 1)
        finally:
            self.draining = False

    def write(self, result: object, ns: int) -> bool:
        """Write ``result`` (of ``kind``) at ``ns``: False (nothing written) when it is not a
        valid candle of the series' columns at a time it may take."""
        if not self.valid(self.take(result)):
            return False
        return ns >= 0 and self.line.current(ns) and self.line.add_row(ns, self.row, self.width)

    def valid(self, n: int) -> bool:
        """Whether ``row``'s ``n`` columns are a candle of the series: as many columns, finite,
        the low and high around the open and close."""
        if n != self.width:
            return False
        row = self.row
        for i in range(n):
            if not finite(row[i]):
                return False
        o, h, lo, c = row[0], row[1], row[2], row[3]
        return lo <= min(o, c) and h >= max(o, c)

    def write_run(self, results: list[Any], times: Any, i: int) -> int:
        """Compiled, with the bars read in C: write the deferred ``results[i:]`` in one batch
        (``Line.reserve``) up to the first one ``write`` would not write at once, whose index
        it returns; interpreted, ``i`` (each one goes to ``write``). A point written at each
        call cost ~45 ns in the drain (its own hold, order check, growth and stamp)."""
        line = self.line
        if not (_COMPILED and self.in_c and i < len(results) and line.free() and line.current(_long_at(times, i))):
            return i
        width, n = self.width, len(results)
        start = line.reserve(n - i, width)
        t, v, row, ts = line.t.data.as_longlongs, line.v.data.as_doubles, self.row, times.data.as_longlongs
        last, j, k = ts[i], i, start
        while j < n and ts[j] >= last and self.valid(self.read_into(results[j], row)):
            last = t[k] = ts[j]
            for c in range(width):
                v[k * width + c] = row[c]
            j += 1
            k += 1
        line.commit(start, j - i, width)
        line.written(start, j - i)
        return j


# ``Candles.shape``: how a result holds its columns (0: as attributes).
_SEQUENCE, _MAPPING = 1, 2
_COLUMNS = ("open", "high", "low", "close", "volume")


class Indicated(Sink):
    """An indicator fed by a decorated call: ``outputs`` are its lines (``series``, their
    ``Series``, reject what is not finite), ``raw`` the line of the input itself (or None; its
    ``Series``: ``raw_series``). ``bar`` is the bar type whose ``source`` input it takes (None:
    floats only). A point a line declines once the indicator took the input goes to its
    ``Series``, which refuses and counts it as the full path does."""

    def __init__(self, indicator: Indicator, bar: type | None, source: int, where: str, raw: Line | None,
                 outputs: list[Line], series: list[Any], raw_series: Any = None,
                 feed: Callable[[float, int], None] | None = None, reading: Reading | None = None) -> None:
        self.indicator, self.bar, self.source, self.where = indicator, bar, source, where
        self.reading = reading  # the inputs other than floats and bars it takes
        self.raw, self.outputs, self.series, self.raw_series = raw, outputs, series, raw_series
        self.feed = feed  # the full path's steps for an input (a point the drain's lines declined)
        self.run = outputs[0].run  # every line is bound in this run
        self.values = [0.0, 0.0, 0.0]  # the indicator's outputs, 3 at most (compiled, a C array)
        self.pending_x: Any = array("d")  # deferred inputs and (``pending_t``) their times, read in C
        self.pending_t: Any = array("q")
        self.draining = False

    def offer_ns(self, result: object, ns: int) -> bool:
        if type(result) is float:
            x: float = result
        elif self.bar is not None and type(result) is self.bar:
            x = bar_value(result, self.source, self.where)
        elif self.reading is not None:
            x = self.reading.value(result)
        else:
            return False
        if not finite(x):
            return False
        if ns < 0 or self.run is not current_run():
            return False
        if self.feed is not None and (deferring() or len(self.pending_t) or self.draining):
            n = _defer_time(self.pending_t, ns)
            if not n:
                _PENDING.append(self)
            if _COMPILED:
                grow(self.pending_x, n + 1, 8)  # type: ignore[name-defined]  # noqa: F821
                self.pending_x.data.as_doubles[n] = x
            else:
                self.pending_x.append(x)
            if (n + 1) % _HAND_OVER == 0:
                self.outputs[0].buffer.full()  # a replay's hand-over, as for points written (``Line.written``)
            return True
        return self.write(x, ns)

    def drain(self) -> None:
        self.draining = True  # until it is done, later calls defer too: they come after these
        try:
            while len(self.pending_t):
                xs, times = self.pending_x, self.pending_t
                self.pending_x, self.pending_t = array("d"), array("q")
                i = self.write_run(xs, times, 0)
                while i < len(times):  # one the batch did not take: as at a call
                    x = xs.data.as_doubles[i] if _COMPILED else xs[i]
                    ns = _long_at(times, i)
                    try:
                        written = self.write(x, ns)
                    except Exception:
                        written = False  # as at a call: the full path meets it again, and logs it
                    if not written:
                        assert self.feed is not None  # only a sink with one defers
                        self.feed(x, ns)
                    i = self.write_run(xs, times, i + 1)
        finally:
            self.draining = False

    def write_run(self, xs: Any, times: Any, i: int) -> int:
        """Compiled: feed the deferred inputs from ``i`` on to the indicator and write them and
        its outputs in one batch per line (``Line.reserve``) while the times are in order and
        every line takes them, up to and including the first input with an output that is not
        finite (refused and counted as ``write`` does); returns where it stopped, the input
        ``write`` decides. Interpreted, ``i``: ``write`` decides each. A point written at each
        input cost ~45 ns in the drain (its own hold, order check, growth and stamp)."""
        n = len(times)
        if not _COMPILED or i >= n:
            return i
        lines = ([self.raw] if self.raw is not None else []) + self.outputs
        ts = times.data.as_longlongs
        for line in lines:
            if not (line.free() and line.after(ts[i])):
                return i
        end = i + 1
        while end < n and ts[end] >= ts[end - 1]:
            end += 1
        # The indicator's outputs per input (3 at most), and how many it gave (0: warming up).
        outs: Any = array("d", bytes(24 * (end - i)))
        counts: Any = array("q", bytes(8 * (end - i)))
        out, count, x = outs.data.as_doubles, counts.data.as_longlongs, xs.data.as_doubles
        refused = False
        for j in range(end - i):
            count[j] = self.indicator.into(x[i + j], out + 3 * j)
            for c in range(count[j]):
                refused = refused or not finite(out[3 * j + c])
            if refused:
                end = i + j + 1
                break
        starts = []
        for c in range(len(lines)):
            line = lines[c]
            start = line.reserve(end - i, 1)
            t, v, k = line.t.data.as_longlongs, line.v.data.as_doubles, start
            output = c - (self.raw is not None)  # -1: the raw line
            for j in range(end - i):
                value = x[i + j] if output < 0 else out[3 * j + output]
                if output < count[j] and finite(value):
                    t[k] = ts[i + j]
                    v[k] = value
                    k += 1
            line.commit(start, k - start, 1)
            starts.append((start, k - start))
        for c in range(len(lines)):  # once every line is committed: Python code
            line = lines[c]
            start, k = starts[c]
            line.written(start, k)
        if refused:
            j = end - i - 1
            for c in range(count[j]):
                if not finite(out[3 * j + c]):
                    self.series[c].record(out[3 * j + c], ts[end - 1])
        return end

    def write(self, x: float, ns: int) -> bool:
        """Feed ``x`` to the indicator and write its outputs (and ``x``) at ``ns``; False (the
        indicator not fed) when a line does not take ``ns``."""
        raw = self.raw
        if raw is not None and not raw.after(ns):
            return False
        for line in self.outputs:
            if not line.after(ns):
                return False
        n = self.indicator.into(x, self.values)
        if raw is not None and not raw.add(ns, x, None):
            self.raw_series.record(x, ns)
        for i in range(n):
            line = self.outputs[i]
            v = self.values[i]
            if not (finite(v) and line.add(ns, v, None)):
                self.series[i].record(v, ns)  # refused and counted as the full path does
        return True


def decimal_type(x: Any) -> type | None:
    """The type of ``x`` when ``fixed`` converts it (a Nautilus ``Price``) as its integration's
    converter does; None otherwise."""
    convert = converter_of(type(x))
    try:
        exact = convert is not None and fixed(x) == convert(x)
    except Exception:  # no int precision or float(): not a fixed-point decimal
        return None
    return type(x) if exact else None


class Marks:
    """A marker series' line in the run it was charted in last, and the type of the prices it
    converts as ``fixed`` decimals (a Nautilus ``Price``; None: none yet): ``marker``'s fast path."""

    def __init__(self, line: Line) -> None:
        self.line = line
        self.decimal: type | None = None

    def mark(self, side: Any, price: Any, text: Any) -> bool:
        """Write the marker: True once written; False (nothing written) when the full path must
        decide. ``target`` needs no look: it counts only when the series is made."""
        line = self.line
        if line.run is not current_run():
            return False
        ns = now_ns()
        if ns < 0 or not line.after(ns) or type(text) is not str or len(text) > _MAX_TEXT:
            return False
        if side is not None:
            side = _SIDES.get((type(side), side))
            if side is None:
                return False
        if price is None:
            x: float = _NAN
        elif type(price) is float:
            x = price
            if x == x and not finite(x):
                return False  # NaN is a price placed by side, as on the full path
        elif type(price) is self.decimal:
            x = fixed(price)
            if not finite(x):
                return False
        else:
            return False
        return line.add(ns, x, {"side": side, "text": text})


# The frames from a user's ``cb.marker`` call to the full path's: compiled, this module's
# functions have none.
_MARKER_DEPTH = 2 if COMPILED else 3
_MAX_TEXT = MAX_MARKER_TEXT
_SIDES = SIDES
_MARKS: dict[str, Marks] = {}  # by a marker series' name


def bound_marks(series: str) -> Marks | None:
    """The ``Marks`` the fast path writes the marker series ``series`` with (None: none yet)."""
    return _MARKS.get(series)


def marker(series: str = "markers", *, side: Any = None, price: Any = None, text: str = "",
           shape: str | None = None, position: str | None = None, color: str | None = None,
           target: str | None = None, time: int | None = None) -> None:
    """Chart an entry/exit marker on the marker series ``series``, drawn on series ``target``.

    ``side`` is "buy", "sell", None or an enum like Nautilus ``OrderSide``; ``price`` any
    number-like (None: no price, placed by side; a Nautilus ``Price``: its exact decimal);
    ``shape``/``position``/``color`` as in the SPEC. Raises ``ProtocolError`` for invalid input.

    >>> cb.marker("fills", side=fill.order_side, price=fill.last_px, text="fill", target="EMACross.on_bar")

    A fill per bar is common: the usual call (a series charted in this run, a side and a price
    type seen before, the integration clock's time) is written by ``Marks``; anything else takes
    the full path (``series.marker``), which checks each part and raises.
    """
    if shape is None and position is None and color is None and time is None and enabled():
        marks = _MARKS.get(series)
        try:
            if marks is not None and marks.mark(side, price, text):
                return
        except Exception:
            pass  # the full path meets it again, and raises
    bound = full_marker(series, side=side, price=price, text=text, shape=shape, position=position, color=color,
                        target=target, time=time, depth=_MARKER_DEPTH)
    if bound is not None:
        marks = _MARKS.get(series)
        if marks is None or marks.line.run is not bound[0] or marks.line.buffer is not bound[1]:
            marks = _MARKS[series] = Marks(Line(bound[0], bound[1]))
        if marks.decimal is None:
            marks.decimal = decimal_type(price)


def series_set(series: ChartedAttribute, instance: Any, value: Any) -> int:
    """``Series.__set__`` (installed as ``ChartedAttribute``'s assignment), a descriptor's
    assignment: keep ``value`` on ``instance`` and chart it, through the sink bound at the series'
    last point (``Series.sink``) when it takes it, else the full path (``Series.assign``).
    Compiled, an assignment at each bar runs no Python frame."""
    (instance_dict(instance) if _COMPILED else instance.__dict__)[series._attr] = value  # type: ignore[name-defined]  # noqa: F821
    if value is None or not enabled():
        return 0
    fast = series._fast
    try:
        if fast is not None and fast.offer_ns(value, now_ns()):
            return 0
    except Exception:
        pass  # the full path meets it again, and says what is wrong
    series.assign(value)  # type: ignore[attr-defined]  # a Series: ChartedAttribute's one class
    return 0


if __name__ == "chartbridge.fastline":  # not a copy of this file run interpreted beside it (the tests')
    if _COMPILED:
        install_setter(series_set)  # type: ignore[name-defined]  # noqa: F821  # the C function, as a C pointer
    else:
        charted_attribute.install(series_set)


def wrap(func: Callable[..., Any], full: Callable[[Any, tuple[Any, ...], dict[str, Any]], Sink | None],
         sinks: dict[int, tuple[object, Sink | None]] | None = None) -> Callable[..., Any]:
    """The wrapper of ``func``, wearing its name, signature and docstring, whose calls are
    ``ChartedCall(func, full, sinks)``'s; that ``ChartedCall`` is its ``charted``. Compiled, a
    ``ChartedFunction`` (charted_function.h: called with the caller's arguments as they are,
    binding as a method); interpreted, a Python function."""
    charted = ChartedCall(func, full, sinks)
    wrapper = _calling(charted)
    functools.update_wrapper(wrapper, func)  # copies ``func.__dict__``: a stacked wrapper's ``charted`` too
    wrapper.charted = charted  # type: ignore[attr-defined]
    return wrapper


def _calling(charted: ChartedCall) -> Callable[..., Any]:
    if _COMPILED:
        return charted_function(charted)  # type: ignore[name-defined,no-any-return]  # noqa: F821

    def charted_call(*args: Any, **kwargs: Any) -> Any:
        result = charted.func(*args, **kwargs)
        if not charted.took(result, args[0] if args else None):
            charted.missed(result, args, kwargs)
        return result
    return charted_call


def _took(charted: Any, result: object, owner: object) -> int:
    """``ChartedCall.took`` for charted_function.h."""
    return charted.took(result, owner)  # type: ignore[no-any-return]


def _missed(charted: Any, result: object, args: Any, kwargs: Any) -> object:
    """``ChartedCall.missed`` for charted_function.h."""
    return charted.missed(result, args, kwargs)


class ChartedCall:
    """A decorated function's calls: ``func`` called (by its wrapper, ``wrap``), its result charted.

    ``sinks`` (a method's; None for a function): id of the calling object -> (object, its
    sink), filled and emptied by the full path. Each object charts into its own series, so the
    bound sink is the last caller's: a call by another object takes that object's sink."""

    def __init__(self, func: Callable[..., Any],
                 full: Callable[[Any, tuple[Any, ...], dict[str, Any]], Sink | None],
                 sinks: dict[int, tuple[object, Sink | None]] | None = None) -> None:
        self.func, self.full, self.sinks = func, full, sinks
        self.sink: Sink | None = None
        self.owner: object = None

    def took(self, result: object, owner: object) -> bool:
        """Whether ``result`` of a call by ``owner`` (its first argument; None: none) is charted,
        or there is nothing to chart; False: ``missed`` decides, given the call's arguments."""
        if not enabled():
            return True
        if self.sinks is not None and owner is not self.owner:
            self.switch(owner)
        sink = self.sink
        if sink is None:
            return False
        if result is None and sink.run is current_run():
            return True  # every full path skips None (the object already has its key in the run)
        if not clocked():
            return False  # the point's time is read from the arguments (``call_ns``)
        try:
            return sink.offer_ns(result, now_ns())
        except Exception:
            return False  # the full path meets it again, and logs it

    def missed(self, result: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> object:
        """Chart what ``took`` did not: with no integration clock, the sink at the time
        ``call_ns`` reads from the arguments; else the full path. Returns ``result``."""
        sink = self.sink
        if sink is not None and not clocked():
            try:
                if sink.offer_ns(result, call_ns(args, result)):
                    return result
            except Exception:
                pass  # the full path meets it again, and logs it
        drain()  # the full path feeds the same indicators and buffers: after the deferred points
        self.sink = self.full(result, args, kwargs)
        return result

    def switch(self, caller: object) -> None:
        """Bind the sink of ``caller``, a method's calling object (None: it has none yet)."""
        found = self.sinks.get(id(caller)) if self.sinks is not None else None
        self.sink = found[1] if found is not None and found[0] is caller else None
        self.owner = caller
