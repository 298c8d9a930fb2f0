"""Series: what a chart line, candle or marker series is, and how values become points.

Bad input follows one rule. An explicit call (``Series.add``, ``publish_points``,
``cb.marker``) raises ``ProtocolError``: the caller passed the bad value and can handle it.
Implicit charting (decorators, assignment to a ``cb.series`` attribute) never raises into the
strategy: the point is not charted, the first rejection per series and error code is logged as
a warning, and every one is counted in ``cb.stats()["rejected"]``. ``None`` is "no point" there.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from math import isfinite
from typing import TYPE_CHECKING, Any

from . import clock, session
from .charted_attribute import ChartedAttribute
from .protocol import (
    CANDLE_KINDS, CANONICAL_NAN, MAX_REGISTRY_JSON, ProtocolError, check_batch, check_candle, check_finite,
    check_kind, check_marker, check_series_id, check_time, marker_object, sanitize_series_id, to_float,
)
from .runs import STRATEGY_HINT, dumps

if TYPE_CHECKING:
    from . import fastline
    from .producer import PointBuffer
    from .runs import Run

log = logging.getLogger("chartbridge")

Source = tuple[str, int]
PluginSpec = str | Iterable[str] | Mapping[str, Mapping[str, Any]] | None
Converter = Callable[[Any], float | None]
Resolver = Callable[[type], Converter | None]

# Integrations teach the SDK the value types of their framework: a resolver maps a type (e.g.
# Nautilus ``QuoteTick``) to a converter, resolved once per type and cached here (None: a plain
# number-like, converted by ``to_float``). A value of a framework's type loads its integration's
# converters on first sight, so a decorated strategy needs no extra import.
_CONVERTERS: dict[type, Converter | None] = {}
_RESOLVERS: list[Resolver] = []
_INTEGRATIONS = {"nautilus_trader": "chartbridge.nautilus.convert"}


def register_resolver(resolve: Resolver) -> None:
    """Add ``resolve(type) -> converter or None`` for values ``to_float`` does not know."""
    _RESOLVERS.append(resolve)
    _CONVERTERS.clear()


def _resolve(kind: type) -> Converter | None:
    module = _INTEGRATIONS.get(kind.__module__.partition(".")[0])
    if module is not None and module not in sys.modules:
        importlib.import_module(module)  # registers its resolver
    convert = next((c for c in (resolve(kind) for resolve in _RESOLVERS) if c is not None), None)
    _CONVERTERS[kind] = convert
    return convert


RowReader = Callable[[Any], "tuple[float, ...] | None"]
_ROW_READERS: list[Callable[[type], RowReader | None]] = []


def register_row_reader(resolve: Callable[[type], RowReader | None]) -> None:
    """Add ``resolve(type) -> reader or None``: a reader gives a value's candle columns (open,
    high, low, close[, volume]) at once, as the converters would give each, or None."""
    _ROW_READERS.append(resolve)


def row_reader_of(kind: type) -> RowReader | None:
    """The integration's reader of the candle columns of a ``kind`` (None: read part by part)."""
    converter_of(kind)  # loads its integration
    return next((read for read in (resolve(kind) for resolve in _ROW_READERS) if read is not None), None)


def converter_of(kind: type) -> Converter | None:
    """The integration's converter of values of ``kind`` (None: a plain number-like, ``to_float``)."""
    return _CONVERTERS[kind] if kind in _CONVERTERS else _resolve(kind)


def number(value: Any, where: str) -> float | None:
    """The number ``value`` stands for, by its integration's rule (see ``chartbridge.nautilus.convert``)
    or ``to_float``; None means "no point" (e.g. an indicator still warming up)."""
    convert = converter_of(type(value))
    return to_float(value, where) if convert is None else convert(value)


def caller_source(depth: int = 2) -> Source:
    """File and line of the code ``depth`` frames up (where a series was declared)."""
    frame = sys._getframe(depth)
    return os.path.abspath(frame.f_code.co_filename), frame.f_lineno


def hint_strategy(qualname: str) -> None:
    """Remember the class of the first charted method: it names the default run."""
    owner, dot, _ = qualname.rpartition(".")
    if dot and "<" not in owner and not STRATEGY_HINT:
        STRATEGY_HINT.append(owner.rpartition(".")[2])


class RunScoped:
    """Tables that start empty in each run: ``fresh()`` empties them once the current run is not
    the one they were filled in (what was filled before a run began belongs to the run that
    begins next: a run starts at its first point)."""

    def __init__(self, *tables: dict[Any, Any]) -> None:
        self.tables = tables
        self.run: Run | None = None

    def fresh(self) -> None:
        run = session.current().run
        if run is not self.run:
            if self.run is not None:
                for table in self.tables:
                    table.clear()
            self.run = run


# Per class defining a charted method: the objects that called one in this run, and their keys.
_OWNERS: dict[str, dict[int, tuple[object, str]]] = {}
_OWNERS_RUN = RunScoped(_OWNERS)


def owner_class(func: Any) -> str | None:
    """The qualname of the class whose body defines ``func`` (None: a plain function)."""
    owner, dot, _ = str(getattr(func, "__qualname__", "")).rpartition(".")
    return owner if dot and not owner.endswith("<locals>") else None


def instance_key(cls: str, obj: object) -> str | None:
    """The suffix of the series ids a charted method of class ``cls`` gets when ``obj`` calls it
    (protocol/SPEC.md section 1): "" for the first such object in the run, ``/<component id>``
    (a Nautilus strategy's ``self.id``, on 2.x ``strategy_id``, e.g. ``/EMACross-002``) or else
    ``/<n>`` (the n-th object) for each further one. None: ``obj`` is not an instance of ``cls``."""
    _OWNERS_RUN.fresh()
    seen = _OWNERS.setdefault(cls, {})
    found = seen.get(id(obj))
    if found is not None and found[0] is obj:
        return found[1]
    if not any(c.__qualname__ == cls for c in type(obj).__mro__):
        return None
    key = ""
    if seen:
        taken = {k for _, k in seen.values()}
        # the component id: 1.x's ``self.id``; a 2.x strategy has ``strategy_id`` (an actor ``actor_id``)
        name = next((v for v in (getattr(obj, a, None) for a in ("id", "strategy_id", "actor_id"))
                     if v is not None), None)
        key = "" if name is None or callable(name) else "/" + re.sub(r"[^A-Za-z0-9_.-]", "_", str(name))[:60]
        n = len(seen) + 1
        while key in taken or key in ("", "/"):
            key, n = f"/{n}", n + 1
    seen[id(obj)] = (obj, key)  # the object is kept for the run: its id is not reused meanwhile
    return key


def _part(x: Any, where: str) -> float:
    """A candle's price or volume by its integration's rule (a Nautilus ``Quantity`` exactly, where
    ``float()`` is one ulp off at times)."""
    value = number(x, where)
    if value is None:
        raise ProtocolError("E_VALUE", f"{where}: {x!r} is not a number")
    return value


def candle_values(value: Any, where: str) -> tuple[float, ...]:
    """(open, high, low, close[, volume]) from a tuple, a mapping or an object with those
    attributes (a Nautilus ``Bar``: ``Price``/``Quantity`` convert with ``float``)."""
    names = ("open", "high", "low", "close", "volume")
    if isinstance(value, (tuple, list)):
        if len(value) not in (4, 5):
            raise ProtocolError("E_VALUE", f"{where}: a candle tuple has 4 or 5 items, not {len(value)}")
        parts: Sequence[Any] = value
    elif isinstance(value, Mapping):
        parts = [value[n] for n in names if n in value]
        if len(parts) < 4 or any(n not in value for n in names[:4]):
            raise ProtocolError("E_VALUE", f"{where}: a candle mapping needs open, high, low, close")
    elif all(hasattr(value, n) for n in names[:4]):
        parts = [getattr(value, n) for n in names if getattr(value, n, None) is not None]
    else:
        raise ProtocolError("E_VALUE", f"{where}: {value!r} is not a candle (tuple, mapping or open/high/low/close)")
    floats = tuple(check_finite(_part(x, f"{where}.{n}"), f"{where}.{n}") for x, n in zip(parts, names))
    check_candle(floats[0], floats[1], floats[2], floats[3], where)
    return floats


# Sides already read, by (type, value): an enum such as Nautilus ``OrderSide.BUY`` is read once
# (and ``cb.marker``'s fast path, ``fastline.marker``, takes only these).
SIDES: dict[tuple[type, Any], str] = {}


def side_of(side: Any) -> str | None:
    """'buy'/'sell'/None from a string or an enum such as Nautilus ``OrderSide.BUY``."""
    if side is None:
        return None
    try:
        return SIDES[type(side), side]
    except (KeyError, TypeError):  # not seen yet, or not hashable
        pass
    name = getattr(side, "name", side)
    if isinstance(name, str) and name.lower() in ("buy", "sell"):
        found = SIDES[type(side), side] = name.lower()
        return found
    raise ProtocolError("E_MARKER", f"side {side!r} is not 'buy', 'sell' or None")


def _plugin_params(plugins: PluginSpec, series_id: str) -> dict[str, dict[str, Any]]:
    if plugins is None:
        return {}
    if isinstance(plugins, str):
        plugins = [plugins]
    if isinstance(plugins, Mapping):
        return {name: {"series": series_id, **params} for name, params in plugins.items()}
    return {name: {"series": series_id} for name in plugins}


class Series(ChartedAttribute):
    """A chart series.

    As a class attribute it is a descriptor: every assignment charts the value::

        class EMACross(Strategy):
            fast = cb.series(kind="line", color="#2962ff")   # id "EMACross.fast"
            def on_bar(self, bar):
                self.fast = self.ema.value

    Standalone it needs a name and charts with ``add``::

        equity = cb.series("equity", pane="equity")
        equity.add(1_000_000.0)                 # time: integration clock, else now
        equity.add(1_000_250.0, time=ts_ns)     # explicit int ns

    ``kind`` is one of line, area, baseline, histogram, candlestick, bar, marker; candles take
    ``(o, h, l, c[, volume])`` tuples, mappings or objects with those attributes; marker points
    are ``(price or None, {"side", "text", "shape"?, "position"?, "color"?})``. Extra keyword
    arguments are lightweight-charts series options (``lineWidth=2``); ``precision=5`` (decimals
    shown; ``min_move``, the tick size, defaults to ``10**-precision``) and ``unit="USD"`` (or
    ``"%"``) say how its numbers read (a candle series of Nautilus ``Bar`` objects takes their
    price precision when it has none); ``show=False`` starts
    the series hidden; ``plugins`` enables JS plugins for the series' run (a name, names, or
    name -> params; params get ``series`` = this id).
    """

    def __init__(self, name: str | None = None, *, kind: str = "line", pane: str = "main",
                 title: str | None = None, color: str | None = None, target: str | None = None,
                 show: bool = True, plugins: PluginSpec = None, source: Source | None = None,
                 precision: int | None = None, min_move: float | None = None, unit: str | None = None,
                 **options: Any) -> None:
        self.kind = check_kind(kind)
        self.pane = pane
        self.title = title
        self.color = color
        self.target = check_series_id(target) if target is not None else None
        self.options = {**options, **({} if show else {"visible": False}),
                        **number_format(precision, min_move, unit, name or title or "series")}
        # A candle series without a precision takes its first Bar's (_point).
        self._bar_precision = self.kind in CANDLE_KINDS and "priceFormat" not in self.options
        self.source = source or caller_source()
        self._plugin_spec = plugins
        self.plugins: dict[str, dict[str, Any]] = {}
        self._attr = ""
        self._cache: tuple[Run, PointBuffer] | None = None
        self._fast: fastline.Sink | None = None  # ``sink``, bound by ``__set__`` and ``add``
        self._warned: set[str] = set()
        self.id = ""
        if name is not None:
            self._name(check_series_id(name))

    def _name(self, series_id: str) -> None:
        self.id = series_id
        self.plugins = _plugin_params(self._plugin_spec, series_id)
        self.registry_json()  # refuse an oversized entry now rather than at the first point

    def registry_json(self) -> str:
        """The registry value of SPEC section 5."""
        entry: dict[str, Any] = {"kind": self.kind, "pane": self.pane, "title": self.title or self.id}
        if self.color is not None:
            entry["color"] = self.color
        entry["options"] = self.options
        entry["source"] = {"file": self.source[0], "line": self.source[1]}
        if self.target is not None:
            entry["target"] = self.target
        return dumps(entry, f"registry entry of {self.id!r}", MAX_REGISTRY_JSON)

    # -- descriptor -----------------------------------------------------------------------------

    def __set_name__(self, owner: type, attr: str) -> None:
        self._attr = attr
        if not self.id:
            self._name(sanitize_series_id(f"{owner.__qualname__}.{attr}"))
        hint_strategy(f"{owner.__qualname__}.{attr}")

    def assign(self, value: Any) -> None:
        """The full path of an assignment (``fastline.series_set``): chart ``value`` at its time
        (``clock.point_time``) and bind the sink for the next."""
        self.record(value, clock.point_time((value,)))
        self._fast = self.sink(value)

    # -- the fast path --------------------------------------------------------------------------

    def sink(self, result: Any = None) -> fastline.Sink:
        """The fast path's sink of this series in the current run, taking values like ``result``
        (``fastline``): its ``line``, or ``Candles`` for a candle series; before its first point
        there, or for a marker series, one that takes nothing but lets None pass."""
        from . import fastline  # which imports this module

        line = self.line(result) if self.kind != "marker" else None
        if line is None:
            return fastline.Sink(session.current().run)
        if self.kind in CANDLE_KINDS:
            return fastline.Sink(line.run) if result is None else fastline.Candles(line, result,
                                                                                  row_reader_of(type(result)), self)
        return line

    def line(self, result: Any = None) -> fastline.Line | None:
        """The fast path's ``Line`` of this series' buffer in the current run, taking values like
        ``result`` (``fastline.Reading``); None before its first point there."""
        from . import fastline

        cache = self._cache
        if cache is None or cache[0] is not session.current().run:
            return None
        line = fastline.Line(*cache)
        line.reading = fastline.reading_of(result)
        return line

    def _offer(self, value: Any, time: int | None) -> bool:
        """Whether the sink bound at the last point charted here took ``value`` at ``time`` (None:
        the integration clock's): a value or time it declines goes to the full path, which
        checks it and says what is wrong."""
        fast = self._fast
        if fast is None:
            return False
        try:
            return fast.offer(value, time)
        except Exception:
            return False

    # -- points ---------------------------------------------------------------------------------

    def _point(self, value: Any) -> tuple[tuple[float, ...], dict[str, Any] | None] | None:
        """The point's values (and marker object); None when the value stands for no point."""
        if self.kind in CANDLE_KINDS:
            if self._bar_precision:
                self._take_bar_precision(value)
            return candle_values(value, self.id), None
        if self.kind != "marker":
            x = value if type(value) is float else number(value, self.id)
            if x is None:
                return None
            return (x if isfinite(x) else check_finite(x, self.id),), None
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise ProtocolError("E_VALUE", f"{self.id}: a marker point is (price or None, marker object)")
        price, obj = value
        if isinstance(obj, Mapping) and "side" in obj:
            obj = {**obj, "side": side_of(obj["side"])}
        return (self.marker_price(price),), check_marker(obj, self.id)

    def marker_price(self, price: Any) -> float:
        """A marker's price as stored: NaN for None (placed by its side), else a finite number by
        its integration's rule (a Nautilus ``Price``: its exact decimal, where ``float()`` is one
        ulp off at times)."""
        x = CANONICAL_NAN if price is None else _part(price, f"{self.id} price")
        if not math.isnan(x):
            check_finite(x, f"{self.id} price")
        return x

    def _take_bar_precision(self, value: Any) -> None:
        """A Nautilus ``Bar``'s prices carry their instrument's precision: the series reads at it."""
        self._bar_precision = False
        precision = getattr(getattr(value, "open", None), "precision", None)
        if type(precision) is int and self._cache is None:
            self.options.update(number_format(precision, None, None, self.id))

    def buffer(self) -> PointBuffer:
        """This series' buffer in the current run (registering the series there first)."""
        sess = session.current()
        run = sess.run or sess.current_run()
        cache = self._cache
        if cache is not None and cache[0] is run:
            return cache[1]
        if not self.id:
            raise ProtocolError("E_NAME", "a standalone series needs a name: cb.series('name', ...)")
        buffer = run.buffer_for(self)
        self._cache = (run, buffer)
        return buffer

    def add(self, value: Any, time: int | None = None) -> None:
        """Chart ``value`` at ``time`` (int ns; default: the integration clock, else now).

        Raises ``ProtocolError`` for a value the series cannot chart (NaN, None, a string, a
        candle with high < low, a time before the series' last point).
        """
        if not session.ENABLED:
            return
        # A deferred candle would be checked at the hand-over, where this raises at the call.
        if self.kind not in CANDLE_KINDS and self._offer(value, time):
            return
        t = check_time(time, f"{self.id} time") if time is not None else clock.clock_time()
        point = self._point(value)
        if point is not None:
            self.buffer().append(t, *point)
            self._fast = self.sink(value)

    def record(self, value: Any, t: int | None) -> None:
        """Chart ``value`` for implicit charting: None is skipped, bad values are rejected and
        counted, never raised."""
        if value is None:
            return
        try:
            point = self._point(value)
            if point is not None:
                self.buffer().append(t, *point)
        except ProtocolError as exc:
            self.reject(exc)

    def reject(self, exc: ProtocolError) -> None:
        """Count a rejected point; log the first one per error code."""
        session.current().count_rejected()
        if exc.code not in self._warned:
            self._warned.add(exc.code)
            log.warning("chartbridge: series %r: point not charted: %s (further %s rejections are only "
                        "counted in cb.stats())", self.id, exc, exc.code)


def number_format(precision: int | None, min_move: float | None, unit: str | None, where: str) -> dict[str, Any]:
    """The registry options of a precision, tick size and unit (protocol/SPEC.md section 5)."""
    out: dict[str, Any] = {}
    if precision is not None or min_move is not None:
        if type(precision) is not int or not 0 <= precision <= 15:
            raise ProtocolError("E_VALUE", f"{where}: precision must be an int from 0 to 15, not {precision!r}")
        move = float(f"1e-{precision}") if min_move is None else to_float(min_move, f"{where} min_move")
        if not (isfinite(move) and move > 0):
            raise ProtocolError("E_VALUE", f"{where}: min_move must be a positive number, not {min_move!r}")
        out["priceFormat"] = {"type": "price", "precision": precision, "minMove": move}
    if unit is not None:
        if not isinstance(unit, str) or not 0 < len(unit) <= 16:
            raise ProtocolError("E_VALUE", f"{where}: unit must be a text of 1 to 16 characters, not {unit!r}")
        out["unit"] = unit
    return out


def series(name: str | None = None, *, kind: str = "line", pane: str = "main", title: str | None = None,
           color: str | None = None, target: str | None = None, show: bool = True,
           plugins: PluginSpec = None, **options: Any) -> Series:
    """A series to chart: a class-attribute descriptor or, with a name, a standalone series.

    See ``Series`` for the arguments.
    """
    return Series(name, kind=kind, pane=pane, title=title, color=color, target=target, show=show,
                  plugins=plugins, source=caller_source(), **options)


def named_series(name: str, kind: str, source: Source, **spec: Any) -> Series:
    """The session's series called ``name`` (created on first use), refusing another kind."""
    sess = session.current()
    with sess.lock:
        found = sess.named.get(name)
        if found is None:
            found = sess.named[name] = Series(check_series_id(name), kind=kind, source=source, **spec)
    if found.kind != kind:
        raise ProtocolError("E_KIND_MISMATCH", f"series {name!r} is a {found.kind} series, not {kind}")
    return found


def _columns(kind: str, values: Sequence[Any]) -> tuple[dict[str, Sequence[Any]], list[Any] | None]:
    if kind in CANDLE_KINDS:
        rows = [v if isinstance(v, (tuple, list)) else candle_values(v, f"values[{i}]")
                for i, v in enumerate(values)]
        widths = {len(row) for row in rows}
        if not widths <= {4, 5}:
            raise ProtocolError("E_VALUE", "a candle is (o, h, l, c) or (o, h, l, c, volume)")
        if len(widths) > 1:
            raise ProtocolError("E_LENGTH", "candles of one batch all have volume or all lack it")
        return dict(zip(("o", "h", "l", "c", "vol"), zip(*rows))), None
    if kind == "marker":
        if any(not isinstance(v, (tuple, list)) or len(v) != 2 for v in values):
            raise ProtocolError("E_VALUE", "marker values are (price or None, marker object) pairs")
        return {"y": [CANONICAL_NAN if p is None else p for p, _ in values]}, [m for _, m in values]
    return {"y": values}, None


def publish_points(series: str, times: Sequence[int], values: Sequence[Any], kind: str = "line", *,
                   pane: str = "main", title: str | None = None, color: str | None = None,
                   target: str | None = None, timeout: float = 5.0, **options: Any) -> int:
    """Validate a batch of points and write it now; returns how many points were written.

    ``times`` are int ns, not decreasing (and not before the series' last point). ``values``
    are floats for line kinds, ``(o, h, l, c[, vol])`` for candlestick/bar, ``(price or None,
    marker object)`` for markers. Raises ``ProtocolError`` (``.code`` as in SPEC.md) and
    writes nothing if any point is invalid. The run start, the series registration and the
    batch entries (split at 100000 points) go out in one pipeline; the call returns once Redis
    has them, or after ``timeout`` s with the batch kept in the backlog if Redis is unreachable.
    """
    if not session.ENABLED:
        return 0
    found = named_series(series, kind, caller_source(), pane=pane, title=title, color=color, target=target,
                         **options)
    if len(times) != len(values):
        raise ProtocolError("E_LENGTH", f"{len(times)} times for {len(values)} values")
    if not len(times):
        return 0
    columns, markers = _columns(kind, values)
    batch = check_batch(kind, times, columns, markers)
    producer = session.current().producer
    with producer.atomic():  # registration and batch in the same flush cycle: one pipeline
        found.buffer().extend(batch)
    if not producer.flush(timeout):
        log.warning("chartbridge: Redis did not take %d points of %r within %.1f s; they stay in the backlog",
                    len(batch), series, timeout)
    return len(batch)


def marker(series: str, *, side: Any, price: Any, text: Any, shape: str | None, position: str | None,
           color: str | None, target: str | None, time: int | None, depth: int) -> tuple[Any, PointBuffer] | None:
    """``cb.marker``'s full path (``fastline.marker`` is ``cb.marker``): checks every part, raises
    ``ProtocolError`` for one that is wrong, charts the marker; returns the run and the buffer it
    went to (None: charting is off), which the fast path writes to at the next call. ``depth``:
    the frames up to the user's call (``caller_source``), where a new series is declared."""
    if not session.ENABLED:
        return None
    found = session.current().named.get(series)
    if found is None or found.kind != "marker":
        found = named_series(series, "marker", caller_source(depth), target=target)
    t = check_time(time, f"{series} time") if time is not None else clock.clock_time()
    obj = marker_object(side_of(side), text, shape, position, color, series)
    buffer = found.buffer()
    buffer.append(t, (found.marker_price(price),), obj)
    return found._cache
