"""Where the time of a point comes from: the integration clock, then ``ts_event``/``ts_init``
of an argument, then the wall clock (SPEC: int64 ns, exact).

The integration (e.g. the Nautilus actor) calls ``set_clock`` with each event's time, so a
backtest charts simulated time rather than the moment the backtest happened to run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .protocol import ProtocolError, check_time

_fixed: int | None = None
_source: Callable[[], int] | None = None
# Called with (fixed, source) at each change: the compiled fast path keeps them in C variables.
_listeners: list[Callable[[int | None, Callable[[], int] | None], None]] = []

# Values that never carry a timestamp: skipping them keeps the per-call search cheap.
_PLAIN = frozenset({int, float, str, bool, type(None), tuple, list, dict, bytes})
# The attributes a value's own time is read from, in this order.
TIME_ATTRIBUTES = ("ts_event", "ts_init")


def set_clock(now: int | Callable[[], int] | None) -> None:
    """Set the integration clock: an int ns time, a callable returning one, or None to clear.

    >>> cb.set_clock(event.ts_event)     # each event of a backtest
    >>> cb.set_clock(engine_clock.timestamp_ns)
    """
    global _fixed, _source
    if now is None or callable(now):
        _fixed, _source = None, now
    else:
        _fixed, _source = check_time(now, "set_clock"), None
    for listener in _listeners:
        listener(_fixed, _source)


def clock_time() -> int | None:
    """The integration clock's time, or None when none is set."""
    if _fixed is not None:
        return _fixed
    if _source is not None:
        return check_time(_source(), "clock")
    return None


def point_time(values: Iterable[object]) -> int | None:
    """The time of a point: the integration clock, else the first of ``values`` (the call's
    arguments, then its result) with an int ``ts_event`` or ``ts_init``; None means "now"."""
    t = clock_time()
    if t is not None:
        return t
    for value in values:
        if type(value) in _PLAIN:
            continue
        for name in TIME_ATTRIBUTES:
            ts = getattr(value, name, None)
            if isinstance(ts, int) and not isinstance(ts, bool):
                try:
                    return check_time(ts, name)
                except ProtocolError:
                    continue  # a foreign attribute of that name, not a timestamp
    return None
