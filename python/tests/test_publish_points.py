"""The spine: ``publish_points`` writes run, registry, events and batches per SPEC; ``end_run``."""

from __future__ import annotations

import json
import math
import time
from array import array

import pytest
import redis
from conftest import events, keys, read_entries, read_points, registry

import chartbridge as cb
from chartbridge import protocol

T0 = 1_700_000_000_000_000_000


def test_first_publish_writes_run_registry_events_and_batch(r: redis.Redis) -> None:
    before = time.time_ns()
    cb.publish_points("price", [T0, T0 + 1], [1.5, 2.5], kind="line", pane="main", color="#2962ff")
    k = keys()
    manifest = {a.decode(): b.decode() for a, b in r.hgetall(k.manifest).items()}
    assert manifest["v"] == "1" and manifest["run"] == "testrun" and manifest["strategy"] == "tests"
    assert manifest["language"] == "python" and manifest["status"] == "running"
    assert before <= int(manifest["started"]) <= int(manifest["heartbeat"]) <= time.time_ns()
    assert "ended" not in manifest
    assert r.zrange(k.runs, 0, -1, withscores=True) == [(b"testrun", float(int(manifest["started"]) // 10**6))]
    assert [(f[b"run"], f[b"type"]) for _, f in r.xrange(k.runlog)] == [(b"testrun", b"start")]
    entry = registry(r, "price")
    assert entry["kind"] == "line" and entry["pane"] == "main" and entry["title"] == "price"
    assert entry["color"] == "#2962ff" and entry["options"] == {}
    assert entry["source"] == {"file": __file__, "line": entry["source"]["line"]} and entry["source"]["line"] > 0
    assert events(r) == [("series", {"id": "price"})]
    assert read_points(r, "price") == ([T0, T0 + 1], {"y": [1.5, 2.5]})


def test_second_publish_adds_only_a_batch(r: redis.Redis) -> None:
    cb.publish_points("price", [T0], [1.0])
    cb.publish_points("price", [T0 + 5, T0 + 6], [2.0, 3.0])
    cb.publish_points("other", [T0], [4.0])
    k = keys()
    assert r.xlen(k.runlog) == 1
    assert events(r) == [("series", {"id": "price"}), ("series", {"id": "other"})]
    assert [len(e.t) for e in read_entries(r, "price")] == [1, 2]
    assert read_points(r, "price") == ([T0, T0 + 5, T0 + 6], {"y": [1.0, 2.0, 3.0]})


def test_batches_split_at_100000_points(r: redis.Redis) -> None:
    n = 250_001
    cb.publish_points("big", list(range(T0, T0 + n)), [float(i) for i in range(n)])
    entries = read_entries(r, "big")
    assert [len(e.t) for e in entries] == [100_000, 100_000, 50_001]
    assert entries[2].t[-1] == T0 + n - 1 and entries[2].columns["y"][-1] == float(n - 1)


def test_candles_and_markers(r: redis.Redis) -> None:
    cb.publish_points("bars", [T0, T0 + 60], [(1.0, 2.0, 0.5, 1.5, 10.0), (1.5, 1.6, 1.4, 1.45, 3.0)],
                      kind="candlestick")
    cb.publish_points("fills", [T0, T0 + 60], [(1.5, {"side": "buy", "text": "in"}),
                                               (None, {"side": "sell", "text": "out", "color": "#ef5350"})],
                      kind="marker", target="bars")
    assert read_points(r, "bars") == ([T0, T0 + 60], {"o": [1.0, 1.5], "h": [2.0, 1.6], "l": [0.5, 1.4],
                                                     "c": [1.5, 1.45], "vol": [10.0, 3.0]})
    times, cols = read_points(r, "fills")
    assert times == [T0, T0 + 60] and cols["y"][0] == 1.5 and math.isnan(cols["y"][1])
    assert cols["m"] == [{"side": "buy", "text": "in"}, {"side": "sell", "text": "out", "color": "#ef5350"}]
    assert registry(r, "fills")["target"] == "bars"
    raw = r.xrange(keys().stream("fills"))[0][1]
    assert raw[b"y"][8:] == bytes.fromhex("000000000000f87f")  # the canonical quiet NaN


@pytest.mark.parametrize(("times", "values", "kind", "code"), [
    ([T0, T0 + 1], [1.0], "line", "E_LENGTH"),
    ([T0], ["1.0"], "line", "E_VALUE"),
    ([T0], [None], "line", "E_VALUE"),
    ([T0], [math.inf], "area", "E_NONFINITE"),
    ([1.5], [1.0], "line", "E_TIME"),
    ([2**63], [1.0], "line", "E_TIME"),
    ([T0], [1.0], "pie", "E_KIND"),
    ([T0], [(1.0, 2.0, 0.5)], "bar", "E_VALUE"),
    ([T0, T0], [(1.0, 2.0, 0.5, 1.5), (1.0, 2.0, 0.5, 1.5, 3.0)], "bar", "E_LENGTH"),
    ([T0], [(1.0, {"side": "buy", "text": "x", "colour": "red"})], "marker", "E_MARKER"),
    ([T0], [(math.inf, {"side": "buy", "text": "x"})], "marker", "E_NONFINITE"),
    ([T0], [(1.0, {"side": "buy", "text": "x" * 1025})], "marker", "E_MARKER"),
])
def test_bad_input_is_refused_with_its_code_and_nothing_written(
        r: redis.Redis, times: list[int], values: list[object], kind: str, code: str) -> None:
    with pytest.raises(cb.ProtocolError) as caught:
        cb.publish_points("s", times, values, kind=kind)
    assert caught.value.code == code
    assert str(caught.value).startswith(code + ": ")
    assert r.keys("*") == []


def test_error_message_says_which_point(r: redis.Redis) -> None:
    with pytest.raises(cb.ProtocolError, match=r"y\[2\]: nan is not finite"):
        cb.publish_points("s", [T0, T0 + 1, T0 + 2], [1.0, 2.0, math.nan])
    with pytest.raises(cb.ProtocolError, match=r"t\[1\] = 5 is earlier than t\[0\] = 6"):
        cb.publish_points("s", [6, 5], [1.0, 2.0])


def test_times_must_not_go_back_across_calls_and_kind_is_fixed(r: redis.Redis) -> None:
    cb.publish_points("s", [T0 + 10], [1.0])
    with pytest.raises(cb.ProtocolError) as caught:
        cb.publish_points("s", [T0 + 9], [1.0])
    assert caught.value.code == "E_ORDER"
    cb.publish_points("s", [T0 + 10], [2.0])  # an equal time is allowed: it replaces the point
    with pytest.raises(cb.ProtocolError) as caught:
        cb.publish_points("s", [T0 + 11], [(1.0, 1.0, 1.0, 1.0)], kind="candlestick")
    assert caught.value.code == "E_KIND_MISMATCH"
    assert read_points(r, "s") == ([T0 + 10, T0 + 10], {"y": [1.0, 2.0]})


def test_names_are_checked(r: redis.Redis) -> None:
    for bad in ("", "a b", "x" * 201, "{tag}", "-lead"):
        with pytest.raises(cb.ProtocolError) as caught:
            cb.publish_points(bad, [T0], [1.0])
        assert caught.value.code == "E_NAME"
    with pytest.raises(cb.ProtocolError):
        cb.configure(prefix="has:colon")
    with pytest.raises(cb.ProtocolError):
        cb.configure(run="{x}")
    assert r.keys("*") == []


def test_end_run(r: redis.Redis) -> None:
    cb.publish_points("price", [T0], [1.0])
    cb.end_run()
    assert cb.flush()
    k = keys()
    manifest = r.hgetall(k.manifest)
    assert manifest[b"status"] == b"ended"
    assert int(manifest[b"ended"]) >= int(manifest[b"started"])
    assert events(r) == [("series", {"id": "price"}), ("end", {})]
    assert [f[b"type"] for _, f in r.xrange(k.runlog)] == [b"start", b"end"]


def test_default_run_id_is_generated_per_process(redis_server: object, r: redis.Redis) -> None:
    cb.configure(run=None, strategy=None)
    cb.publish_points("price", [T0], [1.0])
    run = cb.current_run()
    protocol.check_run_id(run.id)
    assert run.id.endswith(f"-{__import__('os').getpid()}")
    assert r.zrange(keys(run.id).runs, 0, -1) == [run.id.encode()]
    assert json.loads(r.hget(keys(run.id).series, "price") or b"{}")["kind"] == "line"


@pytest.mark.parametrize("vectorized", [True, False], ids=["numpy", "no numpy"])
def test_big_batches_are_checked_alike_with_and_without_numpy(monkeypatch: pytest.MonkeyPatch,
                                                              vectorized: bool) -> None:
    """Batches of 64+ points are checked through numpy when it is there; the rules and the
    errors, naming the first bad point, are the same either way."""
    if not vectorized:
        monkeypatch.setattr(protocol, "_np", None)
    else:
        assert protocol._np is not None
    n = 1000
    times = array("q", range(T0, T0 + n))
    candles = {"o": [1.0] * n, "h": [2.0] * n, "l": [0.5] * n, "c": [1.5] * n}
    assert len(protocol.check_batch("candlestick", times, candles)) == n
    late = array("q", times)
    late[500] = late[498]
    with pytest.raises(cb.ProtocolError, match=rf"E_ORDER: t\[500\] = {T0 + 498} is earlier than t\[499\] = {T0 + 499}"):
        protocol.check_batch("line", late, {"y": [1.0] * n})
    bad = {**candles, "l": [0.5] * 700 + [1.2] + [0.5] * (n - 701)}
    with pytest.raises(cb.ProtocolError, match=r"E_CANDLE: point 700: candle o=1.0 h=2.0 l=1.2 c=1.5"):
        protocol.check_batch("candlestick", times, bad)
    interleaved = array("d", [x for i in range(n) for x in (1.0, 2.0, 0.5, 1.5)])
    protocol.check_points("candlestick", ("o", "h", "l", "c"), times, interleaved)
    with pytest.raises(cb.ProtocolError, match="E_ORDER"):
        protocol.check_points("line", ("y",), late, array("d", [1.0] * n))
