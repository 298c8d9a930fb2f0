"""The wrapper of ``@cb.chart`` on a line-like series, compiled when it can be.

``ChartedCall(func, full)`` is the wrapper: it calls ``func``, and while charting is enabled
offers the result to ``append``, else to ``full(result, args, kwargs)``: the decorator's full
path, which checks, converts, rejects and logs, and returns the ``Line`` to bind for the next
call (or None). ``Line(run, buffer)`` binds the buffer a series writes to in ``run``.
``append(line, result)`` appends ``result`` to it and returns True when the call is the common
case: a finite float, in the run that is current, at the integration clock's time, not before
the buffer's last point. Anything else returns False (or raises), having changed nothing.

Two implementations, one behaviour (a test runs each case through both): ``_fastline.pyx``,
built by ``python/setup.py`` when Cython is there, and the Python one here. Inside a backtest a
decorated call costs about a microsecond more in the second. ``COMPILED`` says which is used.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import clock, session
from .protocol import TIME_LIMIT

_INF = math.inf


class PyLine:
    __slots__ = ("run", "buffer", "lock", "t_append", "v_append")

    def __init__(self, run: Any, buffer: Any) -> None:
        self.run, self.buffer, self.lock = run, buffer, buffer.lock
        self.t_append, self.v_append = buffer.t.append, buffer.v.append


def py_append(line: PyLine, result: object) -> bool:
    if type(result) is not float or not -_INF < result < _INF or line.run is not session._session.run:
        return False
    t = clock._fixed
    if t is None:
        source = clock._source
        if source is None:
            return False
        t = source()
    if type(t) is not int or not 0 <= t < TIME_LIMIT:
        return False
    buffer = line.buffer
    with line.lock:
        if t < buffer.last_t:
            return False
        buffer.last_t = t
        if not buffer.t:
            buffer.nudge()
        line.t_append(t)
        line.v_append(result)
    return True


def py_charted_call(func: Callable[..., Any], full: Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]) -> Any:
    line = None

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal line
        result = func(*args, **kwargs)
        if session.ENABLED:
            try:
                if line is not None and py_append(line, result):
                    return result
            except Exception:
                pass  # the full path meets it again, and logs it
            line = full(result, args, kwargs)
        return result
    return wrapper


COMPILED = True
try:
    from ._fastline import ChartedCall as ChartedCall, Line as Line, append as append
except ImportError:  # not built (no Cython or compiler at install)
    COMPILED = False
    Line, append, ChartedCall = PyLine, py_append, py_charted_call  # type: ignore[assignment, misc]
