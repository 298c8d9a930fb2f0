"""The decorators' fast path: ``chartbridge.fastline`` compiled and the same file interpreted
(the form used where nothing was built) do the same thing.

Each step sets the integration clock, then offers one result to both; they must agree on
whether it was taken and leave their buffers equal. What they decline, the decorators' full
path handles (``test_decorators``).
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy
import pytest
import redis

import chartbridge as cb
from chartbridge import fastline, indicators, session
from chartbridge.protocol import TIME_LIMIT
from chartbridge.runs import end_run, start_run
from chartbridge.series import Series

T0 = 1_704_153_600_000_000_000
STEPS: list[tuple[str, Any, object, bool]] = [  # what, clock, result, taken
    ("a finite float at the clock's time", T0, 1.5, True),
    ("a later time, from a clock source", lambda: T0 + 60, -2.25, True),
    ("the same time again", T0 + 60, 3.0, True),
    ("NaN", T0 + 120, math.nan, False),
    ("+inf", T0 + 120, math.inf, False),
    ("-inf", T0 + 120, -math.inf, False),
    ("an int", T0 + 120, 4, False),
    ("a bool", T0 + 120, True, False),
    ("None", T0 + 120, None, False),
    ("a float subclass (numpy)", T0 + 120, numpy.float64(5.0), False),
    ("an earlier time", T0, 6.0, False),
    ("no integration clock", None, 7.0, False),
    ("a clock source giving a float", lambda: float(T0 + 180), 8.0, False),
    ("a clock source giving a negative time", lambda: -1, 8.0, False),
    ("a clock source at the time limit", lambda: TIME_LIMIT, 8.0, False),
    ("the largest time", lambda: TIME_LIMIT - 1, 9.0, True),
]


@pytest.fixture
def run(r: redis.Redis) -> Iterator[Any]:
    current = start_run("fast")
    yield current
    end_run()


def interpreted(module: ModuleType) -> ModuleType:
    """``module`` run from its .py source by the interpreter, beside the compiled one."""
    spec = importlib.util.spec_from_file_location(f"chartbridge._interpreted_{module.__name__.rpartition('.')[2]}",
                                                  Path(module.__file__ or "").with_suffix("").with_suffix(".py"))
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def test_both_forms_are_there() -> None:
    assert fastline.COMPILED, "chartbridge.fastline is not compiled (scripts/setup.sh builds it)"
    assert not indicators.__file__.endswith(".py"), "chartbridge.indicators is not compiled"
    assert not interpreted(fastline).COMPILED


def implementations(run: Any) -> list[tuple[Any, Any]]:
    """(buffer, line) of the interpreted form, then of the compiled one."""
    pure, compiled = (run.buffer_for(Series(name)) for name in ("pure", "compiled"))
    return [(pure, interpreted(fastline).Line(run, pure)), (compiled, fastline.Line(run, compiled))]


def state(buffer: Any) -> tuple[list[int], list[float], int]:
    return list(buffer.t), list(buffer.v), buffer.last_t


@pytest.mark.parametrize("step", range(len(STEPS)), ids=[s[0] for s in STEPS])
def test_both_take_the_same_results(run: Any, step: int) -> None:
    both = implementations(run)
    for what, now, result, taken in STEPS[:step + 1]:
        cb.set_clock(now)
        answers = [line.offer(result) for _, line in both]
        assert answers == [taken, taken], what
        assert state(both[0][0]) == state(both[1][0]), what
    expected = [(s[1]() if callable(s[1]) else s[1], s[2]) for s in STEPS[:step + 1] if s[3]]
    assert list(zip(both[1][0].t, both[1][0].v)) == expected


def test_neither_writes_into_a_run_that_is_no_longer_current(run: Any) -> None:
    both = implementations(run)
    cb.set_clock(T0)
    end_run()
    start_run("next")
    assert [line.offer(1.0) for _, line in both] == [False, False]
    assert state(both[0][0]) == state(both[1][0]) == ([], [], both[0][0].last_t)
    assert session.current().run is not run


def test_the_first_point_in_an_empty_buffer_wakes_the_idle_producer(run: Any) -> None:
    producer = session.current().producer
    for buffer, line in implementations(run):
        assert producer.flush(5)  # sent everything: the flush thread goes idle
        producer._idle = True
        cb.set_clock(T0)
        assert line.offer(1.0)
        assert not producer._idle and buffer.t.tolist() == [T0]
