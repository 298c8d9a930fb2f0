"""cb.load_run on a run file (protocol/SPEC.md section 13) written by the real `chartbridge export`
(src/server/cli.ts, run with node): the same DataFrames as from Redis, with Redis emptied first;
a cut or damaged file raises RunFileError saying where."""

from __future__ import annotations

import gzip
import math
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import redis

import chartbridge as cb
from chartbridge.runfile import RunFileError, read_run_file

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000_123_456_789
MIN = 60_000_000_000


def export(run: str, path: Path) -> str:
    node = shutil.which("node")
    assert node is not None, "node is on PATH (scripts/setup.sh)"
    s = cb.session.current().settings
    done = subprocess.run([node, "--import", "tsx", str(ROOT / "src" / "server" / "cli.ts"), "export", run, "-o", str(path),
                           "--redis", s.url, "--prefix", s.prefix], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def record() -> None:
    cb.publish_points("bars", [T0 + i * MIN for i in range(50)],
                      [(1.1 + i * 1e-4, 1.1 + i * 1e-4 + 3e-4, 1.1 + i * 1e-4 - 2e-4, 1.1 + i * 1e-4 + 1e-4, 100.0 + i) for i in range(50)],
                      kind="candlestick")
    for start in range(0, 3000, 1000):  # three flushes: three entries
        cb.publish_points("ema", [T0 + i * 1_000_000 for i in range(start, start + 1000)], [i * 0.5 - 7 for i in range(start, start + 1000)])
        assert cb.flush(10)
    cb.publish_points("fills", [T0 + 2 * MIN, T0 + 5 * MIN],
                      [(1.1003, {"side": "buy", "text": "BUY €"}), (None, {"side": "sell", "text": "SELL", "shape": "arrowDown"})],
                      kind="marker", target="bars")
    cb.plugin("bollinger", period=20)
    cb.publish("signal", {"x": [1, 2]})
    cb.results({"PnL": 12.5, "Sharpe": float("nan")})
    cb.end_run()
    assert cb.flush(10)


def test_load_run_from_a_file_equals_the_run_read_from_redis(r: redis.Redis, tmp_path: Path) -> None:
    record()
    prefix = cb.session.current().settings.prefix
    r.hset(f"{prefix}:{{testrun}}:lost", "ema", "42")  # the record a producer writes after an outage (SPEC section 11)
    from_redis = cb.load_run("testrun")
    path = tmp_path / "testrun.cbrun"
    assert export("testrun", path).startswith(f"exported testrun to {path}: ")
    r.flushdb()

    for given in (path, str(path)):  # a path object, or a string with a "/"
        frames = cb.load_run(given)
        assert frames.id == "testrun"
        assert sorted(frames.series) == ["bars", "ema", "fills"]
        for sid, df in from_redis.series.items():
            pd.testing.assert_frame_equal(frames.series[sid], df)
        pd.testing.assert_frame_equal(frames.events, from_redis.events)
        assert (frames.manifest, frames.info, frames.results, frames.plugins) == (
            from_redis.manifest, from_redis.info, from_redis.results, from_redis.plugins)
        assert frames.lost == from_redis.lost == {"ema": 42}
    ema = frames.series["ema"]["value"]
    assert len(ema) == 3000 and ema.iloc[2999] == 2999 * 0.5 - 7
    assert frames.series["ema"].index[1] == pd.Timestamp(T0 + 1_000_000, unit="ns", tz="UTC")
    assert frames.series["bars"].iloc[49].tolist() == [1.1 + 49e-4, 1.1 + 49e-4 + 3e-4, 1.1 + 49e-4 - 2e-4, 1.1 + 49e-4 + 1e-4, 149.0]
    assert frames.markers["text"].tolist() == ["BUY €", "SELL"] and math.isnan(frames.markers["price"].iloc[1])
    assert frames.events["type"].tolist() == ["series", "series", "series", "plugin", "publish", "results", "end"]
    assert frames.stats.to_dict() == {"PnL": 12.5, "Sharpe": "nan"}


def test_a_cut_or_damaged_file_says_what_is_wrong(r: redis.Redis, tmp_path: Path) -> None:
    record()
    good = tmp_path / "good.cbrun"
    export("testrun", good)
    keys = len(r.keys(f"{cb.session.current().settings.prefix}:{{testrun}}:*"))  # 8, and `dirty` in a dirty checkout
    data = good.read_bytes()

    cut = tmp_path / "cut.cbrun"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(RunFileError, match=rf'^{cut} is truncated: its content ends after [0-9]+ bytes, in (entry [0-9]+ of stream "s:[a-z]+"|key "[a-z:]+") \(export the run again\)$'):
        cb.load_run(cut)

    flipped = tmp_path / "flipped.cbrun"
    flipped.write_bytes(data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF]) + data[len(data) // 2 + 1:])
    # Either gzip's checks or the records' own (met first when the damage decompresses to nonsense) say it.
    with pytest.raises(RunFileError, match=rf'^{flipped} is corrupt(: gzip reports "[^"]+" after [0-9]+ bytes of content| at byte [0-9]+ of its content), in .+$'):
        cb.load_run(flipped)

    content = gzip.decompress(data)
    without_end = tmp_path / "noend.cbrun"
    end = content.rindex(b"\x03\x00\x00\x00\x03\x00\x00\x00end")  # the end record: 3 strings, the first "end"
    without_end.write_bytes(gzip.compress(content[:end]))
    with pytest.raises(RunFileError, match=rf"^{without_end} is truncated: its content ends after {end} bytes, in record {keys + 1} \(after the header\) \(export the run again\)$"):
        read_run_file(without_end)

    csv = tmp_path / "points.cbrun"
    csv.write_text("run,t,y\n")
    with pytest.raises(RunFileError, match=rf"^{csv} is not a Chartbridge run file: it does not start with gzip's bytes 1f 8b$"):
        cb.load_run(csv)
