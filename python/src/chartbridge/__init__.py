"""Chartbridge: chart what a trading strategy computes, live, in VS Code.

>>> import chartbridge as cb
>>> @cb.chart(kind="candlestick")
... def on_bar(self, bar): return bar

Values go to Redis (wire format: protocol/SPEC.md) through a background producer that never
raises into the strategy; see the README for the whole API by example.
"""

from typing import Any

from .clock import set_clock
from .conditions import condition
from .debug import at
from .decorators import bollinger, chart, ema, rsi, signals, sma
from .plugins import plugin, write_plugin
from .protocol import ProtocolError
from .runs import Run, current_run, end_run, publish, results, run
from .fastline import marker
from .series import Series, publish_points, series
from .session import configure, flush, stats


def __getattr__(name: str) -> Any:
    """``cb.load_run``, ``cb.show``: imported on first use, since pandas and anywidget are optional
    (the ``notebook`` extra)."""
    if name in ("load_run", "show"):
        from . import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module 'chartbridge' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "ProtocolError", "Run", "Series", "at", "bollinger", "chart", "condition", "configure", "current_run", "ema", "end_run",
    "flush", "load_run", "marker", "plugin", "publish", "publish_points", "results", "rsi", "run", "series", "set_clock", "show",
    "signals", "sma", "stats", "write_plugin",
]
