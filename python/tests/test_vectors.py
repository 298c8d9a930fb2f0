"""The conformance vectors of protocol/vectors/: the encoder, the producer and the decoder."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import redis
from conftest import VECTORS

import chartbridge as cb
from chartbridge import protocol


def load(folder: str) -> list[tuple[str, dict[str, Any]]]:
    cases = sorted((p.stem, json.loads(p.read_text())) for p in (VECTORS / folder).glob("*.json"))
    assert cases, f"no vectors in {VECTORS / folder}"
    return cases


VALID, INVALID, REFUSED = load("valid"), load("invalid"), load("refused")


def ids(cases: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [name for name, _ in cases]


def number(x: Any) -> float:
    return float(x)  # float() reads the vectors' "NaN", "Infinity", "-Infinity" too


def user_input(case: dict[str, Any]) -> tuple[list[int], list[Any]]:
    """The vector's input as ``publish_points`` takes it: times and per-point values."""
    inp, kind = case["input"], case["series"]["kind"]
    times = [int(t) for t in inp["t"]]
    if kind in protocol.CANDLE_KINDS:
        names = ["o", "h", "l", "c"] + (["vol"] if "vol" in inp else [])
        return times, list(zip(*([number(x) for x in inp[n]] for n in names)))
    if kind == "marker":
        return times, [(number(y), m) for y, m in zip(inp["y"], inp["m"])]
    return times, [number(y) for y in inp["y"]]


def columns(case: dict[str, Any]) -> tuple[dict[str, list[Any]], list[Any] | None]:
    inp = case["input"]
    cols = {k: [number(x) for x in v] for k, v in inp.items() if k not in ("t", "m")}
    return cols, inp.get("m")


def raw_fields(fields: dict[str, str]) -> dict[str, bytes]:
    """Vector fields as Redis holds them: binary ones from hex, the others as UTF-8."""
    return {k: bytes.fromhex(v) if k in protocol.BINARY_FIELDS else v.encode() for k, v in fields.items()}


def assert_fields(actual: dict[Any, bytes], expected: dict[str, str]) -> None:
    got = {(k.decode() if isinstance(k, bytes) else k): v for k, v in actual.items()}
    want = raw_fields(expected)
    assert set(got) == set(want)
    for name, value in want.items():
        if name == "m":
            assert json.loads(got[name]) == json.loads(value)
        else:
            assert got[name] == value, name


def vector_form(entry: protocol.Entry) -> str:
    """The decoded entry as the vectors write it, as JSON text (so -0.0 differs from 0.0)."""
    out: dict[str, Any] = {"kind": entry.kind, "t": [str(t) for t in entry.t]}
    out.update({k: [None if math.isnan(x) else x for x in v] for k, v in entry.columns.items()})
    if entry.markers is not None:
        out["m"] = entry.markers
    return json.dumps(out, sort_keys=True)


@pytest.mark.parametrize(("name", "case"), VALID, ids=ids(VALID))
def test_valid_encodes_to_exact_fields(name: str, case: dict[str, Any]) -> None:
    cols, markers = columns(case)
    assert_fields(protocol.encode(case["series"]["kind"], [int(t) for t in case["input"]["t"]], cols, markers),
                  case["fields"])


@pytest.mark.parametrize(("name", "case"), VALID, ids=ids(VALID))
def test_valid_published_reaches_redis_as_exact_fields(r: redis.Redis, name: str, case: dict[str, Any]) -> None:
    series = case["series"]
    times, values = user_input(case)
    assert cb.publish_points(name, times, values, kind=series["kind"], target=series.get("target")) == len(times)
    stream = r.xrange(protocol.Keys(cb.session.current().settings.prefix, "testrun").stream(name))
    assert len(stream) == 1
    assert_fields(stream[0][1], case["fields"])


@pytest.mark.parametrize(("name", "case"), VALID, ids=ids(VALID))
def test_valid_decodes(name: str, case: dict[str, Any]) -> None:
    entry = protocol.decode(raw_fields(case["fields"]), case["series"]["kind"])
    assert vector_form(entry) == json.dumps(case["decoded"], sort_keys=True)


@pytest.mark.parametrize(("name", "case"), INVALID, ids=ids(INVALID))
def test_invalid_is_rejected_with_its_code(name: str, case: dict[str, Any]) -> None:
    with pytest.raises(cb.ProtocolError) as caught:
        protocol.decode(raw_fields(case["fields"]), case.get("registered"))
    assert caught.value.code == case["error"]


@pytest.mark.parametrize(("name", "case"), REFUSED, ids=ids(REFUSED))
def test_refused_raises_and_writes_nothing(r: redis.Redis, name: str, case: dict[str, Any]) -> None:
    times, values = user_input(case)
    with pytest.raises(cb.ProtocolError) as caught:
        cb.publish_points(case["series"]["id"], times, values, kind=case["series"]["kind"])
    assert caught.value.code == case["error"]
    assert r.keys("*") == []


@pytest.mark.parametrize(("name", "case"), REFUSED, ids=ids(REFUSED))
def test_refused_by_the_encoder(name: str, case: dict[str, Any]) -> None:
    cols, markers = columns(case)
    with pytest.raises(cb.ProtocolError) as caught:
        protocol.check_series_id(case["series"]["id"])
        protocol.encode(case["series"]["kind"], [int(t) for t in case["input"]["t"]], cols, markers)
    assert caught.value.code == case["error"]


def test_every_reader_error_code_has_a_vector() -> None:
    spec = (Path(VECTORS).parent / "SPEC.md").read_text()
    table = spec[spec.index("| `E_VERSION`"):spec.index("Producers check the same rules")]
    codes = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `E_")}
    assert len(codes) == 11
    assert {case["error"] for _, case in INVALID} == codes


REGISTRY = load("registry")


@pytest.mark.parametrize("case", [c for _, c in REGISTRY], ids=ids(REGISTRY))
def test_registry_options_written_as_the_vector_states(case: dict[str, Any]) -> None:
    """``precision=``, ``min_move=``, ``unit=`` (SPEC sections 5 and 7) give exactly the vector's options."""
    spec = dict(case["series"])
    series_id, kind, extra = spec.pop("id"), spec.pop("kind"), spec.pop("options", {})
    written = json.loads(cb.Series(series_id, kind=kind, **spec, **extra).registry_json())
    assert written["options"] == case["options"]
