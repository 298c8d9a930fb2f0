"""Every point of every shape of the overhead matrix on NautilusTrader 2
(python/bench/overhead_shapes_v2.py) reaches Redis exactly: real 2.x backtests on a few bars,
read back from a real Redis, compared with what the engine holds (test_overhead_shapes.py is the
1.x twin)."""

from __future__ import annotations

import dataclasses
import gc
import sys
from typing import Any

import pytest
import redis
from conftest import REPO, read_points, registry

import chartbridge as cb
from chartbridge.session import Settings
from chartbridge.testing import RedisServer

nautilus = pytest.importorskip("nautilus_trader")
if int(nautilus.__version__.split(".")[0]) < 2:
    pytest.skip(f"NautilusTrader 2 only (this venv has {nautilus.__version__})", allow_module_level=True)

sys.path.insert(0, str(REPO / "python" / "bench"))
import overhead_shapes_v2 as shapes  # noqa: E402
from nautilus_trader.model import OrderFilled  # noqa: E402

from chartbridge.nautilus import ChartbridgeActor  # noqa: E402
from chartbridge.nautilus.points import Markers  # noqa: E402

BARS = 1_500


def fills(engine: Any) -> list[Any]:
    return sorted((e for order in engine.cache.orders() for e in order.events() if isinstance(e, OrderFilled)),
                  key=lambda e: e.ts_event)


@pytest.mark.parametrize("shape", sorted(shapes.SHAPES))
def test_every_point_of_the_shape_is_in_redis(redis_server: RedisServer, shape: str) -> None:
    client = redis.Redis.from_url(redis_server.url)
    cb.set_clock(None)
    cb.configure(**{**dataclasses.asdict(Settings()), "url": redis_server.url, "prefix": "nt2shapes", "run": shape,
                    "enabled": True, "exit_timeout": 2.0})
    engine = shapes.SHAPES[shape].build(BARS, True)
    engine.run()
    # cb.flush settles the run: the fills of the orders the strategies send at their stop too.
    assert cb.flush(20) and cb.stats()["dropped"] == 0 and cb.stats()["rejected"] == 0
    expected = fills(engine)
    assert expected, "the shape trades"
    by_instrument: dict[str, list[Any]] = {}
    for fill in expected:
        by_instrument.setdefault(str(fill.instrument_id), []).append(fill)
    if shape == "decorators_only":  # no actor: the decorators' series alone
        assert _actors(shape) == []
        assert_decorators_delivered(client, shape)
        prefix = cb.session.current().settings.prefix
        assert len(client.keys(f"{prefix}:{{{shape}}}:s:*")) == 6
        return
    (actor,) = _actors(shape)
    charted = actor.points
    bar_types = [p.series.id for p in charted if p.series.kind == "candlestick"]
    assert len(bar_types) == (2 if shape == "two_instruments" else 1)
    for series in bar_types:  # every bar of every bar type, one candle each
        times, _ = read_points(client, series, shape)
        assert len(times) == BARS and times == sorted(times)
    for instrument, mine in by_instrument.items():  # one marker per order and time (SPEC section 8)
        times, _ = read_points(client, f"fills:{instrument}", shape)
        assert times == sorted({(f.ts_event, str(f.client_order_id)): f.ts_event for f in mine}.values())
        _, position = read_points(client, f"position:{instrument}", shape)
        assert len(position["y"]) == len(mine)
    for points in charted:  # and each series the actor charted holds exactly what it handed over
        if not isinstance(points, Markers):
            times, _ = read_points(client, points.series.id, shape)
            assert len(times) == points.count > 0, points.series.id
    if shape in ("indicator_heavy", "short"):  # the decorators' own series
        assert_decorators_delivered(client, shape)
    if shape == "fill_heavy":  # cb.marker on each fill, in the strategy
        times, _ = read_points(client, "fills", shape)
        assert times == [f.ts_event for f in fills(engine)] and len(expected) == BARS // shapes.shape.FILL_EVERY
    engine.dispose()
    client.close()


def assert_decorators_delivered(client: redis.Redis, run: str) -> None:
    """The indicator-heavy strategy's decorated methods: a candle per bar, and its indicators."""
    times, cols = read_points(client, "MeanReversion.candle", run)
    assert len(times) == BARS and registry(client, "MeanReversion.candle", run)["kind"] == "candlestick"
    for series in ("MeanReversion.price.bollinger20.upper", "MeanReversion.price.rsi14", "MeanReversion.mid.ema50"):
        assert read_points(client, series, run)[0], series


def _actors(run: str) -> list[Any]:
    """The actors the shape added (2.x's engine lists no actors to Python)."""
    return [o for o in gc.get_objects() if isinstance(o, ChartbridgeActor) and o.run_id == run]
