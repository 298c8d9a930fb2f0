"""Writes protocol/vectors/ from the cases below.

Run it only when SPEC.md changes on purpose: the vectors it writes are the fixed point every
language's tests compare against, so a silent change in any encoder fails them all. It encodes
with `struct` alone, apart from every implementation under test.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "vectors"
T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z in ns


def f64(xs: list[float]) -> str:
    return struct.pack(f"<{len(xs)}d", *xs).hex()


def i64(xs: list[int]) -> str:
    return struct.pack(f"<{len(xs)}q", *xs).hex()


def jnum(x: float) -> object:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def dnum(x: float) -> object:
    return None if math.isnan(x) else x


def valid(name: str, desc: str, kind: str, times: list[int], cols: dict[str, list[float]],
          markers: list[dict] | None = None, series: dict | None = None) -> None:
    fields: dict[str, str] = {"v": "1", "k": kind, "n": str(len(times)), "t": i64(times)}
    for key, xs in cols.items():
        fields[key] = f64(xs)
    inp: dict[str, object] = {"t": [str(t) for t in times]}
    inp.update({k: [jnum(x) for x in xs] for k, xs in cols.items()})
    dec: dict[str, object] = {"kind": kind, "t": [str(t) for t in times]}
    dec.update({k: [dnum(x) for x in xs] for k, xs in cols.items()})
    if markers is not None:
        fields["m"] = json.dumps(markers, separators=(",", ":"), ensure_ascii=False)
        inp["m"] = markers
        dec["m"] = markers
    write("valid", name, {"description": desc, "series": {"kind": kind, **(series or {})},
                          "input": inp, "fields": fields, "decoded": dec})


def invalid(name: str, desc: str, fields: dict[str, str], error: str, registered: str | None = None) -> None:
    body: dict[str, object] = {"description": desc}
    if registered:
        body["registered"] = registered
    body.update({"fields": fields, "error": error})
    write("invalid", name, body)


def refused(name: str, desc: str, kind: str, inp: dict[str, object], error: str, series_id: str = "price") -> None:
    write("refused", name, {"description": desc, "series": {"kind": kind, "id": series_id},
                            "input": inp, "error": error})


def write(folder: str, name: str, body: dict) -> None:
    path = OUT / folder / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2) + "\n")


def line_fields(times: list[int], ys: list[float], kind: str = "line") -> dict[str, str]:
    return {"v": "1", "k": kind, "n": str(len(times)), "t": i64(times), "y": f64(ys)}


def candle_fields(times: list[int], o: list[float], h: list[float], l: list[float], c: list[float]) -> dict[str, str]:
    return {"v": "1", "k": "candlestick", "n": str(len(times)), "t": i64(times),
            "o": f64(o), "h": f64(h), "l": f64(l), "c": f64(c)}


def series(name: str, desc: str, kind: str, entries: list[tuple[list[int], dict[str, list[float]], list[dict] | None]],
           stored: tuple[list[int], dict[str, list[float]], list[dict] | None], stale: int) -> None:
    """A reader applying ``entries`` (valid entries of one series, in stream order) keeps ``stored``
    (the JSON form of section 4: times in microseconds) and counts ``stale`` (section 3's ordering rule)."""
    def entry_fields(times: list[int], cols: dict[str, list[float]], markers: list[dict] | None) -> dict[str, str]:
        fields = {"v": "1", "k": kind, "n": str(len(times)), "t": i64(times), **{k: f64(xs) for k, xs in cols.items()}}
        if markers is not None:
            fields["m"] = json.dumps(markers, separators=(",", ":"), ensure_ascii=False)
        return fields
    times, cols, markers = stored
    out: dict[str, object] = {"t": [t // 1000 for t in times], **{k: [dnum(x) for x in xs] for k, xs in cols.items()}}
    if markers is not None:
        out["m"] = markers
    write("series", name, {"description": desc, "kind": kind,
                           "entries": [{"id": f"{i + 1}-0", "fields": entry_fields(*e)} for i, e in enumerate(entries)],
                           "stored": out, "stale": stale})


def main() -> None:
    for folder in ("valid", "invalid", "refused", "series"):
        for old in (OUT / folder).glob("*.json"):
            old.unlink()
    ts3 = [T0, T0 + 60_000_000_000, T0 + 120_000_000_000]

    # valid: one per kind, plus the edges of time and value encoding
    valid("line-basic", "three line points one minute apart", "line", ts3, {"y": [1.5, -2.25, 1e-300]})
    valid("area-basic", "area shares the line encoding", "area", ts3[:2], {"y": [100.0, 101.5]})
    valid("baseline-basic", "baseline shares the line encoding", "baseline", ts3[:2], {"y": [-0.5, 0.5]})
    valid("histogram-basic", "histogram shares the line encoding", "histogram", ts3, {"y": [0.0, 1200.0, 3.0e9]})
    valid("candlestick-basic", "two candles without volume", "candlestick", ts3[:2],
          {"o": [1.1000, 1.1010], "h": [1.1020, 1.1015], "l": [1.0990, 1.1001], "c": [1.1010, 1.1002]})
    valid("candlestick-volume", "a candle with volume; open == high == low == close is valid", "candlestick", [T0],
          {"o": [5.0], "h": [5.0], "l": [5.0], "c": [5.0], "vol": [12345.0]})
    valid("bar-basic", "bar shares the candlestick encoding", "bar", ts3[:2],
          {"o": [10.0, 11.0], "h": [12.0, 11.5], "l": [9.5, 10.25], "c": [11.0, 10.5], "vol": [1.0, 2.0]})
    valid("marker-basic", "an entry and an exit marker, the exit without a price", "marker", ts3[:2],
          {"y": [1.1005, math.nan]},
          markers=[{"side": "buy", "text": "fill 100 @ 1.1005"}, {"side": "sell", "text": "exit", "shape": "arrowDown",
                                                                   "position": "aboveBar", "color": "#ef5350"}],
          series={"target": "bars"})
    valid("marker-unicode", "marker text outside ASCII is written as UTF-8, not \\u escapes", "marker", [T0],
          {"y": [101.25]}, markers=[{"side": None, "text": "take profit \u2192 \u20ac 1\u202f250 \U0001F680"}],
          series={"target": "bars"})
    valid("marker-equal-times", "two partial fills of one order at one time and an exit: every marker is kept, in order",
          "marker", [T0, T0, T0 + 60_000_000_000], {"y": [1.1005, 1.1005, 1.1012]},
          markers=[{"side": "buy", "text": "BUY 100 @ 1.1005"}, {"side": "buy", "text": "BUY 100 @ 1.1005"},
                   {"side": "sell", "text": "SELL 200 @ 1.1012"}], series={"target": "bars"})
    valid("time-nanoseconds", "nanosecond times survive exactly, including equal times (the later replaces)", "line",
          [T0 + 1, T0 + 999, T0 + 999, T0 + 1_000_000_001], {"y": [1.0, 2.0, 3.0, 4.0]})
    valid("time-edges", "the smallest and largest valid times", "line", [0, 2**53 * 1000 - 1], {"y": [0.0, -0.0]})

    # series: the ordering rule across entries (section 3): values replace at an equal time, markers are all kept
    m1 = 60_000_000_000
    part = {"side": "buy", "text": "BUY 100 @ 1.1005"}
    series("marker-equal-times-kept", "partial fills at one time within and across entries are all kept, in stream "
           "order; an earlier marker is stale", "marker",
           [([T0, T0], {"y": [1.1005, 1.1005]}, [part, part]),
            ([T0, T0 + m1], {"y": [1.1007, 1.1012]}, [{"side": "buy", "text": "BUY 50 @ 1.1007"},
                                                       {"side": "sell", "text": "SELL 250 @ 1.1012"}]),
            ([T0 + m1], {"y": [math.nan]}, [{"side": None, "text": "note"}]),
            ([T0], {"y": [1.0]}, [{"side": "sell", "text": "late"}])],
           ([T0, T0, T0, T0 + m1, T0 + m1], {"y": [1.1005, 1.1005, 1.1007, 1.1012, math.nan]},
            [part, part, {"side": "buy", "text": "BUY 50 @ 1.1007"}, {"side": "sell", "text": "SELL 250 @ 1.1012"},
             {"side": None, "text": "note"}]), 1)
    series("marker-same-microsecond", "markers 1 ns apart share a microsecond and are both kept", "marker",
           [([T0 + 1_000], {"y": [2.0]}, [{"side": "sell", "text": "a"}]),
            ([T0 + 1_001], {"y": [3.0]}, [{"side": "sell", "text": "b"}])],
           ([T0 + 1_000, T0 + 1_001], {"y": [2.0, 3.0]}, [{"side": "sell", "text": "a"}, {"side": "sell", "text": "b"}]), 0)
    series("line-equal-times-replace", "a line point at the last time replaces it, within and across entries; an "
           "earlier one is stale", "line",
           [([T0, T0, T0 + m1], {"y": [1.0, 2.0, 3.0]}, None), ([T0 + m1], {"y": [4.0]}, None),
            ([T0], {"y": [5.0]}, None)],
           ([T0, T0 + m1], {"y": [2.0, 4.0]}, None), 1)
    series("candle-equal-times-replace", "a candle at the last time replaces it (the forming bar)", "candlestick",
           [([T0], {"o": [1.0], "h": [1.5], "l": [0.5], "c": [1.2]}, None),
            ([T0], {"o": [1.0], "h": [2.0], "l": [0.5], "c": [1.8]}, None)],
           ([T0], {"o": [1.0], "h": [2.0], "l": [0.5], "c": [1.8]}, None), 0)

    # invalid: one per error code a reader must raise
    good = line_fields(ts3, [1.0, 2.0, 3.0])
    invalid("version-missing", "no v field", {k: v for k, v in good.items() if k != "v"}, "E_VERSION")
    invalid("version-2", "a future version", {**good, "v": "2"}, "E_VERSION")
    invalid("kind-unknown", "an unknown kind", {**good, "k": "pie"}, "E_KIND")
    invalid("kind-missing", "no k field", {k: v for k, v in good.items() if k != "k"}, "E_KIND")
    invalid("kind-mismatch", "a line entry in a series registered as candlestick", good, "E_KIND_MISMATCH",
            registered="candlestick")
    invalid("count-zero", "n is 0", {**good, "n": "0", "t": "", "y": ""}, "E_COUNT")
    invalid("count-leading-zero", "n is not canonical", {**good, "n": "03"}, "E_COUNT")
    invalid("count-negative", "n is negative", {**good, "n": "-3"}, "E_COUNT")
    invalid("count-too-big", "n over the 100000 limit", {**good, "n": "100001"}, "E_COUNT")
    invalid("count-not-number", "n is text", {**good, "n": "three"}, "E_COUNT")
    invalid("field-missing-y", "a line entry without y", {k: v for k, v in good.items() if k != "y"}, "E_FIELD")
    invalid("field-missing-t", "an entry without t", {k: v for k, v in good.items() if k != "t"}, "E_FIELD")
    invalid("field-missing-close", "a candle without c",
            {k: v for k, v in candle_fields(ts3[:1], [1.0], [2.0], [0.5], [1.5]).items() if k != "c"}, "E_FIELD")
    invalid("field-missing-m", "a marker entry without m",
            {"v": "1", "k": "marker", "n": "1", "t": i64([T0]), "y": f64([1.0])}, "E_FIELD")
    invalid("length-short-y", "y holds two values for n = 3", {**good, "y": f64([1.0, 2.0])}, "E_LENGTH")
    invalid("length-odd-t", "t is not a multiple of 8 bytes", {**good, "t": i64(ts3) + "00"}, "E_LENGTH")
    invalid("length-vol", "vol has the wrong length",
            {**candle_fields(ts3[:1], [1.0], [2.0], [0.5], [1.5]), "vol": f64([1.0, 2.0])}, "E_LENGTH")
    invalid("time-negative", "a time before 1970", {**good, "t": i64([-1, T0, T0 + 1])}, "E_TIME")
    invalid("time-too-large", "a time at 2^53 * 1000 ns", {**good, "t": i64([T0, T0 + 1, 2**53 * 1000])}, "E_TIME")
    invalid("order-backwards", "times go backwards inside the entry", {**good, "t": i64([T0, T0 + 2, T0 + 1])}, "E_ORDER")
    invalid("nonfinite-nan", "NaN in a line value", {**good, "y": f64([1.0, math.nan, 3.0])}, "E_NONFINITE")
    invalid("nonfinite-inf", "Infinity in a histogram value", {**line_fields(ts3, [1.0, 2.0, math.inf], "histogram")},
            "E_NONFINITE")
    invalid("nonfinite-open", "-Infinity in a candle open",
            candle_fields(ts3[:1], [-math.inf], [2.0], [0.5], [1.5]), "E_NONFINITE")
    invalid("candle-high-below-close", "high under close",
            candle_fields(ts3[:1], [1.0], [1.2], [0.5], [1.5]), "E_CANDLE")
    invalid("candle-low-above-open", "low over open",
            candle_fields(ts3[:1], [1.0], [2.0], [1.1], [1.5]), "E_CANDLE")
    mk = {"v": "1", "k": "marker", "n": "1", "t": i64([T0]), "y": f64([1.0])}
    invalid("marker-price-infinite", "a marker price may be NaN but not Infinity",
            {**mk, "y": f64([math.inf]), "m": '[{"side":"buy","text":""}]'}, "E_NONFINITE")
    invalid("marker-side-missing", "a marker without side", {**mk, "m": '[{"text":"x"}]'}, "E_MARKER")
    invalid("marker-not-json", "m is not JSON", {**mk, "m": "[{side:buy}]"}, "E_MARKER")
    invalid("marker-count", "m has two markers for n = 1",
            {**mk, "m": '[{"side":"buy","text":""},{"side":"sell","text":""}]'}, "E_MARKER")
    invalid("marker-side", "an unknown side", {**mk, "m": '[{"side":"long","text":"x"}]'}, "E_MARKER")
    invalid("marker-text-type", "text is not a string", {**mk, "m": '[{"side":"buy","text":5}]'}, "E_MARKER")
    invalid("marker-text-long", "text over 1024 characters",
            {**mk, "m": json.dumps([{"side": "buy", "text": "x" * 1025}], separators=(",", ":"))}, "E_MARKER")
    invalid("marker-shape", "an unknown shape", {**mk, "m": '[{"side":"buy","text":"","shape":"star"}]'}, "E_MARKER")
    invalid("marker-color", "a colour that is not #rrggbb",
            {**mk, "m": '[{"side":null,"text":"","color":"red;x:expression(1)"}]'}, "E_MARKER")

    # invalid: each text field's canonical form (ASCII, exact; a UTF-8 BOM is not stripped)
    bom = "\ufeff"
    invalid("version-bom", "a UTF-8 BOM before v", {**good, "v": bom + "1"}, "E_VERSION")
    invalid("version-decimal", "v written as 1.0", {**good, "v": "1.0"}, "E_VERSION")
    invalid("version-space", "v with a trailing space", {**good, "v": "1 "}, "E_VERSION")
    invalid("kind-bom", "a UTF-8 BOM before k", {**good, "k": bom + "line"}, "E_KIND")
    invalid("kind-case", "k is case-sensitive", {**good, "k": "Line"}, "E_KIND")
    invalid("kind-space", "k with a leading space", {**good, "k": " line"}, "E_KIND")
    invalid("count-bom", "a UTF-8 BOM before n", {**good, "n": bom + "3"}, "E_COUNT")
    invalid("count-plus", "n with a sign", {**good, "n": "+3"}, "E_COUNT")
    invalid("count-space", "n with a trailing space", {**good, "n": "3 "}, "E_COUNT")
    invalid("count-decimal", "n written as 3.0", {**good, "n": "3.0"}, "E_COUNT")
    invalid("count-fullwidth", "n in non-ASCII digits", {**good, "n": "\uff13"}, "E_COUNT")
    invalid("marker-bom", "m starts with a UTF-8 BOM (not JSON)", {**mk, "m": bom + '[{"side":"buy","text":""}]'},
            "E_MARKER")

    # invalid: precedence, the first failing rule in SPEC's order wins over every later one
    invalid("precedence-version-over-kind", "v and k both wrong", {**good, "v": "2", "k": "pie"}, "E_VERSION")
    invalid("precedence-kind-over-count", "k and n both wrong", {**good, "k": "pie", "n": "0"}, "E_KIND")
    invalid("precedence-mismatch-over-count", "registered as candlestick, and n wrong", {**good, "n": "0"},
            "E_KIND_MISMATCH", registered="candlestick")
    invalid("precedence-count-over-field", "n wrong and y missing",
            {k: v for k, v in {**good, "n": "03"}.items() if k != "y"}, "E_COUNT")
    invalid("precedence-field-over-length", "y missing and t too short",
            {k: v for k, v in {**good, "t": i64(ts3[:2])}.items() if k != "y"}, "E_FIELD")
    invalid("precedence-length-over-time", "y too short and a time out of range",
            {**good, "t": i64([-1, T0, T0]), "y": f64([1.0])}, "E_LENGTH")
    invalid("precedence-time-over-order", "times go backwards before a later time out of range",
            {**good, "t": i64([T0 + 2000, T0 + 1000, -5])}, "E_TIME")
    invalid("precedence-order-over-nonfinite", "times go backwards and a NaN value",
            {**good, "t": i64([T0, T0 + 2, T0 + 1]), "y": f64([math.nan, 1.0, 1.0])}, "E_ORDER")
    invalid("precedence-nonfinite-over-candle", "an infinite close that also breaks the candle rule",
            candle_fields(ts3[:1], [1.0], [0.5], [2.0], [math.inf]), "E_NONFINITE")
    invalid("precedence-nonfinite-over-marker", "an infinite marker price and m not JSON",
            {**mk, "y": f64([math.inf]), "m": "[{side:buy}]"}, "E_NONFINITE")

    # invalid: a binary field of another kind is a field this kind does not know, ignored (not E_LENGTH)
    invalid("foreign-column-ignored", "a line entry with a short o field and a NaN value: the o is ignored",
            {**good, "o": "00", "y": f64([1.0, math.nan, 3.0])}, "E_NONFINITE")
    invalid("foreign-vol-ignored", "a line entry with a short vol field and a NaN value: the vol is ignored",
            {**good, "vol": "00", "y": f64([1.0, math.nan, 3.0])}, "E_NONFINITE")

    # refused: what a producer must not encode
    t2 = [str(T0), str(T0 + 1)]
    refused("nan-value", "NaN is not a line value", "line", {"t": t2, "y": [1.0, "NaN"]}, "E_NONFINITE")
    refused("inf-value", "Infinity is not a histogram value", "histogram", {"t": t2, "y": ["Infinity", 1.0]},
            "E_NONFINITE")
    refused("time-backwards", "times going backwards", "line", {"t": [t2[1], t2[0]], "y": [1.0, 2.0]}, "E_ORDER")
    refused("time-negative", "a time before 1970", "line", {"t": ["-5"], "y": [1.0]}, "E_TIME")
    refused("candle-high-low", "high under low", "candlestick",
            {"t": [t2[0]], "o": [1.0], "h": [0.5], "l": [0.9], "c": [1.0]}, "E_CANDLE")
    refused("series-id-brace", "a series id with a hash-tag brace", "line", {"t": [t2[0]], "y": [1.0]}, "E_NAME",
            series_id="bad{id}")
    refused("series-id-long", "a series id of 201 characters", "line", {"t": [t2[0]], "y": [1.0]}, "E_NAME",
            series_id="s" * 201)
    refused("marker-side", "a marker side that is not buy/sell/null", "marker",
            {"t": [t2[0]], "y": [1.0], "m": [{"side": "long", "text": ""}]}, "E_MARKER")


if __name__ == "__main__":
    main()
