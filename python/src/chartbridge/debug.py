"""The condition of a "Break Here on Next Run" breakpoint: ``cb.at(t)`` is true exactly when the
paused function runs at event time ``t``.

The time rule is the debug cursor's (src/extension/cursorTime.ts): the integration clock, else a
``ts_event``/``ts_init`` of a local (a Bar, a tick), else an int ``ts_event``/``ts_init`` local.
The chart holds µs, so ``t`` is matched at µs resolution (a bar at 22:13:20.000001500 is the
chart's 22:13:20.000001). The debugger evaluates the condition in the breakpoint's frame, so the
caller's locals are that frame's: the function's arguments on its first body line. Cheap when
false: with the clock set it is one integer comparison.
"""

from __future__ import annotations

import sys

from .clock import TIME_ATTRIBUTES, clock_time, point_time


def event_time(locals_: dict[str, object]) -> int | None:
    """The event time (int ns) of a frame with these locals, as the debug cursor reads it."""
    t = point_time(list(locals_.values()))
    if t is not None:
        return t
    for name in TIME_ATTRIBUTES:
        v = locals_.get(name)
        if type(v) is int and v >= 0:
            return v
    return None


def at(time: int) -> bool:
    """True when the calling frame's event time is ``time`` (int ns, matched to the µs).

    >>> cb.at(1700000000000000000)   # a breakpoint condition: stop on the bar of 2023-11-14 22:13:20 UTC
    """
    if type(time) is not int:
        raise TypeError(f"chartbridge.at: the time must be int ns since the epoch, not {type(time).__name__}")
    # The clock first: reading f_locals builds the frame's locals, the bulk of a false condition's cost.
    t = clock_time()
    if t is None:
        t = event_time(sys._getframe(1).f_locals)
    return t is not None and t // 1000 == time // 1000
