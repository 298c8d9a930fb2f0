"""``chartbridge.nautilus.v2_recorder``, the 2.x actor's per-bar handler, in its two forms: the
compiled module (``scripts/setup.sh`` builds it) and its Python source run as it is, which gives
every number the compiled one does (the holdout in test_nautilus2.py checks the compiled one's
numbers against Nautilus's own)."""

from __future__ import annotations

import math
import random
import sys
from array import array
from types import ModuleType
from typing import Any

import pytest
from conftest import REPO, interpreted

nautilus = pytest.importorskip("nautilus_trader")
if int(nautilus.__version__.split(".")[0]) < 2:
    pytest.skip(f"NautilusTrader 2 only (this venv has {nautilus.__version__})", allow_module_level=True)

sys.path.insert(0, str(REPO / "examples" / "nautilus-ema-cross"))
import ema_cross_v2  # noqa: E402

from chartbridge.nautilus import v2_recorder  # noqa: E402

SCALE = 10**16


@pytest.fixture(scope="module", name="interpreted")
def interpreted_recorder() -> ModuleType:
    """The module's Python source, loaded beside the compiled module."""
    return interpreted(v2_recorder)


def test_the_compiled_form_is_built() -> None:
    assert v2_recorder.COMPILED, "scripts/setup.sh builds chartbridge.nautilus.v2_recorder"


def test_a_raw_becomes_the_nearest_double_of_its_decimal(interpreted: ModuleType) -> None:
    rng = random.Random(5)
    raws = [0, 1, -1, 2**53, 2**53 + 1, -(2**53) - 1, 2**63 - 1, -(2**63), 2**63, 11 * 10**15, 110001 * 10**11,
            47 * 10**22, -(10**30)]
    raws += [rng.randint(-(10**19), 10**19) // 10**k * 10**k for k in (0, 5, 11, 14, 16, 17) for _ in range(5000)]
    raws += [rng.randint(-(2**90), 2**90) for _ in range(2000)]
    for scale in (SCALE, 10**9):
        expected = [raw / scale for raw in raws]  # Python's int division: correctly rounded
        assert [v2_recorder.exact(raw, scale, scale) for raw in raws] == expected
        assert [interpreted.exact(raw, scale, scale) for raw in raws] == expected


def _same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


@pytest.mark.parametrize("precision", [0, 2, 8])
def test_equity_and_drawdown_are_the_same_in_both_forms(interpreted: ModuleType, precision: int) -> None:
    rng = random.Random(precision)
    pnl = array("d", [rng.choice([rng.uniform(-1e6, 1e6), 0.005, -0.005, 2.5, 0.125, math.nan]) for _ in range(20000)])
    for balance in (1_000_000.0, 0.125, rng.uniform(0, 1e7)):
        out: list[tuple[float, list[float], list[float]]] = []
        for form in (v2_recorder, interpreted):
            equity, drawdown = array("d"), array("d")
            peak = form.equity(balance, pnl, 3, len(pnl), -math.inf, equity, drawdown, precision)
            out.append((peak, list(equity), list(drawdown)))
        assert out[0][0] == out[1][0] and _same(out[0][1], out[1][1]) and _same(out[0][2], out[1][2])
        assert len(out[0][1]) == len(pnl) - 3


def test_the_bar_recorder_is_the_same_in_both_forms(interpreted: ModuleType) -> None:
    from nautilus_trader.indicators import ExponentialMovingAverage

    bars = ema_cross_v2.synthetic_bars(500)
    results: list[Any] = []
    for form in (v2_recorder, interpreted):
        fills: list[Any] = []
        calls: list[str] = []
        t, v = array("q"), array("d")
        recorder = form.BarRecorder(t, v, fills, lambda: (calls.append("fills"), fills.clear()), None,
                                    lambda: calls.append("error"), 100, True, SCALE)
        recorder.on_batch = lambda recorder=recorder: (calls.append("batch"), setattr(recorder, "pending", 0))
        ema = ExponentialMovingAverage(10)
        recorder.reads.append((ema, "value", array("q"), array("d")))
        recorder.candles(bars[:5])
        for i, bar in enumerate(bars[5:]):
            if i == 50:
                fills.append("a fill")
            ema.handle_bar(bar)
            recorder(bar)
        pnl_t, pnl = array("q"), array("d")
        assert recorder.pnl([], pnl_t, pnl) == len(bars) - 5
        _, _, ema_t, ema_v = recorder.reads[0]
        results.append((list(t), list(v), list(ema_t), list(ema_v), list(pnl_t), list(pnl), calls))
    assert results[0] == results[1]
    t, v, ema_t, _, pnl_t, pnl, calls = results[0]
    assert t == [b.ts_event for b in bars] and v[:5] == [float(str(bars[0].open)), float(str(bars[0].high)),
                                                         float(str(bars[0].low)), float(str(bars[0].close)),
                                                         float(str(bars[0].volume))]
    assert ema_t == [b.ts_event for b in bars[5:]][9:] and pnl_t == t[5:] and pnl == [0.0] * len(pnl_t)
    assert calls == ["fills"] + ["batch"] * 4  # the queued fill at its bar, a hand-over every 100 bars
