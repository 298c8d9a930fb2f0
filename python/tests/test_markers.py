"""Markers are events (protocol/SPEC.md section 3): two at one time are both kept, in order, by the
SDK's writer and by its reader (``cb.load_run``); the series vectors pin the reader's rule; the
actor's fill marker of an order filled in parts is their quantity-weighted price (section 8)."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import pytest
import redis
from conftest import VECTORS, keys, read_points

import chartbridge as cb
from chartbridge import notebook, protocol
from chartbridge.nautilus.contract import fill_marker

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
