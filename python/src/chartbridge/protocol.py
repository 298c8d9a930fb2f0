"""Wire format version 1 (``protocol/SPEC.md``): names, keys, encoding, decoding, validation.

This module is the only place that knows the byte layout of a stream entry. The producer
encodes with it, the tests and tooling decode with it, and both check the same rules, so
nothing a producer writes can be something a reader rejects.
"""

from __future__ import annotations

import json
import math
import operator
import re
import struct
import sys
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Final

from . import arrays

try:  # optional: only makes the checks of big batches faster (NautilusTrader brings it)
    import numpy
    _np: Any = numpy
except ImportError:  # the checks below then use C loops over boxed values
    _np = None

VERSION: Final = "1"
KINDS: Final = frozenset({"line", "area", "baseline", "histogram", "candlestick", "bar", "marker"})
VALUE_KINDS: Final = frozenset({"line", "area", "baseline", "histogram"})
CANDLE_KINDS: Final = frozenset({"candlestick", "bar"})
CANDLE_COLUMNS: Final = ("o", "h", "l", "c")
BINARY_FIELDS: Final = frozenset({"t", "y", "o", "h", "l", "c", "vol"})

MAX_POINTS: Final = 100_000
TIME_LIMIT: Final = 2**53 * 1000  # exclusive: integer microseconds stay exact in JSON below it
MAX_MARKER_TEXT: Final = 1024
MAX_REGISTRY_JSON: Final = 65_536
MAX_PUBLISH_JSON: Final = 1 << 20

MARKER_SIDES: Final = frozenset({"buy", "sell"})
MARKER_SHAPES: Final = frozenset({"arrowUp", "arrowDown", "circle", "square"})
MARKER_POSITIONS: Final = frozenset(
    {"aboveBar", "belowBar", "inBar", "atPriceTop", "atPriceBottom", "atPriceMiddle"})
MARKER_KEYS: Final = ("side", "text", "shape", "position", "color")  # the order producers write

_PREFIX_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_RUN_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_SERIES_RE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,199}")
_PLUGIN_RE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_COLOR_RE: Final = re.compile(r"#[0-9a-fA-F]{6}")
_COUNT_RE: Final = re.compile(r"[1-9][0-9]*")

# The spec asks for one NaN bit pattern, whatever NaN the arithmetic produced (x86 gives -NaN).
CANONICAL_NAN: Final[float] = struct.unpack("<d", bytes.fromhex("000000000000f87f"))[0]
_BIG_ENDIAN: Final = sys.byteorder == "big"


class ProtocolError(ValueError):
    """Input or an entry that breaks the wire format; ``code`` is the SPEC error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------------------------
# Names and keys


def _check_name(what: str, pattern: re.Pattern[str], name: object) -> str:
    if not isinstance(name, str) or pattern.fullmatch(name) is None:
        raise ProtocolError("E_NAME", f"invalid {what} {name!r}: must match {pattern.pattern}")
    return name


def check_prefix(name: object) -> str:
    """Return ``name`` if it is a valid key prefix, else raise ``E_NAME``."""
    return _check_name("prefix", _PREFIX_RE, name)


def check_run_id(name: object) -> str:
    """Return ``name`` if it is a valid run id, else raise ``E_NAME``."""
    return _check_name("run id", _RUN_RE, name)


def check_series_id(name: object) -> str:
    """Return ``name`` if it is a valid series id, else raise ``E_NAME``."""
    return _check_name("series id", _SERIES_RE, name)


def check_plugin_name(name: object) -> str:
    """Return ``name`` if it is a valid plugin name, else raise ``E_NAME``."""
    return _check_name("plugin name", _PLUGIN_RE, name)


def sanitize_series_id(name: str) -> str:
    """Make a valid series id out of a derived name (``f.<locals>.g`` -> ``f._locals_.g``)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.:/-]", "_", name)[:200]
    return cleaned if _SERIES_RE.fullmatch(cleaned) else "_" + cleaned[:199]


def check_kind(kind: object) -> str:
    """Return ``kind`` if it is one of the seven series kinds, else raise ``E_KIND``."""
    if kind not in KINDS:
        raise ProtocolError("E_KIND", f"unknown kind {kind!r}: one of {', '.join(sorted(KINDS))}")
    return str(kind)


@dataclass(frozen=True)
class Keys:
    """The Redis keys of one run (all share the run's hash tag)."""

    prefix: str
    run: str

    @property
    def runs(self) -> str:
        return f"{self.prefix}:runs"

    @property
    def runlog(self) -> str:
        return f"{self.prefix}:runlog"

    def _tagged(self, suffix: str) -> str:
        return f"{self.prefix}:{{{self.run}}}:{suffix}"

    def tagged(self, suffix: str) -> str:
        """The run's key ``suffix`` (``manifest``, ``s:<series>``: SPEC section 2) with prefix and hash tag."""
        return self._tagged(suffix)

    @property
    def manifest(self) -> str:
        return self._tagged("manifest")

    @property
    def series(self) -> str:
        return self._tagged("series")

    @property
    def events(self) -> str:
        return self._tagged("events")

    @property
    def plugins(self) -> str:
        return self._tagged("plugins")

    @property
    def results(self) -> str:
        return self._tagged("results")

    @property
    def dirty(self) -> str:
        """The uncommitted diff (``git diff HEAD --binary``) when the run started (SPEC section 5)."""
        return self._tagged("dirty")

    @property
    def lost(self) -> str:
        """Points each series lost in an outage (SPEC "Outages and loss")."""
        return self._tagged("lost")

    def stream(self, series_id: str) -> str:
        return self._tagged(f"s:{series_id}")


# ---------------------------------------------------------------------------------------------
# Values


def to_float(x: object, where: str) -> float:
    """Convert a number-like value (float, int, Decimal, numpy, Nautilus Price) to float.

    Strings and None are refused even though ``float()`` would parse "1.5": a string where a
    number belongs is a bug in the caller, not data.
    """
    if type(x) is float:
        return x
    if x is None or isinstance(x, (str, bytes, bytearray)):
        raise ProtocolError("E_VALUE", f"{where}: {x!r} is not a number")
    try:
        return float(x)  # type: ignore[arg-type]
    except OverflowError as exc:  # an int past 2**1024: its repr may be too long to print
        raise ProtocolError("E_NONFINITE", f"{where}: a {type(x).__name__} beyond the float range") from exc
    except (TypeError, ValueError) as exc:
        raise ProtocolError("E_VALUE", f"{where}: {x!r} is not a number") from exc


def check_finite(x: float, where: str) -> float:
    if not math.isfinite(x):
        raise ProtocolError("E_NONFINITE", f"{where}: {x!r} is not finite")
    return x


def check_time(t: object, where: str) -> int:
    """Return ``t`` as int ns if it lies in ``[0, 2^53 * 1000)``, else raise ``E_TIME``."""
    if isinstance(t, bool) or not hasattr(t, "__index__"):
        raise ProtocolError("E_TIME", f"{where}: time {t!r} is not an integer number of ns")
    ns = operator.index(t)
    if not 0 <= ns < TIME_LIMIT:
        raise ProtocolError("E_TIME", f"{where}: time {ns} ns is outside [0, 2^53*1000)")
    return ns


def check_candle(o: float, h: float, l: float, c: float, where: str) -> None:  # noqa: E741
    if l > min(o, c) or h < max(o, c):
        raise ProtocolError("E_CANDLE", f"{where}: candle o={o} h={h} l={l} c={c} has l > min(o, c) or h < max(o, c)")


def check_marker(obj: object, where: str) -> dict[str, Any]:
    """Validate a marker object; return it with its keys in the order producers write them."""
    if not isinstance(obj, Mapping):
        raise ProtocolError("E_MARKER", f"{where}: marker {obj!r} is not an object")
    unknown = set(obj) - set(MARKER_KEYS)
    if unknown:
        raise ProtocolError("E_MARKER", f"{where}: unknown marker keys {sorted(map(str, unknown))}")
    return marker_object(obj.get("side"), obj.get("text", ""), obj.get("shape"), obj.get("position"),
                         obj.get("color"), where, "shape" in obj, "position" in obj, "color" in obj)


def marker_object(side: Any, text: Any, shape: Any = None, position: Any = None, color: Any = None,
                  where: str = "marker", has_shape: bool = False, has_position: bool = False,
                  has_color: bool = False) -> dict[str, Any]:
    """The checked marker object of these parts (``has_*``: the part is given even if None; a
    None shape/position/color is otherwise left out), keys in the order producers write them."""
    if side is not None and side not in MARKER_SIDES:
        raise ProtocolError("E_MARKER", f"{where}: side {side!r} is not 'buy', 'sell' or None")
    if not isinstance(text, str):
        raise ProtocolError("E_MARKER", f"{where}: text {text!r} is not a string")
    if len(text) > MAX_MARKER_TEXT:
        raise ProtocolError("E_MARKER", f"{where}: text of {len(text)} characters is over {MAX_MARKER_TEXT}")
    out: dict[str, Any] = {"side": side, "text": text}
    if shape is not None or has_shape:
        if shape not in MARKER_SHAPES:
            raise ProtocolError("E_MARKER", f"{where}: shape {shape!r} is not one of {sorted(MARKER_SHAPES)}")
        out["shape"] = shape
    if position is not None or has_position:
        if position not in MARKER_POSITIONS:
            raise ProtocolError("E_MARKER", f"{where}: position {position!r} is not one of "
                                            f"{sorted(MARKER_POSITIONS)}")
        out["position"] = position
    if color is not None or has_color:
        if not isinstance(color, str) or _COLOR_RE.fullmatch(color) is None:
            raise ProtocolError("E_MARKER", f"{where}: color {color!r} is not #rrggbb")
        out["color"] = color
    return out


def columns_for(kind: str, with_volume: bool = False) -> tuple[str, ...]:
    """The float64 value columns of ``kind`` (after ``t``)."""
    if kind in CANDLE_KINDS:
        return CANDLE_COLUMNS + ("vol",) if with_volume else CANDLE_COLUMNS
    return ("y",)


# ---------------------------------------------------------------------------------------------
# Encoding


@dataclass
class Batch:
    """Validated columns of one series, ready to encode (times ns, floats, marker objects)."""

    kind: str
    t: array[int]
    columns: dict[str, array[float]]
    markers: list[dict[str, Any]] | None = None

    def __len__(self) -> int:
        return len(self.t)


def _packed(values: Iterable[Any], code: str, name: str, convert: Any) -> array[Any]:
    """Pack with the C loop of ``array``; fall back to the per-point check only to say where."""
    if isinstance(values, array) and values.typecode == code:
        return values[:]  # a memory copy: ``array(code, values)`` would box every value
    try:
        return array(code, values)
    except (TypeError, OverflowError, ValueError):
        for i, x in enumerate(values):
            convert(x, f"{name}[{i}]")
        raise  # a failure the per-point check accepts would be a bug here, not in the input


def _check_times(times: Sequence[Any]) -> array[int]:
    t = _packed(times, "q", "t", check_time)
    if not t:
        return t
    in_order = _in_order(t)
    low, high = (t[0], t[-1]) if in_order else (min(t), max(t))  # in order, the ends bound the rest
    if low < 0 or high >= TIME_LIMIT:
        for i, ns in enumerate(t):
            check_time(ns, f"t[{i}]")
    if not in_order:
        i = next(i for i in range(1, len(t)) if t[i] < t[i - 1])
        raise ProtocolError("E_ORDER", f"t[{i}] = {t[i]} is earlier than t[{i - 1}] = {t[i - 1]}")
    return t


_VECTOR_MIN = 64  # below this, numpy's per-call cost is more than the boxed loop's


def _in_order(t: array[int]) -> bool:
    """No time earlier than the one before. Boxing each int64 costs ~100 ns a point; a numpy
    view of the same memory compares them in place."""
    if _np is not None and len(t) >= _VECTOR_MIN:
        a = _np.frombuffer(t, dtype=_np.int64)
        return bool((a[1:] >= a[:-1]).all())
    return all(map(operator.le, t, islice(t, 1, None)))


def _sum_finite(v: array[float]) -> bool:
    """The sum is finite: every value is, unless the sum overflowed (then look at each). Summing
    an array in Python boxes each double (~10 ns); numpy sums the memory."""
    if _np is not None and len(v) >= _VECTOR_MIN:
        return math.isfinite(_np.frombuffer(v, dtype=_np.float64).sum())
    return math.isfinite(sum(v))


def _candles_valid(o: array[float], h: array[float], l: array[float], c: array[float]) -> bool:  # noqa: E741
    """Every low at or below open and close, every high at or above them."""
    if _np is not None and len(o) >= _VECTOR_MIN:
        no, nh, nl, nc = (_np.frombuffer(x, dtype=_np.float64) for x in (o, h, l, c))
        return bool(((nl <= no) & (nl <= nc) & (nh >= no) & (nh >= nc)).all())
    return all(all(map(compare, bound, side)) for compare, bound in ((operator.le, l), (operator.ge, h))
               for side in (o, c))


def _check_column(values: Sequence[Any], name: str, finite: bool) -> array[float]:
    col = _packed(values, "d", name, to_float)
    if finite and not _sum_finite(col) and not all(map(math.isfinite, col)):
        i = next(i for i, x in enumerate(col) if not math.isfinite(x))
        check_finite(col[i], f"{name}[{i}]")
    return col


def check_batch(kind: str, times: Sequence[Any], columns: Mapping[str, Sequence[Any]],
                markers: Sequence[Any] | None = None) -> Batch:
    """Validate user columns of one series and return them packed, or raise ``ProtocolError``.

    ``columns`` holds ``y`` (line kinds and marker prices) or ``o h l c`` and optionally
    ``vol`` (candles). Marker prices may be NaN ("no price") and are canonicalised.
    """
    check_kind(kind)
    t = _check_times(times)
    n = len(t)
    names = columns_for(kind, "vol" in columns)
    missing = [name for name in names if name not in columns]
    if missing:
        raise ProtocolError("E_FIELD", f"a {kind} batch needs columns {missing}")
    packed: dict[str, array[float]] = {}
    for name in names:
        if len(columns[name]) != n:
            raise ProtocolError("E_LENGTH", f"column {name} has {len(columns[name])} values for {n} times")
        packed[name] = _check_column(columns[name], name, finite=kind != "marker")
    if kind in CANDLE_KINDS:
        o, h, l, c = (packed[x] for x in CANDLE_COLUMNS)  # noqa: E741
        # The whole batch at once; the per-candle check only runs to say which one is bad.
        if not _candles_valid(o, h, l, c):
            for i, candle in enumerate(zip(o, h, l, c)):
                check_candle(*candle, f"point {i}")
    checked: list[dict[str, Any]] | None = None
    if kind == "marker":
        y = packed["y"]
        for i, price in enumerate(y):
            if math.isnan(price):
                y[i] = CANONICAL_NAN
            else:
                check_finite(price, f"y[{i}]")
        if markers is None or len(markers) != n:
            raise ProtocolError("E_MARKER", f"a marker batch needs {n} marker objects")
        checked = [check_marker(m, f"m[{i}]") for i, m in enumerate(markers)]
    return Batch(kind, t, packed, checked)


def check_points(kind: str, names: tuple[str, ...], t: array[int], v: array[float]) -> None:
    """``check_batch`` for points held interleaved (``len(names)`` values per time, as a
    producer buffer keeps them), without splitting them into columns when they are valid."""
    width = len(names)
    if len(v) != width * len(t) or names != columns_for(kind, "vol" in names):
        raise ProtocolError("E_LENGTH", f"{len(v)} values are not {width} per time for {len(t)} times")
    if _sum_finite(v) and (kind not in CANDLE_KINDS or _candles_interleaved_valid(v, width)):
        _check_times(t)
    else:  # the full check, which says what is wrong and where
        check_batch(kind, t, {name: v[i::width] for i, name in enumerate(names)})


def _candles_interleaved_valid(v: array[float], width: int) -> bool:
    """``_candles_valid`` on candles held interleaved (o, h, l, c[, vol] per time): a numpy view
    of rows, where splitting into columns first costs ~100 ns a candle. False means "look
    closer", not "invalid"."""
    if _np is None or len(v) < _VECTOR_MIN * width:
        return False
    rows = _np.frombuffer(v, dtype=_np.float64).reshape(-1, width)
    o, h, low, c = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    return bool(((low <= o) & (low <= c) & (h >= o) & (h >= c)).all())


def _le_bytes(values: array[Any] | memoryview) -> bytes:
    """The little-endian bytes of ``values``: one copy (a big-endian machine swaps a copy)."""
    if _BIG_ENDIAN:
        swapped = array(values.typecode if isinstance(values, array) else values.format, values)
        swapped.byteswap()
        return swapped.tobytes()
    return values.tobytes()


def _column(values: array[float], start: int, stop: int, width: int, i: int) -> bytes:
    """The little-endian bytes of column ``i`` of points ``start:stop`` held interleaved in
    ``values`` (``width`` values a point): compiled, one C loop (``arrays.column_bytes``)."""
    if arrays.COMPILED and not _BIG_ENDIAN and width > 1:
        return arrays.column_bytes(values, start, stop, width, i)
    with memoryview(values) as view:
        return _le_bytes(view[start * width + i:stop * width:width])


def _entry(kind: str, t: array[int] | memoryview, columns: Iterable[tuple[str, bytes]],
           markers: list[dict[str, Any]] | None) -> dict[str, bytes]:
    """One stream entry's fields: the points of ``t`` (at most ``MAX_POINTS``), its columns' bytes."""
    fields = {"v": VERSION.encode(), "k": kind.encode(), "n": str(len(t)).encode(), "t": _le_bytes(t)}
    for name, col in columns:
        fields[name] = col
    if markers is not None:
        fields["m"] = json.dumps(markers, separators=(",", ":"), ensure_ascii=False).encode()
    return fields


def point_entries(kind: str, names: tuple[str, ...], t: array[int], v: array[float],
                  markers: list[dict[str, Any]] | None = None) -> list[dict[str, bytes]]:
    """Checked points held interleaved (``len(names)`` values per time, as a producer buffer
    keeps them) as stream entries of at most ``MAX_POINTS`` points each. Each column's bytes
    are read from ``v`` in one strided copy (``_column``): split into columns, sliced and
    converted, each value was copied four times, a quarter of the memory traffic a charted
    backtest added (python/bench/nautilus_overhead.py, callgrind's cache simulation)."""
    width = len(names)
    with memoryview(t) as times:
        return [_entry(kind, times[start:stop],
                       [(name, _column(v, start, stop, width, i)) for i, name in enumerate(names)],
                       None if markers is None else markers[start:stop])
                for start, stop in ((i, min(i + MAX_POINTS, len(t))) for i in range(0, len(t), MAX_POINTS))]


def encode(kind: str, times: Sequence[Any], columns: Mapping[str, Sequence[Any]],
           markers: Sequence[Any] | None = None) -> dict[str, bytes]:
    """Check and encode at most ``MAX_POINTS`` points as the fields of one stream entry."""
    batch = check_batch(kind, times, columns, markers)
    if not 1 <= len(batch) <= MAX_POINTS:
        raise ProtocolError("E_COUNT", f"an entry holds 1 to {MAX_POINTS} points, not {len(batch)}")
    return _entry(batch.kind, batch.t, ((name, _le_bytes(col)) for name, col in batch.columns.items()), batch.markers)


# ---------------------------------------------------------------------------------------------
# Decoding


@dataclass
class Entry:
    """A decoded stream entry (SPEC section 4): times in ns, float columns, marker objects."""

    kind: str
    t: list[int]
    columns: dict[str, list[float]] = field(default_factory=dict)
    markers: list[dict[str, Any]] | None = None


def _text(fields: Mapping[str, bytes], name: str) -> str | None:
    raw = fields.get(name)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _unpack(raw: bytes, code: str) -> list[Any]:
    col = array(code)
    col.frombytes(raw)
    if _BIG_ENDIAN:
        col.byteswap()
    return col.tolist()


def decode(raw_fields: Mapping[str | bytes, bytes | str], registered: str | None = None) -> Entry:
    """Validate and decode one stream entry in the order of SPEC section 3 ("Invalid entries").

    ``registered`` is the series' kind in the registry, when known. Raises ``ProtocolError``
    with the code of the first rule the entry breaks.
    """
    fields = {(k.decode() if isinstance(k, bytes) else k): (v.encode() if isinstance(v, str) else v)
              for k, v in raw_fields.items()}
    if _text(fields, "v") != VERSION:
        raise ProtocolError("E_VERSION", f"v is {fields.get('v')!r}, not {VERSION!r}")
    kind = _text(fields, "k")
    if kind not in KINDS:
        raise ProtocolError("E_KIND", f"k is {fields.get('k')!r}")
    if registered is not None and kind != registered:
        raise ProtocolError("E_KIND_MISMATCH", f"k is {kind!r} but the series is registered as {registered!r}")
    count = _text(fields, "n")
    if count is None or _COUNT_RE.fullmatch(count) is None or int(count) > MAX_POINTS:
        raise ProtocolError("E_COUNT", f"n is {fields.get('n')!r}")
    n = int(count)
    required = ("t",) + columns_for(kind) + (("m",) if kind == "marker" else ())
    missing = [name for name in required if name not in fields]
    if missing:
        raise ProtocolError("E_FIELD", f"a {kind} entry lacks {missing}")
    names = columns_for(kind, "vol" in fields)
    for name in ("t",) + names:
        if len(fields[name]) != 8 * n:
            raise ProtocolError("E_LENGTH", f"{name} has {len(fields[name])} bytes for n = {n}")
    t: list[int] = _unpack(fields["t"], "q")
    for i, ns in enumerate(t):
        if not 0 <= ns < TIME_LIMIT:
            raise ProtocolError("E_TIME", f"t[{i}] = {ns} is outside [0, 2^53*1000)")
    # Order only once every time is in range: SPEC ranks E_TIME before E_ORDER for the whole entry.
    for i in range(1, len(t)):
        if t[i] < t[i - 1]:
            raise ProtocolError("E_ORDER", f"t[{i}] = {t[i]} is earlier than t[{i - 1}] = {t[i - 1]}")
    columns = {name: _unpack(fields[name], "d") for name in names}
    for name, col in columns.items():
        for i, x in enumerate(col):
            # A marker price may be NaN ("no price") but never infinite.
            if not math.isfinite(x) and not (kind == "marker" and math.isnan(x)):
                raise ProtocolError("E_NONFINITE", f"{name}[{i}] is {x}")
    if kind in CANDLE_KINDS:
        for i, (o, h, l, c) in enumerate(zip(*(columns[x] for x in CANDLE_COLUMNS))):  # noqa: E741
            check_candle(o, h, l, c, f"point {i}")
    markers = None
    if kind == "marker":
        try:
            parsed = json.loads(fields["m"].decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ProtocolError("E_MARKER", f"m is not JSON: {exc}") from exc
        if not isinstance(parsed, list) or len(parsed) != n:
            raise ProtocolError("E_MARKER", f"m is not an array of {n} marker objects")
        for i, obj in enumerate(parsed):
            if not isinstance(obj, dict) or "side" not in obj or "text" not in obj:
                raise ProtocolError("E_MARKER", f"m[{i}] lacks side or text")
        markers = [check_marker({k: v for k, v in obj.items() if k in MARKER_KEYS}, f"m[{i}]")
                   for i, obj in enumerate(parsed)]
    return Entry(kind, t, columns, markers)
