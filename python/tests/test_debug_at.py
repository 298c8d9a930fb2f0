"""``cb.at(t)``, the condition of a "Break Here on Next Run" breakpoint: evaluated the way a
debugger evaluates a breakpoint condition (``eval`` in the paused frame's globals and locals, on
the function's first body line), it holds on exactly one call: the one at event time ``t``.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import CodeType, FrameType, SimpleNamespace
from typing import Any

import pytest
import redis

import chartbridge as cb


@contextmanager
def breakpoint_condition(code: CodeType, line: int, condition: str) -> Iterator[list[dict[str, Any]]]:
    """Like debugpy's conditional breakpoint: the condition is evaluated in the frame each time
    ``line`` of ``code`` runs; yields the locals of every frame where it held (a stop), with the
    integration clock's time as ``clock``."""
    stops: list[dict[str, Any]] = []

    def local(frame: FrameType, event: str, _: object) -> Any:
        if event == "line" and frame.f_lineno == line and eval(condition, frame.f_globals, frame.f_locals):
            stops.append({**frame.f_locals, "clock": cb.clock.clock_time()})
        return local

    def call(frame: FrameType, event: str, _: object) -> Any:
        return local if frame.f_code is code else None

    previous = sys.gettrace()
    sys.settrace(call)
    try:
        yield stops
    finally:
        sys.settrace(previous)


def first_body_line(func: Callable[..., Any]) -> int:
    """The line the extension puts the breakpoint on: the first statement after the docstring."""
    source, start = inspect.getsourcelines(func)
    body = [i for i, text in enumerate(source) if text.strip() and not text.strip().startswith(("@", "def ", '"""', "#"))]
    return start + body[0]


class Bar(SimpleNamespace):
    ts_event: int


def test_true_at_exactly_one_bar_of_a_decorated_loop(r: redis.Redis) -> None:
    @cb.chart
    def close(bar: Bar) -> float:
        """The close of a bar."""
        return float(bar.close)

    bars = [Bar(ts_event=1_700_000_000_000_000_000 + i * 60_000_000_000, close=100 + i) for i in range(50)]
    code = close.__wrapped__.__code__
    with breakpoint_condition(code, first_body_line(close.__wrapped__), "cb.at(1700000000000000000 + 17 * 60_000_000_000)") as stops:
        for bar in bars:
            close(bar)
    assert [s["bar"].close for s in stops] == [117]


def test_reads_an_int_ts_event_argument_and_the_integration_clock() -> None:
    def on_tick(ts_event: int) -> bool:
        return cb.at(1_000_000)

    assert [t for t in range(999_000, 1_002_000, 500) if on_tick(t)] == [1_000_000, 1_000_500]  # the µs of 1_000_000
    cb.set_clock(5_000_000)
    try:
        assert on_tick(1_000_000) is False and on_tick(0) is False
        assert (lambda: cb.at(5_000_000))() is True
    finally:
        cb.set_clock(None)
    assert (lambda: cb.at(5_000_000))() is False  # no time at all: never true


def test_a_time_that_is_not_int_ns_is_refused_with_the_reason() -> None:
    with pytest.raises(TypeError, match=r"chartbridge.at: the time must be int ns since the epoch, not str"):
        cb.at("2023-11-14")  # type: ignore[arg-type]


def test_stops_on_the_chosen_bar_of_a_real_nautilus_backtest(r: redis.Redis) -> None:
    pytest.importorskip("nautilus_trader")
    sys.path.insert(0, str(__import__("conftest").REPO / "examples" / "nautilus-ema-cross"))
    from chartbridge.nautilus.compat import V2

    ema_cross = importlib.import_module("ema_cross_v2" if V2 else "ema_cross")  # the installed line's example
    engine, strategy = ema_cross.build_engine(200)
    chosen = ema_cross.START.value + 120 * 60_000_000_000  # the 121st one-minute bar
    gap = ema_cross.EMACross.ema_gap.__wrapped__
    # The actor's clock is the engine's: inside ema_gap (no bar in its locals) the time is simulated.
    with breakpoint_condition(gap.__code__, first_body_line(gap), f"cb.at({chosen})  # bar 120") as stops:
        engine.run()
    engine.dispose()
    assert [(s["self"], s["clock"]) for s in stops] == [(strategy, chosen)]
    assert cb.flush(10)
