"""Each indicator decorator equals the Nautilus indicator python/README.md says it equals, value by
value, on the same real Nautilus Bars: exact float equality (the SDK repeats Nautilus's
arithmetic in the same order and reads prices as Nautilus's ``handle_bar`` does), compiled and
interpreted (the form used where nothing was built), against the classes of the installed line:
1.x's in the 1.x venv, 2.x's in the 2.x venv (scripts/test-all.sh runs both).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from conftest import read_points, registry

nautilus = pytest.importorskip("nautilus_trader")
LINE = 2 if int(nautilus.__version__.split(".")[0]) >= 2 else 1  # the installed line

from nautilus_trader.indicators import (  # noqa: E402
    BollingerBands, ExponentialMovingAverage, RelativeStrengthIndex, SimpleMovingAverage,
)
from nautilus_trader.model import Bar, BarType, Price, Quantity  # noqa: E402
from test_fastline import interpreted  # noqa: E402

import chartbridge as cb  # noqa: E402
from chartbridge import decorators, fastline, indicators  # noqa: E402

T0 = 1_704_153_600_000_000_000
MINUTE = 60_000_000_000


def gbp_usd_bars(n: int, seed: int = 15) -> list[Any]:
    """``n`` real 1-minute GBP/USD bars: a random walk at 5 decimals, with flat stretches (RSI's
    zero changes) and a run of rises (no losses: Nautilus's RSI is 1 there)."""
    bar_type = BarType.from_str("GBP/USD.SIM-1-MINUTE-MID-EXTERNAL")
    rng = random.Random(seed)
    close, out = 1.25, []
    for i in range(n):
        o = close
        step = 0.0 if i % 17 < 3 else rng.gauss(0, 0.0004)
        close = round(o + (abs(step) if i < 40 else step), 5)
        hi = round(max(o, close) + rng.random() * 0.0002, 5)
        lo = round(min(o, close) - rng.random() * 0.0002, 5)
        out.append(Bar(bar_type, Price(o, 5), Price(hi, 5), Price(lo, 5), Price(close, 5), Quantity(1_000_000, 0),
                       T0 + i * MINUTE, T0 + i * MINUTE))
    return out


BARS = gbp_usd_bars(400)


@pytest.fixture(params=["compiled", "interpreted"])
def form(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The decorators on the compiled modules, or on the same files interpreted."""
    if request.param == "compiled":
        assert fastline.COMPILED and not indicators.__file__.endswith(".py")
    else:
        py_indicators, py_fastline = interpreted(indicators), interpreted(fastline)
        monkeypatch.setattr(py_fastline, "bar_value", py_indicators.bar_value)
        monkeypatch.setattr(decorators, "fastline", py_fastline)
        for name in ("EMA", "SMA", "Bollinger", "RSI", "WilderRSI", "bar_value", "check_line", "source_index"):
            monkeypatch.setattr(decorators, name, getattr(py_indicators, name))
    yield request.param


def nautilus_points(indicator: Any, outputs: tuple[str, ...], feed: Callable[[Any, Any], None]) -> list[list[float]]:
    """Each output of ``indicator`` at every bar once it is ``initialized`` (what a strategy reads)."""
    points: list[list[float]] = [[] for _ in outputs]
    for bar in BARS:
        feed(indicator, bar)
        if indicator.initialized:
            for column, name in zip(points, outputs):
                column.append(getattr(indicator, name))
    return points


def feed_bars(on_bar: Callable[[Any], Any]) -> None:
    """Call the decorated ``on_bar`` with each bar at its time, as the Nautilus actor does, and flush."""
    for bar in BARS:
        cb.set_clock(bar.ts_event)
        on_bar(bar)
    assert cb.flush()


def handle_bar(indicator: Any, bar: Any) -> None:
    indicator.handle_bar(bar)


def update_raw(indicator: Any, x: float) -> None:
    """Nautilus's ``update_raw`` of one value (1.x's ``BollingerBands`` takes it as high, low and close)."""
    if LINE == 1 and isinstance(indicator, BollingerBands):
        indicator.update_raw(x, x, x)
    else:
        indicator.update_raw(x)


def typical_of(indicator: Any, bar: Any) -> None:
    update_raw(indicator, (bar.high.as_double() + bar.low.as_double() + bar.close.as_double()) / 3.0)


def hl2_of(indicator: Any, bar: Any) -> None:
    update_raw(indicator, (bar.high.as_double() + bar.low.as_double()) / 2.0)


# (decorator, its series' suffixes, the Nautilus indicator it equals, its outputs, how Nautilus is fed):
# each decorator with its defaults (the installed line's definitions), which include Bollinger's input
# (1.x's handle_bar takes the typical price, 2.x's the close)
CASES: list[tuple[str, Callable[..., Any], tuple[str, ...], Callable[[], Any], tuple[str, ...],
                  Callable[[Any, Any], None]]] = [
    ("ema", lambda: cb.ema(10), ("ema10",), lambda: ExponentialMovingAverage(10), ("value",), handle_bar),
    ("sma", lambda: cb.sma(10), ("sma10",), lambda: SimpleMovingAverage(10), ("value",), handle_bar),
    ("bollinger", lambda: cb.bollinger(20, 2.0), ("bollinger20.upper", "bollinger20.middle", "bollinger20.lower"),
     lambda: BollingerBands(20, 2.0), ("upper", "middle", "lower"), handle_bar),
    ("rsi", lambda: cb.rsi(14), ("rsi14",), lambda: RelativeStrengthIndex(14), ("value",), handle_bar),
    ("ema of the typical price", lambda: cb.ema(10, source="typical"), ("ema10",),
     lambda: ExponentialMovingAverage(10), ("value",), typical_of),
    ("sma of hl2", lambda: cb.sma(5, source="hl2"), ("sma5",), lambda: SimpleMovingAverage(5), ("value",), hl2_of),
    ("bollinger of hl2", lambda: cb.bollinger(10, 1.5, source="hl2"),
     ("bollinger10.upper", "bollinger10.middle", "bollinger10.lower"),
     lambda: BollingerBands(10, 1.5), ("upper", "middle", "lower"), hl2_of),
    ("sma over 16 windows", lambda: cb.sma(3), ("sma3",), lambda: SimpleMovingAverage(3), ("value",), handle_bar),
]


@pytest.mark.parametrize("case", range(len(CASES)), ids=[c[0] for c in CASES])
def test_each_decorator_equals_its_nautilus_indicator_on_real_bars(r: redis.Redis, form: str, case: int) -> None:
    _, decorator, suffixes, make, outputs, feed = CASES[case]

    @decorator()
    def on_bar(bar: Any) -> Any:
        return bar

    feed_bars(on_bar)
    expected = nautilus_points(make(), outputs, feed)
    assert len(expected[0]) > 300
    base = "test_each_decorator_equals_its_nautilus_indicator_on_real_bars._locals_.on_bar"
    for suffix, values in zip(suffixes, expected):
        t, cols = read_points(r, f"{base}.{suffix}")
        assert t == [b.ts_event for b in BARS[len(BARS) - len(values):]]
        assert cols["y"] == values  # exact: the same arithmetic in the same order
    assert cb.stats()["rejected"] == 0


def test_rsi_of_1x_is_0_to_1_of_2x_0_to_100_and_wilder_is_0_to_100(r: redis.Redis, form: str) -> None:
    @cb.rsi(14, wilder=True, name="wilder")
    @cb.rsi(14, nautilus=2, name="nautilus2")
    @cb.rsi(14, nautilus=1, name="nautilus1")
    def on_bar(bar: Any) -> Any:
        return bar

    feed_bars(on_bar)
    one, two = read_points(r, "nautilus1.rsi14")[1]["y"], read_points(r, "nautilus2.rsi14")[1]["y"]
    wilder = read_points(r, "wilder.rsi14")[1]["y"]
    assert one[:27] == [1.0] * 27  # the first 40 bars only rise: no loss yet
    assert two[:26] == wilder[:26] == [100.0] * 26
    assert 0.0 < min(one) and max(one) <= 1.0 and 0.0 < min(wilder) and max(wilder) <= 100.0
    assert 0.0 < min(two) and max(two) <= 100.0
    # 1.x counts the first bar as a change of 0; 2.x and Wilder's need 14 changes
    assert (len(one), len(two), len(wilder)) == (len(BARS) - 13, len(BARS) - 14, len(BARS) - 14)
    assert registry(r, "nautilus1.rsi14")["pane"] == registry(r, "nautilus2.rsi14")["pane"] == "rsi"


def test_the_default_line_is_the_installed_nautilus_and_nautilus_picks_the_other(r: redis.Redis, form: str) -> None:
    """``nautilus=`` reproduces a chart of either line whatever is installed: the installed line's
    equals its class (as the defaults do), the other line's is the SDK's own definition of it,
    and differs on these bars (EMA: 1.x seeds with the first close, 2.x with the mean of ten)."""
    other = 3 - LINE
    assert decorators.installed_line() == LINE

    @cb.ema(10, nautilus=other, name="other")
    @cb.ema(10, nautilus=LINE, name="installed")
    @cb.ema(10, name="default")
    def on_bar(bar: Any) -> Any:
        return bar

    feed_bars(on_bar)
    expected = nautilus_points(ExponentialMovingAverage(10), ("value",), handle_bar)[0]
    assert read_points(r, "default.ema10")[1]["y"] == read_points(r, "installed.ema10")[1]["y"] == expected
    sdk_other = indicators.EMA(10, other)
    want = [v[0] for v in (sdk_other.update(b.close.as_double()) for b in BARS) if v is not None]
    got = read_points(r, "other.ema10")[1]["y"]
    assert got == want and len(got) == len(expected)
    assert got[0] != expected[0]
    with pytest.raises(ValueError, match=r"nautilus must be 1 or 2 \(the NautilusTrader line whose definitions to "
                                         r"follow\), not 3"):
        cb.ema(10, nautilus=3)


def test_a_bad_source_or_parameter_is_refused_at_decoration() -> None:
    with pytest.raises(ValueError, match=r"source must be one of close, open, high, low, hl2, typical, ohlc4, "
                                         r"not 'median'"):
        cb.ema(10, source="median")
    with pytest.raises(ValueError, match=r"k must be a positive number, not 0"):
        cb.bollinger(20, 0)(lambda: 1.0)
    with pytest.raises(ValueError, match=r"period must be a positive int, not 0"):
        cb.rsi(0)(lambda: 1.0)
