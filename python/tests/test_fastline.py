"""The decorators' fast path: ``chartbridge.fastline`` compiled and the same file interpreted
(the form used where nothing was built) do the same thing.

Each step sets the integration clock, then offers one result to both; they must agree on
whether it was taken and leave their buffers equal. What they decline, the decorators' full
path handles (``test_decorators``).
"""

from __future__ import annotations

import functools
import gc
import inspect
import math
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy
import pytest
import redis
from conftest import interpreted, read_points

import chartbridge as cb
from chartbridge import charted_attribute, clock, decorators, fastline, indicators, session
from chartbridge.producer import DEFERRING, HAND_OVER_POINTS, PointBuffer, Producer
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
    """A run whose buffers the tests read: the producer is paced (as by a backtest's actor), so
    its thread does not take their points meanwhile (it did, now and then, on a loaded machine)."""
    current = start_run("fast")
    producer = session.current().producer
    producer.pace(True)
    yield current
    producer.pace(False)
    end_run()


def test_both_forms_are_there() -> None:
    assert fastline.COMPILED, "chartbridge.fastline is not compiled (scripts/setup.sh builds it)"
    assert not indicators.__file__.endswith(".py"), "chartbridge.indicators is not compiled"
    assert not interpreted(fastline).COMPILED


def test_a_charted_attribute_hands_each_assignment_to_the_installed_function() -> None:
    """``charted_attribute`` interpreted (as installed without a compiler): what ``Series`` does
    as a descriptor before fastline's function charts anything."""
    plain = interpreted(charted_attribute)
    seen: list[tuple[Any, object, object]] = []

    class Attribute(plain.ChartedAttribute):  # type: ignore[misc,name-defined]
        def __set_name__(self, owner: type, attr: str) -> None:
            self._attr = attr

    class Owner:
        level = Attribute()

    owner = Owner()
    with pytest.raises(RuntimeError, match="chartbridge.fastline is not imported"):
        owner.level = 1.5
    plain.install(lambda attribute, instance, value: seen.append((attribute, instance, value)) or 0)
    owner.level = 2.5
    assert seen == [(vars(Owner)["level"], owner, 2.5)]
    with pytest.raises(AttributeError, match="level"):
        _ = owner.level
    vars(owner)["level"] = 3.5
    assert owner.level == 3.5 and isinstance(Owner.level, Attribute)
    assert not plain.COMPILED and charted_attribute.COMPILED
    assert "__set__" not in vars(Series) and Series.__mro__[1] is charted_attribute.ChartedAttribute


def test_compiled_it_reads_a_lock_held_or_free_from_the_lock_itself() -> None:
    assert fastline.READS_LOCKS, "the lock layout of this CPython is not the one fastline.pxd reads"
    assert not interpreted(fastline).READS_LOCKS


def implementations(run: Any) -> list[tuple[Any, Any]]:
    """(buffer, line) of the interpreted form, then of the compiled one."""
    pure, compiled = (run.buffer_for(Series(name)) for name in ("pure", "compiled"))
    return [(pure, interpreted(fastline).Line(run, pure)), (compiled, fastline.Line(run, compiled))]


def state(buffer: Any) -> tuple[list[int], list[float], int]:
    return list(buffer.t), list(buffer.v), buffer.last[0]


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
    assert state(both[0][0]) == state(both[1][0]) == ([], [], both[0][0].last[0])
    assert session.current().run is not run


def test_the_first_point_in_an_empty_buffer_wakes_the_idle_producer(run: Any) -> None:
    """Points of now (a live run): the first after an idle cycle wakes the flush thread."""
    producer = session.current().producer
    producer.pace(False)  # a paced producer is woken by its hand-overs instead
    for buffer, line in implementations(run):
        cb.set_clock(time.time_ns())
        assert line.offer(1.0)
        assert producer.flush(5)  # sent everything, its newest point of now: the flush thread goes idle
        producer._idle = True
        now = time.time_ns()
        cb.set_clock(now)
        assert line.offer(1.0)
        # the woken thread may have taken the point already: its time is the buffer's last
        assert not producer._idle and buffer.last[0] == now


def test_a_replay_is_handed_over_by_its_writers(run: Any, r: redis.Redis) -> None:
    """Points over an hour old that fill a series' buffer to HAND_OVER_POINTS before the flush
    thread took them (a backtest charted by decorators alone, which nothing paces): the last of
    them delivers them, on the writer's thread, and so do the next HAND_OVER_POINTS points. A
    producer whose flush thread never ran stands for one kept from the GIL by the strategy."""
    for i, line_of in enumerate((interpreted(fastline).Line, fastline.Line)):
        producer = Producer(session.current().settings.url)
        buffer = PointBuffer(f"{session.current().settings.prefix}:{{{run.id}}}:s:replay{i}", "line")
        producer._buffers.append(buffer)
        buffer.nudge, buffer.full = producer.nudge, producer.full
        line = line_of(run, buffer)
        for j in range(HAND_OVER_POINTS):
            cb.set_clock(T0 + j)
            assert line.offer(float(j))
        assert producer._replaying and len(buffer.t) == 0
        assert read_points(r, f"replay{i}", run.id) == ([T0 + j for j in range(HAND_OVER_POINTS)],
                                                        {"y": [float(j) for j in range(HAND_OVER_POINTS)]})
        producer._idle = True
        for j in range(HAND_OVER_POINTS, 2 * HAND_OVER_POINTS - 1):
            cb.set_clock(T0 + j)
            assert line.offer(float(j))
        assert len(buffer.t) == HAND_OVER_POINTS - 1
        cb.set_clock(T0 + 2 * HAND_OVER_POINTS)
        assert line.offer(0.5)
        assert len(buffer.t) == 0 and len(read_points(r, f"replay{i}", run.id)[0]) == 2 * HAND_OVER_POINTS
        producer.client.close()


def _replay(run: Any, name: str) -> tuple[Producer, PointBuffer, fastline.Line]:
    """A producer with its flush thread, and a series whose first point (over an hour old) was
    written before the thread started."""
    producer = Producer(session.current().settings.url)
    buffer = PointBuffer(f"{session.current().settings.prefix}:{{{run.id}}}:s:{name}", "line")
    line = fastline.Line(run, buffer)
    cb.set_clock(T0)
    assert line.offer(0.0)
    producer.register(buffer, [])
    return producer, buffer, line


def _until(condition: Any) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "not within 10 s"
        time.sleep(0.01)


def test_a_replay_starts_at_its_first_point_and_its_writer_delivers(run: Any, r: redis.Redis) -> None:
    """Points over an hour old from the first: while the writer holds the GIL the flush thread
    runs no cycle (each of its socket calls would wait for the GIL again); the writer hands over
    at each HAND_OVER_POINTS points, and every point reaches Redis."""
    producer, buffer, line = _replay(run, "busy")
    # The first point: this writer waited, so the thread delivered it; its cycle over (a hand-over
    # meanwhile would find it under way and leave the points to the next one).
    _until(lambda: producer._replaying and producer._ok == producer._started == 1 and not producer._cycling.locked())
    started = producer._started
    total = 3 * HAND_OVER_POINTS + 7
    for j in range(1, total):  # a writer at work: it gives the GIL up only when the interpreter makes it
        cb.set_clock(T0 + j)
        assert line.offer(float(j))
    assert producer._started - started == 3 and len(buffer.t) == 6  # the three hand-overs, on this thread
    assert producer.close(10)
    assert read_points(r, "busy", run.id) == ([T0 + j for j in range(total)], {"y": [float(j) for j in range(total)]})


def test_a_replay_defers_its_indicators_points_and_its_writer_delivers_them(r: redis.Redis) -> None:
    """A backtest charted by decorators alone (a replay): an indicator's points wait for the
    hand-over too, and the writer delivers them at each HAND_OVER_POINTS calls, as it does points
    written at once; every point reaches Redis."""
    producer = session.current().producer

    @cb.sma(1, name="replayed", nautilus=1)
    def value(x: float) -> float:
        return x

    cb.set_clock(T0)
    value(0.0)  # the full path: registers the series, and the flush thread finds a replay
    _until(lambda: producer._replaying and producer._ok == producer._started and not producer._cycling.locked())
    assert DEFERRING[0] == 1
    started, total = producer._started, 2 * HAND_OVER_POINTS + 3
    for j in range(1, total):
        cb.set_clock(T0 + j)
        value(float(j))
    assert type(value.charted.sink).__name__ == "Indicated"
    assert producer._started - started == 2  # the two hand-overs, on this thread
    buffer = session.current().current_run().buffers["replayed.sma1"]
    assert buffer.last[0] == T0 + 2 * HAND_OVER_POINTS  # the last two wait for the next one
    assert cb.flush()
    assert read_points(r, "replayed.sma1") == ([T0 + j for j in range(total)], {"y": [float(j) for j in range(total)]})


def test_old_points_written_with_pauses_are_delivered_at_each_pause(run: Any, r: redis.Redis) -> None:
    """A replay whose writer pauses (historical data charted from a notebook): the flush
    thread delivers what waits once it finds the GIL free."""
    producer, buffer, line = _replay(run, "paused")
    for start, n in ((1, 10), (10, 20)):
        for j in range(start, n):
            cb.set_clock(T0 + j)
            assert line.offer(float(j))
        _until(lambda: len(read_points(r, "paused", run.id)[0]) == n)
        assert producer._replaying
    assert producer.close(10)


@pytest.fixture(params=["at once", "deferred"])
def writes(request: pytest.FixtureRequest, r: redis.Redis) -> Iterator[str]:
    """The fast path writes each point at its call, or defers them to the hand-over: the session's
    producer paced as by a backtest's actor (``producer.DEFERRING``), its points written at flush."""
    producer = session.current().producer
    producer.pace(request.param == "deferred")
    assert DEFERRING[0] == (request.param == "deferred")
    yield str(request.param)
    producer.pace(False)


@pytest.fixture(params=["compiled", "interpreted"])
def form(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The decorators on the compiled fast path, or on the same files interpreted (as installed
    without a compiler: the fast path and the indicators it feeds)."""
    if request.param == "interpreted":
        plain_fastline = interpreted(fastline)
        monkeypatch.setattr(decorators, "fastline", plain_fastline)
        monkeypatch.setattr(cb, "fastline", plain_fastline)  # what ``Series.sink`` imports
        monkeypatch.setattr(Series, "__set__", plain_fastline.series_set)  # what the compiled one installs
        plain = interpreted(indicators)
        for name in ("EMA", "RSI", "SMA", "Bollinger", "WilderRSI"):
            monkeypatch.setattr(decorators, name, getattr(plain, name))
    return str(request.param)


def full_paths(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one at each call a decorator's full path charts (its hook reads the
    point's time through ``clock.point_time``; the fast path does not)."""
    full: list[int] = []
    point_time = clock.point_time
    monkeypatch.setattr(clock, "point_time", lambda values: full.append(1) or point_time(values))
    return full


class Candle:
    """A bar-like result (the fast path binds to its type) with float prices."""

    def __init__(self, ts: int, o: float, h: float, lo: float, c: float, volume: float | None = 10.0) -> None:
        self.open, self.high, self.low, self.close, self.volume, self.ts_event = o, h, lo, c, volume, ts


# (clock, result): what a decorated on_bar returns, in order: bound by the first, then taken or declined.
CANDLES: list[tuple[int | None, Any]] = [
    (T0, Candle(T0, 1.0, 2.0, 0.5, 1.5)),
    (T0 + 1, Candle(T0 + 1, 1.5, 2.5, 1.0, 2.0)),
    (T0 + 2, Candle(T0 + 2, 2.0, 1.0, 0.5, 1.5)),        # high < open: refused (E_CANDLE)
    (T0 + 3, Candle(T0 + 3, 2.0, 3.0, 1.5, math.nan)),   # refused (E_NONFINITE)
    (T0 + 4, Candle(T0 + 4, 2.0, 3.0, 1.5, 2.5, None)),  # no volume: charted with 0.0 by the full path
    (T0 + 5, (2.5, 3.5, 2.0, 3.0, 7.0)),                 # a tuple: the full path
    (T0 + 3, Candle(T0 + 3, 1.0, 2.0, 0.5, 1.5)),        # before the last point: refused (E_ORDER)
    (None, Candle(T0 + 9, 3.0, 4.0, 2.5, 3.5)),          # no clock: its ts_event
    (T0 + 10, Candle(T0 + 10, 3.5, 4.5, 3.0, 4.0, 12.5)),
    (T0 + 11, SimpleNamespace(open=4.0, high=5.0, low=3.5, close=4.5, volume=1.0)),  # another type: the full path
]


def test_stacked_decorators_chart_each_and_another_decorator_between_them_still_runs(r: redis.Redis,
                                                                                    form: str,
        writes: str) -> None:
    calls: list[float] = []

    def counted(func: Any) -> Any:  # a user's decorator: functools.wraps copies the wrapper's attributes
        @functools.wraps(func)
        def wrapper(*args: Any) -> Any:
            calls.append(args[-1])
            return func(*args)
        return wrapper

    class Strategy:
        @cb.ema(2, name="a", nautilus=1)
        @cb.chart(name="a")
        def a(self, x: float) -> float:
            return x

        @cb.ema(2, name="b", nautilus=1)
        @counted
        @cb.chart(name="b")
        def b(self, x: float) -> float:
            return x

    strategy = Strategy()
    for i, x in enumerate([1.0, 4.0, 2.0, 8.0]):
        cb.set_clock(T0 + i)
        assert strategy.a(x) == x and strategy.b(x) == x
    assert calls == [1.0, 4.0, 2.0, 8.0]  # the wrapper between the two decorators ran each time
    assert type(Strategy.a.charted.sink).__name__ == "Indicated" and type(Strategy.b.charted.sink).__name__ == "Indicated"
    assert cb.flush()
    ema, emas = 1.0, []  # 1.x: seeded by the first value, alpha = 2 / 3, charted from the second on
    for x in [4.0, 2.0, 8.0]:
        ema = 2.0 / 3.0 * x + (1.0 - 2.0 / 3.0) * ema
        emas.append(ema)
    for name in ("a", "b"):
        assert read_points(r, name) == ([T0, T0 + 1, T0 + 2, T0 + 3], {"y": [1.0, 4.0, 2.0, 8.0]})
        assert read_points(r, f"{name}.ema2") == ([T0 + 1, T0 + 2, T0 + 3], {"y": emas})


def test_candles_take_the_fast_path_and_chart_what_the_full_path_charts(r: redis.Redis, form: str,
        writes: str) -> None:
    @cb.chart(name="bars", kind="candlestick")
    def on_bar(bar: Any) -> Any:
        return bar

    for now, result in CANDLES:
        cb.set_clock(now)
        on_bar(result)
    assert type(on_bar.charted.sink).__name__ == "Candles" and on_bar.charted.sink.kind is SimpleNamespace
    assert cb.flush()
    assert read_points(r, "bars") == ([T0, T0 + 1, T0 + 4, T0 + 5, T0 + 9, T0 + 10, T0 + 11], {
        "o": [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0], "h": [2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0],
        "l": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5], "c": [1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5],
        "vol": [10.0, 10.0, 0.0, 7.0, 10.0, 12.5, 1.0]})
    assert cb.stats()["rejected"] == 3


def test_candles_of_tuples_lists_and_dicts_take_the_fast_path_and_chart_what_the_full_path_charts(
        r: redis.Redis, form: str, writes: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from chartbridge.nautilus.compat import Price, Quantity

    full = full_paths(monkeypatch)

    @cb.chart(name="rows", kind="candlestick")
    def on_bar(row: Any) -> Any:
        return row

    def px(*texts: str) -> list[Any]:
        return [Price.from_str(t) for t in texts]

    # result, the row charted, on the full path at the call (None: a tuple of floats, kept to the
    # drain when deferred, ``Candles.keeps_tuple``, and refused there; else at the call)
    results: list[tuple[Any, tuple[float, ...] | None, bool | None]] = [
        ((1.0, 2.0, 0.5, 1.5, 10.0), (1.0, 2.0, 0.5, 1.5, 10.0), True),   # binds
        ((1.5, 2.5, 1.0, 2.0, 11.0), (1.5, 2.5, 1.0, 2.0, 11.0), False),
        ((2.0, 1.0, 0.5, 1.5, 1.0), None, None),                          # high < open: refused (E_CANDLE)
        ((2.0, 3.0, 1.5, 2.5, 3), (2.0, 3.0, 1.5, 2.5, 3.0), True),       # an int volume: binds anew
        ((2.5, 3.5, 2.0, 3.0, 4), (2.5, 3.5, 2.0, 3.0, 4.0), False),
        ((2.5, 3.5, 2.0, 3.0, None), None, True),                         # a volume of None: refused (E_VALUE)
        ((3.0, 4.0, 2.5, 3.5), (3.0, 4.0, 2.5, 3.5, 0.0), True),          # 4 items: no volume
        ([3.5, 4.5, 3.0, 4.0, 5.0], (3.5, 4.5, 3.0, 4.0, 5.0), True),     # a list binds
        ([3.5, 4.5, 3.0, 4.0, 6.0], (3.5, 4.5, 3.0, 4.0, 6.0), False),
        ({"open": 4.0, "high": 5.0, "low": 3.5, "close": 4.5, "volume": 7.0}, (4.0, 5.0, 3.5, 4.5, 7.0), True),
        ({"open": 4.5, "high": 5.5, "low": 4.0, "close": 5.0, "volume": 8.0}, (4.5, 5.5, 4.0, 5.0, 8.0), False),
        ({"open": 4.5, "high": 5.5, "low": 4.0, "close": 5.0}, (4.5, 5.5, 4.0, 5.0, 0.0), True),
        ((*px("42990.9", "42999.1", "42980.3", "42990.9"), Quantity.from_str("1.5")),
         (42990.9, 42999.1, 42980.3, 42990.9, 1.5), True),                # Nautilus decimals bind
        ((*px("42990.9", "43000.0", "42990.1", "42995.7"), Quantity.from_str("0.3")),
         (42990.9, 43000.0, 42990.1, 42995.7, 0.3), False),              # their decimals, not as_double()
        ((1, 2, 0, 1, 2), (1.0, 2.0, 0.0, 1.0, 2.0), True),               # ints where Prices were
        ((1.0, 2.0, 0.5, math.nan, 1.0), None, True),                     # refused (E_NONFINITE)
        ((1.0, 2.0, 0.5), None, True),                                    # 3 items: refused (E_VALUE)
    ]
    for i, (result, _, _) in enumerate(results):
        cb.set_clock(T0 + i)
        before = len(full)
        assert on_bar(result) is result
        at_call = results[i][2]
        assert len(full) - before == (at_call if at_call is not None else writes != "deferred"), i
    assert cb.flush()
    rows = [(T0 + i, row) for i, (_, row, _) in enumerate(results) if row is not None]
    assert read_points(r, "rows") == ([t for t, _ in rows], {
        name: [row[c] for _, row in rows] for c, name in enumerate(("o", "h", "l", "c", "vol"))})
    assert cb.stats()["rejected"] == 4


def test_a_candle_tuple_is_kept_to_the_hand_over_only_when_nothing_can_change_it(
        r: redis.Redis, form: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """During a backtest a tuple of floats waits for the hand-over (``Candles.keeps_tuple``); one
    holding an object its caller may change is read at its call, so the candle charted is the
    one returned even when the object changes before the hand-over, and the points keep their order."""
    full = full_paths(monkeypatch)

    class Level:
        """A mutable price: what the strategy holds and changes after returning it."""

        def __init__(self, x: float) -> None:
            self.x = x

        def __float__(self) -> float:
            return self.x

    @cb.chart(name=f"levels-{form}", kind="candlestick")
    def on_bar(row: Any) -> Any:
        return row

    producer = session.current().producer
    producer.pace(True)
    try:
        level = Level(1.25)
        cb.set_clock(T0)
        on_bar((1.0, 2.0, 0.5, 1.5, 10.0))  # binds
        cb.set_clock(T0 + 1)
        on_bar((1.5, 2.5, 1.0, 2.0, 11.0))  # kept to the hand-over
        buffer = on_bar.charted.sink.line.buffer  # type: ignore[attr-defined]
        assert len(full) == 1 and len(buffer.t) == 1
        cb.set_clock(T0 + 2)
        on_bar((1.0, 2.0, 0.5, level, 12.0))  # read now: on the full path, after the kept one
        assert len(full) == 2 and len(buffer.t) == 3
        level.x = 99.0
        assert cb.flush()
    finally:
        producer.pace(False)
    assert read_points(r, f"levels-{form}") == ([T0, T0 + 1, T0 + 2], {
        "o": [1.0, 1.5, 1.0], "h": [2.0, 2.5, 2.0], "l": [0.5, 1.0, 0.5], "c": [1.5, 2.0, 1.25],
        "vol": [10.0, 11.0, 12.0]})


def test_without_an_integration_clock_the_fast_path_charts_at_its_arguments_time(
        r: redis.Redis, form: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A strategy charted without the actor (no clock set): each point is at the ``ts_event`` of
    the call's first argument that has one, as ``clock.point_time`` says, and the full path is
    taken only where that rule needs it (the first call binds; an int of another type)."""
    full = full_paths(monkeypatch)

    @cb.chart(name=f"close-{form}")
    def on_bar(strategy: Any, bar: Any) -> float:  # the first argument has no time: the rule skips it
        return float(bar.close)

    class Ns(int):
        """An int of another type, which ``check_time`` reads as an int."""

    strategy = SimpleNamespace(name="a strategy")
    cb.set_clock(None)
    for ts in (T0, T0 + 1, T0 + 2, Ns(T0 + 3), T0 + 4, T0 + 5):
        on_bar(strategy, Candle(ts, 1.0, 2.0, 0.5, float(ts % 100)))
    assert len(full) == 2  # the first call (it binds) and the int subclass
    # No time the rule takes (one past the limit is skipped, as E_TIME), anywhere: the wall clock's.
    on_bar(strategy, Candle(TIME_LIMIT, 1.0, 2.0, 0.5, 6.0))
    on_bar(strategy, SimpleNamespace(close=7.0))
    assert len(full) == 4
    assert cb.flush()
    t, columns = read_points(r, f"close-{form}")
    assert t[:6] == [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4, T0 + 5] and len(t) == 8
    assert all(abs(ns - time.time_ns()) < 60 * 10**9 for ns in t[6:])
    assert columns == {"y": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]}


def test_the_wrapper_is_called_as_the_function_it_wraps(r: redis.Redis, form: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiled, the wrapper passes the caller's arguments on as they came (charted_function.h)
    and makes their tuple and dict only for the full path: positional, default, keyword-only and
    extra keyword arguments reach the function, a keyword argument's time reaches the full path,
    an exception reaches the caller, and the wrapper reads and binds as the function does."""
    full = full_paths(monkeypatch)

    class Strategy:
        @cb.chart(name=f"wrapped-{form}")
        def value(self, bar: Any, scale: float = 1.0, *, shift: float = 0.0, **more: float) -> float:
            """The close, scaled and shifted."""
            if bar is None:
                raise ValueError("no bar")
            return float(bar.close) * scale + shift + sum(more.values())

    strategy = Strategy()
    cb.set_clock(None)  # each point's time is a bar's ts_event: a keyword's only on the full path
    assert strategy.value(Candle(T0, 1.0, 2.0, 0.5, 1.0)) == 1.0
    assert strategy.value(Candle(T0 + 1, 1.0, 2.0, 0.5, 1.0), 2.0) == 2.0
    assert strategy.value(bar=Candle(T0 + 2, 1.0, 2.0, 0.5, 1.0), scale=3.0, shift=0.5, extra=0.25) == 3.75
    assert Strategy.value(strategy, Candle(T0 + 3, 1.0, 2.0, 0.5, 1.0), shift=3.0) == 4.0  # called unbound
    with pytest.raises(ValueError, match="no bar"):
        strategy.value(None)
    assert len(full) == 2  # the first call (it binds) and the bar given by keyword
    assert Strategy.value.__name__ == "value" and Strategy.value.__doc__ == "The close, scaled and shifted."
    assert str(inspect.signature(strategy.value)) == "(bar: 'Any', scale: 'float' = 1.0, *, shift: 'float' = 0.0, **more: 'float') -> 'float'"
    assert strategy.value.__self__ is strategy and "Strategy.value" in repr(Strategy.value)
    assert cb.flush()
    [key] = r.keys(f"*:s:wrapped-{form}*")  # the other form's strategy, of the same class, may hold the plain id
    assert read_points(r, key.decode().partition(":s:")[2]) == ([T0, T0 + 1, T0 + 2, T0 + 3],
                                                                 {"y": [1.0, 2.0, 3.75, 4.0]})
    cycle = decorators.fastline.wrap(lambda: None, lambda *_: None)
    cycle.itself = cycle
    collected = weakref.ref(cycle)
    del cycle
    gc.collect()
    assert collected() is None  # a wrapper in a reference cycle is collected


def test_an_indicator_takes_the_fast_path_and_charts_what_the_full_path_charts(r: redis.Redis, form: str,
        writes: str) -> None:
    @cb.sma(2, raw=True, source="hl2", name="mid")
    def on_bar(bar: Any) -> Any:
        return bar

    results: list[tuple[int | None, Any]] = [
        (T0, Candle(T0, 1.0, 2.0, 1.0, 1.5)),           # hl2 1.5, warming up: the full path
        (T0 + 1, Candle(T0 + 1, 1.5, 4.0, 2.0, 2.0)),   # hl2 3.0: sma 2.25, the sink binds
        (T0 + 2, 5.0),                                   # a float is used as it is
        (T0 + 3, Candle(T0 + 3, 1.0, 2.0, 1.0, math.inf)),  # hl2 1.5 (its close is not read): sma 3.25
        (T0 + 4, Candle(T0 + 4, 1.0, math.nan, 1.0, 1.0)),  # a NaN high: refused, not fed to the SMA
        (T0 + 5, None),                                   # no point
        (T0 + 5, 8.0),                                    # sma 4.75
        (T0 + 1, 7.0),                                    # before the last point: refused, fed to the SMA
        (T0 + 6, Candle(T0 + 6, 1.0, 9.0, 3.0, 1.0)),     # hl2 6.0: sma (7 + 6) / 2
    ]  # deferred, the last three are drained together: the batch stops at 7.0 and goes on after it
    for now, result in results:
        cb.set_clock(now)
        on_bar(result)
    assert type(on_bar.charted.sink).__name__ == "Indicated"
    assert cb.flush()
    assert read_points(r, "mid") == ([T0, T0 + 1, T0 + 2, T0 + 3, T0 + 5, T0 + 6],
                                     {"y": [1.5, 3.0, 5.0, 1.5, 8.0, 6.0]})
    assert read_points(r, "mid.sma2") == ([T0 + 1, T0 + 2, T0 + 3, T0 + 5, T0 + 6], {"y": [2.25, 4.0, 3.25, 4.75, 6.5]})
    assert cb.stats()["rejected"] == 3  # the NaN high, and 7.0 on both series


def test_an_indicator_value_that_overflows_is_refused_on_the_fast_path_too(r: redis.Redis, form: str,
        writes: str) -> None:
    @cb.sma(2, name="big", nautilus=1)  # 1.x's window re-summed at each value: 2.x's running sum stays inf
    def value(x: float) -> float:
        return x

    for i, x in enumerate([1.0, 1.0, 1.7e308, 1.7e308, 1.0]):  # the SMA of the two 1.7e308: inf
        cb.set_clock(T0 + i)
        value(x)
    assert type(value.charted.sink).__name__ == "Indicated"
    assert cb.flush()
    assert read_points(r, "big.sma2") == ([T0 + 1, T0 + 2, T0 + 4],
                                          {"y": [1.0, (1.0 + 1.7e308) / 2, (1.7e308 + 1.0) / 2]})
    assert cb.stats()["rejected"] == 1


def number_results() -> list[tuple[str, list[tuple[Any, float | None]], int]]:
    """(what, (result, the number charted for it or None) for each call of one decorated function
    in order, full-path calls): each binds at its first result; None charts nothing, on the fast
    path once bound; a float is taken as it is; a result of another type or with no finite
    number takes the full path (refused and counted, or charted) and binds anew."""
    from decimal import Decimal

    from chartbridge.nautilus.compat import Money, Price, Quantity
    from chartbridge.nautilus.convert import decimal_value

    usd = Money.from_str("1000018.16 USD").currency
    big = Money.from_str("1000018.16 USD")
    return [
        ("a Nautilus Price (its decimal, not as_double)",
         [(Price.from_str("42990.9"), 42990.9), (None, None), (Price.from_str("1.00001"), 1.00001), (2.5, 2.5),
          (Quantity.from_str("3"), 3.0), (Price.from_str("0.1"), 0.1)], 3),
        ("a Nautilus Quantity", [(Quantity.from_str("0.3"), 0.3), (Quantity.from_str("12345.678"), 12345.678),
                                 (None, None)], 1),
        ("Nautilus Money", [(big, decimal_value(big)), (Money(-0.5, usd), -0.5)], 1),
        ("an int (past 2**53: rounded as float() rounds; past the float range: refused)",
         [(3, 3.0), (-7, -7.0), (None, None), (2**60 + 1, float(2**60)), (10**400, None), (5, 5.0)], 2),
        ("a bool", [(True, 1.0), (False, 0.0)], 1),
        ("a numpy float64", [(numpy.float64(1.5), 1.5), (numpy.float64(math.nan), None), (numpy.float64(-2.0), -2.0)], 2),
        ("a numpy int64", [(numpy.int64(7), 7.0), (numpy.int64(-1), -1.0)], 1),
        ("a Decimal", [(Decimal("0.1"), 0.1), (Decimal("1e400"), None), (Decimal("NaN"), None),
                       (Decimal("-3.25"), -3.25)], 3),
    ]


@pytest.mark.parametrize("case", range(len(number_results())), ids=[c[0] for c in number_results()])
def test_numbers_of_other_types_take_the_fast_path_and_chart_what_the_full_path_charts(
        r: redis.Redis, form: str, writes: str, case: int, monkeypatch: pytest.MonkeyPatch) -> None:
    what, calls, full_calls = number_results()[case]
    full = full_paths(monkeypatch)

    @cb.chart(name="n")
    def value(x: Any) -> Any:
        return x

    for i, (result, _) in enumerate(calls):
        cb.set_clock(T0 + i)
        assert value(result) is result
    assert len(full) == full_calls, what
    assert type(value.charted.sink).__name__ == "Line"
    from chartbridge.nautilus import recorder
    from chartbridge.nautilus.compat import Price, Quantity

    reading = value.charted.sink.reading
    if reading.kind in (Price, Quantity):  # compiled for this version, the recorder reads them from their struct
        assert reading.in_c == (form == "compiled" and recorder.COMPILED)
    assert cb.flush()
    assert read_points(r, "n") == ([T0 + i for i, (_, y) in enumerate(calls) if y is not None],
                                   {"y": [y for _, y in calls if y is not None]}), what
    assert cb.stats()["rejected"] == len([x for x, y in calls if x is not None and y is None])


def test_a_series_assigned_or_added_to_takes_the_fast_path_and_charts_what_the_full_path_charts(
        r: redis.Redis, form: str, writes: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``cb.series`` as a descriptor charts each assignment, and ``add`` each value: once a value
    was charted, the next of its type goes straight to the buffer; what the fast path declines
    takes the full path, which refuses and counts it (an assignment) or raises (``add``)."""
    from chartbridge.nautilus.compat import Price
    from chartbridge.protocol import ProtocolError

    full = []
    point = Series._point
    monkeypatch.setattr(Series, "_point", lambda self, value: full.append(value) or point(self, value))

    class Strategy:
        fast = cb.series(kind="line")

    strategy = Strategy()
    assigned = [1.5, Price.from_str("42990.9"), Price.from_str("1.00001"), None, math.nan, 3]
    for i, x in enumerate(assigned):
        cb.set_clock(T0 + i)
        strategy.fast = x
        assert strategy.fast is x
    assert full == [1.5, assigned[1], assigned[4], 3]  # None is no point; NaN is refused
    # compiled, ChartedAttribute's C slot calls fastline's function; the interpreted form is set on Series
    assert ("__set__" in vars(Series)) == (form == "interpreted")
    equity = cb.series("equity")
    full.clear()
    cb.set_clock(T0)
    equity.add(1_000_000.0)
    equity.add(1_000_250.0)
    equity.add(999.5, time=T0 + 10)
    with pytest.raises(ProtocolError, match="E_ORDER"):
        equity.add(1.0, time=T0 + 5)
    with pytest.raises(ProtocolError, match="E_NONFINITE"):
        equity.add(math.inf, time=T0 + 11)
    with pytest.raises(ProtocolError, match="E_TIME"):
        equity.add(1.0, time=-1)
    equity.add(2.0, time=T0 + 12)
    assert full == [1_000_000.0, 1.0, math.inf]  # the bad time is refused before the value is read
    assert cb.flush()
    assert read_points(r, Strategy.fast.id) == ([T0, T0 + 1, T0 + 2, T0 + 5], {"y": [1.5, 42990.9, 1.00001, 3.0]})
    assert read_points(r, "equity") == ([T0, T0, T0 + 10, T0 + 12], {"y": [1_000_000.0, 1_000_250.0, 999.5, 2.0]})
    assert cb.stats()["rejected"] == 1


def test_an_indicator_of_nautilus_prices_takes_the_fast_path_with_their_decimals(
        r: redis.Redis, form: str, writes: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from chartbridge.nautilus.compat import Price

    full = full_paths(monkeypatch)

    @cb.sma(2, raw=True, name="px", nautilus=1)  # 1.x: the window summed again at each value
    def close(x: Any) -> Any:
        return x

    texts = ["42990.9", "42999.1", "1.00001", "0.3"]
    for i, text in enumerate(texts):
        cb.set_clock(T0 + i)
        close(Price.from_str(text))
    assert len(full) == 2  # warming up, then the bind
    assert type(close.charted.sink).__name__ == "Indicated" and close.charted.sink.reading.kind is Price
    assert cb.flush()
    xs = [float(t) for t in texts]
    assert read_points(r, "px") == ([T0 + i for i in range(4)], {"y": xs})
    assert read_points(r, "px.sma2") == ([T0 + i for i in range(1, 4)],
                                         {"y": [(a + b) / 2 for a, b in zip(xs, xs[1:])]})


def nautilus_decimals() -> list[Any]:
    """Nautilus ``Price``/``Quantity`` values of 0 to 9 decimals, some where ``as_double()`` is one
    ulp off the decimal (42990.9), some of more digits than ``fastline.fixed`` reads back."""
    from chartbridge.nautilus.compat import Price, Quantity

    texts = ["42990.9", "0.1", "1.00001", "-3.14159", "0", "123456789.123456", "99999.99999", "1e-9",
             "9999999.999999999"] + [f"{n / 10**p:.{p}f}" for p in range(10) for n in (7, 12345, 987654321)]
    return [Price.from_str(t) for t in texts] + [Quantity.from_str(t.lstrip("-")) for t in texts]


def test_a_fixed_point_decimal_converts_to_the_float_of_its_decimal(form: str) -> None:
    from chartbridge.nautilus.compat import FIXED_PRECISION
    from chartbridge.nautilus.convert import decimal_value

    fixed = decorators.fastline.fixed  # the compiled or the interpreted form
    read = 0
    for x in nautilus_decimals():
        value = fixed(x)
        if math.isnan(value):  # more digits than fixed reads back exactly: converted the slow way
            assert abs(x.raw) // 10 ** (FIXED_PRECISION - x.precision) > 2**49, str(x)
            continue
        read += 1
        assert value == decimal_value(x) == float(str(x)), str(x)
    assert read >= 50
    assert fixed(nautilus_decimals()[0]) == 42990.9 != nautilus_decimals()[0].as_double()


def test_nautilus_bars_take_the_fast_path_with_their_exact_decimals(r: redis.Redis, form: str,
        writes: str) -> None:
    from chartbridge.nautilus import recorder
    from chartbridge.nautilus.compat import Bar, BarType, Price, Quantity

    bar_type = BarType.from_str("BTC/USD.SIM-1-MINUTE-LAST-EXTERNAL")
    prices = [("42990.9", "42999.1", "42980.3", "42990.9", "1.5"), ("42990.9", "43000.0", "42990.1", "42995.7", "0.3"),
              ("42995.7", "42996.0", "42990.9", "42990.9", "2.25"),
              # more digits than a double holds exactly (``fixed`` declines them): their nearest doubles
              ("12345678901.123456789", "12345678901.987654321", "12345678901.000000001", "12345678901.5", "0.1")]

    @cb.chart(name="btc", kind="candlestick")
    def on_bar(bar: Any) -> Any:
        return bar

    for i, (o, h, lo, c, v) in enumerate(prices):
        cb.set_clock(T0 + i)
        on_bar(Bar(bar_type, *(Price.from_str(x) for x in (o, h, lo, c)), Quantity.from_str(v), T0 + i, T0 + i))
    assert type(on_bar.charted.sink).__name__ == "Candles" and on_bar.charted.sink.price.decimal is Price
    # Compiled for this nautilus_trader, the recorder reads a Bar's columns from its struct.
    assert on_bar.charted.sink.read is recorder.candle_row and (on_bar.charted.sink.read is not None) == recorder.COMPILED
    # and compiled, the fast path calls its C twin (interpreted, the reader itself)
    assert on_bar.charted.sink.in_c == (recorder.COMPILED and form == "compiled")
    assert cb.flush()
    assert read_points(r, "btc") == ([T0 + i for i in range(len(prices))], {
        name: [float(p[i]) for p in prices] for i, name in enumerate(("o", "h", "l", "c", "vol"))})


def test_deferred_points_are_written_in_call_order_into_the_run_they_were_made_in(run: Any, r: redis.Redis) -> None:
    """Paced, as by a backtest's actor: the fast path keeps each call's result for the hand-over. A
    call the full path takes meanwhile (an int) is fed to the indicator after the deferred ones, a
    bar before the last one is refused as at the call, and the run that starts next gets none of
    them: the run's end writes them first."""
    from chartbridge.nautilus.compat import Bar, BarType, Price, Quantity

    bar_type = BarType.from_str("EUR/USD.SIM-1-MINUTE-LAST-EXTERNAL")

    @cb.sma(2, name="mid", nautilus=1)
    def value(x: Any) -> Any:
        return x

    @cb.chart(name="eurusd", kind="candlestick")
    def on_bar(i: int) -> Any:
        o, c = f"1.0{i}000", f"1.0{i + 1}000"
        return Bar(bar_type, Price.from_str(o), Price.from_str(c), Price.from_str(o), Price.from_str(c),
                   Quantity.from_str("5"), T0 + i, T0 + i)

    for i, x in enumerate([1.0, 3.0, 5.0, 7, 9.0]):  # 7: an int, which the fast path declines
        cb.set_clock(T0 + i)
        value(x)
        on_bar(i)
    buffers = run.buffers
    # The int's full path wrote what every sink deferred before it; the later calls wait. Candles
    # wait where the integration reads its bars (compiled for 1.x); read part by part (2.x), at once.
    waits = on_bar.charted.sink.read is not None
    assert on_bar.charted.sink.defers == waits
    assert buffers["mid.sma2"].last[0] == T0 + 3 and buffers["eurusd"].last[0] == (T0 + 2 if waits else T0 + 4)
    cb.set_clock(T0 + 2)
    on_bar(7)  # before the last bar: refused (E_ORDER) and counted, when written as at the call
    end_run()
    start_run("next")
    for i, x in ((5, 11.0), (6, 13.0)):  # a new run: a new SMA
        cb.set_clock(T0 + i)
        value(x)
        on_bar(i)
    assert cb.flush()
    assert read_points(r, "mid.sma2", run.id) == ([T0 + i for i in range(1, 5)], {"y": [2.0, 4.0, 6.0, 8.0]})
    assert read_points(r, "eurusd", run.id)[1]["c"] == [1.01, 1.02, 1.03, 1.04, 1.05]
    following = session.current().current_run().id
    assert following != run.id
    assert read_points(r, "mid.sma2", following) == ([T0 + 6], {"y": [12.0]})
    assert read_points(r, "eurusd", following) == ([T0 + 5, T0 + 6], {"o": [1.05, 1.06], "h": [1.06, 1.07],
                                                                     "l": [1.05, 1.06], "c": [1.06, 1.07],
                                                                     "vol": [5.0, 5.0]})
    assert cb.stats()["rejected"] == 1


def test_the_fast_path_and_other_threads_share_a_buffer_without_mixing_points(r: redis.Redis, form: str) -> None:
    """The fast path writes without the buffer's lock while it is free (compiled, under the GIL):
    another thread appending to the same series and the producer taking batches every
    millisecond meanwhile, each stored point is one writer's whole point (its value is its time)."""
    cb.configure(flush_interval=0.001)
    calls = 60_000

    @cb.chart(name="shared")
    def value(x: float) -> float:
        return x

    other = cb.series("shared")
    stop = threading.Event()
    added = [0]

    def append() -> None:  # the same series from another thread, at odd times, until the fast path is done
        i = 0
        while not stop.is_set():
            try:
                other.add(float(2 * i + 1), time=T0 + 2 * i + 1)
                added[0] += 1
            except cb.ProtocolError:
                pass  # earlier than the fast path's last point: refused, not stored
            i += 1

    thread = threading.Thread(target=append)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns as often as they can: an unguarded write would be caught
    thread.start()
    try:
        for i in range(calls):
            cb.set_clock(T0 + 2 * i)
            value(float(2 * i))
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(switch)
    assert type(value.charted.sink).__name__ == "Line"
    assert cb.flush(30)
    times, cols = read_points(r, "shared")
    assert cols["y"] == [float(t - T0) for t in times]  # every value with its own time
    assert times == sorted(times) and len(set(times)) == len(times)
    assert len(times) == calls - cb.stats()["rejected"] + added[0]


class Racing:
    """A buffer's lock that looks taken, so the fast path waits for it, and lets another writer
    append first (``first``, once): what another thread holding the lock does meanwhile."""

    def __init__(self, lock: Any, first: Any) -> None:
        self.lock, self.first = lock, first

    def locked(self) -> bool:
        return True

    def acquire(self, *args: Any) -> bool:
        first, self.first = self.first, None
        if first is not None:
            first()
        return bool(self.lock.acquire(*args))

    def release(self) -> None:
        self.lock.release()

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


@pytest.mark.parametrize("sink", ["line", "indicator"])
def test_a_point_another_writer_overtook_while_the_lock_was_awaited_is_refused(
        r: redis.Redis, form: str, sink: str) -> None:
    """The fast path checks a point's time before waiting for the lock; a later point another
    thread wrote meanwhile makes it refuse the point (E_ORDER, counted), never store it out of order."""
    if sink == "line":
        decorate, raced, extra = cb.chart(name="raced"), "raced", None
    else:
        decorate, raced, extra = cb.sma(1, raw=True, name="ind"), "ind.sma1", "ind"

    @decorate
    def value(x: float) -> float:
        return x

    cb.set_clock(T0)
    value(1.0)  # the full path: registers, binds
    cb.set_clock(T0 + 1)
    value(2.0)
    other = cb.series(raced)
    buffer = session.current().current_run().buffers[raced]
    buffer.lock = Racing(buffer.lock, lambda: other.add(99.0, time=T0 + 5))
    cb.set_clock(T0 + 3)
    value(math.nan)  # refused (counted): the full path binds again, on the racing lock
    value(3.0)   # checked at T0 + 3, then the other writer's T0 + 5 lands first
    cb.set_clock(T0 + 6)
    value(4.0)
    assert type(value.charted.sink).__name__ == ("Line" if sink == "line" else "Indicated")
    assert cb.flush()
    assert read_points(r, raced) == ([T0, T0 + 1, T0 + 5, T0 + 6], {"y": [1.0, 2.0, 99.0, 4.0]})
    assert cb.stats()["rejected"] == 2  # NaN, and 3.0 after 99.0
    if extra is not None:  # the input line has no other writer: every input is on it
        assert read_points(r, extra) == ([T0, T0 + 1, T0 + 3, T0 + 6], {"y": [1.0, 2.0, 3.0, 4.0]})


def test_a_call_returning_none_returns_at_once_once_bound_in_the_run(
        r: redis.Redis, form: str, writes: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """None charts nothing: once a call took the full path in the run (a method's: once its
    object's did, which gave it its key), a None result skips it, before the series' first point
    too (a chart warming up) and on a marker series (``cb.signals``, None on most bars)."""
    full: list[object] = []
    unit = decorators._Instances.unit
    monkeypatch.setattr(decorators._Instances, "unit", lambda self, args: full.append(args[-1]) or unit(self, args))

    @cb.chart(name="warm")
    def warm(x: float | None) -> float | None:
        return x

    @cb.signals(name="signal")
    def signal(x: float | None) -> str | None:
        return None if x is None else "buy"

    inputs = [None, None, None, 1.0, None, 2.0, None, None]
    for i, x in enumerate(inputs):
        cb.set_clock(T0 + i)
        warm(x)
        signal(x)
    # each: the first call, then the first point (the sink that took nothing declines it); then
    # a line takes 2.0, where every signal goes to the full path (it has no fast path)
    assert full == [None, None, 1.0, 1.0, 2.0]
    assert cb.flush()
    assert read_points(r, "warm") == ([T0 + 3, T0 + 5], {"y": [1.0, 2.0]})
    assert read_points(r, "signal")[0] == [T0 + 3, T0 + 5]
    end_run()
    start_run("next")
    cb.set_clock(T0 + 10)
    warm(None)
    warm(None)
    assert full[5:] == [None]  # a new run: its first call takes the full path again
    end_run()


def test_markers_take_the_fast_path_and_chart_what_the_full_path_charts(r: redis.Redis, form: str) -> None:
    """``cb.marker`` writes the usual call itself (``fastline.Marks``: a fill per bar is common)
    and leaves the rest to the full path, which raises: what Redis holds is what the full path
    alone charts, a Nautilus ``Price`` as its exact decimal (42990.9, where ``as_double()`` is one
    ulp off)."""
    from chartbridge.nautilus.compat import OrderSide, Price

    module = fastline if form == "compiled" else interpreted(fastline)
    marker = module.marker
    cb.set_clock(T0)
    marker("fills", side=OrderSide.BUY, price=Price.from_str("42990.9"), text="bound", target="bars")
    marks = module.bound_marks("fills")
    assert marks is not None and marks.decimal is Price
    assert session.current().named["fills"].source == (__file__, sys._getframe().f_lineno - 3)
    steps: list[tuple[int, dict[str, Any], str | None]] = [  # clock, the call's parts, the error
        (T0, {"side": OrderSide.SELL, "price": Price.from_str("1.00001"), "text": "again at its time"}, None),
        (T0 + 1, {"side": "buy", "price": None, "text": ""}, None),
        (T0 + 2, {"price": 2.5}, None),
        (T0 + 3, {"side": "sell", "price": math.inf}, "E_NONFINITE"),
        (T0 + 1, {"price": 1.0}, "E_ORDER"),
        (T0 + 3, {"text": "x" * 1025}, "E_MARKER"),
        (T0 + 3, {"side": "up"}, "E_MARKER"),
        (T0 + 3, {"price": "1.5"}, "E_VALUE"),
        (T0 + 3, {"price": Price.from_str("12345678901.123456789"), "text": "more digits than fixed reads"}, None),
        (T0 + 4, {"side": OrderSide.BUY, "price": Price.from_str("0.1"), "shape": "circle"}, None),
        (T0 + 5, {"side": OrderSide.SELL, "price": numpy.float64(3.25)}, None),
    ]
    for now, parts, error in steps:
        cb.set_clock(now)
        if error is None:
            marker("fills", **parts)
        else:
            with pytest.raises(cb.ProtocolError) as raised:
                marker("fills", **parts)
            assert raised.value.code == error, parts
    cb.set_clock(T0 + 6)
    assert marks.mark(OrderSide.BUY, Price.from_str("1.5"), "written by Marks") is True
    assert marks.mark(OrderSide.BUY, math.inf, "left to the full path") is False
    assert marks.mark("up", 1.0, "left to the full path") is False
    assert cb.flush()
    times, columns = read_points(r, "fills")
    assert times == [T0, T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4, T0 + 5, T0 + 6]
    assert math.isnan(columns["y"][2])
    assert columns["y"][:2] + columns["y"][3:] == [42990.9, 1.00001, 2.5, 12345678901.123457, 0.1, 3.25, 1.5]
    assert columns["m"] == [{"side": "buy", "text": "bound"}, {"side": "sell", "text": "again at its time"},
                            {"side": "buy", "text": ""}, {"side": None, "text": ""},
                            {"side": None, "text": "more digits than fixed reads"},
                            {"side": "buy", "text": "", "shape": "circle"}, {"side": "sell", "text": ""},
                            {"side": "buy", "text": "written by Marks"}]
