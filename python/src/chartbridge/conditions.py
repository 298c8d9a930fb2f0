"""Why a signal did not fire: ``cb.condition(name, value)`` charts a named boolean per bar.

A condition is a ``line`` series of role ``condition`` (protocol/SPEC.md section 5): 1 where it
held, 0 where it did not. The chart lists the conditions at the crosshair and at the debugger's
time cursor (green/red) and marks the bars where a chosen set of them all held.

Inside a function decorated with ``@cb.signals`` or ``@cb.chart`` a condition belongs to that
function: its series id is ``<function's series id>:<name>`` and it targets that series, so the
conditions a signal checked are listed with it. Elsewhere its id is ``conditions:<name>``.
Its time follows the debug cursor's rule (``debug.event_time``): the integration clock, else the
``ts_event`` of a local of the calling function (the bar it was called with), else now.
"""

from __future__ import annotations

import json
import sys
from types import CodeType
from typing import Any

from . import clock, session
from .debug import event_time
from .protocol import MAX_REGISTRY_JSON, ProtocolError, check_time, sanitize_series_id
from .runs import dumps
from .series import Series, caller_source, instance_key, owner_class

# Code of each charted function -> its series id, and for a method its class and the name of the
# parameter holding the calling object: a condition called in its body belongs to that object's series.
_SCOPES: dict[CodeType, tuple[str, str | None, str]] = {}
_MADE: dict[tuple[str | None, str], Condition] = {}


def scope(func: Any, series_id: str) -> None:
    """Conditions called in ``func``'s body belong to series ``series_id`` (``@cb.signals``,
    ``@cb.chart``), as the calling object's series when ``func`` is a method."""
    plain = getattr(func, "__func__", func)
    code = getattr(plain, "__code__", None)
    if isinstance(code, CodeType):
        method = plain is func and code.co_argcount > 0
        _SCOPES[code] = series_id, owner_class(plain) if method else None, code.co_varnames[0] if method else ""


def _owner(frame: Any) -> str | None:
    """The series id the conditions of ``frame``'s function belong to (None: none)."""
    found = _SCOPES.get(frame.f_code)
    if found is None:
        return None
    series_id, cls, param = found
    key = instance_key(cls, frame.f_locals.get(param)) if cls is not None else None
    return series_id + key if key else series_id


class Condition(Series):
    """A condition's series: a step line in pane ``conditions`` for readers that do not know the role."""

    def registry_json(self) -> str:
        entry = json.loads(super().registry_json())
        entry["role"] = "condition"
        return dumps(entry, f"registry entry of {self.id!r}", MAX_REGISTRY_JSON)


def _series(owner: str | None, name: str) -> Condition:
    found = _MADE.get((owner, name))
    if found is None:
        if not isinstance(name, str) or not name:
            raise ProtocolError("E_NAME", f"a condition's name is a non-empty text, not {name!r}")
        sid = sanitize_series_id(f"{owner or 'conditions'}:{name}")
        found = _MADE[(owner, name)] = Condition(sid, pane="conditions", title=name, target=owner,
                                                 source=caller_source(3), lineType=1)
    return found


def condition(name: str, value: bool, *, time: int | None = None) -> bool:
    """Record whether ``name`` held at this bar; returns ``value``, so it reads inline.

    >>> @cb.signals(target="EMACross.on_bar")
    ... def cross(self, bar):
    ...     up = cb.condition("fast above slow", self.fast.value > self.slow.value)
    ...     flat = cb.condition("flat", self.portfolio.is_flat(self.instrument_id))
    ...     return "buy" if up and flat else None

    ``value`` is a bool (numpy's too); anything else raises ``ProtocolError`` (``E_VALUE``), as does
    a time before the condition's last one (``E_ORDER``). ``time``: int ns, else the rule above.
    """
    if type(value) is not bool:
        if type(value).__name__ != "bool_":  # numpy.bool_, without importing numpy
            raise ProtocolError("E_VALUE", f"condition {name!r}: the value must be a bool, not {type(value).__name__}")
        value = bool(value)
    if not session.ENABLED:
        return value
    frame = sys._getframe(1)
    s = _series(_owner(frame), name)
    if time is not None:
        t: int | None = check_time(time, f"condition {name!r} time")
    else:
        t = clock.clock_time()
        if t is None:
            t = event_time(frame.f_locals)
    s.buffer().append(t, (1.0 if value else 0.0,))
    return value
