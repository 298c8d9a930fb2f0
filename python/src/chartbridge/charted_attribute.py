"""``ChartedAttribute``: the descriptor base of ``cb.series`` (``series.Series``), whose
assignments go to the function ``fastline`` installs (``fastline.series_set``).

Compiled, CPython calls this class's ``__set__`` and ``__get__`` through the type's C slots, the
assignment reaches fastline's function through a C pointer, and ``_attr`` and ``_fast`` are C
fields. A ``__set__`` defined in Python (or a Python-level function installed as one) was found
by name at each assignment, its arguments parsed, and the two attributes read by name from the
series' dict (callgrind, a float assigned: 1,768 instructions, 978 this way).

It is a module of its own because ``fastline`` imports ``series``: the class ``Series`` derives
from must exist before ``fastline`` does, which installs its function at import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Setter = Callable[[Any, object, object], int]
COMPILED = not __file__.endswith(".py")
_COMPILED = COMPILED  # a C constant when compiled


def _not_installed(attribute: ChartedAttribute, instance: object, value: object) -> int:
    raise RuntimeError("chartbridge.fastline is not imported: it charts a cb.series assignment")


_SET: Setter = _not_installed


def install(setter: Setter) -> None:
    """Make ``setter(attribute, instance, value)`` the assignment of every ``ChartedAttribute``."""
    global _SET
    _SET = setter


class ChartedAttribute:
    """A class attribute whose assignments are charted (``Series``): ``obj.name = value`` keeps
    the value in ``obj.__dict__`` under ``_attr`` and charts it through the installed setter,
    offering it first to ``_fast``, the sink bound at the series' last point."""

    _attr: str
    _fast: Any

    def __get__(self, instance: object, owner: type | None) -> Any:
        if instance is None:
            return self
        try:
            return (instance_dict(instance) if _COMPILED else instance.__dict__)[self._attr]  # type: ignore[name-defined]  # noqa: F821
        except KeyError:
            raise AttributeError(self._attr) from None

    def __set__(self, instance: object, value: object) -> None:
        _SET(self, instance, value)

