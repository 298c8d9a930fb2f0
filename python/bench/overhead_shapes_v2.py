"""The overhead matrix's shapes on NautilusTrader 2 (``nautilus_overhead.py`` run in the nt2 venv):
the EMA-cross example only, in its 2.x form; the other shapes' strategies are 1.x code."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "nautilus-ema-cross"))

import ema_cross_v2  # noqa: E402
from shape import EMA_PERIODS, Shape  # noqa: E402

SHAPES: dict[str, Shape] = {"ema_cross": Shape(
    "ema_cross", f"EMA-cross example ({EMA_PERIODS[0]}/{EMA_PERIODS[1]}), NautilusTrader 2", 1_000_000, 100_000,
    lambda bars, charted: ema_cross_v2.build_engine(bars, charted=charted, periods=EMA_PERIODS)[0])}
