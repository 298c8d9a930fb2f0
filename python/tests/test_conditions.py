"""``cb.condition``: one named boolean per bar, a ``line`` series of role ``condition``
(protocol/SPEC.md section 5), timed by the debug cursor's rule, scoped to the charted function
that checked it."""

from __future__ import annotations

import importlib
import sys
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from conftest import read_points, registry

import chartbridge as cb

T0 = 1_700_000_000_000_000_000
MIN = 60_000_000_000


def test_a_signal_records_the_conditions_it_checked_per_bar_at_each_bar_time(r: redis.Redis) -> None:
    @cb.signals(target="bars")
    def cross(bar: Any) -> str | None:
        up = cb.condition("close up", bar.close > bar.open)
        big = cb.condition("range > 2", bar.high - bar.low > 2)
        return "buy" if up and big else None

    bars = [SimpleNamespace(ts_event=T0 + i * MIN, open=100.0, close=100.0 + (i % 3) - 1, high=101.0 + i % 4, low=99.0)
            for i in range(12)]
    fired = [cross(bar) for bar in bars]
    assert cb.flush(5)
    sid = "test_a_signal_records_the_conditions_it_checked_per_bar_at_each_bar_time._locals_.cross"
    times, cols = read_points(r, f"{sid}:close_up")  # names become ids by SPEC section 1's rule
    assert times == [b.ts_event for b in bars]
    assert cols["y"] == [1.0 if b.close > b.open else 0.0 for b in bars]
    times, cols = read_points(r, f"{sid}:range___2")
    assert (times, cols["y"]) == ([b.ts_event for b in bars], [1.0 if b.high - b.low > 2 else 0.0 for b in bars])
    entry = registry(r, f"{sid}:close_up")
    line = sys._getframe().f_code.co_firstlineno + 3  # the first cb.condition call
    assert entry == {"kind": "line", "pane": "conditions", "title": "close up", "options": {"lineType": 1},
                     "source": {"file": __file__, "line": line}, "target": sid, "role": "condition"}
    markers, _ = read_points(r, sid)
    assert markers == [b.ts_event for b, f in zip(bars, fired) if f == "buy"] and len(markers) == 3


def test_outside_a_charted_function_at_the_integration_clock_and_returns_the_value(r: redis.Redis) -> None:
    seen = []
    for i in range(5):
        cb.set_clock(T0 + i * MIN)
        seen.append(cb.condition("flat", i % 2 == 0))
    assert seen == [True, False, True, False, True]
    assert cb.flush(5)
    assert read_points(r, "conditions:flat") == ([T0 + i * MIN for i in range(5)], {"y": [1.0, 0.0, 1.0, 0.0, 1.0]})
    assert "target" not in registry(r, "conditions:flat")


def test_a_value_that_is_not_a_bool_is_refused_with_the_reason(r: redis.Redis) -> None:
    with pytest.raises(cb.ProtocolError, match=r"condition 'x': the value must be a bool, not float") as info:
        cb.condition("x", 0.5)  # type: ignore[arg-type]
    assert info.value.code == "E_VALUE"
    cb.set_clock(T0 + MIN)
    cb.condition("y", True)
    cb.set_clock(T0)
    with pytest.raises(cb.ProtocolError, match="earlier than the last point") as order:
        cb.condition("y", False)
    assert order.value.code == "E_ORDER"
    assert cb.flush(5)
    assert read_points(r, "conditions:y") == ([T0 + MIN], {"y": [1.0]})


def test_a_real_nautilus_backtest_records_the_conditions_of_its_signal_per_bar(r: redis.Redis) -> None:
    pytest.importorskip("nautilus_trader")
    sys.path.insert(0, str(__import__("conftest").REPO / "examples" / "nautilus-ema-cross"))
    from chartbridge.nautilus.compat import V2

    ema_cross = importlib.import_module("ema_cross_v2" if V2 else "ema_cross")  # the installed line's example

    checked: list[tuple[int, bool, bool]] = []

    class Checked(ema_cross.EMACross):
        @cb.signals
        def entry(self, bar: Any) -> str | None:
            up = cb.condition("fast above slow", self.fast_ema.value > self.slow_ema.value)
            flat = cb.condition("flat", not (self.portfolio.is_net_long(self.instrument.id)
                                             or self.portfolio.is_net_short(self.instrument.id)))
            checked.append((bar.ts_event, up, flat))
            return "buy" if up and flat else None

        def on_bar(self, bar: Any) -> None:
            if self.indicators_initialized():
                self.entry(bar)
            super().on_bar(bar)

    engine, _ = ema_cross.build_engine(300, strategy_class=Checked)
    engine.run()
    engine.dispose()
    assert cb.flush(10)
    sid = "test_a_real_nautilus_backtest_records_the_conditions_of_its_signal_per_bar._locals_.Checked.entry"
    assert len(checked) == 281  # bars from the slow EMA's 20th on
    assert read_points(r, f"{sid}:fast_above_slow") == ([t for t, _, _ in checked], {"y": [float(u) for _, u, _ in checked]})
    assert read_points(r, f"{sid}:flat") == ([t for t, _, _ in checked], {"y": [float(f) for _, _, f in checked]})
    assert 0 < sum(u for _, u, _ in checked) < 281 and 0 < sum(f for _, _, f in checked) < 281
