"""Markers are events (protocol/SPEC.md section 3): two at one time are both kept, in order, by the
SDK's writer and by its reader (``cb.load_run``); the series vectors pin the reader's rule; the
actor's fill marker of an order filled in parts is their quantity-weighted price (section 8)."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from decimal import Decimal
from fractions import Fraction
from itertools import groupby
from typing import Any

import pytest
import redis
from conftest import REPO, VECTORS, keys, read_points

import chartbridge as cb
from chartbridge import notebook, protocol
from chartbridge.nautilus.contract import fill_marker
from chartbridge.session import Settings
from chartbridge.testing import RedisServer

nautilus = pytest.importorskip("nautilus_trader")

from nautilus_trader.model.events import OrderFilled  # noqa: E402

sys.path.insert(0, str(REPO / "examples" / "nautilus-ema-cross"))
import ema_cross  # noqa: E402

T0 = 1_700_000_000_000_000_000
SERIES = sorted((p.stem, json.loads(p.read_text())) for p in (VECTORS / "series").glob("*.json"))


def test_two_markers_at_one_time_both_reach_redis_in_order(r: redis.Redis) -> None:
    # python/README.md's on_order_filled, called for two partial fills of one order at one time.
    cb.set_clock(T0)
    cb.marker("fills", side="buy", price=1.1005, text="BUY 100 @ 1.1005", target="bars")
    cb.marker("fills", side="buy", price=1.1007, text="BUY 50 @ 1.1007", target="bars")
    cb.set_clock(T0 + 60_000_000_000)
    cb.marker("fills", side="sell", price=1.1012, text="SELL 150 @ 1.1012", target="bars")
    assert cb.flush()
    assert read_points(r, "fills") == ([T0, T0, T0 + 60_000_000_000], {
        "y": [1.1005, 1.1007, 1.1012],
        "m": [{"side": "buy", "text": "BUY 100 @ 1.1005"}, {"side": "buy", "text": "BUY 50 @ 1.1007"},
              {"side": "sell", "text": "SELL 150 @ 1.1012"}]})
    fills = cb.load_run("testrun").series["fills"]
    assert fills["text"].tolist() == ["BUY 100 @ 1.1005", "BUY 50 @ 1.1007", "SELL 150 @ 1.1012"]
    assert fills["price"].tolist() == [1.1005, 1.1007, 1.1012]
    assert [t.value for t in fills.index] == [T0, T0, T0 + 60_000_000_000]


def test_equal_markers_at_one_time_are_two_events(r: redis.Redis) -> None:
    """Two fills of the same quantity at the same price are two fills, in two flushes too."""
    cb.set_clock(T0)
    cb.marker("fills", side="sell", price=2.5, text="SELL 1 @ 2.5")
    assert cb.flush()
    cb.marker("fills", side="sell", price=2.5, text="SELL 1 @ 2.5")
    assert cb.flush()
    assert len(r.xrange(keys().stream("fills"))) == 2
    assert read_points(r, "fills") == ([T0, T0], {"y": [2.5, 2.5], "m": [{"side": "sell", "text": "SELL 1 @ 2.5"}] * 2})
    fills = cb.load_run("testrun").series["fills"]
    assert fills["text"].tolist() == ["SELL 1 @ 2.5", "SELL 1 @ 2.5"]


@pytest.mark.parametrize(("name", "case"), SERIES, ids=[name for name, _ in SERIES])
def test_the_reader_holds_each_series_vector(r: redis.Redis, name: str, case: dict[str, Any]) -> None:
    """``cb.load_run``'s reader applies the vector's entries, written to a real Redis, by SPEC's rule."""
    key = keys().stream("s")
    for entry in case["entries"]:
        r.xadd(key, {k: bytes.fromhex(v) if k in protocol.BINARY_FIELDS else v.encode()
                     for k, v in entry["fields"].items()}, id=entry["id"])
    frame, rejected, stale = notebook._read_series(r.xrange(key), case["kind"])
    stored = case["stored"]
    assert (rejected, stale) == (0, case["stale"])
    assert [t.value // 1000 for t in frame.index] == stored["t"]
    names = {"y": "price" if case["kind"] == "marker" else "value", "o": "open", "h": "high", "l": "low",
             "c": "close", "vol": "volume"}
    for col, values in stored.items():
        if col == "m":
            assert frame["side"].tolist() == [m["side"] for m in values]
            assert frame["text"].tolist() == [m["text"] for m in values]
        elif col != "t":
            assert [None if math.isnan(x) else x for x in frame[names[col]].tolist()] == values, col


# -- the actor's fill markers: partial fills in a real Nautilus backtest (SPEC section 8) ---------


class BigOrders(ema_cross.EMACross):
    """The example with 3,000,000 EUR an order: more than the top of the simulated book holds when a
    bar's volume is under 12,000,000 (Nautilus gives each of a bar's four prices a quarter of its
    volume), so such an order fills in two parts at one time, the second a tick worse."""

    def __init__(self, config: ema_cross.EMACrossConfig) -> None:
        super().__init__(ema_cross.EMACrossConfig(
            instrument_id=config.instrument_id, bar_type=config.bar_type, trade_size=Decimal(3_000_000),
            fast_ema_period=config.fast_ema_period, slow_ema_period=config.slow_ema_period))


def test_the_actors_fill_marker_is_the_quantity_weighted_price_of_an_orders_parts(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    cb.set_clock(None)
    cb.configure(**{**dataclasses.asdict(Settings()), "url": redis_server.url, "prefix": "pf", "run": "pf",
                    "enabled": True, "exit_timeout": 2.0})
    engine, _ = ema_cross.build_engine(2_000, strategy_class=BigOrders)
    engine.run()
    assert cb.flush(10)
    fills = sorted((e for o in engine.cache.orders() for e in o.events if isinstance(e, OrderFilled)),
                   key=lambda e: (e.ts_event, e.ts_init))
    engine.dispose()
    # Nautilus's own fills, grouped as SPEC section 8 says: consecutive fills of one order at one time.
    groups = [list(g) for _, g in groupby(fills, key=lambda e: (e.client_order_id, e.ts_event))]
    partial = [g for g in groups if len(g) > 1]
    assert len(partial) >= 3, f"only {len(partial)} orders filled in parts"
    times, cols = read_points(client, "fills:EUR/USD.SIM", "pf")
    assert times == [g[0].ts_event for g in groups]
    assert [m["side"] for m in cols["m"]] == [g[0].order_side.name.lower() for g in groups]
    for group, y, marker in zip(groups, cols["y"], cols["m"]):
        total = sum((e.last_qty.as_decimal() for e in group), Decimal(0))
        weighted = sum((Fraction(e.last_qty.as_decimal()) * Fraction(e.last_px.as_decimal()) for e in group),
                       Fraction(0)) / Fraction(total)
        side, qty, at, price, position, *rest = marker["text"].split(" ", 5)
        assert (side, qty, at, position) == (group[0].order_side.name, str(total), "@", str(group[0].position_id))
        # The weighted average to two decimals more than the prices' five (a unit of 10**-7), rounded.
        assert len(price.split(".")[1]) <= 7 and abs(Fraction(Decimal(price)) - weighted) <= Fraction(1, 2 * 10**7), marker
        assert y == float(price)
        if len(group) > 1:
            assert rest == [f"({len(group)} fills: " + ", ".join(f"{e.last_qty} @ {e.last_px}" for e in group) + ")"]
        else:
            assert rest == [] and price == str(group[0].last_px)
    first = partial[0]
    print("partial fill marker:", cols["m"][groups.index(first)]["text"])
    cb.configure(exit_timeout=0.5)
    client.close()


@pytest.mark.parametrize(("parts", "average"), [
    ([("1750000", "1.09718"), ("1250000", "1.09717")], "1.0971758"),  # 1.0971758333..., rounded
    ([("0.100", "42990.9"), ("0.200", "42991.0")], "42990.967"),
    ([("1500000", "1.09722"), ("1500000", "1.09723")], "1.097225"),
    ([("100", "1.10000"), ("100", "1.10000")], "1.10000"),  # no zeros beyond the prices' decimals
    ([("3", "100"), ("1", "101")], "100.25"),
    ([("1", "0.00001"), ("1", "0.00002")], "0.000015"),
    ([("1", "0.0000001"), ("1", "0.0000002"), ("2", "0.0000002")], "0.000000175"),
    ([("1", "1.001"), ("2", "1.000")], "1.00033"),
    ([("1", "0.5"), ("7", "0.0")], "0.062"),  # 0.0625: half to even
])
def test_fill_marker_price_is_the_bridges(parts: list[tuple[str, str]], average: str) -> None:
    """The same cases as test/nautilus-bus.test.ts gives the bus bridge's fillMarker (SPEC section 8)."""
    got, text = fill_marker("BUY", parts, ["P-1"])
    total = str(sum((Decimal(q) for q, _ in parts), Decimal(0)))
    assert (got, text) == (average, f"BUY {total} @ {average} P-1 ({len(parts)} fills: "
                                    + ", ".join(f"{q} @ {p}" for q, p in parts) + ")")
