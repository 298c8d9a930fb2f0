"""A strategy shape of the overhead matrix (``nautilus_overhead.py``) and the timed run of one,
apart from the shapes themselves, whose strategies are written for one NautilusTrader line."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import chartbridge as cb

EMA_PERIODS = (100, 400)  # the EMA-cross shape: trades every few hundred bars (see nautilus_overhead.py)


@dataclass(frozen=True)
class Shape:
    name: str
    what: str
    bars: int  # the full matrix
    quick_bars: int  # --quick
    build: Callable[[int, bool], Any]  # (bars, charted) -> a BacktestEngine


def run(shape: Shape, bars: int, charted: bool) -> dict[str, Any]:
    """Build and run ``shape`` in this process; the timed part is ``engine.run()`` plus, when
    charted, ``cb.flush()`` until Redis holds every point."""
    engine = shape.build(bars, charted)
    started, cpu = time.perf_counter(), time.process_time()
    engine.run()
    ran = time.perf_counter() - started
    delivered = cb.flush(120.0)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"seconds": seconds, "run": ran, "cpu": cpu, "delivered": delivered,
            "orders": engine.cache.orders_total_count(), **cb.stats()}
